"""The YAML of ``alphaforge ml train``, validated (unknown keys refused, errors name the key).

Example ``ml.yaml``::

    name: equities_lgbm
    symbols: [MSFT, JPM, XOM]
    data: ../shared/data/us_equities_daily.parquet   # omit to read the local store
    start: 2008-01-01
    timeframe: 1d
    features:
      - returns: {windows: [1, 5, 20]}
      - volatility: {windows: [20]}
    label: {kind: fixed, horizon: 5}
    model: {kind: lightgbm, class_weight: balanced}
    cv: {folds: 5, embargo: 0.01}
    walk_forward: {every: 63, train_bars: 756}
    strategy: {entry: 0.55, exit: 0.5}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alphaforge.core.errors import ConfigError
from alphaforge.core.rules import format_validation_error
from alphaforge.core.yamlfile import read_yaml_mapping
from alphaforge.ml.cv import Schedule
from alphaforge.ml.features import FeatureSet, parse_features
from alphaforge.ml.models import ModelSpec, check_params
from alphaforge.ml.pipeline import LabelSpec
from alphaforge.ml.registry import check_name
from alphaforge.ml.train import CVSpec
from alphaforge.ml.tuning import TuneSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrimaryModel(_Strict):
    """The primary strategy whose entries meta-labels judge."""

    strategy: str = Field(..., description="Built-in name or path/file.py:ClassName")
    params: dict[str, Any] = Field(default_factory=dict, description="its parameters")


class LabelModel(_Strict):
    """What the model predicts."""

    kind: Literal["fixed", "triple_barrier", "meta"] = Field(
        "fixed", description="sign of the horizon return, triple barrier, or meta-label"
    )
    horizon: int = Field(5, ge=1, description="bars ahead (the vertical barrier)")
    threshold: float = Field(0.0, description="fixed: label 1 when the return is above this")
    upper: float = Field(2.0, ge=0, description="upper barrier in trailing volatilities")
    lower: float = Field(2.0, ge=0, description="lower barrier in trailing volatilities")
    vol_window: int = Field(20, ge=2, description="bars of the trailing volatility")
    primary: PrimaryModel | None = Field(None, description="meta: the primary strategy")

    def spec(self) -> LabelSpec:
        return LabelSpec(self.kind, self.horizon, self.threshold, self.upper, self.lower,
                         self.vol_window)  # fmt: skip


class MemberModel(_Strict):
    """One classifier of an ensemble."""

    kind: Literal["logistic", "lightgbm", "xgboost"] = Field(..., description="classifier")
    params: dict[str, Any] = Field(default_factory=dict, description="overlay the defaults")


class ModelModel(_Strict):
    """The classifier, or an ensemble of several."""

    kind: Literal["logistic", "lightgbm", "xgboost"] = Field("logistic", description="classifier")
    params: dict[str, Any] = Field(default_factory=dict, description="overlay the defaults")
    class_weight: Literal["balanced"] | None = Field(
        None, description="balanced: weight each class by the inverse of its frequency"
    )
    calibrate: bool = Field(
        False, description="sigmoid calibration on time-ordered splits of the training rows"
    )
    seed: int = Field(0, description="random seed of the model")
    n_jobs: int = Field(1, ge=1, le=2, description="threads (1 or 2)")
    ensemble: Literal["voting", "stacking"] | None = Field(
        None,
        description="voting: mean of the members' calibrated probabilities; stacking: a "
        "logistic meta-model on out-of-fold predictions made inside the training rows",
    )
    members: list[MemberModel] = Field(
        default_factory=list, description="the ensemble's classifiers (at least 2)"
    )
    stack_folds: int = Field(3, ge=2, le=10, description="stacking: purged inner folds")

    @model_validator(mode="after")
    def _ensemble(self) -> ModelModel:
        given = self.model_fields_set
        if self.ensemble is None:
            for key in ("members", "stack_folds"):
                if key in given:
                    raise ValueError(f"{key}: only with ensemble: voting or stacking")
            return self
        if len(self.members) < 2:
            raise ValueError(f"members: ensemble {self.ensemble} needs at least 2 members")
        for key in ("kind", "params"):
            if key in given:
                raise ValueError(f"{key}: with an ensemble, give each member's {key}")
        if self.ensemble == "voting" and "calibrate" in given and not self.calibrate:
            raise ValueError("calibrate: voting averages calibrated probabilities; drop it")
        if self.ensemble == "voting" and "stack_folds" in given:
            raise ValueError("stack_folds: only with ensemble: stacking")
        return self

    def spec(self) -> ModelSpec:
        if self.ensemble is None:
            return ModelSpec(self.kind, dict(self.params), self.class_weight, self.calibrate,
                             seed=self.seed, n_jobs=self.n_jobs)  # fmt: skip
        members = tuple(ModelSpec(m.kind, dict(m.params)) for m in self.members)
        return ModelSpec(self.ensemble, {}, self.class_weight,
                         self.calibrate or self.ensemble == "voting", seed=self.seed,
                         n_jobs=self.n_jobs, members=members, stack_folds=self.stack_folds)  # fmt: skip


class CVModel(_Strict):
    """Purged k-fold cross-validation with embargo (null: none)."""

    folds: int = Field(5, ge=2, description="number of folds")
    embargo: float = Field(0.01, ge=0, lt=1, description="share of bars after each test fold")
    min_samples: int = Field(100, ge=1, description="fewest rows in any fold")

    def spec(self) -> CVSpec:
        return CVSpec(self.folds, self.embargo, self.min_samples)


class WalkForwardModel(_Strict):
    """The walk-forward refits whose predictions are the out-of-sample series."""

    every: int = Field(63, ge=1, description="bars between refits")
    train_bars: int | None = Field(756, ge=2, description="trailing bars per fit (null: all)")
    start: int | None = Field(
        None, ge=1, description="bar of the first refit (default: warm-up + train_bars)"
    )

    def spec(self, default_start: int) -> Schedule:
        return Schedule(self.every, self.train_bars, self.start or default_start)


class TuneModel(_Strict):
    """Optuna tuning inside each training fold (inner purged folds; never the test rows)."""

    trials: int = Field(20, ge=1, le=500, description="Optuna trials per fit")
    folds: int = Field(3, ge=2, description="inner purged folds of each training window")
    embargo: float = Field(0.01, ge=0, lt=1, description="inner folds' embargo (share of bars)")
    seed: int = Field(0, description="seed of the TPE sampler")
    space: dict[str, tuple[float, float, Literal["int", "log", "float"]]] = Field(
        default_factory=dict, description="name: [low, high, int|log|float] (overrides)"
    )

    def spec(self) -> TuneSpec:
        return TuneSpec(self.trials, self.folds, self.embargo, self.seed, dict(self.space))


class SignalModel(_Strict):
    """The ml_signal thresholds of evaluate's backtest."""

    entry: float = Field(0.55, ge=0.5, le=1.0, description="enter long above this P(up)")
    exit: float = Field(0.5, ge=0.0, le=1.0, description="exit a long below this P(up)")


