"""``alphaforge validate``: significance, overfitting, Monte Carlo, regimes, robustness, gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.table import Table

from alphaforge.cli.common import check_output_file, console, handle_errors, settings_from

_PCT = {"total_return", "max_drawdown", "share", "annual_return", "annual_volatility",
        "benchmark_return", "prob_ruin"}  # fmt: skip


def _cell(key: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:.2%}" if key in _PCT else f"{v:,.3f}"
    return str(v)


def frame_table(df: pd.DataFrame, title: str, cols: list[str] | None = None) -> Table:
    """A rich table of ``df`` (percent columns as percents, NaN as a dash)."""
    t = Table(title=title, title_justify="left", header_style="bold")
    use = [c for c in (cols or list(df.columns)) if c in df.columns]
    for c in use:
        t.add_column(c, justify="left" if df[c].dtype == object else "right")
    for row in df[use].itertuples(index=False):
        t.add_row(*(_cell(c, v) for c, v in zip(use, row, strict=True)))
    return t


def gate_table(gate: Any) -> Table:
    t = Table(title=f"Gate: {gate.verdict}", title_justify="left", header_style="bold")
    for c in ("criterion", "rule", "value", "status", "reason"):
        t.add_column(c, justify="right" if c == "value" else "left")
    style = {"PASS": "green", "FAIL": "bold red", "N/A": "yellow"}
    for r in gate.rows:
        value = "—" if r.value is None else f"{r.value:,.4g}"
        t.add_row(r.criterion, r.rule, value, f"[{style.get(r.status, '')}]{r.status}[/]",
                  r.reason or "")  # fmt: skip
    return t


def _significance_lines(body: dict[str, Any]) -> list[str]:
    s = body.get("significance") or {}
    if "skipped" in s:
        return [f"significance: skipped ({s['skipped']})"]
    sh = s.get("sharpe") or {}
    trials = s.get("trials") or {}
    lines = [
        f"Sharpe {_cell('', sh.get('sr_annual'))} (annualised); PSR {_cell('', sh.get('psr'))}; "
        f"minimum track record {_cell('', sh.get('min_trl_years'))} years",
    ]
    if trials:
        lines.append(
            f"DSR {_cell('', sh.get('dsr'))} over {trials['n_trials']} trials (expected best "
            f"Sharpe of noise {_cell('', sh.get('sr0_annual'))} annualised)"
        )
    else:
        lines.append(s.get("dsr_note", ""))
    tt = s.get("trade_ttest") or {}
    if "p_one_sided" in tt:
        lines.append(
            f"mean trade return {tt['mean']:.3%}, t {tt['t_stat']:.2f}, "
            f"p (mean > 0) {tt['p_one_sided']:.4f}, n={tt['n']}"
        )
    return lines


def _overfitting_lines(body: dict[str, Any]) -> list[str]:
    o = body.get("overfitting") or {}
    pbo, spa, wf = o.get("pbo") or {}, o.get("spa") or {}, o.get("walkforward") or {}
    lines = []
    if "pbo" in pbo:
        lines.append(
            f"PBO {pbo['pbo']:.2%} ({pbo['n_combinations']:,} CSCV splits of {pbo['n_trials']} "
            f"trials); best in-sample loses out-of-sample in {pbo['prob_oos_loss']:.0%}"
        )
    elif "skipped" in pbo:
        lines.append(f"PBO: skipped ({pbo['skipped']})")
    if spa:
        lines.append(
            f"Hansen's SPA p={spa['p_consistent']:.3f}, White's Reality Check "
            f"p={spa['p_reality_check']:.3f} (best trial vs {spa['benchmark']})"
        )
    if wf:
        lines.append(
            f"walk-forward: efficiency {_cell('', wf.get('efficiency'))}, OOS positive in "
            f"{_cell('share', wf.get('share_oos_positive'))} of folds, "
            f"OOS total return {_cell('total_return', wf.get('oos_total_return'))}"
        )
    return lines


def show(report: Any) -> None:
    """Print every section of a validation and the gate."""
    body = report.body
    m = body["metrics"]
    console.print(
        f"[bold]validate[/] {body['target']['kind']} {body['target']['name']}: "
        f"{body['strategy']} {body['params']} on {', '.join(body['symbols'][:8])} "
        f"({body['bars']:,} bars); Sharpe {_cell('', m.get('sharpe'))}, "
        f"max drawdown {_cell('max_drawdown', m.get('max_drawdown'))}, "
        f"{int(m.get('num_trades') or 0)} trades"
    )
    for note in body["target"]["notes"]:
        console.print(f"[dim]{note}[/]")
    for line in _significance_lines(body) + _overfitting_lines(body):
        if line:
            console.print(line)
    tables = report.tables
    if not tables.get("montecarlo", pd.DataFrame()).empty:
        console.print(frame_table(
            tables["montecarlo"], "Monte Carlo (confidence interval of each metric)",
            ["method", "metric", "observed", "ci_low", "median", "ci_high",
             "observed_percentile"],
        ))  # fmt: skip
    for name in ("regimes_trend", "regimes_volatility", "regimes_hmm"):
        if name in tables:
            console.print(frame_table(tables[name], f"Performance by regime ({name[8:]})"))
    for name, t in (body.get("robustness") or {}).items():
        if isinstance(t, dict) and "verdict" in t:
            console.print(f"robustness {name}: {t['verdict']}")
    console.print(gate_table(report.gate))


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_cmd(
        ctx: typer.Context,
        target: str = typer.Argument(..., help="A result JSON, run directory, sweep job or walk-forward run (path or id under HOME)."),
        sweep: str = typer.Option(None, "--sweep", help="The sweep that chose the parameters (for DSR, PBO, SPA)."),
        walkforward: str = typer.Option(None, "--walkforward", help="A walk-forward run of the same strategy (out-of-sample checks)."),
        gate: Path = typer.Option(None, "--gate", help="Gate criteria YAML [defaults: Sharpe>1, drawdown<20%, >=50 trades, PF>1.3, DSR>0.95, PBO<0.5, 2x costs, OOS>0]."),
        report: Path = typer.Option(None, "--report", help="Write the tear sheet with its Validation section here."),
        json_out: Path = typer.Option(None, "--json", help="Also write the validation JSON here."),
        sims: int = typer.Option(2000, "--sims", help="Monte Carlo paths per method (>= 100)."),
        seed: int = typer.Option(0, "--seed", help="Seed of every random draw (reproducible)."),
        confidence: float = typer.Option(0.95, "--confidence", help="Confidence level of intervals, PSR and MinTRL."),
        ruin: float = typer.Option(0.3, "--ruin", help="Loss that counts as ruin in Monte Carlo (0.3 = 30%)."),
        blocks: int = typer.Option(16, "--blocks", help="CSCV blocks for PBO (even)."),
        spa_reps: int = typer.Option(1000, "--spa-reps", help="Bootstrap replications of SPA."),
        robustness: bool = typer.Option(True, "--robustness/--no-robustness", help="Re-run with costs 0-3x, parameter neighbours, later starts, symbol subsets."),
        regimes: bool = typer.Option(True, "--regimes/--no-regimes", help="Performance by market regime."),
        hmm_states: int = typer.Option(2, "--hmm-states", help="States of the causal HMM (2 or 3)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the gate verdict and paths."),
    ) -> None:  # fmt: skip
        """Is the edge real? Significance, overfitting, Monte Carlo, regimes, robustness, gate.

        Exit code 0 when the gate passes, 1 when it fails (so a script can stop a deployment;
        `paper`/`live --require-gate` read the stored verdict).
        """
        from alphaforge.services.validate import ValidationRequest

        req = ValidationRequest(
            target=target, sweep=sweep, walkforward=walkforward, gate=gate, sims=sims,
            seed=seed, confidence=confidence, ruin_loss=ruin, blocks=blocks,
            spa_reps=spa_reps, robustness=robustness, regimes=regimes, hmm_states=hmm_states,
        )  # fmt: skip
        if not _validate(ctx, req, report, json_out, quiet):
            raise typer.Exit(1)


@handle_errors
def _validate(
    ctx: typer.Context, req: Any, report: Path | None, json_out: Path | None, quiet: bool
) -> bool:
    """Run, print and write; True when the gate passed."""
    from alphaforge.services.validate import run_validation

    check_output_file(report, "--report")
    check_output_file(json_out, "--json")
    settings = settings_from(ctx)
    if quiet:
        rep = run_validation(req, settings)
    else:
        with console.status("validating…", spinner="dots") as status:
            rep = run_validation(req, settings, lambda s: status.update(f"validating: {s}…"))
    _write_outputs(rep, report, json_out)
    if quiet:
        console.print(f"gate: {rep.gate.verdict}")
    else:
        show(rep)
    console.print(f"validation: {rep.path}")
    for label, path in (("report", report), ("json", json_out)):
        if path:
            console.print(f"{label}: {path}")
    return bool(rep.gate.passed)


def _write_outputs(rep: Any, report: Path | None, json_out: Path | None) -> None:
    if json_out:
        import json

        from alphaforge.atomic import atomic_write_text

        atomic_write_text(json_out, json.dumps(rep.body, indent=1))
    if report:
        from alphaforge.reports import write_report

        write_report(rep.target.result, report, validation=rep.body)
