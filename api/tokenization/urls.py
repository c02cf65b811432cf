"""Generic tokenization's routes: the short spelling and upstream's, which exists under `/v2` only."""

from api.routes import Route
from api.tokenization.views import GenericTokenViewSet

ROUTES = (
    Route(
        "tokenize",
        GenericTokenViewSet.as_view({"post": "create"}),
        short="tokenize",
        upstream="tokenize",
        only_prefix="v2",
    ),
    Route(
        "tokenize-item",
        GenericTokenViewSet.as_view({"delete": "destroy"}),
        short="tokenize/<str:token_id>",
        upstream="tokenize/<str:token_id>",
        only_prefix="v2",
    ),
)
