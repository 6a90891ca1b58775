"""Profile findings written into RESULTS.md (kept by hand next to the measurements)."""

FINDINGS = """## Where the time goes (profiles)

Profiles: cProfile of `alphaforge.backtest` (200 runs of W1(a), 20 of W4), timings of the two
halves of `run_batch` (signal building vs the compiled loop), and copies of the kernel modules
with one change each, timed as the minimum of 15 runs (the machine is shared, medians move by
2x between runs).

**W2 (sweeps)**: from 11x / 18x vectorbt to 44x / 56x (W2(a) / W2(b)). W2(b) meets every
target (2.3x the plain loop, 1.9x from a second worker). W2(a), 184 backtests of one symbol in
about 5 ms, misses two by a little: 3.03x the plain loop (2.9x on the minimum times) and 1.3x
from a second worker (1.55x on the minimum times; the median of the 2-worker runs moves by 2x
between runs of this 4-5 ms job on the shared machine). What changed, each step timed on its
own (minimum of 15-25 runs):

- Reference counting. Every compiled call with array arguments increments and decrements each
  array's reference count (an atomic operation, about 5 ns): 113 ns for a 20-array call that
  does nothing, 32 ns without. The kernel's helpers never allocate, so they are now compiled
  without it (`alphaforge._jit.helper_njit`, Numba's `_nrt=False`; a helper that allocates
  fails to compile, so the rule enforces itself) and get scratch buffers instead of allocating.
- Quiet stretches. Bars with nothing pending, no protective level and no risk rule only mark
  the position to market; they now run in a marking-only loop (1.5-1.8 ns per bar) after a scan
  for the next signal that reads eight flags per 64-bit word (0.06 ns per bar, was 0.9). One
  symbol under the simple rules stays in one loop across its signal bars and market fills
  (calling the same fill helpers), so a round trip costs about 0.3 us instead of 0.45 and a
  signal that leaves no order about 15 ns instead of 85. A property test runs random signals
  and configs both ways (a time exit that can never trigger switches the shortcuts off) and
  requires equal equity, cash, positions, trades and orders to the last bit.
- Signals. `Strategy.batch_signals` lets a strategy write the masks of a whole chunk of
  parameter sets at once; the SMA/EMA crossovers do it in one parallel Numba call from moving
  averages computed together (`indicators.averages.moving_averages`): about 1.5 us per
  parameter set instead of 17-30. Parameter sets are validated in one pydantic call.
- Reducer. One division pass (vectorized) and split sums: 5.3 us per 2,516-bar backtest, was
  9.5. Batch runs keep only the equity series.
- Memory order. Per-symbol trials run symbol by symbol, so each symbol's prices stay in cache:
  W2(b) 20% faster. Signal buffers are allocated once per sweep and reused by every chunk (fresh
  pages fault on first touch, and two threads faulting contend: chunk building was slower on 2
  threads than on 1).

Where W2(a)'s ~5 ms for 184 backtests of 2,516 bars go now (one worker): the compiled batch
loop ~4.1 ms, i.e. ~22 us per backtest (marking ~4 us, ~17 round trips ~5 us, allocating the
run's buffers ~2 us, the reducer 5.3 us); the crossover signals ~0.3 ms; Python around them
~0.6 ms (parameter validation 0.15 ms, calendars and the config vector, buffers). The plain loop
does the same 184 backtests in ~1.7-1.9 ms: it keeps no records, no equity series and no
options. Scaling W2(a) to 2 workers is held back by the same ~0.6 ms of Python, which does not
parallelise (Amdahl: 5.0 ms with 0.6 ms serial gives at most ~1.8x on two cores), and by OpenMP
start-up of three parallel regions per sweep on a busy machine; W2(b), where that is 1% of the
time, scales 1.9x. What is left to try: a per-thread workspace for the ~20 buffers each backtest
allocates, and parameter validation / calendar ids cached across sweeps of the same data.

**W4** (met, about 8x vectorbt): besides `simulate_nb` for 100 symbols x 2,516 bars, the
time is Python around it (the strategy's
momentum ranking on the decision bars, the benchmark curve, summary metrics, result assembly).
An earlier version of the benchmark strategy ranked every bar instead of the month-end bars only
and took 2.5x longer: in a target-weight strategy the ranking, not the engine, is the cost.
vectorbt receives precomputed weights, so the ranking is only on alphaforge's side.

**Memory**: W2(b) peaks at ~0.66 GB against vectorbt's ~6.7 GB (vectorbt materialises every
(combination x symbol) column of the MAs, signals and portfolio arrays; `run_batch` holds one
chunk of boolean signals, at most 32 MB, the moving averages of the grid, and nine numbers per
backtest). A first measurement
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
