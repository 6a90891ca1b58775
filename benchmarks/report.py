"""Raw results -> targets -> ``RESULTS.md``."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.findings import FINDINGS, W5_FINDINGS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("alphaforge", "numpy", "numba", "pandas", "vectorbt", "backtesting", "backtrader")


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()  # fmt: skip
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "versions": {p: version(p) for p in PACKAGES},
    }


def dirty_source() -> bool:
    """Whether ``src/`` has uncommitted changes (the measured code is then not the commit's)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT,
                             capture_output=True, text=True).stdout  # fmt: skip
    except OSError:
        return False
    return bool(out.strip())


def _m(wl: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(m for m in wl["measures"] if m["engine"].startswith(prefix))


def targets(raw: dict[str, Any]) -> list[dict[str, Any]]:
    w = {wl["key"]: wl for wl in raw["workloads"]}
    out: list[dict[str, Any]] = []

    def add(name: str, value: float, goal: float, higher: bool = True, unit: str = "x") -> None:
        ok = value >= goal if higher else value <= goal
        out.append({"target": name, "measured": value, "goal": goal, "unit": unit, "met": ok})

    def speed(key: str, peer: str = "vectorbt") -> float:
        return float(_m(w[key], peer)["median_s"] / _m(w[key], "alphaforge")["median_s"])

    if "W1a" not in w:  # a partial run (--only) without the earlier workloads
        _w5_targets(w, add)
        return out
    add("W1(a) faster than vectorbt", speed("W1a"), 10)
    add("W1(b) faster than vectorbt", speed("W1b"), 3)
    for key in ("W2a", "W2b"):
        af1, af2 = _m(w[key], "alphaforge (1"), _m(w[key], "alphaforge (2")
        vb, pl = _m(w[key], "vectorbt"), _m(w[key], "plain")
        add(
            f"{key} backtests/s vs vectorbt (1 core)",
            af1["backtests_per_s"] / vb["backtests_per_s"],
            20 if key == "W2a" else 40,  # 100 symbols: 40x
        )
        add(f"{key} time vs plain Numba loop", af1["median_s"] / pl["median_s"], 3, higher=False)
        add(f"{key} scaling to 2 workers", af1["median_s"] / af2["median_s"], 1.8)
    add("W3(a) faster than vectorbt", speed("W3"), 5)
    if "W3b" in w:
        add("W3(b) faster than vectorbt", speed("W3b"), 3)
    add(
        "W3 equal to backtesting.py and backtrader",
        float(all(c["ok"] for c in w["W3"]["checks"])),
        1,
        unit="",
    )
    add("W4 faster than vectorbt (from a wide frame)", speed("W4"), 5)
    add(
        "W4 final equity equal to backtrader",
        float(all(c["ok"] for c in w["W4"]["checks"])),
        1,
        unit="",
    )
    for key, wl in w.items():
        for m in wl["measures"]:
            x = m.get("extra", {})
            if (
                m["engine"].startswith("alphaforge")
                and x.get("engine_only_s")
                and (x.get("bars") or 0) > 100_000
            ):
                add(f"{key} {m['engine']}: public path / engine only (> 100,000 bars)",
                    m["median_s"] / x["engine_only_s"], 2, higher=False)  # fmt: skip
    mem = {(m["job"], m["n"]): m for m in raw["probes"]["memory"]}
    n = raw["settings"]["sweep_symbols"]
    if ("w2b_alphaforge", n) in mem and ("w2b_vectorbt", n) in mem:  # absent in partial runs
        af, vb = mem[("w2b_alphaforge", n)], mem[("w2b_vectorbt", n)]
        add(
            "W2(b) peak RSS alphaforge / vectorbt",
            af["peak_rss_mb"] / vb["peak_rss_mb"],
            1,
            higher=False,
        )
    if ("w2b_trials_alphaforge", 4) in mem and ("w2b_trials_alphaforge", 16) in mem:
        t1, t4 = mem[("w2b_trials_alphaforge", 4)], mem[("w2b_trials_alphaforge", 16)]
        grow = (t4["peak_rss_mb"] - t4["rss_after_data_mb"]) / max(
            t1["peak_rss_mb"] - t1["rss_after_data_mb"], 1.0
        )
        add(
            "memory flat as trials grow (grid x16 vs x4: RSS growth ratio)",
            grow,
            1.25,
            higher=False,
        )
    if "cli" in raw["probes"]:
        add(
            "second CLI process wall clock",
            raw["probes"]["cli"]["second_process_s"],
            2.0,
            higher=False,
            unit="s",
        )
    _w5_targets(w, add)
    return out


def _w5_targets(w: dict[str, Any], add: Any) -> None:
    for key in ("W5a", "W5b", "W5c"):
        if key in w:
            ratio = _m(w[key], "backtrader")["median_s"] / _m(w[key], "alphaforge")["median_s"]
            add(f"{key[:2]}({key[2]}) replay bars/s vs backtrader (floor; aim 10x)", ratio, 3)


def collect(wls: list[Any], extra: dict[str, Any], s: Any, total_s: float) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "machine": machine(),
        "settings": vars(s),
        "total_s": total_s,
        "workloads": [
            {
                "key": wl.key,
                "title": wl.title,
                "measures": [m.as_dict() for m in wl.measures],
                "checks": wl.checks,
                "notes": wl.notes,
            }
            for wl in wls
        ],
        "probes": extra,
    }
    raw["targets"] = targets(raw)
    return raw


