"""PostgreSQL implementation of the bar store (SQLAlchemy 2 + psycopg 3).

One table (default ``bars``) with primary key ``(symbol, timeframe, timestamp)``; it becomes a
TimescaleDB hypertable on ``timestamp`` when the ``timescaledb`` extension is available. A write
copies every chunk into a temporary staging table (``COPY``), then upserts the staged rows with
one ``INSERT ... ON CONFLICT DO UPDATE`` (later chunks win), all in one transaction: a failed
write leaves the table untouched and readers never see half of it.
"""

from __future__ import annotations

import builtins
import io
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from alphaforge.core.errors import StoreError, UnknownSymbolError
from alphaforge.core.urlmask import mask_url, scrub_secrets
from alphaforge.data.schema import parse_timeframe, to_utc
from alphaforge.data.store_merge import VALUE_COLUMNS, canonical_for_store, empty_bars
from alphaforge.ports import SeriesInfo, WriteSummary

__all__ = ["PostgresStore"]

_COLS = ("symbol", "timestamp", *VALUE_COLUMNS)


class PostgresStore:
    """:class:`alphaforge.ports.BarStore` on PostgreSQL (TimescaleDB when present).

    Parameters
    ----------
    url
        SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host:5432/db``.
    table, schema
        Table name and schema (created when missing); tests use a unique schema each.
    """

    def __init__(self, url: str, table: str = "bars", schema: str | None = None) -> None:
        try:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(
                f"store_url: cannot use {mask_url(url)}: {scrub_secrets(str(exc), url)}"
            ) from None
        self._url = url
        prep = self.engine.dialect.identifier_preparer
        self.schema = schema
        self.table = (prep.quote(schema) + "." if schema else "") + prep.quote(table)
        self._ready = False
        self.hypertable = False

    def _fail(self, exc: Exception) -> StoreError:
        self._ready = False
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return StoreError(f"store {mask_url(self._url)}: {scrub_secrets(first, self._url)}")

    def _ensure(self, conn: sa.Connection) -> None:
        if self._ready:
            return
        if self.schema:
            prep = self.engine.dialect.identifier_preparer
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {prep.quote(self.schema)}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                "symbol text NOT NULL, timeframe text NOT NULL, "
                '"timestamp" timestamptz NOT NULL, open double precision NOT NULL, '
                "high double precision NOT NULL, low double precision NOT NULL, "
                "close double precision NOT NULL, volume double precision NOT NULL, "
                'adj_close double precision, PRIMARY KEY (symbol, timeframe, "timestamp"))'
            )
        )
        available = conn.execute(
            sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        ).first()
        if available:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
            conn.execute(
                sa.text("SELECT create_hypertable(:t, 'timestamp', if_not_exists => TRUE)"),
                {"t": self.table},
            )
            self.hypertable = True
        self._ready = True

    def _begin(self) -> Any:
        return self.engine.begin()

    # -- write -----------------------------------------------------------------------------
    def write(self, bars: pd.DataFrame | Iterable[pd.DataFrame], timeframe: str) -> WriteSummary:
        """Upsert bars (a frame or an iterable of chunks) in one transaction.

        ``inserted`` counts new keys; ``updated`` counts stored bars whose values changed.
        """
        chunks = [bars] if isinstance(bars, pd.DataFrame) else bars
        return self.write_many([(timeframe, chunks)])[0]

    def write_many(
        self, parts: Iterable[tuple[str, Iterable[pd.DataFrame]]]
    ) -> builtins.list[WriteSummary]:
        """Upsert several writes, each ``(timeframe, chunks)``, in one transaction (the files of
        one import: all of them or none). Returns one summary per part."""
        summaries: builtins.list[WriteSummary] = []
        try:
            with self._begin() as conn:
                conn.execute(sa.text("SET LOCAL TIME ZONE 'UTC'"))
                self._ensure(conn)
                conn.execute(
                    sa.text(
                        "CREATE TEMP TABLE _af_stage (seq bigserial, symbol text, "
                        '"timestamp" timestamptz, open float8, high float8, low float8, '
                        "close float8, volume float8, adj_close float8) ON COMMIT DROP"
                    )
                )
                for timeframe, chunks in parts:
                    tf = parse_timeframe(timeframe).name
                    for chunk in chunks:
                        _copy(conn, canonical_for_store(chunk))
                    summaries.append(self._merge(conn, tf))
                    conn.execute(sa.text("TRUNCATE _af_stage"))
        except SQLAlchemyError as exc:
            raise self._fail(exc) from None
        return summaries

    def _merge(self, conn: sa.Connection, tf: str) -> WriteSummary:
        vals = ", ".join(VALUE_COLUMNS)
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in VALUE_COLUMNS)
        old = ", ".join(f"t.{c}" for c in VALUE_COLUMNS)
        new = ", ".join(f"EXCLUDED.{c}" for c in VALUE_COLUMNS)
        sql = (
            'WITH src AS (SELECT DISTINCT ON (symbol, "timestamp") symbol, "timestamp", '
            f'{vals} FROM _af_stage ORDER BY symbol, "timestamp", seq DESC), '
            f'up AS (INSERT INTO {self.table} AS t (symbol, timeframe, "timestamp", {vals}) '
            f'SELECT symbol, :tf, "timestamp", {vals} FROM src '
            f'ON CONFLICT (symbol, timeframe, "timestamp") DO UPDATE SET {sets} '
            f"WHERE ({old}) IS DISTINCT FROM ({new}) RETURNING (xmax = 0) AS ins) "
            "SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up"
        )
        inserted, updated = conn.execute(sa.text(sql), {"tf": tf}).one()
        symbols = conn.execute(sa.text("SELECT DISTINCT symbol FROM _af_stage ORDER BY 1"))
        return WriteSummary(tuple(r[0] for r in symbols), int(inserted), int(updated))

    # -- read ------------------------------------------------------------------------------
    def read(
        self,
        symbols: Sequence[str] | None,
        timeframe: str,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Bars of ``symbols`` (all when ``None``) in ``[start, end]``, sorted by symbol, time.

        Raises
        ------
        UnknownSymbolError
            When a requested symbol has no bars of this timeframe.
        """
        tf = parse_timeframe(timeframe).name
        where = ["timeframe = :tf"]
        params: dict[str, object] = {"tf": tf}
        if start is not None:
            where.append('"timestamp" >= :start')
            params["start"] = to_utc(start)
        if end is not None:
            where.append('"timestamp" <= :end')
            params["end"] = to_utc(end)
        try:
            with self._begin() as conn:
                conn.execute(sa.text("SET LOCAL TIME ZONE 'UTC'"))
                self._ensure(conn)
                if symbols is not None:
                    self._check_known(conn, list(symbols), tf)
                    where.append("symbol = ANY(:syms)")
                    params["syms"] = list(symbols)
                sql = (
                    f"SELECT {', '.join(_quoted(_COLS))} FROM {self.table} "
                    f'WHERE {" AND ".join(where)} ORDER BY symbol, "timestamp"'
                )
                rows = conn.execute(sa.text(sql), params).all()
        except SQLAlchemyError as exc:
            raise self._fail(exc) from None
        return _frame(rows)

    def _check_known(self, conn: sa.Connection, symbols: builtins.list[str], tf: str) -> None:
        sql = (
            "SELECT s FROM unnest(CAST(:syms AS text[])) WITH ORDINALITY AS u(s, i) "
            f"WHERE NOT EXISTS (SELECT 1 FROM {self.table} b WHERE b.symbol = u.s "
            "AND b.timeframe = :tf) ORDER BY i LIMIT 1"
        )
        missing = conn.execute(sa.text(sql), {"syms": symbols, "tf": tf}).first()
        if missing is not None:
            raise UnknownSymbolError(f"unknown symbol {missing[0]!r} for timeframe {tf}")

    def list(self, timeframe: str | None = None) -> builtins.list[SeriesInfo]:
        """One :class:`SeriesInfo` per stored (symbol, timeframe), sorted by timeframe, symbol."""
        where, params = "", dict[str, object]()
        if timeframe:
            where, params = "WHERE timeframe = :tf", {"tf": parse_timeframe(timeframe).name}
        sql = (
            f'SELECT symbol, timeframe, count(*), min("timestamp"), max("timestamp") '
            f"FROM {self.table} {where} GROUP BY 1, 2 ORDER BY 2, 1"
        )
        rows = self._all(sql, params)
        return [SeriesInfo(s, tf, int(n), _ts(first), _ts(last)) for s, tf, n, first, last in rows]

    def last_timestamp(self, symbol: str, timeframe: str) -> pd.Timestamp | None:
        """Newest stored bar of the series, ``None`` when absent."""
        sql = f'SELECT max("timestamp") FROM {self.table} WHERE symbol = :s AND timeframe = :tf'
        rows = self._all(sql, {"s": symbol, "tf": parse_timeframe(timeframe).name})
        return _ts(rows[0][0]) if rows and rows[0][0] is not None else None

    def delete(self, symbol: str, timeframe: str) -> None:
        """Remove one series; raises :class:`UnknownSymbolError` when it is absent."""
        tf = parse_timeframe(timeframe).name
        try:
            with self._begin() as conn:
                self._ensure(conn)
                sql = f"DELETE FROM {self.table} WHERE symbol = :s AND timeframe = :tf"
                result = conn.execute(sa.text(sql), {"s": symbol, "tf": tf})
        except SQLAlchemyError as exc:
            raise self._fail(exc) from None
        if result.rowcount == 0:
            raise UnknownSymbolError(f"unknown symbol {symbol!r} for timeframe {tf}")

    def _all(self, sql: str, params: dict[str, object]) -> builtins.list[Any]:
        try:
            with self._begin() as conn:
                conn.execute(sa.text("SET LOCAL TIME ZONE 'UTC'"))
                self._ensure(conn)
                return builtins.list(conn.execute(sa.text(sql), params).all())
        except SQLAlchemyError as exc:
            raise self._fail(exc) from None


def _quoted(cols: Iterable[str]) -> builtins.list[str]:
    return [f'"{c}"' for c in cols]


def _ts(value: object) -> pd.Timestamp:
    t = pd.Timestamp(value)  # type: ignore[arg-type]
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _copy(conn: sa.Connection, bars: pd.DataFrame) -> None:
    """Stream one canonical chunk into the staging table with ``COPY``."""
    if bars.empty:
        return
    buf = io.StringIO()
    out = bars.assign(
        timestamp=pd.DatetimeIndex(bars["timestamp"]).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    )
    out.to_csv(buf, index=False, header=False, na_rep="")
    raw = conn.connection.driver_connection
    cols = ", ".join(_quoted(_COLS))
    with raw.cursor() as cur, cur.copy(f"COPY _af_stage ({cols}) FROM STDIN (FORMAT csv)") as cp:  # type: ignore[union-attr]
        cp.write(buf.getvalue())


def _frame(rows: Sequence[Any]) -> pd.DataFrame:
    if not rows:
        return empty_bars()
    df = pd.DataFrame.from_records(rows, columns=list(_COLS))
    df["symbol"] = df["symbol"].astype("str")
    df["timestamp"] = pd.DatetimeIndex(pd.to_datetime(df["timestamp"], utc=True)).as_unit("ns")
    for c in VALUE_COLUMNS:
        df[c] = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
    if df["adj_close"].isna().all():
        df = df.drop(columns="adj_close")
    return df
