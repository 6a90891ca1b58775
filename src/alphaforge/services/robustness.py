"""Robustness checks: does a backtest's result survive small changes to its inputs?

Four checks, each a table of variants run with the ordinary backtest
(:func:`alphaforge.services.backtest.backtest`, the same engine and rules as a plain run):

* :func:`cost_check`: every cost scaled by 0x, 1x, 2x, 3x (:func:`scale_costs`);
* :func:`neighbour_check`: each numeric parameter moved -20 %, -10 %, +10 %, +20 %, one at a
  time (:func:`neighbour_params`);
* :func:`start_check`: the run started later by 0 %, 5 %, 10 %, 20 % of its bars;
* :func:`subset_check`: seeded random halves of the symbols (four symbols or more).

Each returns a :class:`RobustnessTable`: one row per variant (``variant``, what was changed,
``total_return``, ``sharpe``, ``max_drawdown`` (negative fraction), ``trades``,
``profit_factor``, ``final_equity``, ``status`` and ``reason``) and a one-line verdict.
A variant that cannot be formed (a parameter outside its bounds, a constraint between
parameters, too few bars) or that the engine refuses is kept as a row with status
``skipped`` or ``error`` and the reason, never silently dropped.

Example
-------
>>> case = RobustnessCase("sma_cross", {"fast": 10, "slow": 50}, BacktestConfig(), panel)
>>> report = run_robustness(case)
>>> report.costs.verdict, report.sharpe_at_costs(2.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError

from alphaforge.core.costs import Commission, Slippage
from alphaforge.core.errors import AlphaforgeError, ConfigError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.services.backtest import backtest
from alphaforge.sim.result import BacktestResult
from alphaforge.strategy.base import Strategy, StrategyParams
from alphaforge.strategy.registry import load_strategy_class

__all__ = [
    "METRICS",
    "Neighbour",
    "RobustnessCase",
    "RobustnessReport",
    "RobustnessTable",
    "cost_check",
    "neighbour_check",
    "neighbour_params",
    "run_robustness",
    "scale_costs",
    "start_check",
    "subset_check",
]

METRICS: tuple[str, ...] = (
    "total_return",
    "sharpe",
    "max_drawdown",
    "trades",
    "profit_factor",
    "final_equity",
)
Status = Literal["ok", "skipped", "error"]
NAN = float("nan")


@dataclass(frozen=True)
class RobustnessCase:
    """What a backtest needs: a strategy (registry name, ``file.py:Class`` or class), its
    parameters (defaults fill the rest), the rules and the bars."""

    strategy: str | type[Strategy]
    params: Mapping[str, Any]
    config: BacktestConfig
    panel: Panel

    @property
    def strategy_class(self) -> type[Strategy]:
        s = self.strategy
        return s if isinstance(s, type) else load_strategy_class(s)

    def run(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        config: BacktestConfig | None = None,
        panel: Panel | None = None,
    ) -> BacktestResult:
        """The plain backtest of this case, with any of its inputs replaced."""
        return backtest(
            self.strategy,
            panel if panel is not None else self.panel,
            params=dict(params if params is not None else self.params),
            config=config if config is not None else self.config,
        )


@dataclass(frozen=True)
class RobustnessTable:
    """One check's variants and its verdict.

    Attributes
    ----------
    check
        ``costs``, ``neighbours``, ``start`` or ``subsets``.
    table
        One row per variant (see the module docstring for the columns).
    verdict
        One line: variants run, the share with a positive Sharpe ratio, the worst case.
    share_positive
        Share of the variants that ran with ``sharpe > 0`` (NaN when none ran).
    worst_variant, worst_sharpe
        The variant with the lowest Sharpe ratio and that ratio (None / NaN when none ran).
    """

    check: str
    table: pd.DataFrame
    verdict: str
    share_positive: float
    worst_variant: str | None
    worst_sharpe: float


@dataclass(frozen=True)
class _Variant:
    """A variant to run: its name, the columns that describe it and its inputs."""

    name: str
    info: dict[str, Any]
    params: Mapping[str, Any] | None = None
    config: BacktestConfig | None = None
    panel: Panel | None = None
    skip: str = ""  # why it is not run


def _metrics(result: BacktestResult) -> dict[str, float]:
    m = result.metrics
    return {
        "total_return": float(m.get("total_return", NAN)),
        "sharpe": float(m.get("sharpe", NAN)),
        "max_drawdown": float(m.get("max_drawdown", NAN)),
        "trades": float(result.num_trades),
        "profit_factor": float(m.get("profit_factor", NAN)),
        "final_equity": result.final_equity,
    }


def _run_variants(
    case: RobustnessCase, check: str, variants: Sequence[_Variant]
) -> RobustnessTable:
    rows = []
    for v in variants:
        row: dict[str, Any] = {"variant": v.name, **v.info, **dict.fromkeys(METRICS, NAN)}
        status: Status = "skipped"
        reason = v.skip
        if not v.skip:
            try:
                row.update(_metrics(case.run(params=v.params, config=v.config, panel=v.panel)))
                status = "ok"
            except AlphaforgeError as exc:
                status, reason = "error", str(exc)
        rows.append({**row, "status": status, "reason": reason})
    return _summarise(check, pd.DataFrame(rows))


def _summarise(check: str, table: pd.DataFrame, note: str = "") -> RobustnessTable:
    """The verdict of a check's table."""
    ran = table[table["status"] == "ok"] if len(table) else table
    others = len(table) - len(ran)
    tail = f"; {others} not run (see reason)" if others else ""
    sharpe = ran["sharpe"].to_numpy(dtype=np.float64) if len(ran) else np.empty(0)
    if not np.isfinite(sharpe).any():
        text = note or f"no variant ran with a defined Sharpe ratio{tail}"
        return RobustnessTable(check, table, f"{check}: {text}", NAN, None, NAN)
    share = float(np.mean(sharpe > 0))
    worst = int(np.nanargmin(sharpe))
    name = str(ran["variant"].iloc[worst])
    verdict = (
        f"{check}: {int(np.sum(sharpe > 0))} of {len(ran)} variants with Sharpe > 0 "
        f"({share:.0%}); worst Sharpe {sharpe[worst]:.2f} ({name}){tail}"
    )
    return RobustnessTable(check, table, verdict, share, name, float(sharpe[worst]))


