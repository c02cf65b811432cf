"""The customers routes under each spelling, for tests that walk every route."""

SPELLINGS = ("short", "v1", "v2")


def customer_routes(spelling: str) -> dict[str, tuple[str, str]]:
    """Operation → (method, path template with {id})."""
    if spelling == "short":
        return {
            "create": ("POST", "/customers"),
            "list": ("GET", "/customers"),
            "retrieve": ("GET", "/customers/{id}"),
            "update": ("PUT", "/customers/{id}"),
            "update_patch": ("PATCH", "/customers/{id}"),
            "delete": ("DELETE", "/customers/{id}"),
        }
    return {
        "create": ("POST", f"/{spelling}/customers"),
        "list": ("GET", f"/{spelling}/customers/list"),
        "retrieve": ("GET", f"/{spelling}/customers/{{id}}"),
        "update": ("PUT", f"/{spelling}/customers/{{id}}"),
        "update_patch": ("PATCH", f"/{spelling}/customers/{{id}}"),
        "delete": ("DELETE", f"/{spelling}/customers/{{id}}"),
    }


WRITE_OPERATIONS = {"create", "update", "update_patch", "delete"}


def all_customer_routes() -> list[tuple[str, str, str, str]]:
    """(spelling, operation, method, path template) for every route."""
    return [
        (spelling, operation, method, path)
        for spelling in SPELLINGS
        for operation, (method, path) in customer_routes(spelling).items()
    ]