def _f(x: Any, nd: int = 4) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:,.{nd}g}" if abs(x) < 1e5 else f"{x:,.2f}"
    return str(x)


def target_table(raw: dict[str, Any]) -> str:
    rows = ["| target | measured | goal | |", "|---|---|---|---|"]
    for t in raw["targets"]:
        op = ">=" if t["target"].find("vs plain") < 0 and "RSS" not in t["target"] and "flat" not in t[
            "target"] and "CLI" not in t["target"] and "engine only" not in t["target"] else "<="  # fmt: skip
        rows.append(f"| {t['target']} | {_f(t['measured'], 3)}{t['unit']} | {op} {t['goal']}{t['unit']} "
                    f"| {'met' if t['met'] else '**missed**'} |")  # fmt: skip
    return "\n".join(rows)


def _w5_md(wl: dict[str, Any]) -> list[str]:
    """A replay workload: bars per second (symbol-bars), median and best run."""
    af = next(m for m in wl["measures"] if m["engine"].startswith("alphaforge"))
    steps, n_sym = af["extra"]["steps"], af["extra"]["symbols"]
    lines = [f"### {wl['key']}: {wl['title']}", "",
             f"{steps:,} bar times x {n_sym} symbol(s) = {af['extra']['bars']:,} bars per run; "
             "bars/s counts every symbol's bar.", "",
             "| engine | first call s | median s | min s | max s | runs | bars/s (median) "
             "| bars/s (best) | final equity | trades | alphaforge / peer bars/s | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for m in wl["measures"]:
        bars = m["extra"]["bars"]
        lines.append(
            f"| {m['engine']} | {_f(m['first_s'])} | {_f(m['median_s'])} | {_f(m['min_s'])} "
            f"| {_f(m['max_s'])} | {len(m['runs_s'])} | {bars / m['median_s']:,.0f} "
            f"| {bars / m['min_s']:,.0f} | {_f(m['final_equity'])} | {_f(m['trades'])} "
            f"| {m['median_s'] / af['median_s']:,.3g} | {m['note']} |"
        )
    x = af["extra"]
    lines += ["", f"alphaforge: {x['closed']} closed round trips + {x['open_at_end']} open at the "
              f"end, {x['orders']} orders ({x['rejected']} rejected). Trades = entries filled.",
              "", "Correctness guard:", ""]  # fmt: skip
    lines += [f"- {'ok' if c['ok'] else 'DIFFERENT'}: {c['what']} (alphaforge "
              f"{_f(c['alphaforge'], 12)}, peer {_f(c['peer'], 12)})" for c in wl["checks"]]  # fmt: skip
    lines += [f"- note: {n}" for n in wl["notes"]]
    return [*lines, ""]


def _w5_memory(raw: dict[str, Any]) -> list[str]:
    rows = [m for m in raw["probes"]["memory"] if m["job"].startswith("w5")]
    if not rows:
        return []
    out = ["### W5 memory: peak RSS of one replay in a fresh process", "",
           "| job | length | bars | replay s | RSS before the replay MB | peak RSS MB | growth MB |",
           "|---|---|---|---|---|---|---|"]  # fmt: skip
    for m in rows:
        unit = "years of daily bars" if m["job"].startswith("w5a") else "sessions x 20 symbols"
        out.append(
            f"| {m['job']} | {m['n']} {unit} | {m['bars']:,} | {m['seconds']:.1f} "
            f"| {m['rss_after_data_mb']:.0f} | {m['peak_rss_mb']:.0f} "
            f"| {m['peak_rss_mb'] - m['rss_after_data_mb']:.0f} |"
        )
    return [*out, "", "The peak is reset (Linux `clear_refs`) after the bars are loaded and a "
            "short warm-up replay has loaded the compiled kernels, so it is the replay's own.", ""]  # fmt: skip


def _workload_md(wl: dict[str, Any]) -> list[str]:
    if wl["key"].startswith("W5"):
        return _w5_md(wl)
    af = next(m for m in wl["measures"] if m["engine"].startswith("alphaforge"))
    lines = [f"### {wl['key']}: {wl['title']}", "",
             "| engine | first call s | median s | min s | max s | engine only: median s "
             "| backtests/s | final equity | trades | peer/alphaforge time | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for m in wl["measures"]:
        ratio = m["median_s"] / af["median_s"]
        engine = m.get("extra", {}).get("engine_only_s")
        lines.append(
            f"| {m['engine']} | {_f(m['first_s'])} | {_f(m['median_s'])} | {_f(m['min_s'])} "
            f"| {_f(m['max_s'])} | {_f(engine)} | {_f(m['backtests'] / m['median_s'])} "
            f"| {_f(m['final_equity'])} | {_f(m['trades'])} | {ratio:,.2f} | {m['note']} |"
        )
    lines += ["", "Correctness guard:", ""]
    lines += [f"- {'ok' if c['ok'] else 'FAILED'}: {c['what']} (alphaforge {_f(c['alphaforge'], 12)}, "
              f"peer {_f(c['peer'], 12)})" for c in wl["checks"]]  # fmt: skip
    lines += [f"- note: {n}" for n in wl["notes"]]
    return [*lines, ""]


def _import_md(raw: dict[str, Any]) -> list[str]:
    rows = [m for m in raw["probes"]["memory"] if m["job"].startswith("import_")]
    if not rows:
        return []
    out = ["## Import: `alphaforge data import` of the daily bars of 400 symbols", "",
           "`services.store.import_file` into an empty Parquet store, in a fresh process.", "",
           "| file | size MB | rows | s | rows/s | RSS before MB | peak RSS MB | growth MB |",
           "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for m in rows:
        out.append(
            f"| {m['job'].removeprefix('import_')} | {m['file_mb']:.0f} | {m['rows']:,} "
            f"| {m['seconds']:.1f} | {m['rows'] / m['seconds']:,.0f} "
            f"| {m['rss_after_data_mb']:.0f} | {m['peak_rss_mb']:.0f} "
            f"| {m['peak_rss_mb'] - m['rss_after_data_mb']:.0f} |"
        )
    return [*out, ""]


def markdown(raw: dict[str, Any]) -> str:
    mc, s = raw["machine"], raw["settings"]
    mode = "--quick" if s["quick"] else "--full"
    out = [
        "# alphaforge benchmarks", "",
        f"Produced by `python -m benchmarks.run {mode}` in {raw['total_s']:.0f} s "
        f"(commit {mc['commit']}).", "",
        *[f"{', '.join(r['only'])} rerun alone with `--only` in {r['seconds']:.0f} s (commit "
          f"{r['machine']['commit']}{' plus uncommitted changes in src/' * r.get('dirty', False)}; load average at "
          f"the end {', '.join(f'{x:.1f}' for x in r['machine']['load_average'])}); their "
          "rows replace the earlier ones.\n" for r in raw.get("partial_runs", [])],
        f"Machine: {mc['cpu']}, {mc['cores']} cores, Python {mc['python']}, {mc['platform']}; "
        f"load average at the end {', '.join(f'{x:.1f}' for x in mc['load_average'])} "
        "(the machine is shared: times are noisy, compare the min column too).", "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in mc["versions"].items()), "",
        "Rules for every engine: long only, signal at the bar's close, fill at the next open, 0.1% "
        "commission, 100,000 start cash, no slippage, all-in whole shares "
        "(floor(cash / (open * 1.001))). Every engine starts from the same pandas objects (one "
        "symbol's OHLCV frame with a DatetimeIndex, or one wide frame with (Price, Ticker) "
        "columns as yfinance returns it) and is timed to its result: conversion, signals and the "
        "backtest. alphaforge goes through its public API (`alphaforge.backtest`, or "
        "`alphaforge.sweep` for sweeps); its engine-only column is the same call on a prebuilt Panel. "
        "Reading the files is not timed; each measurement is repeated "
        f"at least {s['repeat']} times, and short ones until they add up to "
        f"{s.get('min_total_s', 1.0):g} s (at most 100 runs), after a first call that is reported "
        "apart (JIT / caches). "
        "alphaforge and vectorbt compute their own moving averages and crossings; backtesting.py "
        "and backtrader get signal masks computed inside their timed call. A run ends with its "
        "headline numbers: alphaforge's result carries its whole metric set, vectorbt's timed "
        "call computes final value, trades, Sharpe ratio and maximum drawdown (W1-W3).", "",
        "## Targets", "", target_table(raw), "",
        "## Workloads", "",
    ]  # fmt: skip
    for wl in raw["workloads"]:
        out += _workload_md(wl)
        keys = [w["key"] for w in raw["workloads"] if w["key"].startswith("W5")]
        if keys and wl["key"] == keys[-1]:  # after the last W5 workload of the run
            out += [*_w5_memory(raw), W5_FINDINGS, ""]
    out += _import_md(raw)
    out += ["## Memory (peak RSS of a fresh process, MB)", "",
            "| job | size | RSS after loading data | peak RSS |", "|---|---|---|---|"]  # fmt: skip
    out += [f"| {m['job']} | {m['n']} | {m['rss_after_data_mb']:.0f} | {m['peak_rss_mb']:.0f} |"
            for m in raw["probes"]["memory"]
            if not m["job"].startswith(("w5", "import_"))]  # fmt: skip
    cli = raw["probes"]["cli"]
    out += ["", "w2b_*: size = symbols; minute_*: size = symbols of one year of 1-minute bars "
            "(98,280 bars, synthetic); w2b_trials_alphaforge: the grid repeated size times on 20 "
            "symbols, i.e. 14,720 and 58,880 backtests (signals are built and run in chunks of "
            "at most 32 MB, so memory must not grow with the number of trials).", "",
            "## Start-up", "",
            f"`alphaforge backtest sma_cross` on one symbol's daily bars, wall clock of whole "
            f"processes: first {cli['first_process_s']:.2f} s, second {cli['second_process_s']:.2f} s, "
            f"third {cli['third_process_s']:.2f} s.", "", FINDINGS]  # fmt: skip
    return "\n".join(out) + "\n"
