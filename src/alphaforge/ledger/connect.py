"""Engines for the ledger: SQLite pragmas on every connection, and Alembic run from code."""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect, Engine, Table, create_engine, event, insert, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD", "MIGRATIONS", "BulkInsert", "alembic_config", "make_engine", "upgrade"]

HEAD = "0001"
"""The newest migration's revision (a test checks it against the scripts): a ledger already
there is opened without loading Alembic."""

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
"""The Alembic script folder shipped inside the package."""

IMMEDIATE = "alphaforge_immediate"
"""Execution option: on SQLite, begin the transaction with ``BEGIN IMMEDIATE`` (a writer takes
the write lock up front, so it waits for another writer instead of failing on a stale read
snapshot)."""


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun by the "begin" listener
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, ``synchronous=NORMAL``, foreign keys, a
    5 s busy timeout and a WAL checkpoint every 10,000 pages (about 40 MB: a replay's batches
    write a lot, and each checkpoint syncs the file) on every connection, and their folder is
    created."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code (no ``alembic.ini``) for the shipped scripts."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head", fast: bool = True) -> None:
    """Migrate the ledger database of ``engine`` to ``revision`` in one transaction.

    ``fast`` (to the head only): a database already at the head is left as it is without
    loading Alembic, and an empty SQLite file gets the models' tables and the head's version
    row in one transaction (``tests/integration/ledger/test_ledger_schema.py`` checks that
    this schema is the migrations' one). Every other database is migrated by Alembic."""
    if fast and revision == "head":
        with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
            if _fast_upgrade(conn):
                return
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def _fast_upgrade(conn: Connection) -> bool:
    """Whether the database of ``conn`` is at :data:`HEAD` now: it was, or it was an empty
    SQLite database and got the head's schema here (inside the caller's transaction)."""
    if conn.dialect.has_table(conn, "alembic_version"):
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return bool(version == HEAD)
    if conn.dialect.name != "sqlite":
        return False
    if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
        return False  # tables without a version: Alembic says what to do
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for statement in _head_schema(conn.dialect):
            cursor.execute(statement)
    finally:
        cursor.close()
    return True


_SCHEMA: list[str] = []


def _head_schema(dialect: Dialect) -> list[str]:
    """The SQLite DDL of the head's schema: the models' tables and indexes, and the version
    table with its row. Compiled once per process; a new ledger runs these statements on the
    driver's cursor inside the caller's transaction (through SQLAlchemy each statement costs
    more than SQLite takes to run it, and ``create_all`` first asks for every table)."""
    if not _SCHEMA:
        from sqlalchemy.schema import CreateIndex, CreateTable

        from alphaforge.ledger.models import Base

        ddl = []
        for t in Base.metadata.sorted_tables:
            ddl.append(str(CreateTable(t).compile(dialect=dialect)).strip())
            ddl.extend(str(CreateIndex(ix).compile(dialect=dialect)) for ix in t.indexes)
        ddl.append(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
        ddl.append(f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD}')")
        _SCHEMA.extend(ddl)
    return _SCHEMA


# compiled INSERTs by (dialect, paramstyle), then (table, columns): shared by every ledger of
# the process, as the text depends on nothing else (a replay opens a new ledger per run)
_INSERTS: dict[
    tuple[str, str], dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...] | None]]
] = {}


class BulkInsert:
    """Multi-row ``INSERT`` of plain rows.

    On SQLite it is compiled once per table and column set and executed as the driver's
    ``executemany`` (a cycle writes many small batches: compiling each and binding every row
    through SQLAlchemy costs more than the database does). On PostgreSQL it is SQLAlchemy's
    multi-``VALUES`` insert: one round trip per table instead of one per row.

    Rows hold database-ready values: on SQLite, money as floats (what the ``Money`` column
    type binds), on PostgreSQL as ``Decimal``."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._sql = _INSERTS.setdefault((dialect.name, dialect.paramstyle), {})

    def __call__(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.dialect.name != "sqlite":  # one multi-VALUES statement (insertmanyvalues)
            conn.execute(insert(table), rows)
            return
        keys = tuple(rows[0])
        compiled = self._sql.get((table.name, keys))
        if compiled is None:
            c = insert(table).compile(dialect=self.dialect, column_keys=list(keys))
            order = tuple(c.positiontup) if c.positiontup is not None else None
            compiled = self._sql[(table.name, keys)] = (str(c), order)
        sql, order = compiled
        if order is None:
            conn.exec_driver_sql(sql, rows)
            return
        get = itemgetter(*order)
        params = [get(r) for r in rows] if len(order) > 1 else [(get(r),) for r in rows]
        conn.exec_driver_sql(sql, params)
