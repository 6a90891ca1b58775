"""Trade the probabilities of a stored machine-learning model (``alphaforge ml train``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from alphaforge.core.errors import AlphaforgeError, StrategyError
from alphaforge.strategy.base import Signals, Strategy, StrategyData, StrategyParams, param

_LOADED: dict[tuple[str, float], Any] = {}


class MlSignalParams(StrategyParams):
    model: str = param(
        "",
        description="Directory of a model version (HOME/models/<name>/<version>); empty: "
        "train walk-forward on the bars given (logistic regression, quarterly refits)",
    )
    entry: float = param(
        0.55, ge=0.5, le=1.0, description="Enter long when P(up) is above this (short below 1 - it)"
    )
    exit: float = param(
        0.5,
        ge=0.0,
        le=1.0,
        description="Exit a long when P(up) falls below this (a short above 1 - it)",
    )
    horizon: int = param(
        5, ge=1, le=63, description="Without a stored model: bars ahead the label looks"
    )
    train_bars: int = param(
        252, ge=60, le=2520, description="Without a stored model: trailing bars of each refit"
    )


def load_model_version(path: str) -> Any:
    """The model version at ``path`` (kept while its metadata file is unchanged)."""
    from alphaforge.ml.registry import META_FILE, load_version

    if not path:
        raise StrategyError(
            "ml_signal: parameter model: give the directory of a model version "
            "(alphaforge ml list shows them)"
        )
    meta = Path(path).expanduser() / META_FILE
    key = (str(meta), meta.stat().st_mtime if meta.is_file() else 0.0)
    if key not in _LOADED:
        try:
            _LOADED[key] = load_version(Path(path).expanduser())
        except AlphaforgeError as exc:
            raise StrategyError(f"ml_signal: parameter model: {exc}") from None
    return _LOADED[key]


def probabilities(version: Any, data: StrategyData) -> np.ndarray:
    """P(label = 1) at every bar and symbol: bar ``t`` is predicted by the latest stored model
    whose first bar is ``<= t`` (a walk-forward model that saw only labels ending by then),
    from features computed on bars ``<= t``. NaN before the first model or where a feature is
    missing."""
    fm = version.features.compute(data.panel)
    stored = tuple(version.metadata["feature_names"])
    if fm.names != stored:
        raise StrategyError(
            f"ml_signal: model {version.ref}: features {list(fm.names)} differ from the "
            f"trained {list(stored)}"
        )
    n, m = data.shape
    proba = np.full((n, m), np.nan)
    starts = [int(data.index.searchsorted(s.valid_from)) for s in version.models]
    for i, s in enumerate(version.models):
        lo = starts[i]
        hi = starts[i + 1] if i + 1 < len(starts) else n
        if hi > lo:
            x = fm.values[lo:hi].reshape(-1, fm.values.shape[2])
            proba[lo:hi] = s.model.predict_proba(x).reshape(hi - lo, m)
    return proba


def _primary_strategy(version: Any) -> Strategy[Any] | None:
    """The primary strategy of a meta-label model (None for other labels)."""
    from alphaforge.strategy.registry import make_strategy

    if version.metadata["label"]["kind"] != "meta" or not version.metadata.get("primary"):
        return None
    primary = version.metadata["primary"]
    return make_strategy(primary["strategy"], primary.get("params") or {})


class MlSignal(Strategy[MlSignalParams]):
    """Long (or short) on the out-of-sample probabilities of a stored model.

    At each bar the strategy computes the model's features from the bars so far and asks the
    walk-forward model that was current then (trained only on labels that had ended by its
    refit bar): enter long when P(up) > ``entry``, exit when it falls below ``exit``; with
    ``direction: long_short`` also short when P(up) < 1 - ``entry``, covered above 1 - ``exit``.
    A meta-label model (trained on a primary strategy's bets) instead takes the primary's
    entries whose P(the bet wins) is above ``entry``, and exits as the primary does.
    Before the first walk-forward model there is no signal. A model whose feature list no
    longer matches the feature code is refused.

    Without ``model`` the strategy trains itself on the bars it is given: at the first bar of
    each calendar quarter a logistic regression on 1/5/20-bar returns and 20-bar volatility
    is fitted on the trailing ``train_bars`` bars, with labels (the sign of the ``horizon``-bar
    return) that have ended by then, and predicts until the next quarter.
    Warm-up: the longest feature window of the stored model; without one, the features'
    window + ``train_bars`` + 66 bars (the longest wait for the first quarterly refit).
    """

    name = "ml_signal"

    def _inline(self) -> Any:
        from alphaforge.ml.inline import InlineSpec

        return InlineSpec(horizon=self.params.horizon, train_bars=self.params.train_bars)

    def warmup(self) -> int:
        if not self.params.model:
            return int(self._inline().warmup())
        version = load_model_version(self.params.model)
        own = int(version.features.warmup())
        primary = _primary_strategy(version)
        return max(own, primary.warmup()) if primary is not None else own

    def _meta(self, version: Any, data: StrategyData, proba: np.ndarray) -> Signals:
        """Meta-labels: take the primary strategy's bets whose P(win) is above ``entry``;
        exits are the primary's own."""
        primary = _primary_strategy(version)
        assert primary is not None
        out = primary.signals(data)
        if not isinstance(out, Signals):
            raise StrategyError(
                f"ml_signal: the primary strategy of {version.ref} gives no entries"
            )
        take = np.isfinite(proba) & (np.nan_to_num(proba, nan=0.0) > self.params.entry)
        short = None if out.short_entries is None else np.asarray(out.short_entries, bool) & take
        return Signals(entries=np.asarray(out.entries, bool) & take, exits=out.exits,
                       short_entries=short, short_exits=out.short_exits, score=proba)  # fmt: skip

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        if p.model:
            version = load_model_version(p.model)
            proba = probabilities(version, data)
            if version.metadata["label"]["kind"] == "meta":
                return self._meta(version, data, proba)
        else:
            from alphaforge.ml.inline import inline_probabilities

            proba = inline_probabilities(data.panel, self._inline())
        with np.errstate(invalid="ignore"):
            up = np.nan_to_num(proba, nan=0.5)
            entries = np.isfinite(proba) & (up > p.entry)
            exits = np.isfinite(proba) & (up < p.exit)
            short_entries = np.isfinite(proba) & (up < 1.0 - p.entry)
            short_exits = np.isfinite(proba) & (up > 1.0 - p.exit)
        return Signals(entries=entries, exits=exits, short_entries=short_entries,
                       short_exits=short_exits, score=proba)  # fmt: skip
