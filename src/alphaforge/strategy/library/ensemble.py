"""Ensemble of signal strategies: weighted k-of-n voting."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import model_validator

from alphaforge.core.errors import StrategyError
from alphaforge.strategy.base import Signals, Strategy, StrategyData, StrategyParams, param
from alphaforge.strategy.library._common import recent


class EnsembleParams(StrategyParams):
    members: list[str] = param(
        ["sma_cross", "ema_cross", "rsi_macd"],
        description="Member strategies (built-in names or path/file.py:ClassName)",
    )
    member_params: dict[str, dict[str, Any]] = param({}, description="Parameters per member name")
    weights: list[float] | None = param(None, description="Vote weight per member (default: equal)")
    threshold: float = param(
        0.5,
        ge=0.0,
        le=1.0,
        step=0.05,
        description="Share of the total vote weight needed to enter (k-of-n: k/n)",
    )
    exit_threshold: float = param(
        0.5,
        ge=0.0,
        le=1.0,
        step=0.05,
        description="Share of the vote weight signalling exit that closes the position",
    )
    window: int = param(
        5, ge=1, le=60, step=1, description="A member's signal counts as a vote for this many bars"
    )

    @model_validator(mode="after")
    def _check(self) -> EnsembleParams:
        if not self.members:
            raise ValueError("members must name at least one strategy")
        if self.weights is not None and len(self.weights) != len(self.members):
            raise ValueError(
                f"weights has {len(self.weights)} values for {len(self.members)} members"
            )
        if self.weights is not None and (min(self.weights) < 0 or sum(self.weights) <= 0):
            raise ValueError("weights must be >= 0 with a positive sum")
        return self


class Ensemble(Strategy[EnsembleParams]):
    """Enter when enough members agree; exit when enough members want out.

    A member votes for entry at bar ``t`` when its entry fired within the last ``window`` bars
    (``window = 1``: on the same bar), and for exit likewise. The ensemble enters long when the
    weighted entry votes reach ``threshold`` of the total weight (``threshold = k / n`` with
    equal weights is k-of-n voting) and exits when the weighted exit votes reach
    ``exit_threshold``. Short signals are voted the same way when a member provides them.
    Members must return Signals. Warm-up: the longest member warm-up plus ``window``.
    """

    name = "ensemble"
    Params = EnsembleParams

    def __init__(self, params: Any = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        from alphaforge.strategy.registry import make_strategy

        p = self.params
        if self.name in p.members:
            raise StrategyError("ensemble: parameter members: cannot contain 'ensemble' itself")
        self.members = [make_strategy(m, dict(p.member_params.get(m, {}))) for m in p.members]
        raw = p.weights if p.weights is not None else [1.0] * len(p.members)
        self.vote_weights = np.asarray(raw, dtype=np.float64) / float(sum(raw))

    def warmup(self) -> int:
        return max(m.warmup() for m in self.members) + int(self.params.window)

    def _vote(self, masks: list[np.ndarray | None], shape: tuple[int, int]) -> np.ndarray:
        p = self.params
        total = np.zeros(shape)
        for w, m in zip(self.vote_weights, masks, strict=True):
            if m is not None:
                total += w * recent(np.asarray(m, dtype=bool), p.window)
        return total

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        outs = []
        for m in self.members:
            out = m.signals(data)
            if not isinstance(out, Signals):
                raise StrategyError(
                    f"ensemble: member {m.name!r} returns target weights, not Signals"
                )
            outs.append(out)
        eps = 1e-12
        vote = {
            f: self._vote([getattr(o, f) for o in outs], data.shape)
            for f in ("entries", "exits", "short_entries", "short_exits")
        }
        enter, leave = p.threshold - eps, p.exit_threshold - eps
        return Signals(
            entries=vote["entries"] >= enter,
            exits=vote["exits"] >= leave,
            short_entries=vote["short_entries"] >= enter,
            short_exits=vote["short_exits"] >= leave,
        )
