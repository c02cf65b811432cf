"""The proxy route, under the short spelling and each upstream prefix (`/v1/proxy`, `/v2/proxy`)."""

from api.proxy.views import ProxyViewSet
from api.routes import Route

ROUTES = (Route("proxy", ProxyViewSet.as_view({"post": "forward"}), short="proxy", upstream="proxy"),)
