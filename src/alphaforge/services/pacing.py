"""A replay's pace and its timing: ``--speed`` (as fast as possible, or a multiple of real
time), the length of a bar, and the replay's own time without the engine's first compile; and
the watch on its equity (:class:`EquityWatch`)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from alphaforge._jit import compile_seconds
from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import Panel
from alphaforge.core.timeframe import parse_timeframe
from alphaforge.sim.vectorized import bankrupt_warning

__all__ = ["EquityWatch", "parse_speed", "period_seconds", "replay_clock", "replay_times"]


def replay_clock() -> tuple[float, float]:
    """The wall clock and the compile time so far: the start of a replay's timing."""
    return time.perf_counter(), compile_seconds()


def replay_times(start: tuple[float, float]) -> dict[str, float]:
    """A replay's ``seconds`` and ``compiling`` since ``start`` (:func:`replay_clock`): a
    first run on a machine compiles the kernels it meets, which is not the replay's speed."""
    compiling = compile_seconds() - start[1]
    return {"seconds": max(time.perf_counter() - start[0] - compiling, 0.0),
            "compiling": compiling}  # fmt: skip


def period_seconds(panel: Panel) -> float:
    """The length of one bar of ``panel`` in seconds (a paced replay sleeps it / speed)."""
    return parse_timeframe(panel.timeframe).nanos / 1e9


def parse_speed(text: str | None) -> float | None:
    """``max`` (or none): as fast as possible; ``60x``: sixty times real time."""
    if text is None or text.strip().lower() == "max":
        return None
    t = text.strip().lower().removesuffix("x")
    try:
        v = float(t)
    except ValueError:
        raise ConfigError(f"--speed: expected max or a multiple like 60x (got {text!r})") from None
    if not v > 0 or v == float("inf"):
        raise ConfigError(f"--speed: must be a positive multiple (got {text!r})")
    return v


class EquityWatch:
    """The first bar at which a replay's equity fell to zero or below: the backtest's
    :func:`~alphaforge.sim.vectorized.bankrupt_warning`, for the same run on the runtime (no
    margin call is modelled in either)."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self.hit: tuple[int, float] | None = None

    def bar(self, t: int, equity: float) -> None:
        if self.hit is None and equity <= 0.0:
            self.hit = (t, equity)

    def bars(self, t: int, equity: np.ndarray) -> None:
        """Bars ``t, t + 1, ...`` with ``equity`` (a replay's quiet stretch)."""
        if self.hit is None and len(equity) and float(equity.min()) <= 0.0:
            k = int(np.argmax(equity <= 0.0))
            self.hit = (t + k, float(equity[k]))

    def warnings(self) -> list[str]:
        if self.hit is None:
            return []
        t, eq = self.hit
        return bankrupt_warning(self.index[t : t + 1], np.array([eq]))
