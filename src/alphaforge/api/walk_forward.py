"""``alphaforge.walkforward``: optimise on each train window, trade the choice on the next test
window, and stitch the out-of-sample runs, as ``alphaforge walkforward`` does (same service,
same files under ``HOME/walkforward/<job id>``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from alphaforge.api import inputs
from alphaforge.core.errors import ConfigError
from alphaforge.core.rules import BacktestConfig
from alphaforge.optimize import analysis
from alphaforge.optimize.space import SearchSpace
from alphaforge.sim.result import BacktestResult


@dataclass
class WalkForwardResult:
    """Folds, parameter drift and the stitched out-of-sample backtest of a walk-forward.

    ``folds`` has one row per fold: train and test dates, the chosen parameters, in-sample and
    out-of-sample objective, CAGR and Sharpe, and the fold's walk-forward efficiency ``wfe``
    (OOS CAGR / IS CAGR). ``result`` is the out-of-sample backtest (every test window, one
    account); ``wfe`` its CAGR over the mean in-sample CAGR.
    """

    folds: pd.DataFrame
    drift: pd.DataFrame
    wfe: float
    result: BacktestResult
    directory: Path

    @property
    def metrics(self) -> dict[str, float]:
        """Metrics of the stitched out-of-sample backtest."""
        return self.result.metrics

    def plot(self, title: str | None = None) -> Any:
        """Equity and drawdown of the out-of-sample backtest, a dotted line at each test window's
        first bar."""
        fig = self.result.plot(
            title=title or f"walk-forward out of sample, {len(self.folds)} folds"
        )
        for ts in self.folds["test_start"]:
            stamp = pd.Timestamp(ts)
            fig.add_vline(x=stamp.tz_localize(None) if stamp.tz else stamp, line_dash="dot",
                          line_width=1, opacity=0.4)  # fmt: skip
        return fig

    def report(self, path: str | Path, title: str | None = None) -> Path:
        """Write the tear sheet of the out-of-sample backtest to ``path``."""
        return self.result.report(path, title=title)

    def _repr_html_(self) -> str:
        return str(self.folds._repr_html_())  # type: ignore[operator]


def _grid_strings(space: SearchSpace) -> list[str]:
    """The space as ``NAME=A,B,C`` specs (what the walk-forward service reads)."""
    out = []
    for d in space.dims:
        if d.values is None:
            raise ConfigError(f"walkforward: {d.name}: a continuous range cannot be a grid; give "
                              "its values")  # fmt: skip
        texts = [json.dumps(analysis._py(v)) for v in d.values]
        if any("," in t or ":" in t for t in texts):
            raise ConfigError(f"walkforward: {d.name}: values with ',' or ':' are not supported")
        out.append(f"{d.name}={','.join(texts)}")
    return out


def walkforward(
    strategy: inputs.StrategyRef,
    data: Any,
    grid: Mapping[str, Any] | None = None,
    *,
    train: int = 252,
    test: int = 63,
    stride: int | None = None,
    anchored: bool = False,
    select: Literal["raw", "plateau"] = "raw",
    space: Mapping[str, Any] | None = None,
    method: Literal["grid", "random", "optuna"] | None = None,
    n_trials: int | None = None,
    seed: int = 0,
    objective: str = "sharpe",
    constraints: Sequence[str] = (),
    min_trades: int | None = None,
    fast: bool = False,
    workers: int | None = None,
    home: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
    config: BacktestConfig | Mapping[str, Any] | None = None,
    symbols: Sequence[str] | str | None = None,
    start: Any = None,
    end: Any = None,
    timeframe: str | None = None,
    **overrides: Any,
) -> WalkForwardResult:
    """Walk-forward optimisation of ``strategy`` on ``data``.

    Parameters
    ----------
    strategy, data, grid, space, method, n_trials, seed, objective, constraints, min_trades,
    workers:
        As in :func:`alphaforge.sweep` (``grid`` is a mapping of parameter to values; ranges of
        ``space`` must be lists of values here). Every train window is searched, as one
        portfolio over all symbols.
    train, test, stride, anchored:
        Train and test window lengths in bars, the step between folds (default: ``test``), and
        whether every train window starts at the first bar.
    select:
        ``"raw"``: the feasible trial with the best objective; ``"plateau"``: the best
        neighbourhood.
    fast:
        Search train windows with the batched kernel (its metrics only).
    home:
        Where the folds, drift table and result are recorded (``walkforward/<job id>``;
        default ``ALPHAFORGE_HOME`` or ``~/.alphaforge``).
    params, config, symbols, start, end, timeframe, **overrides:
        As in :func:`alphaforge.backtest`.

    Returns
    -------
    WalkForwardResult
    """
    from alphaforge.config.settings import load_settings
    from alphaforge.services.optimize import WalkForwardRequest, run_walkforward

    inputs.check_flags(anchored=anchored, fast=fast)
    inputs.check_counts(workers=(workers, 1), n_trials=(n_trials, 1), min_trades=(min_trades, 0))
    cls, fixed0, ref = inputs.checked_strategy(strategy)
    space_, listed = inputs.search_space(cls, grid, space, {**fixed0, **dict(params or {})})
    if listed is not None:
        raise ConfigError("walkforward: grid must map parameter names to values")
    how = method or ("random" if space is not None else "grid")
    if how not in ("grid", "random", "optuna"):
        raise ConfigError(f"method={how!r}: one of grid, random, optuna")
    if how != "grid" and (n_trials is None or n_trials < 1):
        raise ConfigError(f"n_trials={n_trials!r}: method={how!r} needs a positive number")
    if how == "grid" and (n_trials is not None or seed != 0):
        raise ConfigError(f"n_trials={n_trials!r}, seed={seed!r}: a grid runs every combination "
                          "and is not sampled; give space=")  # fmt: skip
    for name, value, least in (("train", train, 2), ("test", test, 3), ("stride", stride, 1)):
        if value is not None and (not isinstance(value, int) or value < least):
            raise ConfigError(f"{name}={value!r}: a whole number of bars >= {least}")
    if select not in ("raw", "plateau"):
        raise ConfigError(f"select={select!r}: raw or plateau")
    cfg = inputs.run_config(config, timeframe, **overrides)
    spec = inputs.run_spec(cfg, ref, dict(space_.fixed))
    request = WalkForwardRequest(
        spec=spec, grids=_grid_strings(space_) if grid is not None or space is not None else [],
        method=how, n_trials=n_trials, seed=seed, objective=objective,
        constraints=list(constraints), min_trades=min_trades, workers=workers, fast=fast,
        train_len=train,
        test_len=test, stride=stride, anchored=anchored, select=select,
    )  # fmt: skip
    settings = load_settings(Path(home) if home is not None else None)
    _, rules = inputs.search_rules(objective, constraints, fast)
    try:
        analysis.TradeGuard.of(min_trades, rules)
    except ConfigError as exc:
        raise inputs.as_arguments(exc) from None
    panel = inputs.bars(data, symbols, start, end, timeframe, cfg.adjust)
    inputs.checked_panel(panel, cls, cfg, "walkforward")
    rep = run_walkforward(request, settings, panel=panel,
                          strategy=cls if not isinstance(ref, str) else None)  # fmt: skip
    return WalkForwardResult(rep.folds, rep.drift, rep.wfe, rep.result, rep.directory)
