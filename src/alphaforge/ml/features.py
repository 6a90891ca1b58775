"""Causal features per symbol from a :class:`~alphaforge.core.panel.Panel`.

Every feature at bar ``t`` is computed from bars ``<= t`` only: trailing windows
(``min_periods`` = the window, so a value exists only once the window is full), recursive
indicators run forward, the HMM is fitted on the returns known at each bar
(:func:`alphaforge.validation.regimes.hmm_regimes`). Nothing is normalised over the whole
sample; the logistic baseline standardises inside each training fold.

A feature list is a :class:`FeatureSet` of :class:`FeatureSpec` (kind and parameters), built
from a config list such as::

    features:
      - returns: {windows: [1, 5, 20]}
      - volatility: {windows: [20, 60]}
      - indicator: {name: rsi, period: 14}
      - beta: {window: 60}          # to the equal-weight index of the panel, or benchmark: SYM
      - correlation: {window: 60}
      - vol_regime: {window: 20, lookback: 252}
      - hmm: {n_states: 2, min_train: 252, refit_every: 63}
      - calendar
      - amihud: {window: 20}
      - roll_spread: {window: 20}
      - kyle_lambda: {window: 20}
      - sector_momentum: {windows: [20, 60]}   # needs the config's sectors: {SYMBOL: sector}

Its :attr:`FeatureSet.hash` (BLAKE2b of the canonical JSON and :data:`FEATURE_CODE_VERSION`)
names the list; a stored model refuses a different one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import Panel
from alphaforge.ml import microstructure as ms

FEATURE_CODE_VERSION = 1
"""Bumped when a feature's definition changes: stored models then refuse to load."""

EQUAL_WEIGHT = "equal_weight"


@dataclass(frozen=True)
class FeatureSpec:
    """One entry of a feature list: a kind and its parameters (sorted, JSON-able)."""

    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {self.kind: dict(self.params)}

    def get(self, key: str, default: Any) -> Any:
        return dict(self.params).get(key, default)


@dataclass(frozen=True)
class FeatureMatrix:
    """Feature values: ``values[t, s, k]`` is feature ``names[k]`` of symbol ``s`` at bar ``t``."""

    names: tuple[str, ...]
    values: np.ndarray
    index: pd.DatetimeIndex
    symbols: tuple[str, ...]


@dataclass(frozen=True)
class FeatureSet:
    """A named, hashable feature list."""

    specs: tuple[FeatureSpec, ...]

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.specs]

    @property
    def hash(self) -> str:
        text = json.dumps(
            {"version": FEATURE_CODE_VERSION, "features": self.to_json()},
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def warmup(self) -> int:
        """Bars before every feature has a value (at most; symbols may start later)."""
        return max((_spec_warmup(s) for s in self.specs), default=0)

    def compute(self, panel: Panel) -> FeatureMatrix:
        """Every feature of every symbol, causally; see :func:`compute_features`."""
        return compute_features(panel, self)


# ---------------------------------------------------------------- parsing


def _norm_value(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return tuple(_norm_value(x) for x in v)
    return v


def _entry(raw: Any, where: str) -> FeatureSpec:
    params: Any
    if isinstance(raw, str):
        kind, params = raw, {}
    elif isinstance(raw, Mapping) and len(raw) == 1:
        kind, params = next(iter(raw.items()))
        params = {} if params is None else params
        if not isinstance(params, Mapping):
            raise ConfigError(f"{where}: {kind}: expected a mapping of parameters (got {params!r})")
    else:
        raise ConfigError(f"{where}: expected a feature name or {{name: {{params}}}} (got {raw!r})")
    if kind not in BUILDERS:
        raise ConfigError(
            f"{where}: unknown feature {kind!r}; known: {', '.join(sorted(BUILDERS))}"
        )
    allowed = ALLOWED[kind]
    unknown = [] if "*" in allowed else sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}: {kind}: unknown parameter {unknown[0]!r}; expected {', '.join(allowed)}"
        )
    if kind == "sector_momentum" and "sectors" in params:
        params = {**params, "sectors": sector_pairs(params["sectors"], f"{where}: sectors")}
    return FeatureSpec(
        str(kind), tuple(sorted((str(k), _norm_value(v)) for k, v in params.items()))
    )


