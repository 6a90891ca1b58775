"""Initial ledger tables: runs, cycles, signals, decisions, orders and their events, fills,
equity and position snapshots, risk and reconciliation events, halts and strategy state.

Revision ID: 0001
Revises:
Create Date: 2026-12-03 09:08:23.624075
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def money_type() -> sa.Numeric[Decimal]:
    """Money and quantities: NUMERIC(28, 10) (the models' ``Money``)."""
    return sa.Numeric(precision=28, scale=10)


def upgrade() -> None:
    op.create_table(
        "halts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("flatten", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=False),
        sa.Column("venue_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_order_events_client_seq", "order_events", ["client_id", "seq"], unique=False
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("venue", sa.String(length=200), nullable=False),
        sa.Column("config_hash", sa.String(length=128), nullable=False),
        sa.Column("config_text", sa.Text(), nullable=False),
        sa.Column("strategies", sa.Text(), nullable=False),
        sa.Column("started", sa.String(length=40), nullable=False),
        sa.Column("replay_from", sa.String(length=40), nullable=True),
        sa.Column("replay_to", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_index(op.f("ix_runs_started"), "runs", ["started"], unique=False)
    op.create_table(
        "strategy_state",
        sa.Column("strategy", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("strategy", "key"),
    )
    op.create_table(
        "cycles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("bar", sa.String(length=40), nullable=False),
        sa.Column("wall", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "seq", name="uq_cycles_run_seq"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("strategy", sa.String(length=200), nullable=False),
        sa.Column("symbol", sa.String(length=200), nullable=False),
        sa.Column("bar", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("qty", money_type(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_decisions_run_bar", "decisions", ["run_id", "bar"], unique=False)
    op.create_table(
        "equity_snapshots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("strategy", sa.String(length=200), nullable=False),
        sa.Column("bar", sa.String(length=40), nullable=False),
        sa.Column("cash", money_type(), nullable=False),
        sa.Column("equity", money_type(), nullable=False),
        sa.Column("gross", money_type(), nullable=False),
        sa.Column("net", money_type(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_equity_run_strategy_bar",
        "equity_snapshots",
        ["run_id", "strategy", "bar"],
        unique=False,
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fill_id", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("strategy", sa.String(length=200), nullable=False),
        sa.Column("symbol", sa.String(length=200), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("qty", money_type(), nullable=False),
        sa.Column("price", money_type(), nullable=False),
        sa.Column("fee", money_type(), nullable=False),
        sa.Column("slippage", money_type(), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fill_id"),
    )
    op.create_index(op.f("ix_fills_client_id"), "fills", ["client_id"], unique=False)
    op.create_index("ix_fills_run_strategy", "fills", ["run_id", "strategy"], unique=False)
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("strategy", sa.String(length=200), nullable=False),
        sa.Column("symbol", sa.String(length=200), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("qty", money_type(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("limit", money_type(), nullable=True),
        sa.Column("stop", money_type(), nullable=True),
        sa.Column("tif", sa.String(length=10), nullable=False),
        sa.Column("intent", sa.String(length=20), nullable=False),
        sa.Column("bar", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("stop_loss", money_type(), nullable=True),
        sa.Column("take_profit", money_type(), nullable=True),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    op.create_index(op.f("ix_orders_run_id"), "orders", ["run_id"], unique=False)
    op.create_table(
        "position_snapshots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("strategy", sa.String(length=200), nullable=False),
        sa.Column("bar", sa.String(length=40), nullable=False),
        sa.Column("symbol", sa.String(length=200), nullable=False),
        sa.Column("qty", money_type(), nullable=False),
        sa.Column("avg_price", money_type(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_positions_run_strategy_bar",
        "position_snapshots",
        ["run_id", "strategy", "bar"],
        unique=False,
    )
    op.create_table(
        "reconcile_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_reconcile_events_run_id"), "reconcile_events", ["run_id"], unique=False
    )
    op.create_table(
        "risk_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("strategy", sa.String(length=200), nullable=False),
        sa.Column("bar", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("limit", sa.Float(), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_risk_events_run_id"), "risk_events", ["run_id"], unique=False)
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("strategy", sa.String(length=200), nullable=False),
        sa.Column("symbol", sa.String(length=200), nullable=False),
        sa.Column("bar", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signals_run_bar", "signals", ["run_id", "bar"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_signals_run_bar", table_name="signals")
    op.drop_table("signals")
    op.drop_index(op.f("ix_risk_events_run_id"), table_name="risk_events")
    op.drop_table("risk_events")
    op.drop_index(op.f("ix_reconcile_events_run_id"), table_name="reconcile_events")
    op.drop_table("reconcile_events")
    op.drop_index("ix_positions_run_strategy_bar", table_name="position_snapshots")
    op.drop_table("position_snapshots")
    op.drop_index(op.f("ix_orders_run_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_fills_run_strategy", table_name="fills")
    op.drop_index(op.f("ix_fills_client_id"), table_name="fills")
    op.drop_table("fills")
    op.drop_index("ix_equity_run_strategy_bar", table_name="equity_snapshots")
    op.drop_table("equity_snapshots")
    op.drop_index("ix_decisions_run_bar", table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("cycles")
    op.drop_table("strategy_state")
    op.drop_index(op.f("ix_runs_started"), table_name="runs")
    op.drop_table("runs")
    op.drop_index("ix_order_events_client_seq", table_name="order_events")
    op.drop_table("order_events")
    op.drop_table("halts")
