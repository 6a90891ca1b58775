"""The ledger's tables (SQLAlchemy 2.0 typed declarative models).

Every table but ``strategy_state`` is append-only: the current state of an order or a position
is derived by the repository from the events (the latest order event, the fills). Money and
quantities are :class:`Money` columns (``NUMERIC(28, 10)``) read back as ``Decimal``; times are
ISO-8601 text in UTC, so SQLite and PostgreSQL store and sort them alike. A bar is kept as the
text the runtime gave (it is part of the idempotent client order ids).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from alphaforge.core.errors import StoreError

__all__ = [
    "Base",
    "Cycle",
    "Decision",
    "EquitySnapshot",
    "FillRecord",
    "Halt",
    "Money",
    "OrderEvent",
    "OrderRecord",
    "PositionSnapshot",
    "ReconcileEvent",
    "RiskEvent",
    "Run",
    "SignalRecord",
    "StrategyState",
]


class Money(TypeDecorator[Decimal]):
    """``NUMERIC(28, 10)`` read back as ``Decimal`` on every database.

    PostgreSQL keeps the exact decimal. SQLite has no decimal type and stores a double (about
    15 significant digits); its value comes back through the float's shortest text, so 0.1 reads
    as ``Decimal('0.1')`` and not as the binary expansion."""

    impl = Numeric(28, 10)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(28, 10, asdecimal=False))
        return dialect.type_descriptor(Numeric(28, 10))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return float(value)
        return value if isinstance(value, Decimal) else Decimal(repr(float(value)))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return Decimal(repr(float(value)))
        except (TypeError, ValueError):  # SQLite keeps whatever was written into the column
            raise StoreError(
                f"ledger: a stored amount is not a number ({value!r}): the ledger file was "
                "changed outside alphaforge"
            ) from None


TS = String(40)  # ISO-8601 text
NAME = String(200)
RUN = String(100)
CLIENT_ID = String(100)


class Base(DeclarativeBase):
    pass


def _run_fk() -> Mapped[str]:
    return mapped_column(RUN, ForeignKey("runs.run_id"), nullable=False)


class Run(Base):
    """One runtime run (replay, paper or live); a restart with the same id resumes it."""

    __tablename__ = "runs"

    run_id: Mapped[str] = mapped_column(RUN, primary_key=True)
    mode: Mapped[str] = mapped_column(String(10))
    venue: Mapped[str] = mapped_column(NAME)
    config_hash: Mapped[str] = mapped_column(String(128))
    config_text: Mapped[str] = mapped_column(Text)
    strategies: Mapped[str] = mapped_column(Text)  # JSON list
    started: Mapped[str] = mapped_column(TS, index=True)
    replay_from: Mapped[str | None] = mapped_column(TS)
    replay_to: Mapped[str | None] = mapped_column(TS)


class Cycle(Base):
    """A committed cycle of a run (one bar); ``seq`` counts the run's cycles from 1."""

    __tablename__ = "cycles"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_cycles_run_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    bar: Mapped[str] = mapped_column(TS)
    wall: Mapped[str] = mapped_column(TS)
    seq: Mapped[int] = mapped_column(Integer)


class SignalRecord(Base):
    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_run_bar", "run_id", "bar"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    strategy: Mapped[str] = mapped_column(NAME)
    symbol: Mapped[str] = mapped_column(NAME)
    bar: Mapped[str] = mapped_column(TS)
    value: Mapped[str] = mapped_column(Text)


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_run_bar", "run_id", "bar"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    strategy: Mapped[str] = mapped_column(NAME)
    symbol: Mapped[str] = mapped_column(NAME)
    bar: Mapped[str] = mapped_column(TS)
    action: Mapped[str] = mapped_column(String(40))
    qty: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(Text)
    accepted: Mapped[bool] = mapped_column(Boolean)