def parse_features(raw: Sequence[Any], where: str = "features") -> FeatureSet:
    """Build a :class:`FeatureSet` from a config list; unknown names raise ConfigError."""
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence) or not raw:
        raise ConfigError(f"{where}: expected a non-empty list of features (got {raw!r})")
    specs = tuple(_entry(r, f"{where}[{i}]") for i, r in enumerate(raw))
    for i, s in enumerate(specs):  # parameters are checked before any data is read
        check = PARAMETERS.get(s.kind)
        try:
            if check is not None:
                check(s)
        except ConfigError as exc:
            raise ConfigError(f"{where}[{i}]: {str(exc).removeprefix('features: ')}") from None
    return FeatureSet(specs)


# ---------------------------------------------------------------- helpers


def _frame(a: np.ndarray, panel: Panel) -> pd.DataFrame:
    return pd.DataFrame(a, index=panel.index, columns=list(panel.symbols))


def log_returns(close: np.ndarray) -> np.ndarray:
    """One-bar log returns (bars x symbols); NaN on the first bar and around gaps."""
    out = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = np.log(close[1:] / close[:-1])
    return out


def benchmark_returns(panel: Panel, benchmark: str) -> np.ndarray:
    """One-bar simple returns of the benchmark: a symbol of the panel, or the equal-weight
    mean of every symbol's return at that bar (``equal_weight``, only bar ``t`` is used)."""
    close = panel.close
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.full(close.shape, np.nan)
        r[1:] = close[1:] / close[:-1] - 1.0
    if benchmark == EQUAL_WEIGHT:
        with np.errstate(all="ignore"):
            counts = np.isfinite(r).sum(axis=1)
            total = np.nansum(r, axis=1)
        return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)
    if benchmark not in panel.symbols:
        raise ConfigError(
            f"features: benchmark {benchmark!r} is not among the symbols "
            f"({', '.join(panel.symbols)}); add it or use {EQUAL_WEIGHT}"
        )
    return r[:, panel.symbols.index(benchmark)]


def _windows(spec: FeatureSpec, default: Sequence[int]) -> list[int]:
    ws = spec.get("windows", tuple(default))
    ws = [ws] if isinstance(ws, int) else list(ws)
    for w in ws:
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise ConfigError(f"features: {spec.kind}: windows: {w!r} is not a whole number >= 1")
    return ws


def _window(spec: FeatureSpec, key: str = "window", default: int = 20, low: int = 2) -> int:
    w = spec.get(key, default)
    if not isinstance(w, int) or isinstance(w, bool) or w < low:
        raise ConfigError(f"features: {spec.kind}: {key}: {w!r} is not a whole number >= {low}")
    return int(w)


Columns = dict[str, np.ndarray]


# ---------------------------------------------------------------- builders


def _returns(panel: Panel, spec: FeatureSpec) -> Columns:
    logc = np.log(panel.close)
    out: Columns = {}
    for w in _windows(spec, (1, 5, 20)):
        v = np.full(logc.shape, np.nan)
        v[w:] = logc[w:] - logc[:-w]
        out[f"ret_{w}"] = v
    return out


def _vol_windows(spec: FeatureSpec) -> list[int]:
    ws = _windows(spec, (20, 60))
    for w in ws:
        if w < 2:
            raise ConfigError(f"features: volatility: windows: {w} must be >= 2")
    return ws


def _volatility(panel: Panel, spec: FeatureSpec) -> Columns:
    r = _frame(log_returns(panel.close), panel)
    out: Columns = {}
    for w in _vol_windows(spec):
        out[f"vol_{w}"] = r.rolling(w, min_periods=w).std().to_numpy()
    return out


def _indicator_spec(spec: FeatureSpec) -> tuple[Any, dict[str, Any], bool]:
    from alphaforge.indicators.registry import get_indicator

    params = dict(spec.params)
    name = params.pop("name", None)
    relative = bool(params.pop("relative", False))
    if not isinstance(name, str):
        raise ConfigError(f"features: indicator: name: give an indicator name (got {name!r})")
    try:
        ind = get_indicator(name)
        resolved = ind.resolve(**params)
    except ConfigError as exc:
        raise ConfigError(f"features: indicator: {exc}") from None
    if "session" in ind.inputs or "benchmark" in ind.inputs:
        raise ConfigError(f"features: indicator: {name!r} needs inputs a feature cannot give")
    return ind, resolved, relative


