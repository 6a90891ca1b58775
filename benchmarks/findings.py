"""Profile findings written into RESULTS.md (kept by hand next to the measurements)."""

FINDINGS = """## Where the time goes (profiles)

**Inputs (from the frame a user holds to the result).** The timed calls start from pandas
objects for every engine since the input path was rewritten; before, a Panel was built outside
the timer and only the engine was compared. cProfile of `alphaforge.backtest(df)` before the
rewrite: W1(a) 43 ms per call from MSFT's OHLCV frame, 41 of them in `to_panel` (the frame was
reset to long bars, then pivoted back one pandas `pivot` per field; the index went through
Python `Timestamp` objects; `detect_timeframe` ran `np.unique` over every timestamp and every
difference). Now: a frame in time order keeps its float64 columns as the panel's arrays (views,
no copy); long bars are scattered into preallocated (bars x symbols) arrays from
`pd.factorize` codes of symbols and int64 timestamps (no pivot, no per-row objects; duplicates
found with one boolean occupancy array); a wide (field, symbol) frame is one gather and one
transpose per field from pandas' block of floats (about 0.5 ms per field at 2,516 x 100, the
cost of the transpose into the engine's time-major layout); the timeframe is the mode of the
non-zero differences, taken without counting when the smallest difference is a majority, else
by hashing (`value_counts`), after sorting only when the timestamps are not already in order.
W1(a) from the frame: about 2 ms per call (engine alone about 1 ms); W1(b): `to_panel` about
10 ms of a run of about 0.15 s (the metrics of the one-million-bar curve took most of 0.5 s
until they became compiled passes, see W3(b)).

**Import.** `alphaforge data import` already streams (Parquet `iter_batches`, Arrow's streaming
CSV reader) and the store writes symbol by symbol, so the peak is set by the chunk size: with
chunks of 1,000,000 rows the 400-symbol daily file peaked at 834 MB (Parquet, 9.6 s) and 734 MB
(CSV, 17.7 s) in the full run; with 250,000 rows (now the default) at about 500 MB in the same
or less time. The remaining growth of about 300 MB is not profiled yet; the normalisation of a
chunk (canonical columns, timestamp parsing, value checks, sorting, duplicate resolution) makes
several copies of it, and Arrow keeps a memory pool.

Profiles: cProfile of `alphaforge.backtest` (200 runs of W1(a), 20 of W4) and of `run_batch`
(500 runs of W2(a)), timers around each phase of `run_batch` (preparation, signal building, the
compiled loop), the compiled loop alone on synthetic signals (0 to 80 round trips, 20 to 2,516
bars) to separate fixed, per-bar and per-trade costs, and copies of the kernel modules with one
change each, timed as the minimum of 15 runs (the machine is shared, medians move by up to 2x
between runs).

**W2 (sweeps)**: through `alphaforge.sweep` from the frame, W2(a) / W2(b) run at 20.9x / 56.5x
vectorbt's backtests per second on one core in this run, 5.1x / 2.3x the time of the plain loop,
and 1.5x / 1.9x faster with a second worker. W2(a)'s 8.2 ms are the batched kernel (~5.5 ms)
and the trial table around it: the plateau of each trial now comes from integer ranks one
parameter at a time (0.8 -> 0.1 ms) and the constraint and pick checks from NumPy columns
(9.2 -> 8.0 ms per sweep, same table). The paragraphs below were measured when this benchmark
timed the engine alone (the engine-only column); where the kernel's time goes is unchanged.
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

**W3(b)** (1,000,000 minute bars with a stop and a target; quick runs of W1 and W3 alone,
load average 2.2-3.2 on the 2 cores, medians): the public path took 0.41-0.63 s against
vectorbt's 0.22-0.30 s (0.4-0.5x). CPU time per call (cProfile, thread clock) went to the
summary metrics (~150 ms: some sixty NumPy passes over temporaries of the curve's length),
the simulation (~60 ms: with protective levels in the run the quiet-stretch shortcut was off
for every bar, though a position held them on 15% of the bars), the day ids of the run clock
(~25 ms: pandas converting every timestamp to New York time), the benchmark curve (~15 ms:
forward fill and copies of a column with no gap), and `build_levels` (~10 ms: one (8, bars, 1)
float array, 64 MB, of which the strategy fills two rows). Changed: the summary metrics are
three compiled passes (`analytics.kernels`, ~20-30 ms; same numbers to a few ulps, checked
against the NumPy form, which stays for equity that is not positive and finite); bars while
no open position holds a level run the shortcut (property test: equal to the bar-by-bar loop
to the last bit, now with config and strategy levels); the zone offset is looked up once per
UTC hour (~10 ms; bars of an hour with a transition are converted one by one); the benchmark
curve of one gap-free column is one division (<1 ms). The benchmark timed vectorbt's W3 without
any ratio while W1/W2 include Sharpe and drawdown; W3 now includes them too. After: alphaforge
0.13-0.14 s, vectorbt 0.28-0.32 s: 2.0-2.3x (min 2.1-2.7x), the 3x goal still missed. What the
0.12 s is now (thread clock, medians of 15): simulation 42 ms, metrics 32 ms (including the
trade statistics and the traded-notional array), signals 17 ms (two SMAs, crossings, the level
arrays), kernel inputs 13 ms (mostly the 64 MB level array), run clock 13 ms, `to_panel` 9 ms.
Then (this run: 71 ms against vectorbt's 275 ms, 3.9x; three W3-only runs gave 4.0x, 3.7x and
3.9x, where the code before gave 2.6-3.1x on the same machine): the protective levels are one
array per setting (`sim.records.Levels`, read through `kernels_entry.levels_at_nb` by the engine,
the batch kernels and the runtime), so a strategy's stop and target prices are used without a
copy and the 64 MB array is gone; day ids are computed in the index's own unit (the benchmark's
microsecond index was converted to nanoseconds twice, ~5 ms) and filled day by day for intraday
bars; turnover comes from the fills instead of a million-bar array; and the per-bar series are
NumPy arrays the kernel fills (`simulate_into_nb`): allocated inside the kernel, a million-bar
run took ~8,000 page faults (~13 ms of system time), from NumPy it gets transparent huge pages.
Not done: a shortcut for held bars whose range cannot touch the position's levels (5-10 ms at
most, at risk to the core), and a compiled `crossed_above` (~3 ms).

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

**Speed**: W5(a) (one symbol, 2,516 daily bars) runs at 1.71x backtrader's bars per second,
W5(b) (20 symbols x one year of minute bars, the replay's default of evaluating the strategy
once after the look-ahead check) at 3.48x, and W5(c) (the minute bars with the strategy called
at every bar on its last 200 bars, as paper and live do) at 2.08x: W5(b) meets the 3x floor,
W5(a) and W5(c) miss it. W5(b) and W5(c) are one timed run each, and a ratio here moves by 10
to 15% from run to run on this shared machine (W5(a) moved from 1.69x to 1.78x between two
rounds of the same code below). This run's machine was faster than the previous run's
(backtrader took 120 s on W5(b) against 178 s); the previous run, on commit 03e159d, gave
1.89x, 2.92x and 2.15x.

**What changed since the previous run** (commits 3d2a2ce and fb0d5ab): the quiet-bar kernel
refills one rollback copy of the book instead of allocating six arrays per bar; the simulated
venue keeps a finished order and builds its view when asked, and reads a bar's prices once; the
open phase refills one scratch book and one set of scratch records per stepper; a bracket's
legs are picked out by the venue without a view of every working order; the ATR the venue's
slippage may scale with is not rebuilt when the slippage has none; SQLite checkpoints its WAL
every 10,000 pages instead of 1,000. The same trades and final equity. Measured before (1dc2f99)
and after (b42f9c3) in separate processes, alternating, on this machine (alphaforge alone, the
median of N runs per process; the minute workloads on 40 sessions):

| workload | before | after |
|---|---|---|
| W5(a), median of 11, beside backtrader in the same process | 123 ms (1.68x); 114 ms (1.74x) | 111 ms (1.78x); 114 ms (1.72x) |
| W5(b), 20 symbols x 40 sessions, median of 3 | 5.69 s; 5.35 s | 5.39 s; 5.23 s |
| W5(c), 20 symbols x 40 sessions, median of 3 | 7.88 s; 8.03 s | 7.16 s; 7.51 s |

About 4% on W5(b), 8% on W5(c) and within the noise on W5(a).

**Why W5(a) stays below 3x** (measured by parts, median of 10, on this machine): backtrader
needs about 0.17 to 0.19 s for the whole job, so the floor is about 60 ms; alphaforge takes
about 100 to 110 ms. The fixed work of any run, whatever its length, is about 35 ms (opening
a new SQLite ledger 5 ms, reading and checking the Parquet file 9 ms, the look-ahead check
4 ms, building the node and registering the run about 10 ms, closing the file with its WAL
checkpoint 5 ms); the ledger's one commit about 26 ms (2,516 equity snapshots and 2,516
cycle rows, in SQLite and in building the rows); the 134 bars on which something happens
about 27 ms (each order passes the risk gate, the order manager, the venue and the decision
log, and writes an order row, three or four state changes, a fill and a decision, which
backtrader does not write); the 2,382 quiet bars about 13 ms (about 200 compiled calls, each
stretch ended by a bar with an order). Reaching 60 ms would take leaving out the per-bar
equity snapshot and cycle rows and most of the per-order records, which are what recovery and
`drift` read; they stay.

**Where the time goes in the minute replays** (per-part timers on 20 sessions of W5(b)): a
bar that is not quiet costs about 400 us for the 20 symbols: the open about 100 us (the
engine's open phase on a scratch book about 45 us, then about 45 us per order sent through the
risk gate, the order manager, the venue and the decision log), the ledger about 40 us to build
the cycle's rows and 70 us of commit, the fills about 50 us, the venue's matching about 50 us,
the close about 30 us; no part is above a fifth. In W5(c) every bar runs the whole cycle (quiet
stretches need the strategy's rows in advance), and the strategy's call on its last 200 bars
adds about 80 us a bar (the hook about 30 us, slicing the window and turning the hook's output
into the kernel's row the rest).

**Memory**: the growth in the table is the replay's inputs, which are proportional to the
bars: the strategy's precomputed rows (masks, weights, ATR, volatility and eight protective
levels per symbol and bar) and the compiled quiet-bar path's copy of them, about 200 bytes per
symbol-bar. The replay loop itself is flat once its bounded memories fill: the simulated venue
keeps its working orders and the last 1,000 finished orders and fills, the stepper drops the
records nothing reads again (Kelly keeps its lookback), and the risk gate, the node and the
ledger remember the last 10,000 client or fill ids. Measured from after the set-up on a replay
that trades heavily (20 symbols of minute bars): the second half of 187,200 symbol-bars adds
0.02 MB; `tests/integration/test_replay_memory.py` holds the second half of a long replay under
1 MB.

**Trades**: W5(a) and W5(b) equal backtrader (entries and final equity to the cent). W5(c)
differs by 78 entries of 26,889: the strategy sees a window of 200 bars, so its moving averages
start at the window's first bar and round differently where the two averages tie exactly; with
the whole history the runtime equals the backtest, which the parity tests check.
"""
