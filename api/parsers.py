"""The API's one request parser: strict JSON (see core/strict_json.py for what it refuses)."""

from rest_framework.parsers import BaseParser

from core.strict_json import parse_strict_json


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw.strip():
            return {}
        return parse_strict_json(raw)