# ---- costs --------------------------------------------------------------------------------------
def scale_costs(config: BacktestConfig, multiplier: float) -> BacktestConfig:
    """``config`` with every trading cost multiplied by ``multiplier``.

    Scaled: every part of the commission (percent of value, the per-share rate, the per-order
    minimum, the cap as a percent of value and the fixed fee per order), so each fill's
    commission is exactly ``multiplier`` times what it was; every part of the slippage (bps,
    spread, ATR multiple), so each fill's slippage is too; and the annual short borrow fee.
    Not scaled: ``participation`` (a volume cap, not a cost), ``margin`` and ``cash_rate``.
    ``multiplier=1`` gives an equal config.
    """
    k = float(multiplier)
    if not (math.isfinite(k) and k >= 0):
        raise ConfigError(f"robustness: cost multiplier: must be >= 0 (got {multiplier!r})")
    c = config.costs
    comm = Commission(**{f.name: getattr(c.commission, f.name) * k for f in fields(Commission)})
    slip = Slippage(**{f.name: getattr(c.slippage, f.name) * k for f in fields(Slippage)})
    data = config.model_dump()
    data["costs"] = {**data["costs"], "commission": comm, "slippage": slip}
    data["costs"]["borrow_fee"] = c.borrow_fee * k
    return BacktestConfig.build(data, source="robustness costs")


def cost_check(
    case: RobustnessCase, multipliers: Sequence[float] = (0.0, 1.0, 2.0, 3.0)
) -> RobustnessTable:
    """The case at each cost multiplier (:func:`scale_costs`); column ``multiplier``."""
    variants = [
        _Variant(f"{k:g}x costs", {"multiplier": float(k)}, config=scale_costs(case.config, k))
        for k in multipliers
    ]
    return _run_variants(case, "costs", variants)


