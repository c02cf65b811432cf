import json
from urllib.parse import parse_qs

PAYMENT_METHOD_ID = "PaymentMethodId"


def proxy_body(
    processor, token: str, body=None, *, headers=None, path="/v1/payments", method="POST", token_type=PAYMENT_METHOD_ID
):
    return {
        "destination_url": f"{processor.url}{path}",
        "method": method,
        "headers": {"Content-Type": "application/json"} if headers is None else headers,
        "request_body": body,
        "token": token,
        "token_type": token_type,
    }


def received_json(processor) -> dict:
    (request,) = processor.received()
    return json.loads(request["body"])


def received_form(processor) -> dict:
    (request,) = processor.received()
    return {key: values[0] for key, values in parse_qs(request["body"]).items()}


def received_headers(processor) -> dict:
    (request,) = processor.received()
    return {name.lower(): value for name, value in request["headers"]}
