"""Tutorial: scale a parameter sweep out on a Dask cluster.

Runs offline on alphaforge's SYNTHETIC sample market. Needs the ``dist`` extra (Dask). By default
it starts a small in-process cluster (two worker threads) and hands its address to the sweep,
exactly as you would hand over the address of a real cluster's scheduler (``--scheduler``).

    python examples/tutorial_dask_sweep.py --home /tmp/af-tutorial
    # the same from the command line:
    alphaforge sweep sma_cross --symbols SYN01 --grid fast=5:50:5 --grid slow=40:200:20 --dask local
    alphaforge sweep sma_cross --symbols SYN01 --grid fast=5:50:5 --grid slow=40:200:20 \\
        --scheduler tcp://scheduler-host:8786
"""

from __future__ import annotations

import pandas as pd
from _tutorial import folders, tutorial_parser  # examples/_tutorial.py: --home, --out

from alphaforge.config.settings import load_settings
from alphaforge.config.specs import RunSpec
from alphaforge.data.sample import generate_daily
from alphaforge.services.backtest import to_panel
from alphaforge.services.optimize import SweepRequest, run_sweep


def main() -> None:
    parser = tutorial_parser(__doc__)
    parser.add_argument(
        "--scheduler",
        default=None,
        help="tcp://HOST:PORT of a running scheduler, or 'local' for a fresh LocalCluster of "
        "worker processes (default: a small in-process cluster)",
    )
    args = parser.parse_args()
    home, _ = folders(args)

    panel = to_panel(generate_daily(seed=3, n_symbols=4, years=6))
    spec = RunSpec.model_validate({"strategy": "sma_cross", "symbols": ["SYN01", "SYN02", "SYN03"]})
    grids = ["fast=5:50:5", "slow=40:200:20"]
    panel = panel.select(spec.symbols)
    print(f"{len(panel.index)} bars x {len(panel.symbols)} symbols, each symbol swept separately")

    # 1. On this process alone (the reference) ...
    serial = run_sweep(
        SweepRequest(spec=spec, grids=grids, workers=1), load_settings(home / "serial"), panel=panel
    )
    # 2. ... and on Dask. A real cluster runs `dask scheduler` on one machine and
    #    `dask worker tcp://HOST:8786` on each of the others; alphaforge only needs the
    #    scheduler's address. Here a small cluster inside this process stands in for it.
    #    The sweep context (bars, strategy, rules) is scattered to every worker once; trials
    #    travel in chunks, and results are stored as they finish, exactly as with local workers.
    cluster = None
    address = args.scheduler
    if address is None:
        from dask.distributed import LocalCluster

        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        )
        address = cluster.scheduler_address
    try:
        dask = run_sweep(
            SweepRequest(spec=spec, grids=grids, dask=address, workers=2, chunk_size=16),
            load_settings(home / "dask"),
            panel=panel,
        )
    finally:
        if cluster is not None:
            cluster.close()
    print(f"dask scheduler: {address.split('://')[0]}:// ({'in-process' if cluster else 'given'})")
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
