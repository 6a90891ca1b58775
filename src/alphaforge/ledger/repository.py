"""The durable trading ledger: what the runtime did, kept in SQLite or PostgreSQL.

:class:`Ledger` is the unit of work of the runtime. A run is registered once
(:meth:`Ledger.start_run`); each cycle (one bar) writes its signals, decisions, orders, order
events, fills, snapshots and events through a :class:`~alphaforge.ledger.writer.CycleWriter` in
one transaction (:meth:`Ledger.cycle`). Everything but the strategy state is appended, never
updated: order states and positions are derived by the reads. The kill switch
(:meth:`Ledger.halt`, :meth:`Ledger.resume`) is global and survives restarts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from alphaforge.core.errors import StoreError
from alphaforge.core.recent import RecentIds
from alphaforge.core.urlmask import scrub_secrets
from alphaforge.ledger import models as m
from alphaforge.ledger import queries as q
from alphaforge.ledger.connect import IMMEDIATE, BulkInsert, make_engine, upgrade
from alphaforge.ledger.daily import daily_table
from alphaforge.ledger.rows import (
    FillRow,
    HaltInfo,
    OrderRow,
    PositionRow,
    ReconcileRow,
    RiskEventRow,
    RunInfo,
    TradeRow,
)
from alphaforge.ledger.run_lock import RunLocks
from alphaforge.ledger.urls import mask_url, normalize_url
from alphaforge.ledger.values import utc_text
from alphaforge.ledger.writer import BatchIds, CycleWriter, MarkedCycles

__all__ = ["MODES", "Ledger"]

MODES = ("replay", "paper", "live", "shadow")
FILLS_REMEMBERED = 10_000  # recorded fill ids kept per run to answer CycleWriter.fill at once
T = TypeVar("T")
table = q.table


class CycleBatch:
    """The cycles of one ledger transaction (:meth:`Ledger.cycles`), in bar order: ``batch(bar)``
    opens the writer of the next cycle; :meth:`marks` adds cycles on which only the book was
    marked."""

    def __init__(self, run_id: str, fill_known: Callable[[str], bool], exact: bool) -> None:
        self.run_id = run_id
        self._fill_known = fill_known
        self._exact = exact
        self.writers: list[CycleWriter | MarkedCycles] = []

    def __call__(self, bar: str) -> CycleWriter:
        w = CycleWriter(self.run_id, bar, self._fill_known, self._exact)
        self.writers.append(w)
        return w

    def marks(self, strategy: str, bars: list[str], values: dict[str, Any]) -> MarkedCycles:
        """Cycles at ``bars`` with only ``strategy``'s equity snapshot (``values``: cash,
        equity, gross and net, one float per bar)."""
        w = MarkedCycles(self.run_id, strategy, bars, values, self._exact)
        self.writers.append(w)
        return w


def _first_line(exc: BaseException, url: str) -> str:
    """The first line of a database error, without ``url``'s passwords (a driver may quote
    them)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return scrub_secrets(text.splitlines()[0] if text else type(exc).__name__, url)


