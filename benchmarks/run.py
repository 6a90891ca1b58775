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

from benchmarks import probes, replay, report, suite, timing
from benchmarks import workloads as W

HERE = Path(__file__).resolve().parent


def settings(quick: bool) -> suite.Settings:
    if quick:
        return suite.Settings(quick=True, repeat=3, min_total_s=0.3, minute_bars=1_000_000,
                              slow_peer_bars=50_000,
                              vbt_minute_bars=200_000, sweep_symbols=10, btpy_combos=2,
                              bt_combos=1, w5_sessions=2, w5_repeat=2,
                              w5_minute_repeat=2)  # fmt: skip
    return suite.Settings(quick=False, repeat=3, min_total_s=3.0, minute_bars=1_000_000,
                          slow_peer_bars=200_000,
                          sweep_symbols=100, btpy_combos=4, bt_combos=2, w5_sessions=252,
                          w5_repeat=3, w5_minute_repeat=1)  # fmt: skip


WORKLOADS = ("W1", "W2", "W3", "W4", "W5")
IMPORT = "IMPORT"  # the import probes (no timed workload): --only IMPORT reruns them


def import_probes() -> list[dict[str, Any]]:
    """Time and peak RSS of importing the daily bars as Parquet and as CSV."""
    return [probes.run_job(f"import_{kind}", 1) for kind in ("parquet", "csv")]


def run_workloads(s: suite.Settings, only: tuple[str, ...] = WORKLOADS) -> list[suite.Workload]:
    loaded: list[W.Daily] = []  # the daily bars, read once by the first workload that needs them

    def data() -> W.Daily:
        if not loaded:
            loaded.append(W.load_daily(max(100, s.sweep_symbols)))
        return loaded[0]

    out: list[suite.Workload] = []
    steps = {
        "W1": lambda: suite.w1(data(), s),
        "W2": lambda: [suite.w2(data(), s, "W2a", 1), suite.w2(data(), s, "W2b", s.sweep_symbols)],
        "W3": lambda: suite.w3(data(), s),
        "W4": lambda: [suite.w4(data(), s)],
        "W5": lambda: replay.w5(s),
    }
    for step in (steps[k] for k in only):
        t0 = time.perf_counter()
        got = step()
        for wl in got:
            print(f"{wl.key}: done ({time.perf_counter() - t0:.0f}s)", flush=True)
        out.extend(got)
    return out


def w5_probes(s: suite.Settings) -> list[dict[str, Any]]:
    """Peak RSS of W5 replays at two lengths each (daily: years; minute: sessions)."""
    mem = [probes.run_job("w5a_alphaforge", y) for y in (5, 10)]
    short = max(1, s.w5_sessions // 4)
    return mem + [probes.run_job("w5b_alphaforge", k) for k in (short, s.w5_sessions)]


def run_probes(s: suite.Settings) -> dict[str, Any]:
    n = s.sweep_symbols
    mem = [probes.run_job(f"w2b_{e}", n) for e in ("alphaforge", "vectorbt")]
    n_min = 20 if s.quick else 100
    mem += [probes.run_job(f"minute_{e}", n_min) for e in ("alphaforge", "vectorbt")]
    mem += [probes.run_job("w2b_trials_alphaforge", k) for k in (4, 16)]
    mem += w5_probes(s)
    mem += import_probes()
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
    ap.add_argument(
        "--only",
        nargs="+",
        choices=(*WORKLOADS, IMPORT),
        default=None,
        help="run only these workloads (and their memory probes) and merge them into the "
        "existing results.json of --out",
    )
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
    if args.only:
        return run_only(args.out, s, tuple(k for k in (*WORKLOADS, IMPORT) if k in args.only), t0)
    wls = run_workloads(s)
    extra = run_probes(s)
    raw = report.collect(wls, extra, s, time.perf_counter() - t0)
    args.out.mkdir(parents=True, exist_ok=True)
    _atomic_write(args.out / "results.json", json.dumps(raw, indent=1, default=float))
    _atomic_write(args.out / "RESULTS.md", report.markdown(raw))
    print(report.target_table(raw))
    print(f"wrote {args.out / 'RESULTS.md'} ({time.perf_counter() - t0:.0f}s)")
    return 0


def run_only(out: Path, s: suite.Settings, only: tuple[str, ...], t0: float) -> int:
    """Rerun some workloads and put them in place of their old entries of ``results.json``
    (the other workloads, probes and the total time stay as they were)."""
    path = out / "results.json"
    if not path.exists():
        raise SystemExit(f"--only merges into an earlier full or quick run: {path} is missing")
    raw = json.loads(path.read_text())
    at_start = report.machine()["commit"], report.dirty_source()  # the code that runs
    wls = run_workloads(s, tuple(k for k in only if k in WORKLOADS))
    mem = (w5_probes(s) if "W5" in only else []) + (import_probes() if IMPORT in only else [])
    new = report.collect(wls, {"memory": mem}, s, 0.0)
    keys = {wl["key"] for wl in new["workloads"]}
    raw["workloads"] = [wl for wl in raw["workloads"] if wl["key"] not in keys]
    raw["workloads"] += new["workloads"]
    raw["workloads"].sort(key=lambda wl: wl["key"])
    jobs = {m["job"] for m in new["probes"]["memory"]}
    mem = [m for m in raw["probes"]["memory"] if m["job"] not in jobs]
    raw["probes"]["memory"] = mem + new["probes"]["memory"]
    raw["settings"] = {**raw["settings"], **{k: v for k, v in vars(s).items()
                                               if k.startswith("w5_")}}  # fmt: skip
    machine = {**new["machine"], "commit": at_start[0]}
    if machine["commit"] != new["machine"]["commit"]:
        machine["commit"] += f" (HEAD was {new['machine']['commit']} at the end)"
    reruns = [r for r in raw.get("partial_runs", []) if set(r["only"]) != set(only)]
    raw["partial_runs"] = [*reruns, {  # an earlier rerun of the same workloads is replaced
        "only": list(only),
        "seconds": time.perf_counter() - t0,
        "machine": machine,
        "dirty": at_start[1] or report.dirty_source(),
    }]  # fmt: skip
    raw["targets"] = report.targets(raw)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, json.dumps(raw, indent=1, default=float))
    _atomic_write(out / "RESULTS.md", report.markdown(raw))
    print(report.target_table(raw))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
