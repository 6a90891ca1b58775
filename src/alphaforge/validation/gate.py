"""The go/no-go gate: named thresholds a strategy must clear before it may trade.

A :class:`GateSpec` (YAML, :func:`load_gate`) holds one threshold per criterion; ``null``
switches a criterion off. :func:`evaluate_gate` compares the facts of a validation run
(:class:`GateFacts`) with it and returns a :class:`GateResult`: one row per enabled criterion
with its rule, the value and ``PASS`` / ``FAIL`` / ``N/A``.

Criteria, facts and comparisons (the defaults follow common practice)
----------------------------------------------------------------------
============================  ==================  ==========================================
key (default)                 fact                passes when
============================  ==================  ==========================================
``min_sharpe`` (1.0)          ``sharpe``          ``sharpe > min_sharpe``
``max_drawdown`` (0.20)       ``max_drawdown``    ``|max_drawdown| < max_drawdown``
``min_trades`` (50)           ``trades``          ``trades >= min_trades``
``min_profit_factor`` (1.3)   ``profit_factor``   ``profit_factor > min_profit_factor``
``min_dsr`` (0.95)            ``dsr``             ``dsr > min_dsr``
``max_pbo`` (0.5)             ``pbo``             ``pbo < max_pbo``
``min_sharpe_2x_costs`` (0)   ``sharpe_2x_costs`` ``sharpe_2x_costs > min_sharpe_2x_costs``
``min_wf_oos_return`` (0)     ``wf_oos_return``   ``wf_oos_return > min_wf_oos_return``
============================  ==================  ==========================================

Every comparison is strict except the trade count (a value exactly on a threshold fails,
except ``trades == min_trades``, which passes).

* ``sharpe``: annualised Sharpe ratio of the backtest (``BacktestResult.metrics["sharpe"]``).
* ``max_drawdown``: alphaforge's convention, a **negative** fraction (``-0.25`` is a 25 %
  drawdown, as :func:`alphaforge.analytics.returns_metrics.max_drawdown`); the gate compares
  its absolute value, so a depth given as ``0.25`` is read the same. The threshold is a
  positive fraction in ``(0, 1]``.
* ``trades``: closed trades; ``profit_factor``: gross profit / gross loss (``inf`` without a
  losing trade passes).
* ``dsr``: Deflated Sharpe Ratio, a probability in [0, 1]; ``pbo``: probability of backtest
  overfitting from a parameter sweep (CSCV), in [0, 1].
* ``sharpe_2x_costs``: *survives 2x costs* means the Sharpe ratio of the same backtest with
  every commission and slippage component doubled (:func:`alphaforge.services.robustness.
  scale_costs`) is above ``min_sharpe_2x_costs`` (0: still a positive risk-adjusted return).
* ``wf_oos_return``: compounded out-of-sample return of a walk-forward run (its test folds
  chained), a fraction.

Missing facts
-------------
A fact that was not computed (None) or is NaN gives ``N/A`` with the reason (the PBO needs a
sweep, the out-of-sample return a walk-forward run ...). ``N/A`` is never a pass: the result
lists it apart and its verdict names it. With ``require_all: false`` (the default) the gate
passes when no criterion fails; with ``require_all: true`` every enabled criterion must
``PASS``, so an ``N/A`` fails the gate.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from alphaforge.atomic import atomic_write_text
from alphaforge.core.errors import ConfigError
from alphaforge.core.rules import format_validation_error
from alphaforge.core.yamlfile import read_yaml_mapping

__all__ = [
    "GateFacts",
    "GateResult",
    "GateRow",
    "GateSpec",
    "Status",
    "evaluate_gate",
    "load_gate",
    "save_gate",
]

Status = Literal["PASS", "FAIL", "N/A"]


class GateSpec(BaseModel):
    """Thresholds of the go/no-go gate; ``None`` switches a criterion off (see the module
    docstring for the comparison each one makes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_sharpe: float | None = Field(
        1.0, allow_inf_nan=False, description="Annualised Sharpe ratio must be above this."
    )
    max_drawdown: float | None = Field(
        0.20, gt=0, le=1, description="Deepest drawdown, as a positive fraction, below this."
    )
    min_trades: int | None = Field(50, ge=0, description="At least this many closed trades.")
    min_profit_factor: float | None = Field(
        1.3, ge=0, allow_inf_nan=False, description="Profit factor must be above this."
    )
    min_dsr: float | None = Field(
        0.95, ge=0, le=1, description="Deflated Sharpe Ratio (a probability) above this."
    )
    max_pbo: float | None = Field(
        0.5, ge=0, le=1, description="Probability of backtest overfitting below this."
    )
    min_sharpe_2x_costs: float | None = Field(
        0.0, allow_inf_nan=False, description="Sharpe ratio with doubled costs above this."
    )
    min_wf_oos_return: float | None = Field(
        0.0, gt=-1, allow_inf_nan=False, description="Walk-forward out-of-sample return above."
    )
    require_all: StrictBool = Field(
        False, description="Every enabled criterion must PASS (N/A fails the gate)."
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_thresholds(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name != "require_all":
            raise ValueError("a threshold is a number or null, not true/false")
        return value

    @classmethod
    def build(cls, data: Mapping[str, Any] | None = None, source: str = "gate") -> GateSpec:
        """Validate a mapping; errors are one line naming ``source``, the key and the value."""
        try:
            return cls.model_validate(dict(data or {}))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, source)) from None

    def to_yaml(self) -> str:
        """The spec as YAML that :func:`load_gate` reads back to an equal spec."""
        return yaml.safe_dump(self.model_dump(), sort_keys=False)


def load_gate(path: str | Path) -> GateSpec:
    """Read a gate from YAML: a mapping of :class:`GateSpec` keys (at the top level or under
    ``gate:``); keys left out keep their defaults.

    Raises
    ------
    ConfigError
        Missing file, invalid YAML, a file without keys (empty or only comments), an unknown
        key or a bad value (one line naming the file, the key and the value).
    """
    p = Path(path)
    loaded: Any = read_yaml_mapping(p, "gate")
    if not loaded:  # a wrong or truncated file: the default gate is had by leaving out the file
        raise ConfigError(
            f"{p}: the gate file is empty (no keys); give gate keys such as min_sharpe:, or "
            "leave out --gate for the default gate"
        )
    if set(loaded) == {"gate"}:
        loaded = loaded["gate"] or {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{p}: gate: expected a mapping of gate keys")
    return GateSpec.build(loaded, source=str(p))


def save_gate(spec: GateSpec, path: str | Path) -> Path:
    """Write ``spec`` as YAML to ``path`` atomically and return the path."""
    return atomic_write_text(Path(path), spec.to_yaml())


@dataclass(frozen=True)
class GateFacts:
    """The numbers the gate judges; None when not computed (see the module docstring).

    ``max_drawdown`` is a negative fraction as in :mod:`alphaforge.analytics`.
    """

    sharpe: float | None = None
    max_drawdown: float | None = None
    trades: float | None = None
    profit_factor: float | None = None
    dsr: float | None = None
    pbo: float | None = None
    sharpe_2x_costs: float | None = None
    wf_oos_return: float | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GateFacts:
        """Facts from a mapping of the field names; an unknown name is a :class:`ConfigError`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"gate facts: {unknown[0]}: unknown fact (known: {', '.join(sorted(known))})"
            )
        return cls(**{k: _fact_number(k, v) for k, v in values.items()})


def _fact_number(name: str, value: Any) -> float | None:
    """A fact as a float (None stays None); anything else is a :class:`ConfigError`."""
    if value is None:
        return None
    try:
        if isinstance(value, bool | str):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"gate facts: {name}: expected a number (got {value!r})") from None


@dataclass(frozen=True)
class _Criterion:
    name: str  # the fact it reads, also the row's criterion
    key: str  # the GateSpec field
    op: Callable[[float, float], bool]
    symbol: str
    needs: str  # why the fact may be missing
    magnitude: bool = False  # compare |value|


_CRITERIA: tuple[_Criterion, ...] = (
    _Criterion("sharpe", "min_sharpe", operator.gt, ">", "needs a backtest"),
    _Criterion(
        "max_drawdown", "max_drawdown", operator.lt, "<", "needs a backtest", magnitude=True
    ),
    _Criterion("trades", "min_trades", operator.ge, ">=", "needs a backtest with trades"),
    _Criterion("profit_factor", "min_profit_factor", operator.gt, ">", "needs closed trades"),
    _Criterion("dsr", "min_dsr", operator.gt, ">", "needs the number of trials tried"),
    _Criterion("pbo", "max_pbo", operator.lt, "<", "needs a parameter sweep (CSCV)"),
    _Criterion(
        "sharpe_2x_costs", "min_sharpe_2x_costs", operator.gt, ">", "needs a rerun at 2x costs"
    ),
    _Criterion("wf_oos_return", "min_wf_oos_return", operator.gt, ">", "needs a walk-forward"),
)


@dataclass(frozen=True)
class GateRow:
    """One criterion's outcome: ``rule`` is e.g. ``"sharpe > 1"``, ``reason`` says why a
    criterion is ``N/A`` (empty otherwise)."""

    criterion: str
    rule: str
    value: float | None
    status: Status
    reason: str = ""


@dataclass(frozen=True)
class GateResult:
    """The gate's outcome: its rows, whether it passed and what that means.

    ``passed`` is True when no row is ``FAIL`` and, with ``require_all``, no row is ``N/A``.
    """

    rows: tuple[GateRow, ...]
    passed: bool
    require_all: bool

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(r.criterion for r in self.rows if r.status == "FAIL")

    @property
    def not_available(self) -> tuple[str, ...]:
        return tuple(r.criterion for r in self.rows if r.status == "N/A")

    @property
    def verdict(self) -> str:
        """One line, e.g. ``NO-GO: failed sharpe, pbo; N/A dsr (counts as a fail)``."""
        head = "GO" if self.passed else "NO-GO"
        parts = [f"{sum(r.status == 'PASS' for r in self.rows)} of {len(self.rows)} passed"]
        if self.failed:
            parts.append("failed " + ", ".join(self.failed))
        if self.not_available:
            effect = "counts as a fail" if self.require_all else "not checked"
            parts.append(f"N/A {', '.join(self.not_available)} ({effect})")
        return f"{head}: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (non-finite values become None)."""
        rows = [{**asdict(r), "value": _json_number(r.value)} for r in self.rows]
        return {
            "passed": self.passed,
            "verdict": self.verdict,
            "require_all": self.require_all,
            "failed": list(self.failed),
            "not_available": list(self.not_available),
            "rows": rows,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per criterion: ``criterion, rule, value, status, reason``."""
        columns = ["criterion", "rule", "value", "status", "reason"]
        return pd.DataFrame([asdict(r) for r in self.rows], columns=columns)


def _json_number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _row(c: _Criterion, threshold: float, value: float | None) -> GateRow:
    rule = f"{'|' + c.name + '|' if c.magnitude else c.name} {c.symbol} {threshold:g}"
    if value is None:
        return GateRow(c.name, rule, None, "N/A", f"not computed: {c.needs}")
    if math.isnan(value):
        return GateRow(c.name, rule, value, "N/A", "undefined (NaN)")
    compared = abs(value) if c.magnitude else value
    return GateRow(c.name, rule, value, "PASS" if c.op(compared, threshold) else "FAIL")


def evaluate_gate(facts: GateFacts | Mapping[str, Any], spec: GateSpec | None = None) -> GateResult:
    """Judge ``facts`` by ``spec`` (default :class:`GateSpec`): one row per enabled criterion.

    Parameters
    ----------
    facts
        A :class:`GateFacts` or a mapping of its field names (missing names are None).
    spec
        The thresholds.

    Returns
    -------
    GateResult
        Rows in the order of the criteria table; ``passed`` as documented on
        :class:`GateResult`.
    """
    spec = spec or GateSpec()
    got = facts if isinstance(facts, GateFacts) else GateFacts.from_mapping(facts)
    rows = []
    for c in _CRITERIA:
        threshold = getattr(spec, c.key)
        if threshold is None:
            continue
        value = getattr(got, c.name)
        rows.append(_row(c, float(threshold), None if value is None else float(value)))
    bad = any(r.status == "FAIL" for r in rows)
    missing = any(r.status == "N/A" for r in rows)
    passed = not bad and not (spec.require_all and missing)
    return GateResult(rows=tuple(rows), passed=passed, require_all=spec.require_all)
