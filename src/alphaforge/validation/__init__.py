"""Is the edge real? Significance, overfitting, Monte Carlo, regimes and the go/no-go gate.

Pure statistics on arrays of returns and trades: no store, no engine. The services layer
feeds it a backtest result, a sweep's trials or a walk-forward run.
"""
