"""Shadow against actual: a shadow run (``--shadow``: predictions and would-be orders, nothing
sent) beside the run that trades, both read from the ledger.

Over the bars both runs recorded an equity snapshot for:

- **returns**: each run's total return from the first common bar, their difference, the
  correlation of their per-bar returns and the annualised tracking error (standard deviation of
  the per-bar return difference x sqrt(periods per year));
- **trades**: each run's closed round trips, matched one to one by (symbol, side, entry time);
  the shadow's trades the actual run did not make and the reverse, and each side's P&L;
- **orders**: entry and exit orders of each run (the shadow's would-be orders);
- **predictions**: the shadow's recorded scores (``p=...`` signal values: a model's
  probabilities), how many, and their mean.

The report judges nothing: it shows what trading the shadow instead would have changed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import DataError
from alphaforge.core.jsonvalues import json_safe
from alphaforge.ledger import Ledger, RunInfo, TradeRow
from alphaforge.services.ledger import run_info

__all__ = ["RunSide", "ShadowReport", "shadow_report"]


@dataclass(frozen=True)
class RunSide:
    """One run's numbers over the common bars."""

    run_id: str
    mode: str
    strategy: str
    start_equity: float
    end_equity: float
    total_return: float
    trades: int
    pnl: float
    orders: int


@dataclass(frozen=True)
class ShadowReport:
    """A shadow run against the run that trades (see the module docstring)."""

    shadow: RunSide
    actual: RunSide
    start: str
    end: str
    bars: int
    return_diff: float  # shadow - actual
    correlation: float  # of per-bar returns (NaN when either is constant)
    tracking_error: float  # annualised
    matched: int
    shadow_only: tuple[tuple[str, str, str], ...]  # (symbol, side, entry time)
    actual_only: tuple[tuple[str, str, str], ...]
    predictions: int
    mean_prediction: float

    def verdict(self) -> str:
        """One line: what trading the shadow instead would have changed."""
        s, a = self.shadow, self.actual
        return (
            f"shadow {s.total_return:+.2%} vs actual {a.total_return:+.2%} over {self.bars:,} "
            f"bars (diff {self.return_diff * 100:+.2f} pp, tracking error "
            f"{self.tracking_error:.2%}); {self.matched} trades in both, "
            f"{len(self.shadow_only)} only in the shadow, {len(self.actual_only)} only in the "
            "actual run"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict()
        return json_safe(d)


def _key(t: TradeRow) -> tuple[str, str, str]:
    return (t.symbol, t.side, t.entry_ts)


def _orders(ledger: Ledger, run_id: str) -> int:
    return sum(1 for o in ledger.orders(run_id) if o.intent in ("entry", "exit", "rebalance"))


def _predictions(ledger: Ledger, run_id: str) -> list[float]:
    out = []
    for _bar, _symbol, value in ledger.signals(run_id):
        for part in value.split(","):
            if part.startswith("p="):
                out.append(float(part[2:]))
    return out


def _side(
    ledger: Ledger, run: RunInfo, eq: pd.Series, trades: list[TradeRow], start: str
) -> RunSide:
    closed = [t for t in trades if t.exit_ts >= start]
    e0, e1 = float(eq.iloc[0]), float(eq.iloc[-1])
    return RunSide(
        run_id=run.run_id, mode=run.mode, strategy=", ".join(run.strategies), start_equity=e0,
        end_equity=e1, total_return=e1 / e0 - 1.0, trades=len(closed),
        pnl=float(sum(float(t.pnl) for t in closed)), orders=_orders(ledger, run.run_id),
    )  # fmt: skip


def shadow_report(
    ledger: Ledger, shadow_id: str, actual_id: str, periods_per_year: float = 252.0
) -> ShadowReport:
    """Compare the shadow run ``shadow_id`` with the run ``actual_id`` of the same ledger.

    Raises
    ------
    StoreError
        When either run is not in the ledger.
    DataError
        When the runs share fewer than two bars with an equity snapshot.
    """
    shadow, actual = run_info(ledger, shadow_id), run_info(ledger, actual_id)
    es = ledger.equity_curve(shadow_id)["equity"].astype(float)
    ea = ledger.equity_curve(actual_id)["equity"].astype(float)
    common = es.index.intersection(ea.index)
    if len(common) < 2:
        raise DataError(
            f"runs {shadow_id} and {actual_id} share {len(common)} bar(s) with an equity "
            "snapshot; a comparison needs at least 2 (run them over the same period)"
        )
    es, ea = es.loc[common], ea.loc[common]
    start, end = common[0].isoformat(), common[-1].isoformat()
    ts, ta = ledger.trades(shadow_id), ledger.trades(actual_id)
    rs, ra = es.pct_change().iloc[1:].to_numpy(), ea.pct_change().iloc[1:].to_numpy()
    diff = rs - ra
    te = float(np.std(diff, ddof=1) * math.sqrt(periods_per_year)) if len(diff) > 1 else math.nan
    corr = math.nan
    if len(rs) > 1 and np.std(rs) > 0 and np.std(ra) > 0:
        corr = float(np.corrcoef(rs, ra)[0, 1])
    keys_s = Counter(_key(t) for t in ts if t.exit_ts >= start)
    keys_a = Counter(_key(t) for t in ta if t.exit_ts >= start)
    both = keys_s & keys_a
    preds = _predictions(ledger, shadow_id)
    side_s = _side(ledger, shadow, es, ts, start)
    side_a = _side(ledger, actual, ea, ta, start)
    return ShadowReport(
        shadow=side_s, actual=side_a, start=start, end=end, bars=len(common),
        return_diff=side_s.total_return - side_a.total_return, correlation=corr,
        tracking_error=te, matched=sum(both.values()),
        shadow_only=tuple(sorted((keys_s - keys_a).elements())),
        actual_only=tuple(sorted((keys_a - keys_s).elements())),
        predictions=len(preds), mean_prediction=float(np.mean(preds)) if preds else math.nan,
    )  # fmt: skip
