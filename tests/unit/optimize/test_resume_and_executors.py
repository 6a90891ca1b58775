"""Resume after an interruption; identical results whatever the executor and worker count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import load_run_spec
from alphaforge.core.panel import Panel
from alphaforge.optimize.store import SweepStore
from alphaforge.services.optimize import SweepRequest, run_sweep

GRID = [
    "fast=3:15:3",
    "slow=10:40:10",
]  # fast 3,6,9,12,15 x slow 10,20,30,40 = 20 combos; (12,10) and (15,10) invalid -> 18 run


def _req(**kw: object) -> SweepRequest:
    spec = load_run_spec(None, {"strategy": "sma_cross"})
    return SweepRequest(spec=spec, grids=GRID, chunk_size=4, **kw)  # type: ignore[arg-type]


def _returns(directory: object) -> tuple[np.ndarray, np.ndarray]:
    store = SweepStore(directory, {})  # type: ignore[arg-type]
    return store.returns_matrix()


def test_interrupted_sweep_resumes_and_equals_uninterrupted(
    panel3: Panel, settings: AppSettings, tmp_path: object
) -> None:
    # Interrupted: stop after 8 trials (2 chunks of 4); same job -> same directory.
    part = run_sweep(_req(workers=1, max_trials=8), settings, panel=panel3)
    assert part.outcome.ran == 8 and not part.outcome.complete
    rest = run_sweep(_req(workers=1), settings, panel=panel3)
    assert rest.job_id == part.job_id
    assert rest.outcome.resumed == 8 and rest.outcome.ran == 20 - 8 and rest.outcome.complete
    # An uninterrupted run in another home is the reference.
    full = run_sweep(_req(workers=1), AppSettings(home=settings.home / "ref"), panel=panel3)
    assert full.outcome.ran == 20
    pd.testing.assert_frame_equal(rest.table, full.table)
    ids_a, mat_a = _returns(rest.directory)
    ids_b, mat_b = _returns(full.directory)
    assert np.array_equal(ids_a, ids_b) and np.array_equal(mat_a, mat_b)
    assert mat_a.dtype == np.float32 and mat_a.shape == (18, len(panel3.index))


def test_rerun_of_finished_job_runs_nothing(panel3: Panel, settings: AppSettings) -> None:
    first = run_sweep(_req(workers=1), settings, panel=panel3)
    again = run_sweep(_req(workers=1), settings, panel=panel3)
    assert again.outcome.ran == 0 and again.outcome.resumed == 20
    pd.testing.assert_frame_equal(first.table, again.table)


@pytest.mark.slow
def test_process_pool_equals_serial_bit_for_bit(panel3: Panel, settings: AppSettings) -> None:
    serial = run_sweep(_req(workers=1), AppSettings(home=settings.home / "s"), panel=panel3)
    pooled = run_sweep(_req(workers=2), AppSettings(home=settings.home / "p"), panel=panel3)
    assert serial.job_id == pooled.job_id  # the executor is not part of the job
    pd.testing.assert_frame_equal(serial.table, pooled.table, check_exact=True)
    a, b = _returns(serial.directory), _returns(pooled.directory)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.slow
def test_ctrl_c_in_a_pool_keeps_finished_chunks_and_resumes(
    panel3: Panel, settings: AppSettings
) -> None:
    seen: list[int] = []

    def interrupt_after_two_chunks(n: int) -> None:
        seen.append(n)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(_req(workers=2), settings, (lambda t, d: None, interrupt_after_two_chunks),
                  panel=panel3)  # fmt: skip
    (job,) = list((settings.home / "sweeps").iterdir())
    done = SweepStore(job, {})
    assert len(done.manifest["parts"]) == 2 and not done.manifest["complete"]
    rest = run_sweep(_req(workers=1), settings, panel=panel3)
    assert rest.outcome.resumed == sum(seen) and rest.outcome.ran == 20 - sum(seen)
    full = run_sweep(_req(workers=1), AppSettings(home=settings.home / "ref"), panel=panel3)
    pd.testing.assert_frame_equal(rest.table, full.table)


def test_optuna_resume_replays_finished_batches(panel1: Panel, settings: AppSettings) -> None:
    spec = load_run_spec(None, {"strategy": "sma_cross"})

    def req(**kw: object) -> SweepRequest:
        return SweepRequest(spec=spec, grids=["fast=2:30", "slow=10:80:5"], method="optuna",
                            n_trials=24, seed=5, batch=8, workers=1, **kw)  # type: ignore[arg-type]  # fmt: skip

    part = run_sweep(req(max_trials=8), settings, panel=panel1)
    assert part.outcome.ran == 8 and not part.outcome.complete
    rest = run_sweep(req(), settings, panel=panel1)
    assert rest.outcome.ran == 16 and rest.outcome.complete
    full = run_sweep(req(), AppSettings(home=settings.home / "ref"), panel=panel1)
    # the sampler saw the same history, so it proposed the same trials after the resume
    pd.testing.assert_frame_equal(rest.table, full.table)