class MlSpec(_Strict):
    """A training run: universe and dates, features, label, model, CV and walk-forward."""

    name: str = Field(..., description="model name (versions are stored under it)")
    symbols: list[str] = Field(..., min_length=1, description="symbols to train on")
    data: str | None = Field(None, description="CSV/Parquet file; omit to use the local store")
    start: str | None = Field(None, description="first date (YYYY-MM-DD)")
    end: str | None = Field(None, description="last date (YYYY-MM-DD)")
    timeframe: str = Field("1d", description="bar timeframe")
    features: list[Any] = Field(..., min_length=1, description="feature list (see ml concepts)")
    sectors: dict[str, str] | None = Field(
        None, description="symbol: sector of every symbol, for the sector_momentum feature"
    )
    label: LabelModel = Field(default_factory=LabelModel, description="what to predict")
    model: ModelModel = Field(default_factory=ModelModel, description="classifier or ensemble")
    cv: CVModel | None = Field(default_factory=CVModel, description="purged k-fold (null: none)")
    walk_forward: WalkForwardModel = Field(
        default_factory=WalkForwardModel, description="refit schedule"
    )
    tune: TuneModel | None = Field(None, description="Optuna tuning inside training folds")
    strategy: SignalModel = Field(default_factory=SignalModel, description="ml_signal thresholds")
    backtest: dict[str, Any] = Field(
        default_factory=dict, description="rules of evaluate's backtest"
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date(cls, value: Any, info: ValidationInfo) -> str | None:
        """Refuse what is not a date, and an end before the start (as the run config does)."""
        if value is None:
            return None
        stamp = _utc_stamp(value)
        if stamp is None:
            raise ValueError("not a valid date; write YYYY-MM-DD")
        start = info.data.get("start") if info.field_name == "end" else None
        first = _utc_stamp(start) if start is not None else None
        if first is not None and stamp < first:
            raise ValueError(f"before start {start}")
        return str(value)

    def feature_set(self, source: str) -> FeatureSet:
        """The feature list; ``sectors`` goes into every ``sector_momentum`` entry (so the
        map is part of the feature hash and of the stored model)."""
        where = f"{source}: features"
        return parse_features([self._with_sectors(f, where) for f in self.features], where)

    def _with_sectors(self, entry: Any, where: str) -> Any:
        if self.sectors is None:
            return entry
        if entry == "sector_momentum":
            return {"sector_momentum": {"sectors": dict(self.sectors)}}
        if not (isinstance(entry, dict) and list(entry) == ["sector_momentum"]):
            return entry
        params = dict(entry["sector_momentum"] or {})
        if "sectors" in params:
            raise ConfigError(
                f"{where}: sector_momentum: sectors: give the map once, as the top-level sectors"
            )
        return {"sector_momentum": {**params, "sectors": dict(self.sectors)}}

    def check_sectors(self, source: str) -> None:
        """Refuse a sector map that misses a symbol or names one the run does not have, and a
        map no feature uses."""
        uses = any(s.kind == "sector_momentum" for s in self.feature_set(source).specs)
        if self.sectors is None:
            if uses:
                raise ConfigError(
                    f"{source}: sectors: the sector_momentum feature needs a sector map "
                    "(sectors: {SYMBOL: sector})"
                )
            return
        if not uses:
            raise ConfigError(f"{source}: sectors: no sector_momentum feature uses the map")
        missing = [s for s in self.symbols if s not in self.sectors]
        if missing:
            raise ConfigError(f"{source}: sectors: {missing[0]}: the symbol has no sector")
        unknown = [s for s in self.sectors if s not in self.symbols]
        if unknown:
            raise ConfigError(f"{source}: sectors: {unknown[0]}: unknown symbol (not in symbols)")


def _utc_stamp(value: Any) -> pd.Timestamp | None:
    """``value`` read as a UTC time (naive is UTC), or ``None`` when it is not a date."""
    try:
        stamp = pd.Timestamp(str(value))
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def load_ml_spec(path: str | Path) -> MlSpec:
    """Read and validate ``path``; every error is one line naming the file and the key."""
    p = Path(path)
    raw = read_yaml_mapping(p)
    try:
        spec = MlSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(p))) from None
    if spec.label.kind == "meta" and spec.label.primary is None:
        raise ConfigError(f"{p}: label.primary: kind meta needs a primary strategy")
    try:
        check_name(spec.name)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    spec.feature_set(str(p))  # unknown features are reported before any data is read
    spec.check_sectors(str(p))
    if spec.tune is not None and spec.model.ensemble is not None:
        raise ConfigError(f"{p}: tune: Optuna tuning of an ensemble (model.ensemble) is not "
                          "supported; tune each member on its own")  # fmt: skip
    try:
        check_params(spec.model.spec())
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    return spec
