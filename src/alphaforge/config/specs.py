"""Run specifications from YAML: the same file drives backtest, sweep, walk-forward, paper, live.

Example ``run.yaml``::

    strategy: sma_cross
    params: {fast: 10, slow: 50}
    symbols: [MSFT, JPM]
    data: ../shared/data/us_equities_daily.parquet   # omit to read the local store
    start: 2005-01-01
    timeframe: 1d
    cash: 100000
    costs: {commission: 0.1%, slippage: 5bps}
    exits: {stop_loss: 2atr, take_profit: 10%}
    risk: {max_positions: 5, max_drawdown: 0.25}
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alphaforge.core.errors import ConfigError
from alphaforge.core.rules import BacktestConfig, Fraction, format_validation_error
from alphaforge.core.timeframe import TIMEFRAMES, parse_timeframe
from alphaforge.core.yamlfile import read_yaml_mapping


def url_of_scheme(value: str | None, *schemes: str) -> str | None:
    """``value``, refused unless it is a URL of one of ``schemes`` (``http``, ``ws`` ...)."""
    prefixes = tuple(f"{s}://" for s in schemes)
    if value is not None and not value.startswith(prefixes):
        a = "an" if schemes[0].startswith("h") else "a"  # (an http://, a ws://)
        raise ValueError(f"expected {a} {' or '.join(prefixes)} URL, got {value!r}")
    return value


class BrokerSpec(BaseModel):
    """Where ``paper`` / ``live`` send orders."""

    model_config = ConfigDict(extra="forbid")
    name: Literal["simulated", "alpaca"] = Field(
        "simulated", description="simulated: fills with the backtest's rules; alpaca: alpaca-py"
    )
    base_url: str | None = Field(None, description="REST endpoint override (a local stand-in)")
    stream_url: str | None = Field(None, description="trade-updates stream override")
    replay_url: str | None = Field(
        None, description="control URL of a local stand-in that can follow a replay"
    )

    @field_validator("base_url", "replay_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return url_of_scheme(value, "http", "https")

    @field_validator("stream_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        return url_of_scheme(value, "ws", "wss")

    @model_validator(mode="after")
    def _urls_of_a_broker(self) -> BrokerSpec:
        """The simulated venue is in the process: an endpoint for it would do nothing."""
        if self.name == "simulated":
            for key in ("base_url", "stream_url", "replay_url"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key}: the simulated broker has no endpoint (name: alpaca)")
        return self


class ScheduleSpecModel(BaseModel):
    """When cycles run in paper / live (replay runs one per bar)."""

    model_config = ConfigDict(extra="forbid")
    every_minutes: int | None = Field(None, gt=0, description="cycle every N minutes in sessions")
    delay_seconds: float = Field(
        5.0, ge=0, le=86_400, allow_inf_nan=False,
        description="wait after a bar close for its data (at most a day)",
    )  # fmt: skip


STREAMING_SOURCES: tuple[str, ...] = ("alpaca",)  # vendors with a real-time bar stream


class FeedSpec(BaseModel):
    """Where ``paper`` without ``--replay`` gets new bars."""

    model_config = ConfigDict(extra="forbid")
    source: Literal["store", "yahoo", "alpaca", "polygon", "alphavantage", "ccxt"] = Field(
        "store",
        description="store: bars another process writes into the local store (alphaforge data "
        "fetch on a schedule); a vendor: fetched into the store at every cycle",
    )
    history_bars: int = Field(
        500, gt=1, description="bars of stored history the strategy starts with (its warm-up)"
    )
    stream: bool = Field(
        False,
        description="alpaca: minute bars in real time over Alpaca's market-data stream, "
        "aggregated to the timeframe and written once complete; what the stream missed "
        "(before it started, while disconnected) is filled from the REST source",
    )
    stream_feed: Literal["iex", "sip"] = Field(
        "iex", description="stream: iex (every account) or sip (all US exchanges; paid plan)"
    )
    stream_url: str | None = Field(
        None, description="stream: base URL override (a local stand-in); /v2/<feed> is appended"
    )

    @field_validator("stream_url")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        return url_of_scheme(value, "ws", "wss")

    @model_validator(mode="after")
    def _stream_settings(self) -> FeedSpec:
        """Streaming needs a vendor that streams; its settings need ``stream: true``."""
        if self.stream and self.source not in STREAMING_SOURCES:
            raise ValueError(
                f"stream: source {self.source} has no streaming feed; "
                f"stream: true needs source: {' or '.join(STREAMING_SOURCES)}"
            )
        if not self.stream:  # by value: a stored spec (every key dumped) reads back
            for key in ("stream_url", "stream_feed"):
                if getattr(self, key) != type(self).model_fields[key].default:
                    raise ValueError(f"{key}: only used with stream: true")
        return self


class RuntimeSpec(BaseModel):
    """Settings of the event-driven runtime that the backtest does not have."""

    model_config = ConfigDict(extra="forbid")
    window: int | None = Field(
        None, gt=1, description="bars the strategy sees each cycle (default: all since start)"
    )
    signals: Literal["auto", "per_bar", "precomputed"] = Field(
        "auto",
        description="replay: precomputed evaluates the strategy once on the stored history "
        "(only after the look-ahead detector passes it); per_bar calls it on the bars so far "
        "at every bar, as paper and live do; auto is precomputed when the check passes",
    )
    max_order_value: float = Field(0.0, ge=0, description="refuse larger orders (0 = no limit)")
    max_order_qty: float = Field(0.0, ge=0, description="refuse larger orders (0 = no limit)")
    price_band: float = Field(
        0.5, ge=0, description="refuse entries sized at a price this far from the last trade "
        "(a fraction: 0.5 = 50%; 0 = no check)",
    )  # fmt: skip
    shadow: bool = Field(
        False,
        description="shadow mode: record the strategy's predictions and would-be orders on the "
        "simulated venue and never send an order to the broker (ledger mode: shadow; compare "
        "with the run that trades: alphaforge drift SHADOW_RUN --against RUN)",
    )


class SleeveSpec(BaseModel):
    """One strategy of an account that runs several (``strategies:``): its own capital (a
    fraction of ``cash``), symbols and rules; what it does not set is the run's."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(
        None, min_length=1, description="name in the ledger (default: the strategy's name)"
    )
    strategy: str = Field(..., description="Built-in name or path/file.py:ClassName")
    params: dict[str, Any] = Field(default_factory=dict, description="the strategy's parameters")
    symbols: list[str] | None = Field(
        None, min_length=1, description="default (left out): the run's symbols"
    )
    allocation: float = Field(..., gt=0, le=1, description="fraction of cash this strategy trades")
    sizing: dict[str, Any] | None = Field(None, description="replaces keys of the run's sizing")
    risk: dict[str, Any] | None = Field(None, description="replaces keys of the run's risk")
    exits: dict[str, Any] | None = Field(None, description="replaces keys of the run's exits")


