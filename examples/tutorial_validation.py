"""Tutorial: is the edge real? Validate a swept strategy before it trades.

Runs offline on alphaforge's SYNTHETIC sample market (seeded): a parameter sweep and a
walk-forward of the SMA crossover, then `validate` on the sweep's choice: Deflated Sharpe Ratio
from the sweep's own trials, PBO, SPA, Monte Carlo, regimes, robustness and the go/no-go gate.

    python examples/tutorial_validation.py --home /tmp/af-tutorial
"""

from __future__ import annotations

from _tutorial import folders, tutorial_parser  # examples/_tutorial.py: --home, --out

from alphaforge.config.settings import load_settings
from alphaforge.config.specs import RunSpec
from alphaforge.data.sample import generate_daily
from alphaforge.reports import write_report
from alphaforge.services.optimize import (
    SweepRequest,
    WalkForwardRequest,
    run_sweep,
    run_walkforward,
)
from alphaforge.services.validate import ValidationRequest, run_validation


def main() -> None:
    parser = tutorial_parser(__doc__)
    args = parser.parse_args()
    home, out = folders(args)
    settings = load_settings(home)

    # 1. Data in a file, so that validation can re-run the chosen parameters on the same bars.
    bars = generate_daily(seed=7, n_symbols=3, years=10)
    data = out / "bars.csv"
    bars[bars["symbol"] == "SYN02"].to_csv(data, index=False)
    spec = RunSpec.model_validate(
        {"strategy": "sma_cross", "symbols": ["SYN02"], "data": str(data)}
    )

    # 2. The research a user would do: a grid sweep, and a walk-forward of the same grid.
    grids = ["fast=5:50:5", "slow=40:200:40"]
    sweep = run_sweep(SweepRequest(spec=spec, grids=grids, per_symbol=False, workers=1), settings)
    wf = run_walkforward(
        WalkForwardRequest(spec=spec, grids=grids, workers=1, train_len=504, test_len=126),
        settings,
    )
    print(f"sweep {sweep.job_id}: {len(sweep.table)} trials; walk-forward {wf.job_id}: "
          f"{len(wf.folds)} folds")  # fmt: skip

    # 3. Validate the sweep's best trial, with the walk-forward's out-of-sample result attached.
    request = ValidationRequest(target=sweep.job_id, walkforward=wf.job_id, sims=1000, seed=0)
    report = run_validation(request, settings)
    body = report.body
    sig, ovf = body["significance"], body["overfitting"]
    print(f"\nvalidated: {body['strategy']} {body['params']} on {body['symbols']}")
    print(f"Sharpe {sig['sharpe']['sr_annual']:.2f}, PSR {sig['sharpe']['psr']:.3f}, "
          f"DSR {sig['sharpe']['dsr']:.3f} over {sig['trials']['n_trials']} trials")  # fmt: skip
    print(f"PBO {ovf['pbo']['pbo']:.2f}; SPA p {ovf['spa']['p_consistent']:.3f}; "
          f"walk-forward efficiency {ovf['walkforward']['efficiency'] or float('nan'):.2f}")  # fmt: skip
    mc = report.tables["montecarlo"]
    mc = mc[mc["metric"].isin(["total_return", "max_drawdown"])]
    print("\nMonte Carlo, 95% intervals:")
    print(mc[["method", "metric", "observed", "ci_low", "ci_high"]].to_string(
        index=False, float_format="{:.3f}".format))  # fmt: skip
    print("\nrobustness:")
    for name, check in body["robustness"].items():
        print(f"  {check['verdict']}" if "verdict" in check else f"  {name}: {check}")
    print("\ngate:")
    print(report.gate.to_frame()[["criterion", "rule", "value", "status"]].to_string(
        index=False, float_format="{:.3f}".format))  # fmt: skip
    print(report.gate.verdict)

    # 4. The tear sheet of the validated backtest, with its Validation section.
    path = write_report(report.target.result, out / "validated.html", validation=body)
    print(f"\nwrote {path.name}; stored verdict: {report.path.parent.name}/validation.json")


if __name__ == "__main__":
    main()
