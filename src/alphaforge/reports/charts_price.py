"""The price chart of the tear sheet: each traded symbol's bars with its entries, exits and the
configured stop / target levels, one symbol at a time behind a dropdown.

Bars are candlesticks while a symbol has at most :data:`MAX_CANDLES` of them and a close line
above that; a line longer than :data:`MAX_LINE_POINTS` is thinned. Trade markers are never
thinned: every entry and exit is drawn at its fill price from the trades table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from alphaforge.core.costs import Level, SpecError, level_value
from alphaforge.reports import frames
from alphaforge.reports.charts import NEGATIVE, POSITIVE, STRATEGY, empty_figure, style

MAX_CANDLES = 1500  # per symbol; above this a close line is lighter and still readable
MAX_LINE_POINTS = 4000  # per symbol; a longer close line (minute bars) is thinned
MAX_SYMBOLS = 30  # symbols in the dropdown (those with the most trades)
_OHLC = (1, 2, 3, 4)  # open, high, low, close in BacktestResult.data_arrays


@dataclass(frozen=True)
class Bars:
    """One symbol's bars: ``close`` always, ``ohlc`` (open, high, low, close) when kept."""

    close: pd.Series
    ohlc: tuple[np.ndarray, ...] | None


def symbol_bars(result: Any) -> dict[str, Bars] | None:
    """Bars of every symbol: OHLC from a result that still holds its input arrays, else the
    saved closes; None when the result kept neither."""
    close = frames.closes(result)
    if close is None:
        return None
    arrays = getattr(result, "data_arrays", None)
    shape = (len(result.index), len(result.symbols))
    full = arrays is not None and all(np.shape(arrays[k]) == shape for k in _OHLC)
    out = {}
    for j, sym in enumerate(result.symbols):
        ohlc = tuple(np.asarray(arrays[k][:, j], dtype=np.float64) for k in _OHLC) if full else None  # type: ignore[index]
        out[str(sym)] = Bars(close[sym], ohlc)
    return out


def charted_symbols(result: Any) -> list[str]:
    """Symbols with trades, most trades first (ties in symbol order), at most
    :data:`MAX_SYMBOLS`; the first symbol when nothing traded."""
    counts = result.trades["symbol"].value_counts() if result.num_trades else pd.Series(dtype=int)
    order = {s: i for i, s in enumerate(result.symbols)}
    ranked = sorted(counts.index, key=lambda s: (-int(counts[s]), order.get(s, 0)))
    return [str(s) for s in ranked[:MAX_SYMBOLS]] or [str(result.symbols[0])]


def _level(spec: Any) -> Level | None:
    try:
        return level_value(spec)
    except SpecError:
        return None


def trade_levels(trades: pd.DataFrame, config: dict[str, Any], key: str) -> np.ndarray:
    """The ``exits.<key>`` price of each trade (``stop_loss`` or ``take_profit``) as the
    simulator sets it from the entry fill price: ``entry * (1 -/+ d * pct)`` or
    ``entry -/+ d * distance`` (``d`` = +1 long, -1 short); NaN when off or ATR-based."""
    level = _level((config.get("exits") or {}).get(key))
    entry = trades["entry_price"].to_numpy(dtype=np.float64)
    d = np.where(trades["direction"].to_numpy() == "long", 1.0, -1.0)
    sign = -1.0 if key == "stop_loss" else 1.0
    if level is None or level.kind == "atr":
        return np.full(len(trades), np.nan)
    if level.kind == "pct":
        return np.asarray(entry * (1.0 + sign * d * level.value), dtype=np.float64)
    return np.asarray(entry + sign * d * level.value, dtype=np.float64)


def _x(times: pd.Series | pd.Index) -> Any:
    """Timestamps for the chart: ``YYYY-MM-DD`` text when all fall on midnight (daily bars,
    half the bytes of a full timestamp), else naive UTC ``datetime64``."""
    x = frames.x_values(pd.DatetimeIndex(times))
    idx = pd.DatetimeIndex(x)
    if len(idx) and (idx == idx.normalize()).all():
        return np.asarray(idx.strftime("%Y-%m-%d"), dtype=object)
    return x


def _price_trace(sym: str, bars: Bars) -> go.BaseTraceType:
    ok = bars.close.notna().to_numpy()
    index = bars.close.index[ok]
    if bars.ohlc is not None and int(ok.sum()) <= MAX_CANDLES:
        o, h, lo, c = (a[ok] for a in bars.ohlc)
        return go.Candlestick(
            x=_x(index), open=o, high=h, low=lo, close=c, name=f"{sym} bars",
            increasing={"line": {"color": "#7f8c8d"}, "fillcolor": "#d5dbe3"},
            decreasing={"line": {"color": "#34495e"}, "fillcolor": "#7f8c8d"},
        )  # fmt: skip
    line = frames.thin(bars.close[ok], MAX_LINE_POINTS)
    return go.Scatter(
        x=_x(line.index), y=line.to_numpy(), name=f"{sym} close",
        line={"color": STRATEGY, "width": 1.2}, hovertemplate="%{y:,.2f}<extra>close</extra>",
    )  # fmt: skip