class AccountSpec(BaseModel):
    """Limits over every strategy of the account (``strategies:``), on the account's equity:
    the strategies' summed and the cash no strategy is allocated."""

    model_config = ConfigDict(extra="forbid")
    daily_loss_limit: Fraction | None = Field(
        None, gt=0, lt=1, description="no new exposure for the rest of a day that lost this much"
    )
    max_drawdown: Fraction | None = Field(
        None, gt=0, lt=1, description="no new exposure for the rest of the run past this drawdown"
    )
    max_gross: float | None = Field(
        None, gt=0, description="refuse entries taking gross exposure above this x equity"
    )


class RunSpec(BacktestConfig):
    """A backtest run: strategy, parameters, universe and dates, plus the backtest config."""

    strategy: str | None = Field(None, description="Built-in name or path/file.py:ClassName")
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: list[str] | None = None
    data: str | None = Field(None, description="CSV/Parquet file; omit to use the local store")
    start: str | None = None
    end: str | None = None
    fine_data: str | None = Field(
        None, description="File of finer bars for exits.ambiguity=finer_bars (default: store)"
    )
    mode: Literal["paper", "live"] = Field(
        "paper", description="live trades real money and needs `alphaforge live`"
    )
    broker: BrokerSpec = Field(default_factory=BrokerSpec)
    schedule: ScheduleSpecModel = Field(default_factory=ScheduleSpecModel)
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec)
    feed: FeedSpec = Field(default_factory=FeedSpec)
    strategies: list[SleeveSpec] | None = Field(
        None,
        description="several strategies on one account (paper / replay on the simulated "
        "venue): each with its allocation of cash; orders are netted per symbol",
    )
    account: AccountSpec | None = Field(None, description="limits over all strategies")
    _source: str = PrivateAttr("command line")
    _recorded: bool = PrivateAttr(False)  # read back from a run that happened (recorded_spec)

    @property
    def source(self) -> str:
        """Where the spec came from (its YAML file, or the command line), for error messages."""
        return self._source

    fine_timeframe: str = Field("1m", description="Timeframe of the finer bars")
    lookahead_check: bool | Literal["fail"] = Field(
        False,
        description="Run the look-ahead detector on the same data and record it in the result; "
        "'fail' also fails the run (exit 1, no result saved) when the check finds look-ahead",
    )

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str | None) -> str | None:
        """Refuse an unknown timeframe (``1y``) where it is written, naming the file."""
        if value is not None:
            try:
                parse_timeframe(value)
            except ConfigError:
                raise ValueError(f"expected one of {', '.join(TIMEFRAMES)}") from None
        return value

    @field_validator("start", "end")
    @classmethod
    def _date(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Refuse a date pandas cannot read (``2019-02-30``, ``yesterday``) when it is given,
        and an end before the start."""
        if value is None:
            return value
        stamp = utc_stamp(value)
        if stamp is None:
            raise ValueError("not a valid date; write YYYY-MM-DD")
        start = info.data.get("start") if info.field_name == "end" else None
        first = utc_stamp(start) if start is not None else None
        if first is not None and stamp < first:
            raise ValueError(f"before start {start}")
        return value

    @model_validator(mode="after")
    def _sleeves(self) -> RunSpec:
        """``strategies:`` replaces ``strategy:``; ids are unique and allocations sum to 1 or
        less; ``account:`` limits need ``strategies:``."""
        if self.strategies is None:
            if self.account is not None:
                raise ValueError("account: account limits go with strategies: (several)")
            return self
        if self.strategy is not None:
            raise ValueError("strategy: give either strategy: or strategies:, not both")
        if not self.strategies:
            raise ValueError("strategies: list at least one strategy")
        ids = [sl.id or sl.strategy for sl in self.strategies]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(
                f"strategies: id {dup[0]!r} is used twice; give each strategy its own id: "
                "(e.g. id: fast_ma)"
            )
        total = sum(sl.allocation for sl in self.strategies)
        if total > 1 + 1e-9:
            raise ValueError(f"strategies: allocations sum to {total:g}, more than 1 (all cash)")
        return self

    @model_validator(mode="after")
    def _no_idle_rules(self, info: ValidationInfo) -> RunSpec:
        """Refuse a rule that cannot change a run, whatever the strategy does: see
        :func:`idle_rule` (the sizing and weight limits of an account of several strategies
        are checked on each strategy's spec, whose ``risk:`` may raise the leverage). A spec
        read back as recorded (:func:`recorded_spec`) is taken as it ran."""
        if info.context and info.context.get(RECORDED):
            return self
        err = idle_rule(self, sizing=self.strategies is None)
        if err is not None:
            raise ValueError(err)
        return self

    def backtest_config(self) -> BacktestConfig:
        """The backtest part of this spec, as a config of its own (no section is shared)."""
        return BacktestConfig.model_validate(
            self.model_dump(include=set(BacktestConfig.model_fields))
        )

    def canonical_hash(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


RECORDED = "recorded"
"""Validation context key of a spec read back from a ledger or a saved result."""


def recorded_spec(data: Any) -> RunSpec:
    """The run spec a ledger or a saved result recorded, read back as it ran: a rule a new
    config is refused for since (:func:`idle_rule`) does not stop ``drift``, ``reconcile``,
    ``validate`` or a restart of a run recorded with it.

    Raises
    ------
    pydantic.ValidationError
        When ``data`` is not a run spec."""
    spec = RunSpec.model_validate(data, context={RECORDED: True})
    spec._recorded = True
    return spec


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


def idle_rule(cfg: BacktestConfig, *, sizing: bool = True) -> str | None:
    """The first rule of ``cfg`` that no strategy can make act, as a one-line error naming the
    key and the value (``None`` when there is none); ``sizing``: check the position size and
    weight limit too. Compared by value, so a stored spec (every key written) reads back.

    * ``time_in_force: gtc`` with ``order_type: market``: only limit / stop entries are kept
      working, and a market run has none (the strategy's limit / stop prices are not used);
    * ``costs.borrow_fee`` and ``costs.margin`` with ``direction: long``: both apply to short
      positions only;
    * see :func:`_above_buying_power` for the sizing and weight limit."""
    if cfg.time_in_force != "day" and cfg.order_type == "market":
        return (
            f"time_in_force: {cfg.time_in_force} keeps limit / stop entries working, and "
            "order_type: market enters at market only (the strategy's limit / stop prices are "
            f"not used); remove it or use order_type: auto (got {cfg.time_in_force!r})"
        )
    if cfg.direction == "long":
        fee, margin = cfg.costs.borrow_fee, cfg.costs.margin
        if fee != 0.0:
            return (
                "costs.borrow_fee: the fee is charged on short positions, and direction: long "
                f"never holds one; remove it or trade short (got {_pct(fee)})"
            )
        if margin != 1.0:
            return (
                "costs.margin: the requirement applies to short positions, and direction: long "
                f"never holds one; remove it or trade short (got {margin:g})"
            )
    return _above_buying_power(cfg) if sizing else None


def _above_buying_power(cfg: BacktestConfig) -> str | None:
    """A position size (``sizing.method: fraction``) above what buying power allows,
    ``risk.max_gross_leverage`` x equity (1x without it), or a weight limit at or above it:
    every entry is cut to buying power first, so 150% sizes as 100% does, and a position's
    value never exceeds the gross exposure, so a limit of 100% (unlevered) never binds."""
    lev = cfg.risk.max_gross_leverage
    most = 1.0 if lev is None else lev
    power = (
        "without risk.max_gross_leverage positions reach 1x equity (cash only)"
        if lev is None
        else f"risk.max_gross_leverage: {lev:g} lets positions reach {lev:g}x equity"
    )
    value = cfg.sizing.value
    if cfg.sizing.method == "fraction" and value is not None and value > most:
        return (
            f"sizing.value: {power}, so every entry is cut to that and {_pct(value)} sizes as "
            f"{_pct(most)} does; give at most {_pct(most)} (got {_pct(value)})"
        )
    weight = cfg.risk.max_weight
    if weight is not None and weight >= most:  # a position's value is at most the gross
        return (
            f"risk.max_weight: {power}, so a limit of {_pct(weight)} never binds; give less "
            f"than {_pct(most)} or remove it (got {_pct(weight)})"
        )
    return None


_ISO_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}([ T]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?"
)


def utc_stamp(value: str) -> pd.Timestamp | None:
    """``value`` read as a UTC time (naive is UTC), or ``None`` when it is not a date written
    as ``YYYY-MM-DD`` (with an optional time): ``01/02/2019`` is January 2 to pandas and
    February 1 to much of the world, so it is not guessed."""
    if not isinstance(value, str) or not _ISO_TIME.fullmatch(value.strip()):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def load_run_spec(path: str | Path | None, overrides: dict[str, Any] | None = None) -> RunSpec:
    """Read ``path`` (YAML), apply ``overrides`` (nested mapping), validate; errors name the key.
    A file without keys (empty, or only comments) is refused naming it."""
    data: dict[str, Any] = {}
    source = "command line"
    if path is not None:
        p = Path(path)
        source = str(p)
        data = read_yaml_mapping(p, "config")
        if not data:  # nothing to run: a wrong or truncated file, not the defaults
            raise ConfigError(f"{p}: the config file is empty (no keys, not even strategy:)")
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    for key in ("start", "end"):
        if data.get(key) is not None:
            data[key] = str(data[key])
    try:
        spec = RunSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    spec._source = source
    return spec
