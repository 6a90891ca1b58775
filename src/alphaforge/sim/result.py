"""The result of a backtest: per-bar series, orders, trades, risk events, metrics, config and a
reproducibility manifest. Backed by numpy arrays; pandas objects are built on first access so a
sweep pays only for what it reads. Serialises to JSON (one file) and Parquet (a directory)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.atomic import atomic_write, atomic_write_text
from alphaforge.core.errors import BacktestError, DataError
from alphaforge.core.jsonvalues import json_safe
from alphaforge.sim import codes as C
from alphaforge.sim.records import EVENT, ORDER, TRADE, from_rows, to_rows

TRADE_COLUMNS = (
    "symbol", "direction", "entry_time", "exit_time", "entry_price", "exit_price", "quantity",
    "fees", "slippage", "pnl", "return", "mae", "mfe", "bars_held", "exit_reason", "ambiguous",
)  # fmt: skip
ORDER_COLUMNS = (
    "time",
    "symbol",
    "side",
    "quantity",
    "price",
    "fee",
    "status",
    "reason",
    "requested",
)
EVENT_COLUMNS = ("time", "rule", "symbol", "value")

# Charts and the HTML tear sheet belong to layers above the simulator. The Python API
# (``alphaforge.api``) installs them here when it is imported, so that ``result.plot()`` and
# ``result.report(path)`` work without the simulator importing any of those layers.
_VIEWS: dict[str, Callable[..., Any]] = {}


def install_view(name: str, view: Callable[..., Any]) -> None:
    """Make ``view(result, ...)`` the implementation of ``BacktestResult.<name>(...)``."""
    _VIEWS[name] = view


def _view(name: str) -> Callable[..., Any]:
    view = _VIEWS.get(name)
    if view is None:
        raise BacktestError(
            f"BacktestResult.{name}() comes with the Python API: import alphaforge.api first "
            "(alphaforge.backtest and the other alphaforge.* functions import it)"
        )
    return view


@dataclass
class BacktestResult:
    """Everything a backtest produced; see the properties for the pandas views."""

    index: pd.DatetimeIndex
    symbols: tuple[str, ...]
    equity_values: np.ndarray
    cash_values: np.ndarray
    gross_values: np.ndarray
    net_values: np.ndarray
    position_values: np.ndarray  # (bars, symbols) quantities, or (1, 1) when not recorded
    trade_records: np.ndarray
    order_records: np.ndarray
    event_records: np.ndarray
    benchmark_values: np.ndarray
    metrics: dict[str, float]
    config: dict[str, Any]
    strategy: str
    params: dict[str, Any]
    ambiguous_bars: int = 0
    warnings: list[str] = field(default_factory=list)  # what the user must know about the run
    manifest_extra: dict[str, Any] = field(default_factory=dict)
    data_arrays: tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    close_values: np.ndarray | None = field(default=None, repr=False)  # (bars, symbols)
    _manifest: dict[str, Any] | None = field(default=None, repr=False)

    # ---- headline ---------------------------------------------------------------------------
    @property
    def final_equity(self) -> float:
        return float(self.equity_values[-1]) if len(self.equity_values) else float("nan")

    @property
    def num_trades(self) -> int:
        return int(self.trade_records.shape[0])

    def summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "params": self.params,
            "final_equity": self.final_equity,
            "total_return": self.metrics.get("total_return"),
            "num_trades": self.num_trades,
            "sharpe": self.metrics.get("sharpe"),
            "max_drawdown": self.metrics.get("max_drawdown"),
        }

    # ---- charts and tear sheet (installed by alphaforge.api) ----------------------------------
    def plot(self, **options: Any) -> Any:
        """A Plotly figure of equity (with the benchmark) and drawdown; see
        :func:`alphaforge.api.plot`. A notebook shows the returned figure."""
        return _view("plot")(self, **options)

    def report(self, path: str | Path, title: str | None = None) -> Path:
        """Write the HTML tear sheet to ``path`` and return the path; see
        :func:`alphaforge.api.report`."""
        return Path(_view("report")(self, path, title=title))

    # ---- pandas views -----------------------------------------------------------------------
    @cached_property
    def equity(self) -> pd.Series:
        return pd.Series(self.equity_values, index=self.index, name="equity")

    @cached_property
    def cash(self) -> pd.Series:
        return pd.Series(self.cash_values, index=self.index, name="cash")

    @cached_property
    def exposure(self) -> pd.Series:
        """Gross position value / equity at each bar close."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.Series(
                self.gross_values / self.equity_values, index=self.index, name="exposure"
            )

    @cached_property
    def benchmark(self) -> pd.Series:
        return pd.Series(self.benchmark_values, index=self.index, name="benchmark")

    @cached_property
    def positions(self) -> pd.DataFrame:
        """Signed quantity held per symbol at each bar close."""
        if self.position_values.shape != (len(self.index), len(self.symbols)):
            return pd.DataFrame(index=self.index, columns=list(self.symbols), dtype=float)
        return pd.DataFrame(self.position_values, index=self.index, columns=list(self.symbols))

    def _time(self, bars: np.ndarray) -> pd.DatetimeIndex:
        return self.index[bars.astype(np.int64)] if len(bars) else pd.DatetimeIndex([], tz="UTC")

    @cached_property
    def trades(self) -> pd.DataFrame:
        r = self.trade_records
        sym = np.asarray(self.symbols, dtype=object)
        df = pd.DataFrame(
            {
                "symbol": sym[r["symbol"]] if len(r) else [],
                "direction": np.where(r["direction"] > 0, "long", "short"),
                "entry_time": self._time(r["entry_bar"]),
                "exit_time": self._time(r["exit_bar"]),
                "entry_price": r["entry_price"],
                "exit_price": r["exit_price"],
                "quantity": r["qty"],
                "fees": r["fees"],
                "slippage": r["slippage"],
                "pnl": r["pnl"],
                "return": r["ret"],
                "mae": r["mae"],
                "mfe": r["mfe"],
                "bars_held": r["bars_held"],
                "exit_reason": [C.EXIT_NAMES[int(x)] for x in r["exit_reason"]],
                "ambiguous": r["ambiguous"],
            },
            columns=list(TRADE_COLUMNS),
        )
        return df.sort_values(["entry_time", "symbol"], kind="stable").reset_index(drop=True)

    @cached_property
    def orders(self) -> pd.DataFrame:
        r = self.order_records
        sym = np.asarray(self.symbols, dtype=object)
        return pd.DataFrame(
            {
                "time": self._time(r["bar"]),
                "symbol": sym[r["symbol"]] if len(r) else [],
                "side": np.where(r["side"] > 0, "buy", "sell"),
                "quantity": r["qty"],
                "price": r["price"],
                "fee": r["fee"],
                "status": [C.STATUS_NAMES[int(x)] for x in r["status"]],
                "reason": [C.REASON_NAMES.get(int(x), str(int(x))) for x in r["reason"]],
                "requested": r["requested"],
            },
            columns=list(ORDER_COLUMNS),
        )

    @cached_property
    def risk_events(self) -> pd.DataFrame:
        r = self.event_records
        return pd.DataFrame(
            {
                "time": self._time(r["bar"]),
                "rule": [C.RULE_NAMES[int(x)] for x in r["rule"]],
                "symbol": [self.symbols[int(x)] if x >= 0 else None for x in r["symbol"]],
                "value": r["value"],
            },
            columns=list(EVENT_COLUMNS),
        )

    # ---- reproducibility ----------------------------------------------------------------------
    @property
    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            from alphaforge.sim.manifest import build_manifest

            extra = dict(self.manifest_extra)
            if self.data_arrays is not None:
                from alphaforge.sim.manifest import hash_arrays

                extra["data_hash"] = hash_arrays(*self.data_arrays)
            self._manifest = build_manifest(self.config, extra)
        return self._manifest

    # ---- serialisation -----------------------------------------------------------------------
    def to_dict(self, include_series: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": "alphaforge.backtest/1",
            **self.summary(),
            "ambiguous_bars": self.ambiguous_bars,
            "warnings": list(self.warnings),
            "metrics": self.metrics,
            "trades": _records(self.trades),
            "config": self.config,
            "manifest": self.manifest,
            "symbols": list(self.symbols),
        }
        if include_series:
            out["series"] = {
                "index": [t.isoformat() for t in self.index],
                "equity": self.equity_values.tolist(),
                "cash": self.cash_values.tolist(),
                "gross": self.gross_values.tolist(),
                "net": self.net_values.tolist(),
                "benchmark": self.benchmark_values.tolist(),
            }
            if self.position_values.shape == (len(self.index), len(self.symbols)):
                out["series"]["positions"] = self.position_values.tolist()
            if self.close_values is not None:
                out["series"]["close"] = self.close_values.tolist()
            out["orders"] = _records(self.orders)
            out["risk_events"] = _records(self.risk_events)
            out["raw"] = {
                "trades": to_rows(self.trade_records),
                "orders": to_rows(self.order_records),
                "events": to_rows(self.event_records),
            }
        return out

    def to_json(self, path: str | Path) -> Path:
        """Write the result as JSON atomically (temp file + rename)."""
        return atomic_write_text(Path(path), json.dumps(json_safe(self.to_dict()), indent=1))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BacktestResult:
        if d.get("format") != "alphaforge.backtest/1" or "series" not in d:
            raise DataError(
                "not an alphaforge backtest result with series (format alphaforge.backtest/1)"
            )
        s = d["series"]
        index = pd.DatetimeIndex(pd.to_datetime(s["index"], utc=True), name="timestamp")
        symbols = tuple(d["symbols"])
        pos = np.asarray(s["positions"], dtype=float) if "positions" in s else np.zeros((1, 1))
        closes = (
            np.asarray(s["close"], dtype=float).reshape(len(index), -1) if "close" in s else None
        )

        def arr(key: str, dtype: np.dtype) -> np.ndarray:
            return from_rows(d["raw"][key], dtype)

        res = cls(
            index=index,
            symbols=symbols,
            equity_values=np.asarray(s["equity"], dtype=float),
            cash_values=np.asarray(s["cash"], dtype=float),
            gross_values=np.asarray(s["gross"], dtype=float),
            net_values=np.asarray(s["net"], dtype=float),
            position_values=pos,
            trade_records=arr("trades", TRADE),
            order_records=arr("orders", ORDER),
            event_records=arr("events", EVENT),
            benchmark_values=np.asarray(s["benchmark"], dtype=float),
            metrics={k: (float("nan") if v is None else v) for k, v in d["metrics"].items()},
            config={k: v for k, v in d["config"].items() if k != "warnings"},
            strategy=d["strategy"],
            params=d["params"],
            ambiguous_bars=int(d.get("ambiguous_bars", 0)),
            warnings=[str(w) for w in d.get("warnings", d["config"].get("warnings", []))],
            close_values=closes,
        )
        res._manifest = d.get("manifest")
        return res

    @classmethod
    def from_json(cls, path: str | Path) -> BacktestResult:
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except FileNotFoundError:
            raise DataError(f"{p}: no such result file") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{p}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        try:
            return cls.from_dict(data)
        except DataError as exc:
            raise DataError(f"{p}: {exc}") from None

    def to_parquet(self, directory: str | Path) -> Path:
        """Write series, trades, orders and events as Parquet plus ``meta.json``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        series = pd.DataFrame(
            {
                "equity": self.equity_values,
                "cash": self.cash_values,
                "gross": self.gross_values,
                "net": self.net_values,
                "benchmark": self.benchmark_values,
            },
            index=self.index,
        )
        frames = {
            "series": series,
            "positions": self.positions,
            "trades": self.trades,
            "orders": self.orders,
            "risk_events": self.risk_events,
        }
        if self.close_values is not None:
            frames["close"] = pd.DataFrame(
                self.close_values, index=self.index, columns=list(self.symbols)
            )
        for name, df in frames.items():
            atomic_write(d / f"{name}.parquet", df.to_parquet)
        meta = self.to_dict(include_series=False)
        meta["raw"] = {
            "trades": to_rows(self.trade_records),
            "orders": to_rows(self.order_records),
            "events": to_rows(self.event_records),
        }
        atomic_write_text(d / "meta.json", json.dumps(json_safe(meta), indent=1))
        return d

    @classmethod
    def from_parquet(cls, directory: str | Path) -> BacktestResult:
        d = Path(directory)
        meta = json.loads((d / "meta.json").read_text())
        series = pd.read_parquet(d / "series.parquet")
        positions = pd.read_parquet(d / "positions.parquet")
        meta["series"] = {
            "index": [t.isoformat() for t in series.index],
            **{c: series[c].tolist() for c in series.columns},
        }
        if not positions.isna().all().all():
            meta["series"]["positions"] = positions.to_numpy().tolist()
        if (d / "close.parquet").exists():
            meta["series"]["close"] = pd.read_parquet(d / "close.parquet").to_numpy().tolist()
        return cls.from_dict(meta)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = [t.isoformat() if not pd.isna(t) else None for t in out[c]]
    return json_safe(out.to_dict(orient="records"))
