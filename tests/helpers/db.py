"""A fresh execution-layer database per test: SQLite by default, PostgreSQL on request.

Set ``L2KIT_TEST_DB_URL`` to a PostgreSQL server URL (``postgresql+psycopg://user@host:port/
postgres``; ``.ci/postgres.sh`` starts one and sets it): each test then gets its own new
database on that server, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "L2KIT_TEST_DB_URL"


def on_postgres() -> bool:
    """Whether the suite runs on PostgreSQL (``$L2KIT_TEST_DB_URL`` is set)."""
    return bool(os.environ.get(ENV))


@contextmanager
def fresh_db_url(tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, removed when the block ends."""
    server = os.environ.get(ENV)
    if not server:
        yield f"sqlite:///{tmp_path / 'el.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from offchain.emeth.execution.db import postgres_url

    admin_url = make_url(postgres_url(server))
    name = f"l2kit_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
