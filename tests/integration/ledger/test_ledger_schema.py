"""The ledger's schema: migrations to head, models and migration agree, URLs and errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import StoreError
from alphaforge.ledger import Ledger, mask_url, normalize_url
from alphaforge.ledger.connect import HEAD, MIGRATIONS, alembic_config, make_engine, upgrade
from alphaforge.ledger.models import Base
from alphaforge.services.ledger import open_ledger

pytestmark = pytest.mark.integration

TABLES = {
    "runs", "cycles", "signals", "decisions", "orders", "order_events", "fills",
    "equity_snapshots", "position_snapshots", "risk_events", "reconcile_events", "halts",
    "strategy_state", "alembic_version",
}  # fmt: skip


def test_open_migrates_an_empty_database_to_head(ledger: Ledger) -> None:
    assert set(inspect(ledger.engine).get_table_names()) == TABLES
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with ledger.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head == "0001"


def test_models_and_migration_agree(ledger_url: str) -> None:
    engine = make_engine(ledger_url)
    upgrade(engine, fast=False)  # the migration scripts, whatever the database
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_head_constant_is_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def _sqlite_schema(path: Path) -> dict[str, Any]:
    """Every table's columns, indexes (with their columns) and foreign keys, as SQLite
    reports them, and the version row."""
    con = sqlite3.connect(path)
    out: dict[str, Any] = {}
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for t in tables:
        indexes = {
            (name, unique): [c[2] for c in con.execute(f'PRAGMA index_info("{name}")')]
            for _seq, name, unique, *_rest in con.execute(f'PRAGMA index_list("{t}")')
        }
        out[t] = (
            list(con.execute(f'PRAGMA table_info("{t}")')),
            indexes,
            sorted(con.execute(f'PRAGMA foreign_key_list("{t}")')),
        )
    out["version"] = list(con.execute("SELECT version_num FROM alembic_version"))
    con.close()
    return out


def test_a_fresh_sqlite_ledger_gets_the_migrations_schema(tmp_path: Path) -> None:
    """A new SQLite ledger is created from the models without Alembic: the same tables,
    columns, indexes and keys as the migration scripts make, and the head's version row."""
    schemas = []
    for name, fast in (("scripts.db", False), ("fast.db", True)):
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        upgrade(engine, fast=fast)
        engine.dispose()
        schemas.append(_sqlite_schema(tmp_path / name))
    assert set(schemas[0]) == TABLES | {"version"}
    assert schemas[0] == schemas[1]
    assert schemas[1]["version"] == [(HEAD,)]


def test_a_database_at_the_head_is_not_migrated_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger.open(url).close()
    con = sqlite3.connect(tmp_path / "ledger.db")
    con.execute("UPDATE alembic_version SET version_num = 'not-a-revision'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not-a-revision"):  # Alembic was asked, and refused
        Ledger.open(url)


def test_reopening_is_a_no_op(ledger_url: str) -> None:
    for _ in range(2):
        lg = Ledger.open(ledger_url)
        assert lg.runs() == []
        lg.close()


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    lg = Ledger.open(f"sqlite:///{tmp_path / 'deep' / 'ledger.db'}")
    with lg.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    lg.close()


def test_migration_files_are_in_the_package() -> None:
    names = {p.relative_to(MIGRATIONS).as_posix() for p in MIGRATIONS.rglob("*") if p.is_file()}
    assert {"env.py", "script.py.mako", "versions/0001_initial.py"} <= names


def test_urls_are_normalized_and_masked(settings: AppSettings) -> None:
    assert normalize_url("postgresql://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert (
        mask_url("postgresql+psycopg://u:s3cret@h:5432/db")
        == "postgresql+psycopg://u:***@h:5432/db"
    )
    assert settings.ledger_url_resolved == f"sqlite:///{settings.home / 'ledger.db'}"
    lg = open_ledger(settings)
    assert (settings.home / "ledger.db").exists() and "ledger.db" in lg.url_display
    lg.close()


def test_unreachable_database_names_the_url_without_password() -> None:
    with pytest.raises(StoreError) as err:
        Ledger.open("postgresql://trader:hunter2@127.0.0.1:1/ledger")
    message = str(err.value)
    assert "hunter2" not in message
    assert "postgresql+psycopg://trader:***@127.0.0.1:1/ledger" in message


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="nosuchdb"):
        Ledger.open("nosuchdb://x")
