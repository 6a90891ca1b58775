"""Entry point: ``python -m benchmarks.run --quick|--full`` (``make bench-quick`` / ``make bench``).

Runs every workload for alphaforge and the peers in this one process on the same data (loading
is not timed), then the memory and start-up probes in fresh processes, evaluates the targets and
writes ``benchmarks/RESULTS.md`` and ``benchmarks/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import probes, report, suite, timing
from benchmarks import workloads as W

HERE = Path(__file__).resolve().parent


def settings(quick: bool) -> suite.Settings:
    if quick:
        return suite.Settings(quick=True, repeat=3, min_total_s=0.3, minute_bars=1_000_000,
                              slow_peer_bars=50_000,
                              vbt_minute_bars=200_000, sweep_symbols=10, btpy_combos=2,
                              bt_combos=1)  # fmt: skip
    return suite.Settings(quick=False, repeat=3, min_total_s=3.0, minute_bars=1_000_000,
                          slow_peer_bars=200_000,
                          sweep_symbols=100, btpy_combos=4, bt_combos=2)  # fmt: skip


def run_workloads(s: suite.Settings) -> list[suite.Workload]:
    data = W.load_daily(max(100, s.sweep_symbols))
    out: list[suite.Workload] = []
    steps = (
        lambda: suite.w1(data, s),
        lambda: [suite.w2(data, s, "W2a", 1)],
        lambda: [suite.w2(data, s, "W2b", s.sweep_symbols)],
        lambda: [suite.w3(data, s)],
        lambda: [suite.w4(data, s)],
    )
    for step in steps:
        t0 = time.perf_counter()
        got = step()
        for wl in got:
            print(f"{wl.key}: done ({time.perf_counter() - t0:.0f}s)", flush=True)
        out.extend(got)
    return out


def run_probes(s: suite.Settings) -> dict[str, Any]:
    n = s.sweep_symbols
    mem = [probes.run_job(f"w2b_{e}", n) for e in ("alphaforge", "vectorbt")]
    n_min = 20 if s.quick else 100
    mem += [probes.run_job(f"minute_{e}", n_min) for e in ("alphaforge", "vectorbt")]
    mem += [probes.run_job("w2b_trials_alphaforge", k) for k in (4, 16)]
    return {"memory": mem, "cli": probes.cli_start()}


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller sizes, < 5 minutes")
    mode.add_argument("--full", action="store_true", help="full sizes (default)")
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory for RESULTS.md/results.json (default: benchmarks/, or benchmarks/quick/ "
        "with --quick, so a quick run never replaces the committed full results)",
    )
    ap.add_argument(
        "--render", action="store_true", help="only rewrite RESULTS.md from results.json"
    )
    ap.add_argument("--probes-only", action="store_true", help="rerun only the probes")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = HERE / "quick" if args.quick else HERE
    if args.render or args.probes_only:
        raw = json.loads((args.out / "results.json").read_text())
        if args.probes_only:
            raw["probes"] = run_probes(settings(raw["settings"]["quick"]))
            raw["targets"] = report.targets(raw)
            _atomic_write(args.out / "results.json", json.dumps(raw, indent=1, default=float))
        _atomic_write(args.out / "RESULTS.md", report.markdown(raw))
        print(report.target_table(raw))
        return 0
    s = settings(args.quick)
    timing.MIN_TOTAL_S = s.min_total_s
    t0 = time.perf_counter()
    wls = run_workloads(s)
    extra = run_probes(s)
    raw = report.collect(wls, extra, s, time.perf_counter() - t0)
    args.out.mkdir(parents=True, exist_ok=True)
    _atomic_write(args.out / "results.json", json.dumps(raw, indent=1, default=float))
    _atomic_write(args.out / "RESULTS.md", report.markdown(raw))
    print(report.target_table(raw))
    print(f"wrote {args.out / 'RESULTS.md'} ({time.perf_counter() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
