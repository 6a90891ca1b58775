"""Tutorial: scale a parameter sweep out on a Dask cluster (here a LocalCluster of 2 workers).

Runs offline on alphaforge's SYNTHETIC sample market. Needs the ``dist`` extra (Dask).

    python examples/tutorial_dask_sweep.py --home /tmp/af-tutorial
    # the same from the command line:
    alphaforge sweep sma_cross --symbols SYN01 --grid fast=5:50:5 --grid slow=40:200:20 --dask local
    alphaforge sweep sma_cross --symbols SYN01 --grid fast=5:50:5 --grid slow=40:200:20 \\
        --scheduler tcp://scheduler-host:8786
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from alphaforge.config.settings import load_settings
from alphaforge.config.specs import RunSpec
from alphaforge.data.sample import generate_daily
from alphaforge.services.backtest import to_panel
from alphaforge.services.optimize import SweepRequest, run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="alphaforge home (default: a new temporary directory)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="unused; accepted like the other tutorials"
    )
    parser.add_argument(
        "--scheduler", default="local", help="'local' or tcp://HOST:PORT of a running scheduler"
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="alphaforge-tutorial-"))

    panel = to_panel(generate_daily(seed=3, n_symbols=4, years=6))
    spec = RunSpec.model_validate({"strategy": "sma_cross", "symbols": ["SYN01", "SYN02", "SYN03"]})
    grids = ["fast=5:50:5", "slow=40:200:20"]
    panel = panel.select(spec.symbols)
    print(f"{len(panel.index)} bars x {len(panel.symbols)} symbols, each symbol swept separately")

    # 1. On this process alone (the reference) ...
    serial = run_sweep(
        SweepRequest(spec=spec, grids=grids, workers=1), load_settings(home / "serial"), panel=panel
    )
    # 2. ... and on Dask: "local" starts a LocalCluster, tcp://HOST:PORT joins a running one.
    #    The sweep context (bars, strategy, rules) is scattered to every worker once; trials
    #    travel in chunks, and results are stored as they finish, exactly as with local workers.
    dask = run_sweep(
        SweepRequest(spec=spec, grids=grids, dask=args.scheduler, workers=2, chunk_size=16),
        load_settings(home / "dask"),
        panel=panel,
    )
    for name, rep in (("serial", serial), ("dask", dask)):
        print(f"{name:<7}: {rep.outcome.ran} trials in job {rep.job_id[:12]}")

    # 3. The executor changes where trials run, never what they compute.
    key = ["fast", "slow"]
    a = serial.table.sort_values(key).reset_index(drop=True)
    b = dask.table.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a.drop(columns=["trial_id"]), b.drop(columns=["trial_id"]))
    print("trial tables equal bit for bit:", True)
    print("\nbest per symbol:")
    print(dask.per_symbol_best.to_string(index=False, float_format="{:.3f}".format))


if __name__ == "__main__":
    main()