class OrderRecord(Base):
    """An order request as the runtime made it (its state lives in ``order_events``)."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(CLIENT_ID, unique=True)
    run_id: Mapped[str] = mapped_column(RUN, ForeignKey("runs.run_id"), index=True)
    strategy: Mapped[str] = mapped_column(NAME)
    symbol: Mapped[str] = mapped_column(NAME)
    side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[Decimal] = mapped_column(Money)
    type: Mapped[str] = mapped_column(String(20))
    limit: Mapped[Decimal | None] = mapped_column(Money)
    stop: Mapped[Decimal | None] = mapped_column(Money)
    tif: Mapped[str] = mapped_column(String(10))
    intent: Mapped[str] = mapped_column(String(20))
    bar: Mapped[str] = mapped_column(TS)
    reason: Mapped[str] = mapped_column(Text)
    stop_loss: Mapped[Decimal | None] = mapped_column(Money)
    take_profit: Mapped[Decimal | None] = mapped_column(Money)
    created: Mapped[str] = mapped_column(TS)


class OrderEvent(Base):
    """One move of an order's life cycle; ``seq`` counts the order's events from 0 ('new')."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_client_seq", "client_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(CLIENT_ID)
    state: Mapped[str] = mapped_column(String(20))
    ts: Mapped[str] = mapped_column(TS)
    venue_id: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(Integer)


class FillRecord(Base):
    __tablename__ = "fills"
    __table_args__ = (Index("ix_fills_run_strategy", "run_id", "strategy"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fill_id: Mapped[str] = mapped_column(String(100), unique=True)
    client_id: Mapped[str] = mapped_column(CLIENT_ID, index=True)
    run_id: Mapped[str] = _run_fk()
    strategy: Mapped[str] = mapped_column(NAME)
    symbol: Mapped[str] = mapped_column(NAME)
    side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    slippage: Mapped[Decimal] = mapped_column(Money)
    ts: Mapped[str] = mapped_column(TS)


class EquitySnapshot(Base):
    __tablename__ = "equity_snapshots"
    __table_args__ = (Index("ix_equity_run_strategy_bar", "run_id", "strategy", "bar"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    strategy: Mapped[str] = mapped_column(NAME)
    bar: Mapped[str] = mapped_column(TS)
    cash: Mapped[Decimal] = mapped_column(Money)
    equity: Mapped[Decimal] = mapped_column(Money)
    gross: Mapped[Decimal] = mapped_column(Money)
    net: Mapped[Decimal] = mapped_column(Money)


class PositionSnapshot(Base):
    __tablename__ = "position_snapshots"
    __table_args__ = (Index("ix_positions_run_strategy_bar", "run_id", "strategy", "bar"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    strategy: Mapped[str] = mapped_column(NAME)
    bar: Mapped[str] = mapped_column(TS)
    symbol: Mapped[str] = mapped_column(NAME)
    qty: Mapped[Decimal] = mapped_column(Money)
    avg_price: Mapped[Decimal] = mapped_column(Money)


class RiskEvent(Base):
    """A risk rule that acted (``value`` against ``limit``; ratios, not money: doubles)."""

    __tablename__ = "risk_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(RUN, ForeignKey("runs.run_id"), index=True)
    strategy: Mapped[str] = mapped_column(NAME)
    bar: Mapped[str] = mapped_column(TS)
    rule: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    limit: Mapped[float] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(100))


class ReconcileEvent(Base):
    __tablename__ = "reconcile_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(RUN, ForeignKey("runs.run_id"), index=True)
    ts: Mapped[str] = mapped_column(TS)
    kind: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(NAME)
    client_id: Mapped[str] = mapped_column(CLIENT_ID)
    detail: Mapped[str] = mapped_column(Text)


class Halt(Base):
    """The kill switch: a halt or a resume, global to the ledger."""

    __tablename__ = "halts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[str] = mapped_column(TS)
    action: Mapped[str] = mapped_column(String(10))
    flatten: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(NAME)


class StrategyState(Base):
    """Per-strategy values that survive a restart (JSON text); the one mutable table."""

    __tablename__ = "strategy_state"

    strategy: Mapped[str] = mapped_column(NAME, primary_key=True)
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
