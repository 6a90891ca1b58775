"""Profile findings written into RESULTS.md (kept by hand next to the measurements)."""

FINDINGS = """## Where the time goes (profiles)

Profiles: cProfile of `alphaforge.backtest` (200 runs of W1(a), 20 of W4), timings of the two
halves of `run_batch` (signal building vs the compiled loop), and copies of the kernel modules
with one change each, timed as the minimum of 15 runs (the machine is shared, medians move by
2x between runs).

**W2 (sweeps) misses vectorbt x20 and "within 3x of the plain loop".**

- The compiled loop used to cost 80-135 ns per bar against 4-14 ns for `benchmarks/plain.py`.
  `perf` put half of the samples of a run with no signals at all on two adjacent instructions:
  atomic reference counting of the trade/order/event buffers, which were reassigned inside the
  bar and symbol loops whenever they might grow (Numba increments and decrements a loop-carried,
  conditionally reassigned array on every iteration, about 3.4 ns each even when the branch
  never runs; measured on a 3-line loop). The buffers are now sized from the number of signals
  before the loop and never reassigned in it (a run that overflows, e.g. through many partial
  fills, is repeated with twice the room). The loop now costs about 15 ns per bar in the batch
  (18 ns per bar without signals in a single run), 3x less than before.
- What remains is signal building in Python: `make_strategy` (pydantic validation) plus
  `SmaCross.signals` is about 30 us per parameter set, close to half of W2(a) now that the loop is
  fast. The SMAs themselves are computed once per window (the shared `StrategyData` cache). The
  next step is a Numba path that derives the crossings from the cached SMAs inside the batch loop.
- Scaling to 2 workers (1.73x on W2(b), 1.38x on W2(a)): the batch loop is a `prange` over
  independent (trial, symbol) pairs with no shared writes, but the signals of each chunk are built
  in Python on one thread before the compiled loop starts, which is the larger share of W2(a).

**W4** (met, about 8x vectorbt): besides `simulate_nb` for 100 symbols x 2,516 bars, the
time is Python around it (the strategy's
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
