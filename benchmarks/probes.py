"""Measurements that need a fresh process: peak RSS of one job, CLI start-up with a warm cache.

``python -m benchmarks.probes NAME N`` runs one memory job and prints JSON with ``ru_maxrss``
after loading the data and at the end (MB).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    """Peak resident set of this process in MB.

    ``VmHWM`` belongs to the address space created by ``exec``; ``ru_maxrss`` would carry the
    high-water mark of the (large) parent that forked the probe.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _reset_peak() -> None:
    """Start the peak (``VmHWM``) again from the current RSS (Linux ``clear_refs`` 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _minute_panel(n_sym: int, n_bars: int) -> Any:
    from alphaforge.core.panel import Panel
    from benchmarks.workloads import minute_bars

    frames = [minute_bars(n_bars, seed=100 + j) for j in range(n_sym)]

    def field(name: str) -> np.ndarray:
        return np.column_stack([fr[name].to_numpy() for fr in frames])

    return Panel(
        index=pd.DatetimeIndex(frames[0].index, name="timestamp"),
        symbols=tuple(f"S{j:03d}" for j in range(n_sym)),
        open=field("open"), high=field("high"), low=field("low"), close=field("close"),
        volume=field("volume"), timeframe="1m",
    )  # fmt: skip


def job(name: str, n: int) -> dict[str, Any]:
    """Run memory job ``name`` (size ``n``: symbols or trial multiplier) and report RSS."""
    from benchmarks import peers
    from benchmarks import workloads as W

    if name.startswith("w5"):
        return _w5_job(name, n)
    if name.startswith("import_"):
        return _import_job(name, n)
    grid = [{"fast": f, "slow": s} for f, s in W.GRID]
    panel = W.load_daily(n).panel if name.startswith("w2b") else _minute_panel(n, 252 * 390)
    loaded = _rss_mb()
    if name == "w2b_alphaforge":
        from alphaforge.sim.batch import run_batch

        run_batch("sma_cross", grid, panel, W.config(), per_symbol=True, n_workers=1)
    elif name == "w2b_trials_alphaforge":  # the grid repeated: memory must not grow with trials
        from alphaforge.sim.batch import run_batch

        panel = W.load_daily(20).panel
        loaded = _rss_mb()
        run_batch("sma_cross", grid * n, panel, W.config(), per_symbol=True, n_workers=1)
    elif name == "w2b_vectorbt":
        peers.vbt_summary(peers.vbt_sma(panel.frame("close"), panel.frame("open"),
                                        [f for f, _ in W.GRID], [s for _, s in W.GRID], "1D"))  # fmt: skip
    elif name == "minute_alphaforge":
        from alphaforge.services.backtest import backtest

        backtest("sma_cross", panel, params={"fast": 10, "slow": 50}, config=W.config())
    elif name == "minute_vectorbt":
        peers.vbt_summary(peers.vbt_sma(panel.frame("close"), panel.frame("open"), [10], [50],
                                        "1min"))  # fmt: skip
    else:
        raise SystemExit(f"unknown memory job {name!r}")
    return {"job": name, "n": n, "rss_after_data_mb": loaded, "peak_rss_mb": _rss_mb()}


def _w5_job(name: str, n: int) -> dict[str, Any]:
    """One W5 replay: ``w5a_alphaforge`` over the last ``n`` years of daily bars,
    ``w5b_alphaforge`` over ``n`` sessions of 20 symbols' minute bars (after a short replay
    that loads the compiled kernels, so the peak is the replay's and not the first import's)."""
    from benchmarks import replay

    if name == "w5a_alphaforge":
        long, tf, minute = replay.daily_long("MSFT", n), "1d", False
        warm = replay.daily_long("MSFT", 1)
    elif name == "w5b_alphaforge":
        long, tf, minute = replay.minute_long(20, n), "1m", True
        warm = long[long["timestamp"] < long["timestamp"].iloc[0] + pd.Timedelta(hours=2)]
    else:
        raise SystemExit(f"unknown memory job {name!r}")
    w = replay.Replay(warm, tf, minute)
    w()
    w.close()
    job = replay.Replay(long, tf, minute)
    _reset_peak()
    loaded = _rss_mb()
    t0 = time.perf_counter()
    out, _setup = job()
    secs = time.perf_counter() - t0
    job.close()
    return {"job": name, "n": n, "rss_after_data_mb": loaded, "peak_rss_mb": _rss_mb(),
            "bars": int(out.bars) * int(long["symbol"].nunique()), "seconds": secs}  # fmt: skip


def import_source(kind: str) -> Path:
    """The file an import job reads: the shared daily Parquet (36 MB), or the same bars as CSV
    (about 107 MB, written once to the temporary directory)."""
    from benchmarks.workloads import DAILY_FILE

    if kind == "parquet":
        return DAILY_FILE
    path = Path(tempfile.gettempdir()) / "alphaforge-bench" / "us_equities_daily.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pd.read_parquet(DAILY_FILE).to_csv(tmp, index=False)
        os.replace(tmp, path)
    return path


def _import_job(name: str, n: int) -> dict[str, Any]:
    """``alphaforge data import`` of one file into an empty Parquet store (``n`` is unused):
    time and peak RSS of the import alone (after the imports of the modules)."""
    from alphaforge.data.store import ParquetStore
    from alphaforge.services.store import import_file

    src = import_source(name.removeprefix("import_"))
    with tempfile.TemporaryDirectory(prefix="af-bench-store-") as home:
        store = ParquetStore(Path(home))
        _reset_peak()
        loaded = _rss_mb()
        t0 = time.perf_counter()
        res = import_file(store, src)
        secs = time.perf_counter() - t0
        peak = _rss_mb()
    return {"job": name, "n": n, "rss_after_data_mb": loaded, "peak_rss_mb": peak,
            "seconds": secs, "rows": res.rows, "file_mb": src.stat().st_size / 2**20}  # fmt: skip


def run_job(name: str, n: int) -> dict[str, Any]:
    """Run :func:`job` in a fresh interpreter (so its peak RSS is its own)."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.probes", name, str(n)], cwd=ROOT,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def cli_start(symbol: str = "MSFT") -> dict[str, float]:
    """Wall clock of ``alphaforge backtest`` on one symbol's daily bars, twice (2nd = warm cache)."""
    from benchmarks.workloads import DAILY_FILE

    tmp = Path(tempfile.mkdtemp(prefix="af-bench-"))
    data = tmp / "bars.parquet"
    df = pd.read_parquet(DAILY_FILE, filters=[("symbol", "==", symbol)])
    df[df["timestamp"] >= pd.Timestamp("2010-01-01")].to_parquet(data)
    exe = str(Path(sys.executable).with_name("alphaforge"))
    cmd = [exe, "--home", str(tmp / "home"), "backtest", "sma_cross", "--data", str(data),
           "--symbols", symbol, "-p", "fast=10", "-p", "slow=50"]  # fmt: skip
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, env={**os.environ, "COLUMNS": "120"})
        times.append(time.perf_counter() - t0)
    return {"first_process_s": times[0], "second_process_s": times[1], "third_process_s": times[2]}


if __name__ == "__main__":
    print(json.dumps(job(sys.argv[1], int(sys.argv[2]))))
