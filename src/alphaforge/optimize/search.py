"""Search drivers: grid, seeded random and seeded Optuna TPE, over any executor.

Trial ids are deterministic (grid position, random draw number, Optuna trial number), chunks
are formed from the trials not yet finished, and results go to a sink (the on-disk
:class:`~alphaforge.optimize.store.SweepStore` or :class:`MemorySink`) as each chunk arrives.
Because trial ids and per-trial computations never depend on the executor, the stored table is
identical whatever the executor or the number of workers.

Optuna asks trials in batches of a fixed size (``batch``, never the worker count) so a seeded
study proposes the same parameters on any cluster; on resume, finished batches are replayed
to the sampler from the store instead of being run again.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.optimize.analysis import Constraint, trial_table
from alphaforge.optimize.objective import Objective
from alphaforge.optimize.runner import Executor
from alphaforge.optimize.space import Dimension, SearchSpace
from alphaforge.optimize.worker import ChunkResult, Task

Method = Literal["grid", "random", "optuna"]
Trial = tuple[int, dict[str, Any]]


class Sink(Protocol):
    """Where finished chunks go."""

    @property
    def done_ids(self) -> set[int]: ...

    def append(self, chunk: ChunkResult) -> None: ...

    def trials(self) -> pd.DataFrame: ...


class MemorySink:
    """Keeps metrics rows in memory (small walk-forward training sweeps); no returns."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._done: set[int] = set()

    @property
    def done_ids(self) -> set[int]:
        return set(self._done)

    def append(self, chunk: ChunkResult) -> None:
        self._rows.extend(chunk.rows)
        self._done.update(int(i) for i in chunk.trial_ids)
        self._done.update(chunk.invalid)

    def trials(self) -> pd.DataFrame:
        if not self._rows:
            return pd.DataFrame(columns=["trial_id", "symbol"])
        df = pd.DataFrame(self._rows)
        return df.sort_values(["trial_id", "symbol"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class SearchPlan:
    """What to search and how."""

    method: Method
    space: SearchSpace
    n_trials: int | None = None  # random / optuna
    seed: int = 0
    batch: int = 16  # optuna ask/tell batch
    chunk_size: int | None = None
    window: tuple[int, int] = (0, 0)
    want_returns: bool = True
    max_trials: int | None = None  # stop after this many new trials (resume later)

    def job_fields(self) -> dict[str, Any]:
        return {
            "method": self.method, "space": self.space.to_json(), "n_trials": self.n_trials,
            "seed": self.seed, "batch": self.batch if self.method == "optuna" else None,
            "window": list(self.window),
        }  # fmt: skip


@dataclass
class SearchOutcome:
    """Counts of a (possibly partial) search."""

    total: int
    ran: int
    resumed: int
    complete: bool


def trial_rate(ran: int, seconds: float) -> float:
    """Trials per second, the one definition the progress bar and the summary share: trials
    run by this search (resumed ones excluded) over the seconds from the moment its total was
    announced (just before the first trial is submitted) to its last result."""
    return ran / seconds if seconds > 0 else float("nan")


class SearchClock:
    """Times a search through its ``on_total`` and ``progress`` callbacks (see
    :func:`trial_rate`), forwarding them to the caller's own."""

    def __init__(self, now: Callable[[], float] = time.perf_counter) -> None:
        self._now = now
        self.started: float | None = None
        self.last: float | None = None
        self.ran = 0

    def starting(self, on_total: Callable[[int, int], None] | None) -> Callable[[int, int], None]:
        def hook(total: int, done: int) -> None:
            if self.started is None:
                self.started = self.last = self._now()
            if on_total is not None:
                on_total(total, done)

        return hook

    def counting(self, progress: Callable[[int], None] | None) -> Callable[[int], None]:
        def hook(n: int) -> None:
            self.ran += n
            self.last = self._now()
            if progress is not None:
                progress(n)

        return hook

    @property
    def seconds(self) -> float:
        if self.started is None or self.last is None:
            return 0.0
        return self.last - self.started


def grid_trials(space: SearchSpace) -> list[Trial]:
    return list(enumerate(space.grid()))


def random_trials(space: SearchSpace, n: int, seed: int) -> list[Trial]:
    """``n`` distinct uniformly drawn points (fewer when the space is smaller)."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[Trial] = []
    attempts = 0
    while len(out) < n and attempts < 50 * n:
        attempts += 1
        p = space.sample(rng)
        key = repr(sorted(p.items()))
        if key not in seen:
            seen.add(key)
            out.append((len(out), p))
    return out


def _chunks(trials: Sequence[Trial], size: int) -> Iterator[tuple[Trial, ...]]:
    for i in range(0, len(trials), size):
        yield tuple(trials[i : i + size])


def chunk_size_for(n: int, workers: int, given: int | None) -> int:
    """About eight chunks per worker, 4 to 64 trials each."""
    if given:
        return max(1, given)
    return int(min(64, max(4, n // max(1, workers * 8))))


def _run_trials(
    trials: Sequence[Trial],
    plan: SearchPlan,
    executor: Executor,
    sink: Sink,
    progress: Callable[[int], None],
    budget: int | None,
) -> int:
    size = chunk_size_for(len(trials), executor.workers, plan.chunk_size)
    if budget is not None:
        trials = trials[: max(0, budget)]
    tasks = (Task(c, plan.window, plan.want_returns) for c in _chunks(trials, size))
    ran = 0
    for chunk in executor.run(tasks):
        sink.append(chunk)
        n = len(chunk.trial_ids) + len(chunk.invalid)
        ran += n
        progress(n)
    return ran


def run_search(
    plan: SearchPlan,
    executor: Executor,
    sink: Sink,
    *,
    objective: str | Objective = "sharpe",
    constraints: Sequence[Constraint] = (),
    progress: Callable[[int], None] = lambda n: None,
    on_total: Callable[[int, int], None] = lambda total, done: None,
) -> SearchOutcome:
    """Run the trials of ``plan`` that ``sink`` does not have yet."""
    if plan.method == "optuna":
        return _run_optuna(plan, executor, sink, objective, constraints, progress, on_total)
    if plan.method == "grid":
        trials = grid_trials(plan.space)
    elif plan.method == "random":
        if not plan.n_trials:
            raise ConfigError("--random N: N must be a positive number of trials")
        trials = random_trials(plan.space, plan.n_trials, plan.seed)
    else:
        raise ConfigError(f"unknown search method {plan.method!r}")
    done = sink.done_ids
    todo = [t for t in trials if t[0] not in done]
    on_total(len(trials), len(trials) - len(todo))
    ran = _run_trials(todo, plan, executor, sink, progress, plan.max_trials)
    return SearchOutcome(len(trials), ran, len(trials) - len(todo), ran == len(todo))


def _distribution(d: Dimension) -> Any:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if d.values is None:
        return FloatDistribution(float(d.low or 0.0), float(d.high or 0.0))
    vals = list(d.values)
    if d.is_int and d.step and d.low is not None and d.high is not None and len(vals) > 1:
        return IntDistribution(int(vals[0]), int(vals[-1]), step=int(d.step))
    return CategoricalDistribution(vals)


def _run_optuna(
    plan: SearchPlan,
    executor: Executor,
    sink: Sink,
    objective: str | Objective,
    constraints: Sequence[Constraint],
    progress: Callable[[int], None],
    on_total: Callable[[int, int], None],
) -> SearchOutcome:
    import optuna

    if not plan.n_trials:
        raise ConfigError("--optuna N: N must be a positive number of trials")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cons_fn = (lambda t: t.user_attrs["constraints"]) if constraints else None
    with warnings.catch_warnings():  # constraints_func: deprecated in Optuna 5, kept until 7
        warnings.filterwarnings("ignore", "`constraints_func`", FutureWarning)
        sampler = optuna.samplers.TPESampler(seed=plan.seed, constraints_func=cons_fn)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    dists = {d.name: _distribution(d) for d in plan.space.dims}
    done = sink.done_ids
    on_total(plan.n_trials, len(done))
    ran, budget = 0, plan.max_trials
    for start in range(0, plan.n_trials, plan.batch):
        asked = [study.ask(dists) for _ in range(min(plan.batch, plan.n_trials - start))]
        batch = [(t.number, {**plan.space.fixed, **t.params}) for t in asked]
        todo = [b for b in batch if b[0] not in done]
        if todo:
            if budget is not None and ran >= budget:
                return SearchOutcome(plan.n_trials, ran, len(done), False)
            ran += _run_trials(todo, plan, executor, sink, progress, None)
        _tell(study, asked, sink, plan.space.names, objective, constraints)
    return SearchOutcome(plan.n_trials, ran, len(done), True)


def _tell(
    study: Any,
    asked: list[Any],
    sink: Sink,
    names: list[str],
    objective: str | Objective,
    constraints: Sequence[Constraint],
) -> None:
    from optuna.trial import TrialState

    numbers = {t.number for t in asked}
    rows = sink.trials()
    rows = rows[rows["trial_id"].isin(numbers)] if not rows.empty else rows
    table = trial_table(rows, names, objective, constraints).set_index("trial_id")
    for t in asked:
        if t.number not in table.index:
            study.tell(t, state=TrialState.FAIL)  # rejected by the strategy's Params
            continue
        row = table.loc[t.number]
        value = float(row["objective"])
        if constraints:
            t.set_user_attr("constraints", [c.slack(float(row[c.metric])) for c in constraints])
        if np.isnan(value):
            study.tell(t, state=TrialState.FAIL)
        else:
            study.tell(t, value)