class Ledger:
    """The trading ledger at one database URL.

    Open it with :meth:`open`; close it with :meth:`close` (or use it as a context manager).
    Errors of the database are :class:`~alphaforge.core.errors.StoreError` naming the URL with
    its password masked (:attr:`url_display`)."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self._url = url  # the full URL, to keep its passwords out of errors
        self.url_display = mask_url(url)
        self._bulk = BulkInsert(engine.dialect)
        self._exact = engine.dialect.name != "sqlite"  # SQLite keeps money as doubles
        self._seq: dict[str, int] = {}  # the last cycle number written per run
        self._fills_seen: dict[str, RecentIds] = {}  # see _fills_of
        self.locks = RunLocks(engine, url, self.url_display)  # the runs this process runs

    # ---- life cycle --------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> Ledger:
        """Open (create, migrate to the newest schema) the ledger at ``url``.

        Parameters
        ----------
        url
            ``sqlite:///path/ledger.db`` or a PostgreSQL URL (``postgresql://`` uses psycopg).

        Raises
        ------
        StoreError
            When the database cannot be reached, created or migrated.
        """
        full = normalize_url(url)
        display = mask_url(full)
        try:
            engine = make_engine(full)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"ledger {display}: {_first_line(exc, full)}") from None
        try:
            upgrade(engine)
        except Exception as exc:
            engine.dispose()
            raise StoreError(f"ledger {display}: {_first_line(exc, full)}") from None
        return cls(engine, full)

    def close(self) -> None:
        """Release the runs this ledger holds and the database connections."""
        self.locks.release_all()
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.url_display!r})"

    def _read(self, fn: Callable[[Connection], T]) -> T:
        try:
            with self.engine.connect() as conn:
                return fn(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"ledger {self.url_display}: {_first_line(exc, self._url)}") from exc

    def _write(self, fn: Callable[[Connection], T]) -> T:
        try:
            immediate = self.engine.connect().execution_options(**{IMMEDIATE: True})
            with immediate as conn, conn.begin():
                return fn(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"ledger {self.url_display}: {_first_line(exc, self._url)}") from exc

    # ---- runs --------------------------------------------------------------------------------

    def start_run(
        self,
        *,
        run_id: str,
        mode: str,
        venue: str,
        config_hash: str,
        config_text: str,
        strategies: list[str],
        started: str,
        replay_from: str | None = None,
        replay_to: str | None = None,
    ) -> bool:
        """Register a run; False (and nothing written) when ``run_id`` exists: a restart
        resumes it.

        Raises
        ------
        StoreError
            When ``mode`` is not one of 'replay', 'paper', 'live'.
        RunBusyError
            When another process runs ``run_id`` (this ledger then holds it until it closes:
            see :mod:`alphaforge.ledger.run_lock`).
        """
        if mode not in MODES:
            raise StoreError(f"run {run_id}: mode {mode!r} is not one of {', '.join(MODES)}")
        self.locks.hold(run_id)  # one process runs a run (RunBusyError when another does)
        t = table(m.Run)
        row = {
            "run_id": run_id, "mode": mode, "venue": venue, "config_hash": config_hash,
            "config_text": config_text, "strategies": json.dumps(list(strategies)),
            "started": utc_text(started), "replay_from": replay_from, "replay_to": replay_to,
        }  # fmt: skip

        def write(conn: Connection) -> bool:
            if conn.scalar(select(t.c.run_id).where(t.c.run_id == run_id)) is not None:
                return False
            conn.execute(insert(t), row)
            return True

        return self._write(write)

    def end_run(self, run_id: str) -> None:
        """This process stops running ``run_id`` (its setup closed): the run's lock is released
        (see :mod:`alphaforge.ledger.run_lock`); the run itself stays as it is."""
        self.locks.release(run_id)

    def run(self, run_id: str) -> RunInfo | None:
        """The run ``run_id``, or None."""
        t = table(m.Run)
        found = self._read(lambda c: c.execute(select(t).where(t.c.run_id == run_id)).first())
        return _run_info(found) if found is not None else None

    def runs(self) -> list[RunInfo]:
        """Every run, newest first."""
        t = table(m.Run)
        query = select(t).order_by(t.c.started.desc(), t.c.run_id.desc())
        return [_run_info(r) for r in self._read(lambda c: c.execute(query).all())]

    def last_run(self) -> RunInfo | None:
        """The newest run, or None when the ledger has none."""
        t = table(m.Run)
        query = select(t).order_by(t.c.started.desc(), t.c.run_id.desc()).limit(1)
        found = self._read(lambda c: c.execute(query).first())
        return _run_info(found) if found is not None else None

    def last_bar(self, run_id: str) -> str | None:
        """The bar of the run's last committed cycle."""
        t = table(m.Cycle)
        query = select(t.c.bar).where(t.c.run_id == run_id).order_by(t.c.seq.desc()).limit(1)
        return self._read(lambda c: c.scalar(query))

    # ---- cycles ------------------------------------------------------------------------------

    @contextmanager
    def cycle(self, run_id: str, bar: str) -> Iterator[CycleWriter]:
        """Record one cycle of ``run_id`` at ``bar``: every write of the block commits together
        when it ends, or none when it raises (the exception propagates).

        Raises
        ------
        StoreError
            When the cycle cannot be written (unknown run, database error).
        """
        with self.cycles(run_id) as new:
            yield new(bar)

    @contextmanager
    def cycles(self, run_id: str) -> Iterator[CycleBatch]:
        """Record several cycles of ``run_id`` in one transaction: the block gets a
        :class:`CycleBatch`, whose call opens the writer of the next cycle (its bar); all of
        them commit together when the block ends, or none when it raises. A replay batches its
        cycles this way; each cycle stays whole (a crash loses whole cycles, never part of
        one)."""
        batch = CycleBatch(run_id, lambda fill_id: fill_id in self._fills_of(run_id), self._exact)
        yield batch
        writers = batch.writers
        if not writers:
            return
        seq = self._seq.get(run_id)
        if seq is None:
            t = table(m.Cycle)
            query = select(func.max(t.c.seq)).where(t.c.run_id == run_id)
            seq = self._read(lambda c: c.scalar(query)) or 0
        self._seq.pop(run_id, None)
        count = sum(len(w) if isinstance(w, MarkedCycles) else 1 for w in writers)

        def flush(conn: Connection) -> None:
            # orders first, then what refers to them: one insert per table for the batch
            deferred: dict[type[m.Base], list[dict[str, Any]]] = {
                m.OrderRecord: [], m.OrderEvent: [], m.FillRecord: [],
            }  # fmt: skip
            known = BatchIds(conn, [w for w in writers if isinstance(w, CycleWriter)])
            k = seq + 1
            for w in writers:
                if isinstance(w, MarkedCycles):
                    w.flush(conn, self._bulk, k, deferred)
                    k += len(w)
                else:
                    w.flush(conn, self._bulk, k, deferred, known)
                    k += 1
            for model, rows in deferred.items():
                self._bulk(conn, table(model), rows)

        self._write(flush)
        self._seq[run_id] = seq + count
        seen = self._fills_seen.get(run_id)
        if seen is not None:
            for w in writers:
                if isinstance(w, CycleWriter):
                    seen.update(w.fill_ids)

    def _fills_of(self, run_id: str) -> RecentIds:
        """Fill ids recorded for ``run_id``: read once, then kept current by this ledger's own
        writes (one process runs a run). Only the last :data:`FILLS_REMEMBERED` are kept, so a
        long run's memory stays flat: a venue repeats recent fills, not old ones, and the write
        re-checks the database in any case (an old fill repeated is still recorded once)."""
        seen = self._fills_seen.get(run_id)
        if seen is None:
            t = table(m.FillRecord)
            query = select(t.c.fill_id).where(t.c.run_id == run_id).order_by(t.c.id)
            seen = RecentIds(self._read(lambda c: c.scalars(query)), FILLS_REMEMBERED)
            self._fills_seen[run_id] = seen
        return seen

    # ---- reads -------------------------------------------------------------------------------

    def positions(self, run_id: str, strategy: str | None = None) -> list[PositionRow]:
        """Open positions derived from the fills (flat ones omitted)."""
        return self._read(lambda c: q.positions(c, run_id, strategy))

    def orders(self, run_id: str, state: str | None = None) -> list[OrderRow]:
        """The run's orders with their current state; ``state='open'`` keeps those not in a
        terminal state, any other value an exact state ('filled', 'cancelled', ...)."""
        rows = self._read(lambda c: q.order_rows(c, run_id))
        if state is None:
            return rows
        if state == "open":
            terminal = {"filled", "cancelled", "rejected", "expired"}
            return [r for r in rows if r.state not in terminal]
        return [r for r in rows if r.state == state]

    def order(self, client_id: str) -> OrderRow | None:
        """The order ``client_id`` with its current state, or None."""
        rows = self._read(lambda c: q.order_rows(c, client_id=client_id))
        return rows[0] if rows else None

    def fills(self, run_id: str, strategy: str | None = None) -> list[FillRow]:
        """The run's fills, oldest first."""
        return self._read(lambda c: q.fills(c, run_id, strategy))

    def submitted_ids(self, run_id: str | None = None) -> set[str]:
        """Client ids that ever reached 'submitted' or later (of one run, or of all)."""
        return self._read(lambda c: q.submitted_ids(c, run_id))

    def trades(self, run_id: str, strategy: str | None = None) -> list[TradeRow]:
        """Round trips matched FIFO per (strategy, symbol) from the fills."""
        return self._read(lambda c: q.trades(c, run_id, strategy))

    def signals(self, run_id: str) -> list[tuple[str, str, str]]:
        """The run's recorded signals as (bar, symbol, value), in bar order."""
        t = table(m.SignalRecord)
        query = select(t.c.bar, t.c.symbol, t.c.value).where(t.c.run_id == run_id)
        return [(b, s, v) for b, s, v in self._read(lambda c: c.execute(query.order_by(t.c.id)))]

    def equity_curve(self, run_id: str, strategy: str | None = None) -> pd.DataFrame:
        """Cash, equity, gross and net exposure by bar (UTC), summed over strategies when
        ``strategy`` is None."""
        return self._read(lambda c: q.equity_curve(c, run_id, strategy))

    def daily_pnl(self, run_id: str, day: str | None = None) -> pd.DataFrame:
        """Per UTC day: start and end equity, pnl, return, round trips closed, fees, risk
        events and the exposure at the day's last bar, each summed over the run's strategies
        (see :func:`alphaforge.ledger.daily.daily_table`); ``day`` keeps one day.

        Raises
        ------
        ConfigError
            When ``day`` is not a calendar date.
        """

        def read(c: Connection) -> pd.DataFrame:
            return daily_table(
                q.equity_curve(c, run_id),
                q.trades(c, run_id),
                q.fills(c, run_id),
                _risk_events(c, run_id),
                day,
            )

        return self._read(read)

    def risk_events(self, run_id: str) -> list[RiskEventRow]:
        """Risk rules that acted during the run, in order."""
        return self._read(lambda c: _risk_events(c, run_id))

    def switch_refusals(
        self, run_id: str, strategy: str | None = None
    ) -> tuple[int, str | None, str | None]:
        """Orders of the run the kill switch refused (the risk gate's ``trading_state``
        check: halted or reducing): how many, and the first and last bar."""
        t = table(m.Decision)
        query = select(func.count(), func.min(t.c.bar), func.max(t.c.bar)).where(
            t.c.run_id == run_id, t.c.accepted.is_(False), t.c.reason.like("trading_state:%")
        )
        if strategy is not None:
            query = query.where(t.c.strategy == strategy)
        row = self._read(lambda c: c.execute(query).one())
        return int(row[0]), row[1], row[2]

    def reconcile_events(self, run_id: str) -> list[ReconcileRow]:
        """Differences found between the ledger and the venue during the run, in order."""
        t = table(m.ReconcileEvent)
        query = select(t).where(t.c.run_id == run_id).order_by(t.c.id)
        rows = self._read(lambda c: c.execute(query).all())
        return [ReconcileRow(r.run_id, r.ts, r.kind, r.symbol, r.client_id, r.detail) for r in rows]

    def state(self, strategy: str, key: str) -> Any | None:
        """The value kept for ``strategy`` under ``key`` (JSON-decoded), or None."""
        t = table(m.StrategyState)
        query = select(t.c.value).where(t.c.strategy == strategy, t.c.key == key)
        text = self._read(lambda c: c.scalar(query))
        return None if text is None else json.loads(text)

    # ---- kill switch -------------------------------------------------------------------------

    def halt(self, *, reason: str, flatten: bool, by: str, ts: str) -> None:
        """Halt trading everywhere until :meth:`resume`; ``flatten`` asks the runtime to close
        every position."""
        self._switch("halt", reason=reason, flatten=flatten, by=by, ts=ts)

    def reduce_only(self, *, reason: str, by: str, ts: str) -> None:
        """Let only orders that reduce exposure go out, everywhere, until :meth:`resume`
        (exits and protective stops still work; nothing opens or grows a position)."""
        self._switch("reduce", reason=reason, flatten=False, by=by, ts=ts)

    def resume(self, *, by: str, ts: str) -> None:
        """Lift the halt in force (a no-op record when none is)."""
        self._switch("resume", reason="", flatten=False, by=by, ts=ts)

    def _switch(self, action: str, *, reason: str, flatten: bool, by: str, ts: str) -> None:
        row = {"ts": utc_text(ts), "action": action, "flatten": flatten, "reason": reason,
               "by": by}  # fmt: skip
        self._write(lambda c: c.execute(insert(table(m.Halt)), row))

    def halted(self) -> HaltInfo | None:
        """The last halt (or reduce-only switch) when no resume came after it, else None."""
        t = table(m.Halt)
        last = self._read(lambda c: c.execute(select(t).order_by(t.c.id.desc()).limit(1)).first())
        if last is None or last.action not in ("halt", "reduce"):
            return None
        return HaltInfo(
            reason=last.reason, flatten=bool(last.flatten), by=last.by, ts=last.ts,
            reducing=last.action == "reduce",
        )  # fmt: skip


def _run_info(r: Any) -> RunInfo:
    return RunInfo(
        run_id=r.run_id, mode=r.mode, venue=r.venue, config_hash=r.config_hash,
        config_text=r.config_text, strategies=tuple(json.loads(r.strategies)),
        started=r.started, replay_from=r.replay_from, replay_to=r.replay_to,
    )  # fmt: skip


def _risk_events(conn: Connection, run_id: str) -> list[RiskEventRow]:
    t = table(m.RiskEvent)
    query = select(t).where(t.c.run_id == run_id).order_by(t.c.id)
    return [
        RiskEventRow(r.run_id, r.strategy, r.bar, r.rule, r.value, r.limit, r.action)
        for r in conn.execute(query)
    ]
