"""Tutorial: write your own strategy, backtest it, check it for look-ahead bias.

Runs offline on alphaforge's SYNTHETIC sample market (seeded, generated in memory).

    python examples/tutorial_custom_strategy.py --home /tmp/af-tutorial
"""

from __future__ import annotations

import numpy as np
from _tutorial import folders, tutorial_parser  # examples/_tutorial.py: --home, --out

import alphaforge
from alphaforge.data.sample import generate_daily
from alphaforge.indicators import rsi
from alphaforge.services.backtest import to_panel
from alphaforge.strategy import Signals, Strategy, StrategyData, StrategyParams, param
from alphaforge.strategy.lookahead import check_lookahead


# 1. The parameters: typed, with bounds (the optimizer's default search space).
class PullbackParams(StrategyParams):
    trend: int = param(100, ge=20, le=300, description="trend filter: SMA length")
    rsi_period: int = param(5, ge=2, le=30, description="RSI length")
    oversold: float = param(25.0, ge=5, le=45, description="enter below this RSI")
    exit_rsi: float = param(60.0, ge=50, le=95, description="exit above this RSI")


# 2. The strategy: whole (bars x symbols) arrays in, entry/exit masks out.
class TrendPullback(Strategy[PullbackParams]):
    """Buy short-term dips (RSI oversold) while the close is above its long SMA."""

    name = "trend_pullback"

    def warmup(self) -> int:
        # Wilder's RSI is recursive: give it ten periods to forget its seed.
        return max(self.params.trend, 10 * self.params.rsi_period)

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        close = data.close
        trend = data.sma(p.trend)
        osc = data.cached(("rsi", p.rsi_period), lambda: rsi(close, p.rsi_period))
        with np.errstate(invalid="ignore"):
            entries = (close > trend) & (osc < p.oversold)
            exits = (osc > p.exit_rsi) | (close < trend)
        return Signals(entries=entries, exits=exits)


def main() -> None:
    parser = tutorial_parser(__doc__)
    args = parser.parse_args()
    home, out = folders(args)

    # 3. Data: 10 years of SYNTHETIC daily bars for 5 equities (long format).
    bars = generate_daily(seed=42, n_symbols=5, years=10)
    print(f"bars: {len(bars):,} rows, symbols {sorted(bars['symbol'].unique())}")

    # 4. Backtest one symbol with a 2-ATR protective stop; costs are on by default.
    result = alphaforge.backtest(
        TrendPullback, bars, symbols=["SYN03"], stop_loss="2atr", commission="0.1%"
    )
    m = result.metrics
    print(f"\nTrendPullback on SYN03: {m['num_trades']:.0f} trades")
    for key in ("total_return", "cagr", "sharpe", "max_drawdown", "win_rate", "fees"):
        print(f"  {key:<13} {m[key]:>12.4f}")
    print(f"  final equity  {result.final_equity:>12,.2f}")

    cols = ["entry_time", "exit_time", "entry_price", "exit_price", "quantity", "pnl",
            "exit_reason"]  # fmt: skip
    print("\nfirst five trades:")
    print(result.trades[cols].head().to_string(index=False, float_format="{:,.2f}".format))
    print("\nexit reasons:", result.trades["exit_reason"].value_counts().to_dict())

    # 5. The same strategy, other parameters: params= overrides the defaults.
    other = alphaforge.backtest(
        TrendPullback, bars, symbols=["SYN03"], params={"oversold": 15, "exit_rsi": 70},
        stop_loss="2atr",
    )  # fmt: skip
    print(f"\noversold=15, exit_rsi=70: sharpe {other.metrics['sharpe']:.3f}, "
          f"{other.metrics['num_trades']:.0f} trades")  # fmt: skip

    # 6. Look-ahead check: signals must not change when later bars are cut off.
    panel = to_panel(bars).select(["SYN03"])
    report = check_lookahead(TrendPullback(), panel, cuts=20)
    print(f"\nlook-ahead check: {'passed' if report.ok else 'FAILED'}")

    # 7. Save: the result as JSON (reload with BacktestResult.from_json), and an equity chart.
    saved = result.to_json(home / "runs" / "tutorial_custom_strategy" / "result.json")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    result.equity.plot(ax=ax, label="TrendPullback, SYN03", color="#3f51b5")
    ax.set_title("Equity (SYNTHETIC data)")
    ax.set_ylabel("equity")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "equity.png", dpi=90)
    print(f"\nwrote {saved.name} and {(out / 'equity.png').name}")


if __name__ == "__main__":
    main()