def _indicator(panel: Panel, spec: FeatureSpec) -> Columns:
    ind, resolved, relative = _indicator_spec(spec)
    args = [getattr(panel, f) for f in ind.inputs]
    with np.errstate(all="ignore"):
        out = ind.function(*args, **resolved)
    values = dict(zip(ind.outputs, out, strict=True)) if len(ind.outputs) > 1 else {"": out}
    tag = "_".join(f"{v}" for k, v in sorted(resolved.items()))
    cols: Columns = {}
    for oname, arr in values.items():
        a = np.asarray(arr, dtype=np.float64)
        if relative:
            with np.errstate(all="ignore"):
                a = a / panel.close - 1.0
        cols["_".join(x for x in (ind.name, tag, oname) if x)] = a
    return cols


def _beta_corr(panel: Panel, spec: FeatureSpec, kind: str) -> Columns:
    w = _window(spec, default=60, low=3)
    bench = str(spec.get("benchmark", EQUAL_WEIGHT))
    rb = benchmark_returns(panel, bench)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.full(panel.close.shape, np.nan)
        r[1:] = panel.close[1:] / panel.close[:-1] - 1.0
    ri = _frame(r, panel)
    b = _frame(np.repeat(rb[:, None], panel.shape[1], axis=1), panel)
    b = b.where(ri.notna())  # pairs where both returns exist
    if kind == "beta":
        value = ri.rolling(w, min_periods=w).cov(b) / b.rolling(w, min_periods=w).var()
    else:
        value = ri.rolling(w, min_periods=w).corr(b)
    return {f"{kind}_{w}": value.to_numpy()}


def _beta(panel: Panel, spec: FeatureSpec) -> Columns:
    return _beta_corr(panel, spec, "beta")


def _correlation(panel: Panel, spec: FeatureSpec) -> Columns:
    return _beta_corr(panel, spec, "corr")


def _vol_regime(panel: Panel, spec: FeatureSpec) -> Columns:
    """Where today's trailing volatility ranks among its own last ``lookback`` values (0..1)."""
    w = _window(spec, default=20)
    lookback = _window(spec, "lookback", 252, 10)
    vol = _frame(log_returns(panel.close), panel).rolling(w, min_periods=w).std()
    rank = vol.rolling(lookback, min_periods=lookback).rank(pct=True)
    return {f"vol_regime_{w}_{lookback}": rank.to_numpy()}


def _hmm(panel: Panel, spec: FeatureSpec) -> Columns:
    """Probability of the most volatile state of a causal Gaussian HMM on the benchmark's log
    returns (the equal-weight index of the panel by default), the same for every symbol."""
    from alphaforge.validation.regimes import hmm_regimes

    n_states = _window(spec, "n_states", 2, 2)
    min_train = _window(spec, "min_train", 252, 20)
    refit = _window(spec, "refit_every", 63, 1)
    rb = benchmark_returns(panel, str(spec.get("benchmark", EQUAL_WEIGHT)))
    known = np.isfinite(rb)
    out = np.full(panel.shape, np.nan)
    if known.sum() > min_train + 1:
        first = int(np.argmax(known))
        r = np.nan_to_num(rb[first:], nan=0.0)  # a bar no symbol traded is a zero return
        level = pd.Series(np.exp(np.cumsum(np.log1p(r))), index=panel.index[first:])
        reg = hmm_regimes(level, n_states, min_train=min_train, refit_every=refit)
        stressed = reg.probabilities.iloc[:, -1].to_numpy()
        out[first:] = stressed[:, None]
    return {f"hmm_{n_states}_p_high_vol": out}


def sector_pairs(value: Any, where: str = "sectors") -> tuple[tuple[str, str], ...]:
    """A sector map (``{symbol: sector}`` or a list of pairs) as sorted ``(symbol, sector)``."""
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list | tuple) and all(
        isinstance(p, list | tuple) and len(p) == 2 for p in value
    ):
        items = [tuple(p) for p in value]
    else:
        raise ConfigError(f"{where}: expected a mapping of symbol to sector (got {value!r})")
    if not items:
        raise ConfigError(f"{where}: the sector map is empty")
    for sym, sector in items:
        if not isinstance(sector, str) or not sector:
            raise ConfigError(f"{where}: {sym}: the sector must be a name (got {sector!r})")
    return tuple(sorted((str(a), str(b)) for a, b in items))


