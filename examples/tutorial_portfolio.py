"""Tutorial: portfolios — one cash account, target weights, allocators and portfolio limits.

Runs offline on alphaforge's SYNTHETIC sample market (seeded, generated in memory).

    python examples/tutorial_portfolio.py --home /tmp/af-tutorial
"""

from __future__ import annotations

import pandas as pd
from _tutorial import folders, tutorial_parser  # examples/_tutorial.py: --home, --out

import alphaforge
from alphaforge.data.sample import generate_daily, sample_sectors, sample_symbols


def main() -> None:
    parser = tutorial_parser(__doc__)
    args = parser.parse_args()
    _, out = folders(args)

    # 1. Data: 12 SYNTHETIC equities in four sectors, 8 years of daily bars.
    symbols = sample_symbols(12)
    bars = generate_daily(seed=11, n_symbols=12, years=8)
    sectors = dict(sample_sectors(seed=11, n_symbols=12)[["symbol", "sector"]].to_numpy())
    print(f"{len(symbols)} symbols; sectors: {pd.Series(sectors).value_counts().to_dict()}")

    # 2. Three portfolios on the same account rules (IB-style commission, 5 bps slippage).
    costs = {"commission": "0.005/share,min=1,max=1%", "slippage": "5bps"}
    runs = {
        # hold the 4 best 12-1 month performers, equally weighted, rebalanced monthly
        "momentum top 4": alphaforge.backtest(
            "momentum_rotation", bars, symbols=symbols,
            params={"lookback": 252, "skip": 21, "top_n": 4},
            config={"costs": costs, "rebalance": "monthly"},
        ),
        # every symbol, risk parity over the trailing 126 bars, at most 15% per name
        "risk parity": alphaforge.backtest(
            "allocation", bars, symbols=symbols,
            params={"method": "risk_parity", "lookback": 126, "max_weight": 0.15},
            config={"costs": costs, "rebalance": "monthly", "drift_band": 0.02},
        ),
        # the same momentum signal under a sector cap and a drawdown circuit breaker
        "momentum, limits": alphaforge.backtest(
            "momentum_rotation", bars, symbols=symbols,
            params={"lookback": 252, "skip": 21, "top_n": 4},
            config={
                "costs": costs,
                "risk": {"max_sector_exposure": 0.3, "sectors": sectors,
                         "max_drawdown": 0.25, "drawdown_action": "halt"},
            },
        ),
    }  # fmt: skip

    keys = ["total_return", "cagr", "annual_volatility", "sharpe", "max_drawdown", "turnover"]
    table = pd.DataFrame({name: {k: r.metrics[k] for k in keys} for name, r in runs.items()})
    table.loc["trades"] = [r.metrics["num_trades"] for r in runs.values()]
    table.loc["fees"] = [r.metrics["fees"] for r in runs.values()]
    print("\n" + table.to_string(float_format="{:,.3f}".format))

    # 3. What the limits did: rejected or reduced orders and risk events are in the result.
    limited = runs["momentum, limits"]
    orders = limited.orders
    print(f"\norders of 'momentum, limits': {len(orders)}; status counts:")
    print(orders["status"].value_counts().to_string())
    if "reason" in orders:
        rejected = orders[orders["status"] != "filled"]
        print("rejection reasons:", rejected["reason"].value_counts().to_dict())
    events = limited.risk_events
    print(f"risk events: {len(events)}")
    if len(events):
        print(events.head().to_string(index=False))

    # 4. Weights over time (from the recorded positions) and the equity curves.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.4))
    for name, r in runs.items():
        (r.equity / r.equity.iloc[0]).plot(ax=ax, label=name)
    ax.set_title("Growth of 1 (SYNTHETIC data)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "portfolio_equity.png", dpi=90)
    print(f"\nwrote {(out / 'portfolio_equity.png').name}")


if __name__ == "__main__":
    main()
