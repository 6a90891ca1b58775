"""The durable trading ledger (SQLAlchemy 2.0 models, Alembic migrations, the repository).

Open one with :meth:`Ledger.open`; the runtime writes each cycle through
:meth:`Ledger.cycle`, the CLI and reports read positions, orders, fills, round trips and
daily P&L from it.
"""

from __future__ import annotations

from alphaforge.ledger.repository import MODES, Ledger
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
from alphaforge.ledger.urls import default_url, mask_url, normalize_url
from alphaforge.ledger.writer import CycleWriter

__all__ = [
    "MODES",
    "CycleWriter",
    "FillRow",
    "HaltInfo",
    "Ledger",
    "OrderRow",
    "PositionRow",
    "ReconcileRow",
    "RiskEventRow",
    "RunInfo",
    "TradeRow",
    "default_url",
    "mask_url",
    "normalize_url",
]
