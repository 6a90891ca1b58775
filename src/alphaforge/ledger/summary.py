"""Daily summary of a run and the CSV export of its round trips per day and symbol."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from alphaforge.atomic import atomic_write
from alphaforge.core.errors import StoreError
from alphaforge.ledger.daily import parse_day
from alphaforge.ledger.repository import Ledger
from alphaforge.ledger.rows import TradeRow

__all__ = [
    "CSV_COLUMNS", "daily_summary", "export_trades_csv", "trades_by_day", "trades_csv_text",
]  # fmt: skip

CSV_COLUMNS = ["day", "strategy", "symbol", "trades", "wins", "losses", "qty", "pnl", "fees"]


def _day(ts: str) -> str:
    t = pd.Timestamp(ts)
    return str((t.tz_convert("UTC") if t.tzinfo else t).date())


def _num(x: Any) -> float:
    return float(x) if x is not None and x == x else 0.0


def daily_summary(ledger: Ledger, run_id: str, day: str) -> dict[str, Any]:
    """P&L, round trips, exposure and risk events of ``run_id`` on ``day`` (UTC), as plain
    JSON-serialisable values.

    Raises
    ------
    ConfigError
        When ``day`` is not a calendar date.
    StoreError
        When the run does not exist.
    """
    day = parse_day(day)
    if ledger.run(run_id) is None:
        raise StoreError(f"run {run_id!r}: not in the ledger {ledger.url_display}")
    daily = ledger.daily_pnl(run_id, day)
    row = daily.iloc[0] if not daily.empty else None
    trades = [t for t in ledger.trades(run_id) if _day(t.exit_ts) == day]
    curve = ledger.equity_curve(run_id)
    days = pd.DatetimeIndex(curve.index).strftime("%Y-%m-%d")
    on_day = curve[days == day]
    last = on_day.iloc[-1] if not on_day.empty else None
    return {
        "run_id": run_id,
        "day": day,
        "start_equity": _num(row["start_equity"]) if row is not None else None,
        "end_equity": _num(row["end_equity"]) if row is not None else None,
        "pnl": _num(row["pnl"]) if row is not None else 0.0,
        "return": _num(row["return"]) if row is not None else 0.0,
        "fees": _num(row["fees"]) if row is not None else 0.0,
        "trades": {
            "closed": len(trades),
            "wins": sum(1 for t in trades if t.pnl > 0),
            "losses": sum(1 for t in trades if t.pnl < 0),
            "pnl": float(sum((t.pnl for t in trades), Decimal(0))),
        },
        "exposure": {
            "gross": _num(last["gross"]) if last is not None else 0.0,
            "net": _num(last["net"]) if last is not None else 0.0,
        },
        "risk_events": [
            {
                "strategy": r.strategy,
                "bar": r.bar,
                "rule": r.rule,
                "value": r.value,
                "limit": r.limit,
                "action": r.action,
            }
            for r in ledger.risk_events(run_id)
            if _day(r.bar) == day
        ],
    }


def trades_by_day(trades: list[TradeRow]) -> list[dict[str, Any]]:
    """Round trips grouped by exit day (UTC), strategy and symbol, in that order."""
    groups: dict[tuple[str, str, str], list[TradeRow]] = defaultdict(list)
    for t in trades:
        groups[(_day(t.exit_ts), t.strategy, t.symbol)].append(t)
    return [
        {"day": d, "strategy": s, "symbol": sym, "trades": len(ts),
         "wins": sum(1 for t in ts if t.pnl > 0), "losses": sum(1 for t in ts if t.pnl < 0),
         "qty": sum((t.qty for t in ts), Decimal(0)),
         "pnl": sum((t.pnl for t in ts), Decimal(0)),
         "fees": sum((t.fees for t in ts), Decimal(0))}
        for (d, s, sym), ts in sorted(groups.items())
    ]  # fmt: skip


def export_trades_csv(ledger: Ledger, run_id: str, path: str | Path) -> Path:
    """Write the run's round trips per day and symbol (:data:`CSV_COLUMNS`) to ``path``
    atomically; returns the path.

    Raises
    ------
    StoreError
        When the run does not exist.
    """
    rows = _trade_rows(ledger, run_id)

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            _write_csv(fh, rows)

    return atomic_write(path, write)


def trades_csv_text(ledger: Ledger, run_id: str) -> str:
    """The CSV of :func:`export_trades_csv` as text (``export trades --csv -``).

    Raises
    ------
    StoreError
        When the run does not exist.
    """
    buf = io.StringIO(newline="")
    _write_csv(buf, _trade_rows(ledger, run_id))
    return buf.getvalue()


def _trade_rows(ledger: Ledger, run_id: str) -> list[dict[str, Any]]:
    if ledger.run(run_id) is None:
        raise StoreError(f"run {run_id!r}: not in the ledger {ledger.url_display}")
    return trades_by_day(ledger.trades(run_id))


def _write_csv(fh: TextIO, rows: list[dict[str, Any]]) -> None:
    out = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
    out.writeheader()
    for row in rows:
        out.writerow({k: _plain(v) for k, v in row.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value
