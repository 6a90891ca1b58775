"""Profile findings written into RESULTS.md (kept by hand next to the measurements)."""

FINDINGS = """## Where the time goes (profiles)

Profiles: cProfile of `alphaforge.backtest` (200 runs of W1(a), 20 of W4) and of `run_batch`
(500 runs of W2(a)), timers around each phase of `run_batch` (preparation, signal building, the
compiled loop), the compiled loop alone on synthetic signals (0 to 80 round trips, 20 to 2,516
bars) to separate fixed, per-bar and per-trade costs, and copies of the kernel modules with one
change each, timed as the minimum of 15 runs (the machine is shared, medians move by up to 2x
between runs).

**W2 (sweeps)**: W2(a) / W2(b) run at 40x / 58x vectorbt's backtests per second on one core,
2.9x / 2.4x the time of the plain loop, and 1.76x / 1.93x faster with a second worker (this run).
Every target is met except W2(a)'s scaling, 1.76x against 1.8x; where its time goes is below.
What changed, each step timed on its own (minimum of 15-25 runs, or
medians of 300-400 runs in a separate process):

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

- Lines once per sweep, in the kernel's layout. The crossovers' moving averages are one
  contiguous (lines, symbols, bars) array from which one compiled call writes every set's
  masks; `Strategy.batch_prepare` computes the lines of the whole grid before the first chunk.
  A first version grew the array when a chunk needed a length it did not hold, and W2(b), in
  three chunks, copied it twice more (0.50 -> 0.54 s on one worker, 0.26 -> 0.35 s on two).
  The averages are now computed straight into that layout (each series contiguous, read and
  written in order; the per-length cache entries are views of it) and the usual gap-free SMA
  is written straight into its output: W2(b)'s preparation 72 -> 37 ms on one worker, 52 -> 20
  ms on two.
- Balanced threads. `prange` gives each thread one contiguous block of trials, and a grid
  sorted by its parameters puts the expensive sets (short fast averages trade most) in one
  block. Trials now run interleaved (each thread takes every T-th set of the whole grid): the
  compiled loop of W2(a) scales 1.88x on two threads instead of 1.79x (3.75 ms -> 1.99 ms
  instead of 2.08 ms, medians of 400 runs).
- Reducer: a scan that stops at the first differing return replaces the running min / max
  that only served to recognise a constant series (10% of the reducer).

Where W2(a)'s ~4.7-5.2 ms for 184 backtests of 2,516 bars go (one worker, medians of 300 runs
of each part): the compiled batch loop 3.7 ms, i.e. about 20 us per backtest: 1.6 us fixed
(the call, ~17 buffers, counting the signals to size the records; measured on 20-bar runs),
about 3 ns per bar for marking and the reducer on a flat curve (9.3 us at 2,516 bars without
signals), about 0.37 us per round trip (17 per backtest here), and 1.5-2 us of reducer work
that only a moving curve needs (the variance pass; the drawdown loop's branches mispredict on
new highs: 2.2 us of the reducer's ~5 us on a random walk). Signal building 0.6-0.85 ms
(parameter validation 0.14 ms, 26 moving averages 0.2 ms, crossing masks 0.09 ms, the rest
Python between them); set-up 0.1-0.25 ms (calendar ids, config vector, buffers). The plain
loop does the same 184 backtests in 1.65-1.7 ms, moving averages included: it keeps no records,
no equity series and no options, and computes its metrics inside the bar loop.

Scaling W2(a) to two workers: the compiled loop scales 1.88x, but the ~0.8-1.0 ms of set-up and
signal building is one thread's work (their compiled parts are too small to gain from a second
thread). Amdahl with 0.9 ms serial and 3.7 ms at 1.88x gives 4.6 / 2.9 = 1.6x; 1.8x would need
the serial part under about 0.3 ms. W2(b), where the same part is a few percent of 0.5 s,
scales 1.9x. On this virtual machine the two-worker time of W2(a) is bimodal: blocks of a few
seconds of runs settle either near 2.6-2.7 ms or near 3.1-3.3 ms, steady within a block, in the
same process and with the same code (a quick run measured 1.44x that way); the one-worker time
and the plain loop do not move like that.

Tried and dropped (each measured against the current code; no gain, or a loss):

- Chunks pipelined on a thread pool (each thread builds a chunk's signals under a lock, then
  runs a GIL-free serial kernel, so building overlaps simulating): W2(a) on two workers took
  4.4-4.6 ms instead of 3.0. Eight small chunks cost ~2.9 ms of building between them (each
  chunk pays the per-call overhead of validation and the compiled calls), a new pool costs
  0.36 ms per call, and a kept pool did not close the gap.
- Inlining the per-bar helpers into the kernel at Numba's IR level (`inline="always"` on the
  signal scan, marking, signal-order and flex helpers): kernel time unchanged (3.70 vs
  3.7-3.9 ms), first compile 7 s longer (45 -> 52 s). The round trip's cost is not the calls.
- A vectorised marking loop for stretches without a missing close: unchanged (3.8-3.9 ms).
- Reducer variants: one interleaved loop for sums, min and max; fast-math reassociation of the
  sums; a branch-free drawdown: each 10-25% slower than the split loops.
- The small compiled parts of signal building (26 moving averages, the crossings of 184 sets)
  on the calling thread alone, to save waking the second: W2(a) on two workers 2.93 ms against
  2.72 ms (medians, alternating runs); the second thread does help them.
- Chunk sizes for Numba's dynamic scheduling (`set_parallel_chunksize` 1 and 4): slower than
  the static split (2.26 and 2.10 ms against 2.00 ms on two threads).

What is left to try: a per-thread workspace for the buffers each backtest allocates (about 1 us
of the 1.6 us fixed cost), an entry path for the one-symbol all-in case that skips the general
sizing and record helpers (the round trip is ~1,100 cycles), and a lighter parameter validation
for sweeps whose sets are all plain numbers.

**The restructured core (named rules, phases over typed state)**: the kernel's arguments became
named tuples of arrays, and an ordinary compiled call passes every member of every array in them
(pointer, shape, strides: a few hundred machine words). A per-event helper called that way cost
about 0.5 us a call, which made W3 2x and W2(a) 2.1x slower than the positional kernel. Inlining
the per-bar phases, the entry fill and the position checks at Numba's IR level
(`_jit.inline_njit`) brought W3 below its old time and W2(a) to about 1.1x. Inlining more (the
signal scan, a register-held one-symbol marking loop inside `mark_nb`) made W2 slower again
(5.8-6.0 ms against 4.6-4.9 ms in alternating runs) and was dropped. Interleaved runs of the old
and new trees on this machine (final code): W1(a) +3-10%, W2(a) +2-9%, W2(b) +4-5%, W3 -6%,
W4 within noise;
the rest of W2's gap is the general phases on fill bars that the removed one-symbol loop skipped.
Passing a fill the position and account arrays instead of the whole `Book` took W2(a) from
+8-10% to +2-9%. Not yet tried: the same for the record writers, and a per-thread workspace.

**W4** (met, about 8x vectorbt): besides `simulate_nb` for 100 symbols x 2,516 bars, the
time is Python around it (the strategy's
momentum ranking on the decision bars, the benchmark curve, summary metrics, result assembly).
An earlier version of the benchmark strategy ranked every bar instead of the month-end bars only
and took 2.5x longer: in a target-weight strategy the ranking, not the engine, is the cost.
vectorbt receives precomputed weights, so the ranking is only on alphaforge's side.

**Memory**: W2(b) peaks at ~0.6 GB against vectorbt's ~6.7 GB (vectorbt materialises every
(combination x symbol) column of the MAs, signals and portfolio arrays; `run_batch` holds one
chunk of boolean signals, at most 32 MB, the moving averages of the grid, the validated
parameter sets, and nine numbers per backtest). A first measurement
grew by 1.4x from 4x to 16x the trials because the previous chunk was still referenced while
the next one was built (two chunks alive); `run_batch` now releases it first.

**Start-up**: in a fresh process `import alphaforge.sim.vectorized` takes 3-4 s on the loaded
machine (pandas ~1.8 s, numba ~1.5 s), and loading the ~40 cached Numba functions of the kernel
~1.3 s more; the second `alphaforge backtest` process measured here is the wall clock of all of
that.

**Numba cache hazard (found while benchmarking)**: Numba invalidates a cached function only when
its own source file changes, but `simulate_nb` embeds the helpers of the other `kernels_*.py`
files, and the batch loops embed `simulate_nb`: after an edit of a helper file an old
compiled kernel kept running (the batch loop ran 8x slower and would have run old rules).
`alphaforge._jit.configure_cache` now keys the cache directory on a fingerprint of every kernel
source, which covers the batch kernels too.
"""

