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
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, PrivateAttr, ValidationError

from alphaforge.core.errors import ConfigError
from alphaforge.core.rules import BacktestConfig, format_validation_error


class RunSpec(BacktestConfig):
    """A backtest run: strategy, parameters, universe and dates, plus the backtest config."""

    strategy: str | None = Field(None, description="Built-in name or path/file.py:ClassName")
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: list[str] | None = None
    data: str | None = Field(None, description="CSV/Parquet file; omit to use the local store")
    start: str | None = None
    end: str | None = None
    adjust: bool = Field(True, description="Split/dividend-adjust prices when adj_close exists")
    fine_data: str | None = Field(
        None, description="File of finer bars for exits.ambiguity=finer_bars (default: store)"
    )
    _source: str = PrivateAttr("command line")

    @property
    def source(self) -> str:
        """Where the spec came from (its YAML file, or the command line), for error messages."""
        return self._source

    fine_timeframe: str = Field("1m", description="Timeframe of the finer bars")
    lookahead_check: bool = Field(
        False, description="Run the look-ahead detector on the same data; record it in the result"
    )

    def backtest_config(self) -> BacktestConfig:
        """The backtest part of this spec, as a config of its own (no section is shared)."""
        return BacktestConfig.model_validate(
            self.model_dump(include=set(BacktestConfig.model_fields))
        )

    def canonical_hash(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def load_run_spec(path: str | Path | None, overrides: dict[str, Any] | None = None) -> RunSpec:
    """Read ``path`` (YAML), apply ``overrides`` (nested mapping), validate; errors name the key."""
    data: dict[str, Any] = {}
    source = "command line"
    if path is not None:
        p = Path(path)
        source = str(p)
        try:
            loaded = yaml.safe_load(p.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{p}: no such config file") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{p}:{where} invalid YAML") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{p}: expected a mapping of keys at the top level")
        data = loaded
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
