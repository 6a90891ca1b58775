"""Cells of the tear sheet's sortable trades table: display text, sort key and CSS class."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

# (header, css class of the header cell)
TRADE_HEADERS: tuple[tuple[str, str], ...] = (
    ("#", ""), ("Symbol", "l"), ("Side", "l"), ("Entry", "l"), ("Exit", "l"), ("Qty", ""),
    ("Entry px", ""), ("Exit px", ""), ("P&L", ""), ("Return", ""), ("MAE", ""), ("MFE", ""),
    ("Bars", ""), ("Fees", ""), ("Exit reason", "l"),
)  # fmt: skip

Cell = tuple[str, str, str]  # (text, sort value, css class)


def _num(value: Any, fmt: str, signed: bool = False) -> Cell:
    x = float(value)
    if not math.isfinite(x):
        return ("—", "", "")
    cls = ("pos" if x > 0 else "neg" if x < 0 else "") if signed else ""
    return (format(x, fmt), repr(x), cls)


def _time(value: Any, intraday: bool) -> Cell:
    if value is None or pd.isna(value):
        return ("—", "", "l")
    ts = pd.Timestamp(value)
    text = f"{ts:%Y-%m-%d %H:%M}" if intraday else f"{ts:%Y-%m-%d}"
    return (text, ts.isoformat(), "l")


def trade_cells(trades: pd.DataFrame, intraday: bool) -> list[list[Cell]]:
    """One list of cells per trade, in the order of :data:`TRADE_HEADERS`."""
    rows: list[list[Cell]] = []
    for i, t in enumerate(trades.to_dict("records"), start=1):
        rows.append(
            [
                (str(i), str(i), ""),
                (str(t["symbol"]), str(t["symbol"]), "l"),
                (str(t["direction"]), str(t["direction"]), "l"),
                _time(t["entry_time"], intraday),
                _time(t["exit_time"], intraday),
                _num(t["quantity"], ",.4g"),
                _num(t["entry_price"], ",.2f"),
                _num(t["exit_price"], ",.2f"),
                _num(t["pnl"], ",.2f", signed=True),
                _num(t["return"], ".2%", signed=True),
                _num(t["mae"], ".2%"),
                _num(t["mfe"], ".2%"),
                _num(t["bars_held"], ",.0f"),
                _num(t["fees"], ",.2f"),
                (str(t["exit_reason"]), str(t["exit_reason"]), "l"),
            ]
        )
    return rows
