"""An HTTP client that speaks the vault's headers, and the check every error answer must pass."""

import json
from typing import Any

from django.test import Client


class VaultClient:
    """Django's test client with the vault's auth headers and JSON bodies by default."""

    def __init__(self, key: str | None, profile_id: str | None, header_style: str = "authorization") -> None:
        self.client = Client()
        self.key = key
        self.profile_id = profile_id
        self.header_style = header_style

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.key is not None:
            if self.header_style == "authorization":
                headers["Authorization"] = f"api-key={self.key}"
            else:
                headers["api-key"] = self.key
        if self.profile_id is not None:
            headers["X-Profile-Id"] = self.profile_id
        headers.update(extra or {})
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return self.client.generic(method, path, data=data, content_type=content_type, headers=self.headers(headers))

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, body: Any = None, **kwargs):
        return self.request("DELETE", path, body, **kwargs)


def assert_error(response, status: int, code: str) -> dict:
    """Assert *response* is the error envelope with *status* and *code*; return its body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["type"] == ("api" if status >= 500 else "invalid_request")
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert response["Cache-Control"] == "no-store"
    assert response["X-Request-Id"]
    return body
