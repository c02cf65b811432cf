"""Unambiguous byte encodings of field lists, for authenticated data and MACs."""

import struct


def encode_fields(*fields: str) -> bytes:
    """Each field length-prefixed, so that no two field lists encode alike ("a|b", "c" ≠ "a", "b|c")."""
    out = bytearray()
    for field in fields:
        data = field.encode()
        out += struct.pack(">I", len(data)) + data
    return bytes(out)
