"""Answers rendered by one output serializer per class and process.

DRF builds a serializer's fields (deep-copying every nested serializer's declared fields) for each
answer. An answer that needs no `context` renders the same way every time, so one instance, built on
first use, renders them all: `to_representation` keeps no state on the serializer or its fields.
Answers that depend on the request (a revealed card, the customer's default card) still get a
serializer of their own.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers


class Renderer:
    def __init__(self, serializer_class: type[serializers.Serializer]) -> None:
        self.serializer_class = serializer_class
        self._serializer: serializers.Serializer | None = None

    def _shared(self) -> serializers.Serializer:
        if self._serializer is None:
            self._serializer = self.serializer_class()  # no data, no context: it holds nothing of a request
        return self._serializer

    def one(self, instance: Any) -> dict:
        return self._shared().to_representation(instance)

    def many(self, instances: Iterable[Any]) -> list[dict]:
        serializer = self._shared()
        return [serializer.to_representation(instance) for instance in instances]
