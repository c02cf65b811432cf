"""A guard in front of Django for what Django itself cannot answer cleanly.

A request whose Content-Type names a codec that is not a text encoding (`charset=hex`, `base64`,
`zlib`…) makes Django's request constructor fail while decoding the query string, before any
middleware runs, with a plain-text 500. Such a request is refused here with 415 in the envelope.
"""

import codecs
import json
import uuid
from email.message import Message

from core import errors


def _charset_is_unusable(content_type: str) -> bool:
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    if not isinstance(charset, str):
        return False
    try:
        return not codecs.lookup(charset)._is_text_encoding
    except LookupError:
        return False  # Django ignores charsets it does not know.


class CharsetGuard:
    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if _charset_is_unusable(environ.get("CONTENT_TYPE", "")):
            error = errors.UnsupportedMediaType("Unsupported charset in Content-Type")
            body = json.dumps(error.body(), separators=(",", ":")).encode()
            start_response(
                f"{error.status_code} Unsupported Media Type",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "no-store"),
                    ("X-Request-Id", uuid.uuid4().hex),
                ],
            )
            return [body]
        return self.application(environ, start_response)
