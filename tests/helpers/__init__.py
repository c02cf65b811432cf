"""Helpers shared by the tests: clients, tenants, request bodies, the route registry, test servers.

Fixtures live in tests/conftest.py and build on these; test modules import from here, never from a
conftest.
"""