# ---- parameter neighbours -----------------------------------------------------------------------
@dataclass(frozen=True)
class Neighbour:
    """One parameter moved by ``step`` (a fraction: -0.1 = 10 % lower) from its base value.

    ``params`` is the whole validated parameter set, None when the move is not valid;
    ``reason`` then says why (out of bounds, a rule between parameters, rounds back to the
    base value of an integer).
    """

    param: str
    step: float
    base: Any
    value: Any
    params: dict[str, Any] | None
    reason: str = ""


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _choices(model: type[StrategyParams], name: str) -> list[Any] | None:
    extra = model.model_fields[name].json_schema_extra
    return extra.get("choices") if isinstance(extra, dict) else None  # type: ignore[return-value]


def _why_invalid(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg} (got {err['input']!r})" if loc else msg


def _moved(base: int | float, step: float) -> int | float:
    """``base * (1 + step)``; integers rounded half away from zero."""
    value = base * (1.0 + step)
    if isinstance(base, int):
        return int(math.copysign(math.floor(abs(value) + 0.5), value))
    return value


def neighbour_params(
    strategy: str | type[Strategy],
    params: Mapping[str, Any] | None = None,
    steps: Sequence[float] = (-0.2, -0.1, 0.1, 0.2),
) -> list[Neighbour]:
    """Each numeric parameter (int or float, not bool, without a list of choices) moved by
    each of ``steps`` while the others keep their values, in the order of the strategy's
    ``Params``; each move is validated by the strategy's own parameter model (bounds and
    rules between parameters)."""
    cls = strategy if isinstance(strategy, type) else load_strategy_class(strategy)
    model = cls.Params
    try:
        base = model.model_validate(dict(params or {})).model_dump()
    except ValidationError as exc:
        raise ConfigError(f"robustness: base parameters: {_why_invalid(exc)}") from None
    out = []
    for name, value in base.items():
        if not _numeric(value) or _choices(model, name) is not None:
            continue
        for step in steps:
            new = _moved(value, float(step))
            if new == value:
                out.append(Neighbour(name, step, value, new, None, "same as the base value"))
                continue
            try:
                moved = model.model_validate({**base, name: new}).model_dump()
            except ValidationError as exc:
                out.append(Neighbour(name, step, value, new, None, _why_invalid(exc)))
                continue
            out.append(Neighbour(name, step, value, new, moved))
    return out


def neighbour_check(
    case: RobustnessCase, steps: Sequence[float] = (-0.2, -0.1, 0.1, 0.2)
) -> RobustnessTable:
    """The case with each numeric parameter moved by each step (:func:`neighbour_params`);
    columns ``param``, ``step``, ``value``."""
    variants = [
        _Variant(
            f"{n.param} {n.step:+.0%} ({n.value})",
            {"param": n.param, "step": n.step, "value": n.value},
            params=n.params,
            skip=n.reason,
        )
        for n in neighbour_params(case.strategy_class, case.params, steps)
    ]
    table = _run_variants(case, "neighbours", variants)
    if not variants:
        return _summarise("neighbours", table.table, "no numeric parameter to move")
    return table


# ---- start shifts -------------------------------------------------------------------------------
def start_check(
    case: RobustnessCase, shifts: Sequence[float] = (0.0, 0.05, 0.1, 0.2)
) -> RobustnessTable:
    """The case started later: ``shift`` is the fraction of the bars dropped from the start
    (rounded to whole bars); columns ``shift``, ``start``, ``bars``."""
    index = case.panel.index
    variants = []
    for shift in shifts:
        if not (math.isfinite(shift) and 0 <= shift < 1):
            raise ConfigError(f"robustness: start shift: must be in [0, 1) (got {shift!r})")
        k = math.floor(shift * len(index) + 0.5)
        bars = len(index) - k
        info = {"shift": float(shift), "start": index[k] if bars else pd.NaT, "bars": bars}
        skip = "" if bars >= 2 else f"{bars} bar(s) left; a backtest needs 2"
        panel = case.panel.slice(index[k], None) if not skip else None
        variants.append(_Variant(f"start +{shift:.0%}", info, panel=panel, skip=skip))
    return _run_variants(case, "start", variants)


