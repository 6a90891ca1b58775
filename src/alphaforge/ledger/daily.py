"""Profit and loss per UTC day of a run, from its equity snapshots, round trips, fills and risk
events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.ledger.rows import FillRow, RiskEventRow, TradeRow
from alphaforge.ledger.values import SCALE

__all__ = ["DAILY_COLUMNS", "daily_table", "parse_day"]

DAILY_COLUMNS = [
    "start_equity", "end_equity", "pnl", "return", "trades", "fees", "risk_events", "gross",
    "net",
]  # fmt: skip


def parse_day(day: str) -> str:
    """``day`` as ``YYYY-MM-DD``, or :class:`ConfigError` naming it (``2019-02-30`` is not a
    day)."""
    try:
        return dt.date.fromisoformat(day.strip()).isoformat()
    except ValueError:
        raise ConfigError(f"day {day!r}: not a calendar date (expected YYYY-MM-DD)") from None


def _day_of(ts: str) -> str:
    t = pd.Timestamp(ts)
    return str((t.tz_convert("UTC") if t.tzinfo else t).date())


def daily_table(
    equity: pd.DataFrame,
    trades: Sequence[TradeRow],
    fills: Sequence[FillRow],
    risk: Sequence[RiskEventRow],
    day: str | None = None,
) -> pd.DataFrame:
    """One row per UTC day (index ``day``, text ``YYYY-MM-DD``).

    ``start_equity`` is the last equity of the day before (the day's first snapshot on the
    run's first day), ``end_equity`` the day's last; ``pnl`` their difference and ``return``
    the pnl over the start. ``trades`` counts round trips closed that day, ``fees`` the fees of
    the day's fills, ``risk_events`` the risk rules that acted; ``gross`` and ``net`` are the
    exposure (sum of the absolute, and of the signed, position values) at the day's last
    snapshot. Amounts have the ledger's 10 decimal places (a difference of two amounts has no
    binary noise such as ``-37.15111999999499`` for ``-37.15112``)."""
    if equity.empty:
        frame = pd.DataFrame(columns=DAILY_COLUMNS)
        frame.index.name = "day"
        return frame
    days = pd.Index(pd.DatetimeIndex(equity.index).strftime("%Y-%m-%d"), name="day")
    last = equity[["equity", "gross", "net"]].groupby(days).last()  # each day's last snapshot
    end = last["equity"]
    start = end.shift(1).fillna(equity["equity"].groupby(days).first())
    out = pd.DataFrame({"start_equity": start, "end_equity": end}).round(SCALE)
    out["pnl"] = (out["end_equity"] - out["start_equity"]).round(SCALE)
    out["return"] = (out["pnl"] / out["start_equity"]).where(out["start_equity"] != 0, 0.0)
    out["trades"] = _count([_day_of(t.exit_ts) for t in trades], out.index)
    fees = pd.Series([float(f.fee) for f in fills], index=[_day_of(f.ts) for f in fills])
    out["fees"] = fees.groupby(level=0).sum().reindex(out.index, fill_value=0.0).astype(float)
    out["risk_events"] = _count([_day_of(r.bar) for r in risk], out.index)
    out["gross"], out["net"] = last["gross"].astype(float), last["net"].astype(float)
    out[["fees", "gross", "net"]] = out[["fees", "gross", "net"]].round(SCALE)
    out.index.name = "day"
    if day is not None:
        out = out.loc[out.index == parse_day(day)]
    return out


def _count(days: list[str], index: pd.Index) -> pd.Series:
    counts = pd.Series(1, index=days, dtype=int).groupby(level=0).sum() if days else pd.Series()
    return counts.reindex(index, fill_value=0).astype(int)
