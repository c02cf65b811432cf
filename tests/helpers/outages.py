"""Take the database away for real: the connection is closed and pointed where nothing answers."""

import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections

from tests.helpers.gunicorn_server import free_port


@contextmanager
def database_unreachable(alias: str = DEFAULT_DB_ALIAS):
    """Within the block every query of this process fails to connect, as in an outage; then restore.

    Needs a test without a wrapping transaction (transactional_db): the open connection is closed.
    """
    connection = connections[alias]
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        # SQLite creates a missing file but not a missing directory: opening fails.
        missing = Path(tempfile.gettempdir()) / f"no-such-directory-{uuid.uuid4().hex}" / "vault.sqlite3"
        connection.settings_dict["NAME"] = str(missing)
    else:
        # A port on the loopback that was free a moment ago: nothing listens, the connect is refused.
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
