"""Ledger URLs on empty databases for tests: a SQLite file, or a PostgreSQL database created
for the test and dropped after it (the server of :func:`alphaforge.testing.postgres_url`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from alphaforge.testing import postgres_url

KINDS = ("sqlite", "postgresql")


@contextmanager
def scratch_ledger_url(kind: str, folder: Path) -> Iterator[str]:
    """A ledger URL of ``kind`` on an empty database (PostgreSQL: skipped with a reason when
    the server is missing, a failure under ``CI=true``)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    import psycopg

    base = urlsplit(postgres_url())
    name = f"af_ledger_{uuid.uuid4().hex[:12]}"
    admin = urlunsplit(base._replace(scheme="postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(base._replace(scheme="postgresql+psycopg", path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
