"""Timing records: first call (JIT / import) apart, then repeated measurements."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Measure:
    """One engine on one workload: first-call time, repeated times (s) and what it computed."""

    engine: str
    first_s: float
    runs_s: list[float]
    final_equity: float | None = None
    trades: float | None = None
    scale: float = 1.0  # multiply times by this to get the full workload (subsampled peers)
    backtests: int = 1  # backtests of the full workload (what the scaled times stand for)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs_s) * self.scale

    @property
    def min_s(self) -> float:
        return min(self.runs_s) * self.scale

    @property
    def max_s(self) -> float:
        return max(self.runs_s) * self.scale

    @property
    def per_second(self) -> float:
        """Backtests per second (median)."""
        return self.backtests / self.median_s if self.median_s > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(median_s=self.median_s, min_s=self.min_s, max_s=self.max_s)
        d["backtests_per_s"] = self.per_second
        return d


MIN_TOTAL_S = 1.0  # short jobs repeat until they have run this long (as timeit's autorange)
MAX_REPEAT = 100


def measure(engine: str, fn: Callable[[], Any], repeat: int, **kw: Any) -> tuple[Measure, Any]:
    """Call ``fn`` once (first call, reported apart), then at least ``repeat`` more times and
    until the repeats add up to :data:`MIN_TOTAL_S` (at most :data:`MAX_REPEAT`): a median of
    three runs of a few milliseconds is mostly the noise of a shared machine."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    runs: list[float] = []
    while len(runs) < repeat or (sum(runs) < MIN_TOTAL_S and len(runs) < MAX_REPEAT):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return Measure(engine, first, runs, **kw), out
