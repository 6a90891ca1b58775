"""Tutorial: machine learning end to end, out of sample only.

Runs offline on alphaforge's SYNTHETIC sample market (seeded): causal features, a 5-bar label,
walk-forward refits with purged k-fold CV, a stored model version, its out-of-sample evaluation
and a backtest of the `ml_signal` strategy through the normal engine.

    python examples/tutorial_ml.py --home /tmp/af-tutorial
"""

from __future__ import annotations

import yaml
from _tutorial import folders, tutorial_parser  # examples/_tutorial.py: --home, --out

from alphaforge.config.settings import load_settings
from alphaforge.data.sample import generate_daily
from alphaforge.services.ml import evaluate_model, train_model


def main() -> None:
    parser = tutorial_parser(__doc__)
    args = parser.parse_args()
    home, out = folders(args)
    settings = load_settings(home)

    # 1. Data: four SYNTHETIC stocks, ten years, in a file the config names.
    bars = generate_daily(seed=11, n_symbols=4, years=10)
    data = out / "bars.csv"
    bars[bars["symbol"] != "SYNIDX"].to_csv(data, index=False)

    # 2. The ml.yaml of `alphaforge ml train --config`: features, label, model, validation.
    config = {
        "name": "tutorial_logit",
        "symbols": ["SYN01", "SYN02", "SYN03", "SYN04"],
        "data": str(data),
        "features": [
            {"returns": {"windows": [1, 5, 20]}},
            {"volatility": {"windows": [20]}},
            {"indicator": {"name": "rsi", "period": 14}},
            {"beta": {"window": 60}},
            "calendar",
            {"amihud": {"window": 20}},
        ],
        "label": {"kind": "fixed", "horizon": 5},
        "model": {"kind": "logistic"},
        "cv": {"folds": 5, "embargo": 0.01},
        "walk_forward": {"every": 126, "train_bars": 504},
        "strategy": {"entry": 0.55, "exit": 0.5},
    }
    path = out / "ml.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))

    # 3. Train: refit every 126 bars on the trailing 504, on labels that had ended by then.
    trained = train_model(path, settings)
    print(f"stored {trained.version.ref} under HOME/models/")

    # 4. Evaluate: out-of-sample scores per fold, pooled, importance, the OOS backtest.
    ev = evaluate_model(trained.version.ref, settings)
    body = ev.body
    pooled = body["oos_pooled"]
    print(f"out of sample from {body['oos_from'][:10]}: "
          f"AUC {pooled['auc']:.3f}, accuracy {pooled['accuracy']:.3f}")  # fmt: skip
    cols = [c for c in ("fold", "kind", "start", "auc", "accuracy", "log_loss") if c in ev.folds]
    folds = ev.folds[cols].head(8)
    if "start" in folds:
        folds = folds.assign(start=folds["start"].astype(str).str[:10])
    print(folds.to_string(index=False, float_format="{:.3f}".format))
    print(f"\nimportance stability (top {body['importance_top_k']}): "
          f"{body['importance_stability']:.2f}")  # fmt: skip
    m = body["backtest"]
    print(f"ml_signal out of sample: total return {m['total_return']:.2%}, Sharpe "
          f"{m['sharpe']:.2f}, {m['num_trades']:.0f} trades; buy and hold "
          f"{body['buy_and_hold_return']:.2%}")  # fmt: skip
    print(f"gate: {body['gate'].get('verdict', body['gate'])}")
    print(f"wrote {ev.tear_sheet.name} and {ev.path.name}")


if __name__ == "__main__":
    main()