W5_FINDINGS = """#### W5: what the numbers say, and where the replay's time goes

**Speed**: the replay is slower than backtrader, not faster: W5(a) runs at about 0.05x
backtrader's bars per second (356 against 6,865 bars/s, medians; about 2.8 ms per daily bar
against 0.15 ms), W5(b) at about 0.33x (2,401 against 7,186 bars/s; 8.3 ms per minute of 20
symbols, 0.42 ms per symbol-bar). The floor of 3x is missed by 60x on W5(a) and 9x on W5(b).
The run was made on 2 cores shared with a test suite (load average 2-3.7): min-to-max spread
14% on W5(a), 30% on W5(b). These times are of the working tree, while the runtime
(`engine/node.py`, `sim/venue.py`) was being changed: the cycle now also writes a restart
snapshot into the ledger (below).

**Size of W5(b)**: 20 symbols x 21 sessions (one month, 163,800 bars), not a year: at ~2,400
bars/s one replay of a year (1.95 M bars) takes about 14 minutes, and the first call plus three
timed runs of each engine would take an hour. The bars are SYNTHETIC (the project's sample
model): the shared real minute data holds 5 sparse symbols over a few days.

**Trades**: W5(a) equal to backtrader (35 entries, final equity equal to the cent). W5(b):
2,311 against 2,321 entries and final equity 929,918 against 929,582. The replay's strategy sees
the last 200 bars (`runtime.window`, needed at this length, see below) and its SMAs are rolling
sums that start at the window's first bar; where the fast and the slow average tie exactly
(prices in cents) they round differently from the whole history's, which backtrader's masks
and the backtest use, and a crossing moves by a bar. On the 2-session quick run this was checked
trade by trade (2 exits one bar later, 3 positions still open at the end; the backtest of the
same spec equals backtrader there); on the 21-session run the cause is presumed the same, not
checked trade by trade. `window: null` gives the backtest's signals but its cost grows with
the run (the hook runs on every bar so far at every cycle).

**Memory**: not flat. One replay's own peak grows with its length: +7 MB / +10 MB for 5 / 10
years of daily bars, +36 MB / +81 MB for 5 / 21 sessions of 20 symbols (about 7 KB more per
cycle of 20 symbols between the two). Likely holders, not measured one by one: the order
manager's dict of every order of the run and the trade / order records. Small at these
lengths, but a year of minute bars of 20 symbols would add about 0.7 GB at this rate.

**Profile** (cProfile of one W5(a) replay after a warm-up, `python -m benchmarks.replay`;
8.3 s without the profiler, 17.7 s under it, shares of the profiled time; cumulative times,
so nested parts overlap):

| part | share |
|---|---|
| ledger writes, one transaction per cycle (`TradingNode._write`) | 45% |
| of which SQLAlchemy Core in Python (statement building, coercion, 3 `Column` constructions per cycle) | ~33% |
| of which SQLite itself (`execute` 0.28 s, `commit` 0.32 s) | ~4% |
| of which the restart snapshot (`TradingNode.snapshot`: `dataclasses.asdict`, JSON) | ~12% |
| kill-switch read: `Ledger.halted()`, a new connection and a SELECT every cycle | 16% |
| strategy signals on the window (`SignalSource.row`) | 13.5% |
| of which the strategy's own `signals` hook (the SMAs and crossings) | 3% |
| of which 42 `np.broadcast_to` + copies per bar to cut the last row (`_row`) | ~7% |
| open phase (`Stepper.plan_open`, scratch copy of the book, compiled open phase) | 9% |
| close phase (`Stepper.close_bar`, compiled close phase) | 6% |
| simulated venue (`on_bar`), fills, protection, decision log | < 3% together |

The compiled phases the runtime shares with the backtest cost ~15%; the rest is Python
around them, and more than half of it is the ledger.

**Suggestions, ranked by expected gain** (estimates from the shares above; none is built):

1. Ledger writes through prepared statements: build each INSERT once (compiled
   `insert(table)` or the raw DB-API connection) and write a cycle's rows with one
   `executemany` per table; SQLite's own work is 4% of the time, SQLAlchemy's Python around it
   ~33%. Expected 1.4-1.5x on W5(a).
2. The kill switch without a query per cycle: SQLite's `PRAGMA data_version` (or a halt
   counter read in the cycle's own transaction) tells whether anything changed; 16%, 1.2x.
3. The restart snapshot only when the cycle changed state (no order, fill or protection
   change on most bars), serialized without `dataclasses.asdict`: ~12%, 1.1x.
4. `SignalSource.row`: read the last row directly when an array has the full shape instead of
   `broadcast_to` + copy for 42 arrays; build intents for the last row only: ~7-10%.
5. In replay mode (the clock is the stored bars, nobody can halt between two bars faster than
   a replay runs them), write N cycles per transaction and evaluate a causal strategy's hook
   once on the whole panel, keeping the per-bar path to the compiled phases. Items 1-4 together
   leave about 40% of today's time (~2.5x, ~900 bars/s on W5(a)), still ~8x below backtrader;
   the 3x floor (~20,000 bars/s, 50 us per bar) needs this one: a cycle that stays out of
   Python for quiet bars, as the backtest's fast paths do.
"""
