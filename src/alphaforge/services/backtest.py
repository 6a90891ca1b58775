"""Backtest use case: coerce inputs, resolve config and strategy, run, return the result."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.config.specs import idle_rule
from alphaforge.core.errors import (
    AlphaforgeError,
    BacktestError,
    ConfigError,
    DataError,
    IdleSettingError,
    PeriodError,
    UnknownSymbolError,
    UserFileError,
)
from alphaforge.core.panel import Panel, utc_index
from alphaforge.core.rules import BacktestConfig, set_dotted
from alphaforge.data.frame_checks import check_bar_values
from alphaforge.services.run_checks import (
    atr_note,
    cannot_trade,
    check_calendars,
    period_of,
    require_universe,
    slice_dates,
    volume_note,
    warmup_note,
)
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Strategy, StrategyData
from alphaforge.strategy.registry import check_direction, make_strategy

SHORTCUTS = {
    "commission": "costs.commission",
    "slippage": "costs.slippage",
    "participation": "costs.participation",
    "stop_loss": "exits.stop_loss",
    "take_profit": "exits.take_profit",
    "trailing_stop": "exits.trailing_stop",
    "max_bars": "exits.max_bars",
    "stop_on_entry_bar": "exits.stop_on_entry_bar",
    "ambiguity": "exits.ambiguity",
    "size": "sizing.value",
    "fractional": "sizing.fractional",
}
_OHLCV = ("open", "high", "low", "close", "volume")


def to_panel(data: Any, timeframe: str | None = None, symbol: str = "ASSET") -> Panel:
    """The one input path of backtests: turn what a user holds into a :class:`Panel`.

    Accepted, with column and field names matched case-insensitively (spaces as ``_``, so
    ``Adj Close`` is ``adj_close``; adjusted closes are not applied here):

    * a :class:`Panel` (returned as is) or a CSV/Parquet path;
    * long bars: columns ``symbol, timestamp, open, high, low, close, volume``;
    * one symbol's OHLC(V) frame with a ``DatetimeIndex`` (named ``symbol``); its float64
      columns become the panel's arrays without a copy when the index is in time order;
    * a wide frame with MultiIndex columns ``(field, symbol)`` as yfinance returns them, or
      ``(symbol, field)``;
    * a ``{symbol: OHLC(V) frame}`` mapping;
    * a wide close-only frame (``DatetimeIndex`` x symbols) for strategies that only read
      closes: the panel's open, high and low are the close (orders fill at closes), volume NaN,
      and ``meta["close_only"]`` is set.

    ``timeframe`` is detected from the timestamps when not given.
    """
    if isinstance(data, Panel):
        return data
    if isinstance(data, str | Path):
        return load_data_file(data, None, timeframe, adjust=False)
    panel = _memory_panel(data, timeframe, symbol)
    if timeframe is not None:
        check_timeframe(panel, timeframe, "timeframe")
    notes = check_bar_values(panel, "data")  # the importer's checks: a frame skips them
    if notes:
        panel.meta["data_notes"] = notes
    return panel


def check_timeframe(panel: Panel, given: str, name: str) -> None:
    """Refuse a timeframe the bars contradict (daily bars called ``1h``): it sets the bars per
    year of every annual rate and metric, and a Sharpe ratio of daily bars annualised as hours
    came out 2.6 times too high. Bars whose spacing names no timeframe are left as given."""
    from alphaforge.core.timeframe import detect_timeframe

    try:
        seen = detect_timeframe(panel.index)
    except DataError:
        return
    if len(panel.index) > 2 and seen != given:
        raise ConfigError(f"{name}={given!r}: the bars are {seen} bars (their timestamps' "
                          f"spacing); give {seen} or leave it out")  # fmt: skip


def _memory_panel(data: Any, timeframe: str | None, symbol: str) -> Panel:
    """The panel of bars held in memory (see :func:`to_panel`), before their values are
    checked."""
    if (
        isinstance(data, Mapping)
        and data
        and all(isinstance(v, pd.DataFrame) for v in data.values())
    ):
        return _from_frames(data, timeframe)
    if isinstance(data, pd.DataFrame):
        if isinstance(data.columns, pd.MultiIndex):
            return _from_multi(data, timeframe)
        labels = {_field_name(c): c for c in data.columns}
        if "symbol" in labels and "timestamp" in labels:
            df = data.rename(columns={c: _field_name(c) for c in data.columns})
            missing = df["symbol"].isna().to_numpy()
            if missing.any():  # (it became a symbol named 'nan', and was traded)
                raise DataError(f"data: row {int(missing.argmax())}: column 'symbol': missing")
            return Panel.from_long(df, timeframe=timeframe or _guess_timeframe(df["timestamp"]))
        if isinstance(data.index, pd.DatetimeIndex) and {"open", "high", "low", "close"} <= set(
            labels
        ):
            tf = timeframe or _guess_timeframe(data.index)
            return Panel.from_frame(data, symbol=symbol, timeframe=tf, columns=labels)
        if (
            isinstance(data.index, pd.DatetimeIndex)
            and len(data.columns)
            and not set(labels) & {*_OHLCV, "symbol", "timestamp", "adj_close"}
            and all(k in "fiu" for k in (dt.kind for dt in data.dtypes))
        ):
            return _from_close(data, timeframe)
    raise DataError(
        "data must be a Panel, long bars (symbol, timestamp, open, high, low, close, volume), "
        "an OHLC DataFrame with a DatetimeIndex, or a CSV/Parquet path"
        " (or a wide frame with (field, symbol) columns, a {symbol: OHLC frame} mapping, or a "
        "wide close-only frame with a DatetimeIndex)"
    )


def _field_name(name: Any) -> str:
    return str(name).lower().replace(" ", "_")


def _from_multi(data: pd.DataFrame, timeframe: str | None) -> Panel:
    """MultiIndex columns ``(field, symbol)`` or ``(symbol, field)``."""
    cols = data.columns
    if not isinstance(cols, pd.MultiIndex) or cols.nlevels != 2:
        raise DataError("wide bars need two column levels: (field, symbol) or (symbol, field)")
    index = data.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError("wide bars need a DatetimeIndex")
    level_names = [[_field_name(v) for v in cols.levels[k]] for k in (0, 1)]
    hits = [sum(v in _OHLCV for v in set(names)) for names in level_names]
    k = 0 if hits[0] >= hits[1] else 1
    if "close" not in level_names[k]:
        raise DataError("wide bars have no close field (expected (field, symbol) columns)")
    field_codes = np.asarray(cols.codes[k])
    sym_codes = np.asarray(cols.codes[1 - k])
    sym_names = [str(v) for v in cols.levels[1 - k]]
    used = np.unique(sym_codes)
    symbols = sorted({sym_names[c] for c in used})
    pos = {name: j for j, name in enumerate(symbols)}
    slot = np.array([pos.get(name, -1) for name in sym_names], dtype=np.intp)[sym_codes]
    # (column x time): a view of pandas' block of floats when the frame holds one, so that each
    # field is one gather of whole rows and one transpose
    columns = data.to_numpy(dtype=np.float64).T
    got: dict[str, np.ndarray] = {}
    for f in _OHLCV:
        codes = [c for c, name in enumerate(level_names[k]) if name == f]
        where = np.flatnonzero(np.isin(field_codes, codes))
        if not len(where):
            continue
        where = where[np.argsort(slot[where], kind="stable")]
        if np.array_equal(slot[where], np.arange(len(symbols))):  # each symbol once
            got[f] = np.ascontiguousarray(columns[where].T)
        else:
            block = np.full((len(index), len(symbols)), np.nan)
            block[:, slot[where]] = columns[where].T
            got[f] = block
    tf = timeframe or _guess_timeframe(index)
    return Panel.from_wide(index, symbols, got, timeframe=tf)


def _from_close(data: pd.DataFrame, timeframe: str | None) -> Panel:
    close = data.to_numpy(dtype=np.float64)
    tf = timeframe or _guess_timeframe(data.index)
    fields = {"open": close, "high": close, "low": close, "close": close}
    symbols = [str(c) for c in data.columns]
    return Panel.from_wide(data.index, symbols, fields, timeframe=tf, meta={"close_only": True})


def _from_frames(frames: Mapping[Any, pd.DataFrame], timeframe: str | None) -> Panel:
    named = {
        str(k): df.rename(columns={c: _field_name(c) for c in df.columns})
        for k, df in frames.items()
    }
    if timeframe is None:
        stamps = [utc_index(df.index) for df in named.values()  # (naive times are UTC)
                  if isinstance(df.index, pd.DatetimeIndex)]  # fmt: skip
        timeframe = _guess_timeframe(stamps[0].append(stamps[1:])) if stamps else "1d"
    return Panel.from_frames(named, timeframe=timeframe)


def _guess_timeframe(timestamps: Any) -> str:
    try:
        from alphaforge.data.ingest import detect_timeframe

        return detect_timeframe(timestamps)
    except (ImportError, DataError):
        return "1d"


def resolve_config(
    config: BacktestConfig | dict[str, Any] | None, **overrides: Any
) -> BacktestConfig:
    """Merge a config (object or mapping) with keyword overrides (shortcuts allowed)."""
    if isinstance(config, BacktestConfig) and all(v is None for v in overrides.values()):
        return config
    if config is not None and not isinstance(config, BacktestConfig | Mapping):
        raise ConfigError(
            f"config={config!r}: a BacktestConfig or a mapping of settings (a YAML file runs "
            "with alphaforge backtest --config)"
        )
    base: dict[str, Any] = (
        config.model_dump() if isinstance(config, BacktestConfig) else dict(config or {})
    )
    for key, value in overrides.items():
        if value is None:
            continue
        set_dotted(base, SHORTCUTS.get(key, key), value)
    return BacktestConfig.build(base, source="backtest config")


def backtest(
    strategy: str | Strategy | type[Strategy],
    data: Any,
    *,
    params: dict[str, Any] | None = None,
    config: BacktestConfig | dict[str, Any] | None = None,
    symbols: Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    timeframe: str | None = None,
    **overrides: Any,
) -> BacktestResult:
    """Run a backtest.

    Examples
    --------
    >>> result = alphaforge.backtest("sma_cross", bars, params={"fast": 10, "slow": 50},
    ...                              commission="0.1%", stop_loss="5%")
    >>> result.metrics["sharpe"], result.trades.head()
    """
    # parameters and rules first: a mistake there is reported before any data is converted
    strat = make_strategy(strategy, params)
    cfg = resolve_config(config, timeframe=timeframe, **overrides)
    check_direction(strat, cfg.direction)
    idle = idle_rule(cfg)  # as a YAML config: a setting no strategy can make act is refused
    if idle:
        raise ConfigError(idle)
    names = symbol_args(symbols)
    if isinstance(data, str | Path):  # a file is adjusted as the CLI does it (config.adjust)
        panel = load_data_file(data, None, timeframe, adjust=cfg.adjust)
    else:
        panel = to_panel(data, timeframe)
    if names:
        panel = panel.select(names)
    panel = period_of(panel, start, end)
    check_calendars(panel, cfg.calendar, "backtest")
    short = cannot_trade(strat.warmup(), cfg, panel, "start")
    if short:  # as the command line: a run that cannot trade is refused, not a flat result
        raise PeriodError(short)
    return run_backtest(strat, panel, cfg)


def symbol_args(symbols: Any) -> list[str]:
    """The ``symbols`` argument of the Python API as a list: one name alone is that symbol."""
    if symbols is None:
        return []
    if isinstance(symbols, str):
        return [symbols]
    if isinstance(symbols, Sequence) and all(isinstance(s, str) for s in symbols):
        return list(symbols)
    raise ConfigError(f"symbols={symbols!r}: a symbol's name or a list of names")


def load_data_file(
    path: str | Path,
    symbols: Sequence[str] | None,
    timeframe: str | None = None,
    adjust: bool = True,
) -> Panel:
    """Bars of ``symbols`` from a CSV/Parquet file (Parquet rows filtered while reading)."""
    from alphaforge.data.adjust import adjust_bars
    from alphaforge.data.ingest import IngestReport, normalize_bars, open_parquet, read_bars

    report = IngestReport()
    p = Path(path)
    if not p.exists():
        raise UserFileError(f"{p}: no such data file")
    bars: pd.DataFrame | None = None
    if p.suffix.lower() == ".parquet" and symbols:
        names = open_parquet(p).schema_arrow.names
        if "symbol" in names:
            raw = pd.read_parquet(p, filters=[("symbol", "in", list(symbols))])
            bars = normalize_bars(raw, str(p), timeframe=timeframe, report=report)
    if bars is None:
        bars = pd.concat(list(read_bars(p, timeframe=timeframe, report=report)),
                         ignore_index=True)  # fmt: skip
    if symbols:
        missing = sorted(set(symbols) - set(bars["symbol"].unique()))
        if missing:
            raise UnknownSymbolError(f"{p}: no bars for symbol(s) {', '.join(missing)}")
        bars = bars[bars["symbol"].isin(list(symbols))]
    if adjust and "adj_close" in bars.columns:
        bars = adjust_bars(bars)
    tf = timeframe or _guess_timeframe(bars["timestamp"])
    panel = Panel.from_long(bars, timeframe=tf)
    if symbols:
        panel = panel.select(list(dict.fromkeys(symbols)))
    panel.meta.update(source=str(p), adjusted=adjust and "adj_close" in bars.columns)
    if report.suspect:  # (a backtest's warnings, a replay's notes)
        panel.meta["data_notes"] = [
            f"{n}, used as they are (`alphaforge data check --file {p}` lists them)"
            for n in report.suspect
        ]
    return panel


def _require_data_file(spec: Any) -> None:
    """Refuse a spec's missing ``data:`` file naming where it was given and, for a relative
    path, the directory it was looked for in (the current one, not the config's)."""
    p = Path(spec.data)
    if p.exists():
        return
    where = "--data" if spec.source == "command line" else f"{spec.source}: data:"
    cwd = "" if p.is_absolute() else f" (relative to the current directory {Path.cwd()})"
    raise UserFileError(f"{where} {p}: no such data file{cwd}")


def load_spec_panel(spec: Any, settings: Any) -> Panel:
    """The panel a :class:`~alphaforge.config.specs.RunSpec` asks for (file or local store)."""
    require_universe(spec)
    if spec.data:
        _require_data_file(spec)
        panel = load_data_file(spec.data, spec.symbols, spec.timeframe, spec.adjust)
    else:
        from alphaforge.services.store import load_panel, open_store

        panel = load_panel(
            open_store(settings), spec.symbols, spec.timeframe or "1d", None, None, spec.adjust
        )
    return slice_dates(panel, spec.start, spec.end)


def _fine_bars(spec: Any, settings: Any, panel: Panel) -> tuple[dict[str, Any] | None, str | None]:
    """Finer bars for the ``finer_bars`` ambiguity policy, from ``fine_data`` or the store."""
    from alphaforge.core.calendar import infer_calendar
    from alphaforge.sim.fine import fine_arrays

    symbols = list(panel.symbols)
    try:
        if spec.fine_data:
            fine = load_data_file(spec.fine_data, symbols, spec.fine_timeframe, spec.adjust)
        else:
            from alphaforge.services.store import load_panel, open_store

            fine = load_panel(
                open_store(settings), symbols, spec.fine_timeframe,
                panel.index[0], panel.index[-1] + pd.Timedelta(days=1), spec.adjust,
            )  # fmt: skip
    except DataError:  # finer bars inside no bar: the kernel resolves every ambiguous bar stop
        # first, and the result's warnings say so
        none = np.full(panel.shape, -1, dtype=np.int64)
        empty = {"start": none, "end": none.copy(), "high": np.empty(0), "low": np.empty(0)}
        return empty, (
            f"no {spec.fine_timeframe} bars found for finer_bars: ambiguous bars resolved "
            "stop first"
        )
    cal = infer_calendar(spec.backtest_config().calendar, symbols=panel.symbols)
    return fine_arrays(panel, fine, cal), None


def _benchmark_data(
    spec: Any, settings: Any, panel: Panel, cfg: BacktestConfig
) -> tuple[StrategyData | None, Any]:
    """For a benchmark symbol the run does not trade: the strategy data holding its curve
    under the key the runner reads (so metrics, result and report all use it) and the
    :class:`~alphaforge.services.benchmark.ExternalBenchmark`; ``(None, None)`` otherwise."""
    from alphaforge.services.benchmark import external_benchmark

    found = external_benchmark(spec, settings, panel)
    if found is None:
        return None, None
    sdata = StrategyData(panel)
    sdata.cache[("benchmark", cfg.cash, cfg.benchmark)] = found.values
    return sdata, found


def refuse_account(spec: Any) -> None:
    """A spec of several strategies on one account runs in the runtime, not here."""
    if getattr(spec, "strategies", None) is not None:
        raise ConfigError(
            f"{spec.source}: strategies: an account of several strategies runs with alphaforge "
            "paper --replay; to backtest one of them, give its strategy: alone"
        )


def spec_strategy(spec: Any) -> Strategy:
    """The strategy of ``spec`` with its parameters; an error in either names the spec's file.

    Raises
    ------
    AlphaforgeError
        Of the strategy registry's class, its message led by the YAML file when the spec came
        from one (``run.yaml: sma_cross: parameter fast: ...``).
    """
    try:
        return make_strategy(spec.strategy, spec.params)
    except AlphaforgeError as exc:  # keeps the cause: a strategy file's own error (--debug)
        raise from_source(exc, spec) from exc.__cause__


def from_source(exc: AlphaforgeError, spec: Any) -> AlphaforgeError:
    """``exc`` (same class) led by the YAML file ``spec`` came from, unless it names it already
    or the spec came from the command line."""
    source = getattr(spec, "source", "command line")
    if source == "command line" or str(exc).startswith(source):
        return exc
    return type(exc)(f"{source}: {exc}")


@contextmanager
def refusals_named(spec: Any) -> Iterator[None]:
    """A setting refused inside (:class:`IdleSettingError`, raised once the strategy has run)
    names where it came from, as the settings refused from the spec alone do: the file, or
    ``command line``."""
    try:
        yield
    except IdleSettingError as exc:
        source = getattr(spec, "source", "command line")
        if str(exc).startswith(f"{source}: "):
            raise
        raise IdleSettingError(f"{source}: {exc}") from None


def no_strategy(spec: Any) -> ConfigError:
    """The refusal of a spec that names no strategy (the config file, when there is one)."""
    where = f"{spec.source}: " if spec.source not in ("", "command line") else ""
    return ConfigError(f"{where}no strategy given (an argument, or 'strategy:' in the config)")


def run_spec(spec: Any, settings: Any, panel: Panel | None = None) -> BacktestResult:
    """Run a :class:`~alphaforge.config.specs.RunSpec` (on ``panel`` when given)."""
    refuse_account(spec)
    if not spec.strategy:
        raise no_strategy(spec)
    # the strategy, its parameters and the direction first: a wrong name costs no data read
    strat = spec_strategy(spec)
    check_direction(strat, spec.direction)
    panel = panel if panel is not None else load_spec_panel(spec, settings)
    check_calendars(panel, spec.calendar, spec.source)
    short = warmup_note(strat.warmup(), panel)
    if short:
        raise PeriodError(short)
    cfg = spec.backtest_config()
    never = atr_note(cfg, panel) or volume_note(cfg, panel)
    if never:
        raise PeriodError(f"{spec.source}: {never}")
    fine, note = None, None
    if cfg.exits.ambiguity == "finer_bars":
        fine, note = _fine_bars(spec, settings, panel)
    sdata, bench = _benchmark_data(spec, settings, panel, cfg)
    ran = bool(getattr(spec, "_recorded", False))  # a run that happened: as it ran
    with refusals_named(spec):
        result = run_backtest(strat, panel, cfg, fine=fine, data=sdata, refuse_idle_orders=not ran)
    if note:
        result.warnings.append(note)
    if bench is not None:
        result.manifest_extra["benchmark_source"] = bench.source
        result.warnings.extend(bench.notes)
    if spec.lookahead_check:
        from alphaforge.strategy.lookahead import check_lookahead

        report = check_lookahead(strat, panel)
        result.manifest_extra["lookahead"] = {
            "ok": report.ok,
            "issues": len(report.issues),
            "summary": report.summary(),
        }
        if not report.ok:
            if spec.lookahead_check == "fail":
                raise BacktestError(f"look-ahead check failed: {report.summary()}")
            result.warnings.append(f"look-ahead check failed: {report.summary()}")
    result.manifest_extra["run_spec_hash"] = spec.canonical_hash()
    result.manifest_extra["run_spec"] = spec.model_dump(mode="json")  # what `validate` re-runs
    result.manifest_extra["data_source"] = str(panel.meta.get("source", "store"))
    return result


def run_spec_per_symbol(spec: Any, settings: Any) -> dict[str, BacktestResult]:
    """Independent single-symbol backtests of ``spec``: every symbol trades its own account with
    the full cash, on its own bars, exactly as ``spec`` restricted to that one symbol would."""
    refuse_account(spec)
    if not spec.strategy:
        raise no_strategy(spec)
    check_direction(spec_strategy(spec), spec.direction)
    panel = load_spec_panel(spec, settings)
    if len(panel.symbols) < 2:
        raise DataError(
            f"--per-symbol: one symbol ({', '.join(panel.symbols)}) gives the same result as a "
            "plain backtest; give several symbols or drop --per-symbol"
        )
    out = {}
    for sym in panel.symbols:
        one = panel.select([sym])
        rows = np.flatnonzero(~np.isnan(one.close[:, 0]))
        if len(rows) == 0:
            raise DataError(f"{sym}: no bars in the selected period")
        one = one.slice(one.index[rows[0]], one.index[rows[-1]])
        out[sym] = run_spec(spec.model_copy(update={"symbols": [sym]}), settings, one)
    return out