def _sector_members(panel: Panel, spec: FeatureSpec) -> list[np.ndarray]:
    """Per symbol of the panel, the panel columns of its sector (itself included)."""
    raw = spec.get("sectors", None)
    if raw is None:
        raise ConfigError(
            "sectors: the sector_momentum feature needs a sector map (sectors: {SYMBOL: sector})"
        )
    sectors = dict(sector_pairs(raw, "features: sector_momentum: sectors"))
    missing = [s for s in panel.symbols if s not in sectors]
    if missing:
        raise ConfigError(
            f"sectors: {missing[0]}: the symbol has no sector; add it to the sector map"
        )
    col = [sectors[s] for s in panel.symbols]
    return [np.flatnonzero(np.array(col) == c) for c in col]


def _sector_momentum(panel: Panel, spec: FeatureSpec) -> Columns:
    """The ``w``-bar simple return of the symbol's sector (the equal-weight mean of its members'
    ``w``-bar returns at bar t, members without a return left out) and the symbol's own
    ``w``-bar return minus it. Bars ``t - w`` and ``t`` only."""
    members = _sector_members(panel, spec)
    close = panel.close
    out: Columns = {}
    for w in _windows(spec, (20, 60)):
        r = np.full(close.shape, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            r[w:] = close[w:] / close[:-w] - 1.0
        sector = np.full(close.shape, np.nan)
        for j, cols in enumerate(members):
            block = r[:, cols]
            n = np.isfinite(block).sum(axis=1)
            with np.errstate(invalid="ignore"):
                sector[:, j] = np.where(n > 0, np.nansum(block, axis=1) / np.maximum(n, 1), np.nan)
        out[f"sector_ret_{w}"] = sector
        out[f"rel_sector_{w}"] = r - sector
    return out


def _calendar(panel: Panel, spec: FeatureSpec) -> Columns:
    idx = panel.index
    dow = np.repeat(np.asarray(idx.day_of_week, dtype=np.float64)[:, None], panel.shape[1], axis=1)
    month = np.repeat(np.asarray(idx.month, dtype=np.float64)[:, None], panel.shape[1], axis=1)
    return {"day_of_week": dow, "month": month}


def _amihud(panel: Panel, spec: FeatureSpec) -> Columns:
    w = _window(spec, default=20, low=1)
    return {f"amihud_{w}": ms.amihud(panel.close, panel.volume, w)}


def _roll(panel: Panel, spec: FeatureSpec) -> Columns:
    w = _window(spec, default=20, low=3)
    return {f"roll_spread_{w}": ms.roll_spread(panel.close, w)}


def _kyle(panel: Panel, spec: FeatureSpec) -> Columns:
    w = _window(spec, default=20, low=3)
    return {f"kyle_lambda_{w}": ms.kyle_lambda(panel.close, panel.volume, w)}


Builder = Callable[[Panel, FeatureSpec], Columns]
BUILDERS: Mapping[str, Builder] = {
    "returns": _returns,
    "volatility": _volatility,
    "indicator": _indicator,
    "beta": _beta,
    "correlation": _correlation,
    "vol_regime": _vol_regime,
    "hmm": _hmm,
    "calendar": _calendar,
    "amihud": _amihud,
    "roll_spread": _roll,
    "kyle_lambda": _kyle,
    "sector_momentum": _sector_momentum,
}
PARAMETERS: Mapping[str, Callable[[FeatureSpec], object]] = {
    # each builder's parameters, read as the builder reads them (ConfigError when invalid)
    "returns": lambda s: _windows(s, (1, 5, 20)),
    "volatility": _vol_windows,
    "indicator": _indicator_spec,
    "beta": lambda s: _window(s, default=60, low=3),
    "correlation": lambda s: _window(s, default=60, low=3),
    "vol_regime": lambda s: (_window(s, default=20), _window(s, "lookback", 252, 10)),
    "hmm": lambda s: (
        _window(s, "n_states", 2, 2),
        _window(s, "min_train", 252, 20),
        _window(s, "refit_every", 63, 1),
    ),
    "calendar": lambda s: None,
    "amihud": lambda s: _window(s, default=20, low=1),
    "roll_spread": lambda s: _window(s, default=20, low=3),
    "kyle_lambda": lambda s: _window(s, default=20, low=3),
    "sector_momentum": lambda s: _windows(s, (20, 60)),
}
ALLOWED: Mapping[str, tuple[str, ...]] = {
    "returns": ("windows",),
    "volatility": ("windows",),
    "indicator": ("name", "relative", "*"),
    "beta": ("window", "benchmark"),
    "correlation": ("window", "benchmark"),
    "vol_regime": ("window", "lookback"),
    "hmm": ("n_states", "min_train", "refit_every", "benchmark"),
    "calendar": (),
    "amihud": ("window",),
    "roll_spread": ("window",),
    "kyle_lambda": ("window",),
    "sector_momentum": ("windows", "sectors"),
}


def _spec_warmup(spec: FeatureSpec) -> int:
    if spec.kind in ("returns", "volatility", "sector_momentum"):
        return max(_windows(spec, (1, 5, 20) if spec.kind == "returns" else (20, 60))) + 1
    if spec.kind == "indicator":
        ind, resolved, _ = _indicator_spec(spec)
        return int(ind.warmup(**resolved)) + 1
    if spec.kind == "vol_regime":
        return int(spec.get("window", 20)) + int(spec.get("lookback", 252))
    if spec.kind == "hmm":
        return int(spec.get("min_train", 252)) + 1
    if spec.kind == "calendar":
        return 0
    return int(spec.get("window", 60 if spec.kind in ("beta", "correlation") else 20)) + 1


def compute_features(panel: Panel, features: FeatureSet) -> FeatureMatrix:
    """Compute every feature of ``features`` on ``panel`` (causal; see the module docstring)."""
    columns: Columns = {}
    for spec in features.specs:
        for name, values in BUILDERS[spec.kind](panel, spec).items():
            arr = np.array(values, dtype=np.float64)
            arr[~np.isfinite(arr)] = np.nan
            columns[name] = arr
    names = tuple(columns)
    stacked = (
        np.stack([columns[n] for n in names], axis=-1) if names else np.empty((*panel.shape, 0))
    )
    return FeatureMatrix(names, stacked, panel.index, panel.symbols)


def data_digest(panel: Panel) -> str:
    """A digest of a panel's times, symbols and bars (what a feature cache is keyed on)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(np.asarray(panel.index.asi8).tobytes())
    h.update("\x00".join(panel.symbols).encode())
    for name in ("open", "high", "low", "close", "volume"):
        h.update(np.ascontiguousarray(getattr(panel, name)).tobytes())
    return h.hexdigest()


def cached_features(panel: Panel, features: FeatureSet, directory: str | Path) -> FeatureMatrix:
    """:func:`compute_features`, kept in ``directory`` as ``<feature hash>-<data digest>.npz``
    (written atomically; a file that cannot be read is computed again)."""
    fm = load_cached_features(panel, features, directory)
    if fm is None:
        fm = compute_features(panel, features)
        store_features(panel, features, fm, directory)
    return fm


def _cache_path(panel: Panel, features: FeatureSet, directory: str | Path) -> Path:
    return Path(directory) / f"{features.hash}-{data_digest(panel)}.npz"


def load_cached_features(
    panel: Panel, features: FeatureSet, directory: str | Path
) -> FeatureMatrix | None:
    """The features of ``panel`` kept in ``directory``, or ``None`` when there is no readable
    file of them."""
    path = _cache_path(panel, features, directory)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            names = tuple(str(n) for n in z["names"])
            values = z["values"]
    except (OSError, ValueError, KeyError):
        return None
    if values.shape[:2] != panel.shape:
        return None
    return FeatureMatrix(names, values, panel.index, panel.symbols)


def store_features(
    panel: Panel, features: FeatureSet, fm: FeatureMatrix, directory: str | Path
) -> Path:
    """Keep ``fm`` (the features of ``panel``) in ``directory``, written atomically."""
    from alphaforge.atomic import atomic_write

    path = _cache_path(panel, features, directory)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, names=np.array(fm.names), values=fm.values)

    atomic_write(path, write)
    return path
