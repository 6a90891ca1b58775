"""Tutorial: a parameter sweep, a robust choice, and a walk-forward test of that choice.

Runs offline on alphaforge's SYNTHETIC sample market (seeded, generated in memory); the sweep
and walk-forward outputs are written under a temporary alphaforge home.

    python examples/tutorial_sweep_walkforward.py --home /tmp/af-tutorial
"""

from __future__ import annotations

from _tutorial import folders, tutorial_parser  # examples/_tutorial.py: --home, --out

from alphaforge.config.settings import load_settings
from alphaforge.config.specs import RunSpec
from alphaforge.data.sample import generate_daily
from alphaforge.services.backtest import to_panel
from alphaforge.services.optimize import (
    SweepRequest,
    WalkForwardRequest,
    run_sweep,
    run_walkforward,
)


def main() -> None:
    parser = tutorial_parser(__doc__)
    parser.add_argument("--workers", type=int, default=1, help="local worker processes")
    args = parser.parse_args()
    home, out = folders(args)
    settings = load_settings(home)  # the Python equivalent of `alphaforge --home HOME`

    # 1. Data: SYNTHETIC daily bars, one symbol.
    panel = to_panel(generate_daily(seed=7, n_symbols=3, years=8)).select(["SYN02"])
    print(f"panel: {len(panel.index)} bars of {list(panel.symbols)}")

    # 2. The run spec: the same keys as a YAML run config.
    spec = RunSpec.model_validate({"strategy": "sma_cross", "symbols": ["SYN02"]})

    # 3. A grid sweep: 10 x 9 parameter sets, a constraint on the number of trades.
    request = SweepRequest(
        spec=spec,
        grids=["fast=5:50:5", "slow=40:200:20"],
        objective="sharpe",
        constraints=["num_trades>=6"],
        workers=args.workers,
    )
    report = run_sweep(request, settings, panel=panel)
    print(f"\nsweep {report.job_id[:12]}: {report.outcome.ran} trials run, "
          f"{report.invalid} invalid (fast >= slow), stored in HOME/sweeps/")  # fmt: skip
    table = report.table.sort_values("objective", ascending=False)
    table = table.astype({"num_trades": int})
    cols = [
        "fast",
        "slow",
        "objective",
        "plateau",
        "cagr",
        "max_drawdown",
        "num_trades",
        "feasible",
    ]
    print("\nbest five by Sharpe:")
    print(table[cols].head().to_string(index=False, float_format="{:.3f}".format))
    for kind, row in report.best.items():
        print(f"best by {kind:<8}: {row['params']}  objective {row['objective']:.3f}")

    # Running the same sweep again resumes: every trial is already stored.
    again = run_sweep(request, settings, panel=panel)
    print(f"second run: {again.outcome.resumed} trials resumed, {again.outcome.ran} run")

    # 4. Walk-forward: optimize on 2 years, trade the choice on the next 6 months, roll on.
    wf = run_walkforward(
        WalkForwardRequest(
            spec=spec,
            grids=["fast=5:50:5", "slow=40:200:20"],
            objective="sharpe",
            workers=args.workers,
            train_len=504,
            test_len=126,
            select="plateau",
        ),
        settings,
        panel=panel,
    )
    fold_cols = ["fold", "test_start", "fast", "slow", "is_sharpe", "oos_sharpe", "oos_num_trades"]
    folds = wf.folds[fold_cols].assign(
        test_start=wf.folds["test_start"].dt.date,
        oos_num_trades=wf.folds["oos_num_trades"].astype(int),
    )
    print(f"\nwalk-forward: {len(wf.folds)} folds")
    print(folds.to_string(index=False, float_format="{:.3f}".format))
    print(f"walk-forward efficiency (OOS CAGR / mean IS CAGR): {wf.wfe:.2f}")
    oos = wf.result.metrics
    print(f"stitched out-of-sample: total return {oos['total_return']:.2%}, "
          f"Sharpe {oos['sharpe']:.2f}, {oos['num_trades']:.0f} trades")  # fmt: skip
    print("\nparameter drift across folds:")
    print(wf.drift[["param", "values", "changes"]].to_string(index=False))

    # 5. A heatmap of the objective over the grid.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = report.table.pivot_table(index="slow", columns="fast", values="objective")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns])
    ax.set_yticks(range(len(grid.index)), [str(i) for i in grid.index])
    ax.set_xlabel("fast")
    ax.set_ylabel("slow")
    ax.set_title("Sharpe over the grid (SYNTHETIC data; blank: fast >= slow)")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(out / "heatmap.png", dpi=90)
    print(f"\nwrote {(out / 'heatmap.png').name}")
    print(f"sweep files: {sorted(p.name for p in report.files.values())}")


if __name__ == "__main__":
    main()
