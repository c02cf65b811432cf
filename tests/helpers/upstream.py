"""Validate responses against the upstream Hyperswitch OpenAPI schemas in ../shared/reference.

The file is reference material beside the repository, not part of it: tests that need it skip with
a reason where it is absent, as in a user's fresh clone.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

UPSTREAM_SPEC = Path(__file__).resolve().parents[3] / "shared" / "reference" / "hyperswitch_openapi_v2.json"
_URI = "urn:hyperswitch-v2"


def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` becomes JSON Schema's explicit null alternative."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _nullable_to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


# Fields upstream's code emits as null although its OpenAPI document says otherwise
# (reference contract §12 item 4, and §4.1 for the customer's reference id).
KNOWN_NULLABLE = {
    "PaymentMethodResponse": (
        "network_transaction_id",
        "raw_payment_method_data",
        "customer_id",
        "payment_method_type",
    ),
    "CustomerResponse": ("merchant_reference_id",),
    "CustomerDeleteResponse": ("merchant_reference_id",),
}


@cache
def _registry() -> Registry:
    document = json.loads(UPSTREAM_SPEC.read_text())
    for schema_name, field_names in KNOWN_NULLABLE.items():
        properties = document["components"]["schemas"][schema_name]["properties"]
        for field_name in field_names:
            properties[field_name] = {"nullable": True, "allOf": [properties[field_name]]}
    document = _nullable_to_json_schema(document)
    return Registry().with_resource(_URI, Resource(contents=document, specification=DRAFT7))


def upstream_schema(name: str) -> dict[str, Any]:
    return json.loads(UPSTREAM_SPEC.read_text())["components"]["schemas"][name]


def assert_matches_upstream(instance: Any, schema_name: str) -> None:
    """Fail with every violation if *instance* does not satisfy upstream's *schema_name*."""
    if not UPSTREAM_SPEC.exists():
        pytest.skip(f"upstream OpenAPI document not found at {UPSTREAM_SPEC}")
    validator = Draft7Validator({"$ref": f"{_URI}#/components/schemas/{schema_name}"}, registry=_registry())
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
    assert not problems, problems
    properties = upstream_schema(schema_name).get("properties", {})
    missing = set(properties) - set(instance)
    assert not missing, f"upstream fields missing from the response: {sorted(missing)}"
