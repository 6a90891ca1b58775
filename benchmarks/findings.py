"""Profile findings written into RESULTS.md (kept by hand next to the measurements)."""

FINDINGS = """## Where the time goes (profiles)

Profiles: cProfile of `alphaforge.backtest` (200 runs of W1(a), 20 of W4), timings of the two
halves of `run_batch` (signal building vs the compiled loop), and copies of the kernel modules
with one change each, timed as the minimum of 15 runs (the machine is shared, medians move by
2x between runs).

**W2 (sweeps) misses vectorbt x20 and "within 3x of the plain loop".**

- The compiled loop costs about 0.2-0.35 ms per 2,516-bar single-symbol backtest, i.e. 80-135 ns
  per bar, against 4-14 ns per bar for `benchmarks/plain.py`. `simulate_nb` is a general engine:
  per bar it runs `enter_nb` twice (market pass, then limit/stop pass), each allocating two
  `n_symbols` scratch arrays before it knows whether any entry is pending; it loops over the
  symbols about six times (open exits, entries, intrabar exits, marks, signal orders, day-order
  expiry), reads every signal through `flex_nb` broadcasting, evaluates the risk rules and grows
  the event buffer check each bar, and writes four per-bar series (equity, cash, gross, net).
  Each trial also allocates its trade/order/event buffers with `np.full`. Returning early from
  `enter_nb` when nothing is pending did not move the single-symbol time beyond the noise, so
  the cost is spread over the bar loop rather than in one hot spot; closing the gap to 3x needs
  a specialised bar loop for the common case (market orders only, no stops, no risk rules), which
  this benchmark deliberately does not add next to the engine (the batch path must run the same
  `simulate_nb` as a single backtest).
- Signal building is Python: `make_strategy` (pydantic validation) plus `SmaCross.signals`
  (`crossed_above`: two shifted copies and three comparisons of the whole panel) is about
  0.3 ms per parameter set on one symbol, about as much as the simulations of W2(a) themselves.
  The SMAs themselves are computed once per window (the shared `StrategyData` cache).
  A Numba path that derives the crossings from the cached SMAs inside the batch loop would remove
  it for crossover strategies; without a faster bar loop it would lift W2(a) to roughly 2x the
  current rate, still short of 20x vectorbt.
- Scaling to 2 workers (1.6x measured): the batch loop is a `prange` over independent
  (trial, symbol) pairs with no shared writes, but the signals of each chunk are built in Python
  on one thread before the compiled loop starts (about 10% of W2(b), 45% of W2(a)), and the
  machine had a load average of 2-6 on its 2 cores during the runs, so the second worker rarely
  had a free core.

**W4** (met in the full run, about 6x vectorbt): of ~10 ms, `simulate_nb` is ~4.6 ms for 100
symbols x 2,516 bars (18 ns per symbol-bar); the rest is Python around it (the strategy's
momentum ranking on the decision bars, the benchmark curve, summary metrics, result assembly).
An earlier version of the benchmark strategy ranked every bar instead of the month-end bars only
and took 2.5x longer: in a target-weight strategy the ranking, not the engine, is the cost.
vectorbt receives precomputed weights, so the ranking is only on alphaforge's side.

**Memory**: W2(b) peaks at ~0.66 GB against vectorbt's ~6.7 GB (vectorbt materialises every
(combination x symbol) column of the MAs, signals and portfolio arrays; `run_batch` holds one
chunk of boolean signals, at most 64 MB, and nine numbers per backtest). A first measurement
grew by 1.4x from 4x to 16x the trials because the previous chunk was still referenced while
the next one was built (two chunks alive); `run_batch` now releases it first.

**Start-up**: in a fresh process `import alphaforge.sim.vectorized` takes 3-4 s on the loaded
machine (pandas ~1.8 s, numba ~1.5 s), and loading the ~40 cached Numba functions of the kernel
~1.3 s more; the second `alphaforge backtest` process measured here is the wall clock of all of
that.

**Numba cache hazard (found while benchmarking)**: Numba invalidates a cached function only when
its own source file changes, but `simulate_nb` embeds the helpers of `kernels_entry.py` and
`kernels_exec.py`, and the batch loops embed `simulate_nb`: after an edit of a helper file an old
compiled kernel kept running (the batch loop ran 8x slower and would have run old rules).
`alphaforge._jit.configure_cache` now keys the cache directory on a fingerprint of every kernel
source, which covers the batch kernels too.
"""