# ---- symbol subsets -----------------------------------------------------------------------------
def _subsets(symbols: Sequence[str], count: int, size: int, seed: int) -> list[list[str]]:
    """Up to ``count`` distinct subsets of ``size`` symbols (fewer when there are not as many),
    each in the order of ``symbols``."""
    rng = np.random.default_rng(seed)
    target = min(count, math.comb(len(symbols), size))
    seen: dict[tuple[int, ...], None] = {}
    for _ in range(100 * target):
        if len(seen) == target:
            break
        seen.setdefault(tuple(sorted(rng.choice(len(symbols), size, replace=False).tolist())))
    return [[symbols[j] for j in pick] for pick in seen]


def subset_check(
    case: RobustnessCase, n_subsets: int = 10, fraction: float = 0.5, seed: int = 0
) -> RobustnessTable:
    """The case on ``n_subsets`` distinct random subsets of ``round(fraction * symbols)``
    symbols (at least 2; fewer subsets when there are not that many), each drawn without
    replacement with ``numpy.random.default_rng(seed)``: the same seed gives the same subsets. Columns ``subset`` (its number) and ``symbols``
    (comma-separated, in the panel's order). Needs four symbols or more (else no rows). The
    subsets run without the config's benchmark symbol (it may not be drawn); the metrics of
    the table do not depend on it."""
    symbols = case.panel.symbols
    if len(symbols) < 4:
        empty = pd.DataFrame(columns=["variant", "subset", "symbols", *METRICS, "status", "reason"])
        note = f"not run: {len(symbols)} symbol(s), needs at least 4"
        return _summarise("subsets", empty, note)
    if not 0 < fraction < 1:
        raise ConfigError(f"robustness: subset fraction: must be in (0, 1) (got {fraction!r})")
    size = max(2, math.floor(fraction * len(symbols) + 0.5))
    config = case.config.model_copy(update={"benchmark": None})
    variants = []
    for i, pick in enumerate(_subsets(symbols, n_subsets, size, seed)):
        info = {"subset": i, "symbols": ",".join(pick)}
        panel = case.panel.select(pick)
        variants.append(_Variant(f"subset {i}", info, config=config, panel=panel))
    return _run_variants(case, "subsets", variants)


# ---- all checks ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RobustnessReport:
    """The four checks of one case."""

    costs: RobustnessTable
    neighbours: RobustnessTable
    start: RobustnessTable
    subsets: RobustnessTable

    @property
    def tables(self) -> dict[str, RobustnessTable]:
        return {t.check: t for t in (self.costs, self.neighbours, self.start, self.subsets)}

    @property
    def verdicts(self) -> list[str]:
        return [t.verdict for t in self.tables.values()]

    def sharpe_at_costs(self, multiplier: float = 2.0) -> float | None:
        """Sharpe ratio of the cost variant ``multiplier`` (the gate's ``sharpe_2x_costs``);
        None when that multiplier was not run."""
        t = self.costs.table
        hit = t[(t["multiplier"] == multiplier) & (t["status"] == "ok")] if len(t) else t
        return float(hit["sharpe"].iloc[0]) if len(hit) else None


def run_robustness(
    case: RobustnessCase,
    *,
    multipliers: Sequence[float] = (0.0, 1.0, 2.0, 3.0),
    steps: Sequence[float] = (-0.2, -0.1, 0.1, 0.2),
    shifts: Sequence[float] = (0.0, 0.05, 0.1, 0.2),
    n_subsets: int = 10,
    subset_fraction: float = 0.5,
    seed: int = 0,
) -> RobustnessReport:
    """Run every check of :mod:`alphaforge.services.robustness` on ``case``."""
    return RobustnessReport(
        costs=cost_check(case, multipliers),
        neighbours=neighbour_check(case, steps),
        start=start_check(case, shifts),
        subsets=subset_check(case, n_subsets, subset_fraction, seed),
    )