def _markers(sym: str, t: pd.DataFrame, entry: bool, long: bool) -> go.Scatter:
    side = "long" if long else "short"
    when, price = ("entry_time", "entry_price") if entry else ("exit_time", "exit_price")
    text = (
        [f"{side} entry, qty {q:,.4g}" for q in t["quantity"]]
        if entry
        else [f"{side} exit ({r}), P&L {p:,.2f}" for r, p in zip(t["exit_reason"], t["pnl"], strict=True)]
    )  # fmt: skip
    symbol = ("triangle-up" if long else "triangle-down") if entry else "x"
    return go.Scatter(
        x=_x(t[when]), y=t[price].to_numpy(dtype=np.float64), mode="markers",
        name=f"{side} {'entries' if entry else 'exits'}", text=text,
        marker={"symbol": symbol, "size": 10 if entry else 9,
                "color": POSITIVE if long else NEGATIVE,
                "line": {"width": 1, "color": "#1f2d3d"}},
        hovertemplate="%{text}<br>fill %{y:,.4f}<extra>" + sym + "</extra>",
    )  # fmt: skip


def _segments(t: pd.DataFrame, values: np.ndarray, name: str, color: str) -> go.Scatter | None:
    """One horizontal segment per trade from entry to exit at ``values`` (gaps between)."""
    ok = np.isfinite(values)
    if not ok.any():
        return None
    starts, ends = _x(t["entry_time"][ok]), _x(t["exit_time"][ok])
    xs: list[Any] = []
    ys: list[float | None] = []
    for a, b, v in zip(starts, ends, values[ok], strict=True):
        xs += [a, b, None]
        ys += [float(v), float(v), None]
    return go.Scatter(
        x=xs, y=ys, mode="lines", name=name, connectgaps=False,
        line={"color": color, "width": 1.2, "dash": "dash"},
        hovertemplate="%{y:,.4f}<extra>" + name + "</extra>",
    )  # fmt: skip


def _symbol_traces(sym: str, bars: Bars, trades: pd.DataFrame, config: dict[str, Any]) -> list[Any]:
    t = trades[trades["symbol"] == sym]
    out: list[Any] = [_price_trace(sym, bars)]
    for long in (True, False):
        side = t[t["direction"] == ("long" if long else "short")]
        if len(side):
            out += [_markers(sym, side, True, long), _markers(sym, side, False, long)]
    if len(t):
        for key, name, color in (
            ("stop_loss", "stop", NEGATIVE),
            ("take_profit", "target", POSITIVE),
        ):
            seg = _segments(t, trade_levels(t, config, key), name, color)
            if seg is not None:
                out.append(seg)
    return out


def price_figure(result: Any) -> go.Figure:
    """Bars of each traded symbol with entry (triangles) and exit (crosses) markers at their
    fill prices, green long and red short, and dashed stop / target levels."""
    bars = symbol_bars(result)
    if bars is None:
        from alphaforge.reports.charts_trades import NO_CLOSES

        return empty_figure("Price and trades", NO_CLOSES)
    symbols = charted_symbols(result)
    fig = go.Figure()
    owner: list[int] = []
    for k, sym in enumerate(symbols):
        for trace in _symbol_traces(sym, bars[sym], result.trades, result.config):
            trace.visible = k == 0
            trace.legendgroup = sym
            fig.add_trace(trace)
            owner.append(k)
    menus = []
    if len(symbols) > 1:
        buttons = [
            {"label": sym, "method": "update",
             "args": [{"visible": [o == k for o in owner]},
                      {"title.text": _title(sym), "xaxis.autorange": True,
                       "yaxis.autorange": True}]}
            for k, sym in enumerate(symbols)
        ]  # fmt: skip
        menus = [{"type": "dropdown", "buttons": buttons, "x": 0.0, "y": 1.0, "xanchor": "left",
                  "yanchor": "bottom", "pad": {"b": 4}, "showactive": True}]  # fmt: skip
    fig.update_xaxes(rangeslider_visible=False)
    fig.update_yaxes(tickformat=",.2f", title_text="Price")
    return style(
        fig, _title(symbols[0]), 460, updatemenus=menus, hovermode="closest",
        margin={"l": 70, "r": 20, "t": 90, "b": 40},
    )  # fmt: skip


def _title(sym: str) -> str:
    return f"{sym}: price, entries and exits"
