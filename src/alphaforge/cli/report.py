"""``alphaforge report`` (HTML tear sheet of a saved result, optional PNG charts) and
``alphaforge compare`` (several results side by side)."""

from __future__ import annotations

from pathlib import Path

import typer

from alphaforge.cli.common import check_output_file, console, handle_errors
from alphaforge.core.errors import ConfigError


def register(app: typer.Typer) -> None:
    """Add the ``report`` and ``compare`` commands to the root app."""
    app.command("report")(report_cmd)
    app.command("compare")(compare_cmd)


@handle_errors
def report_cmd(
    result_json: Path = typer.Argument(..., help="Result JSON written by `alphaforge backtest --json`."),
    output: Path = typer.Option(None, "--output", "-o", help="HTML file (default: RESULT.html beside the JSON)."),
    title: str = typer.Option(None, "--title", help="Page title (default: the strategy name)."),
    png: Path = typer.Option(None, "--png", help="Also export the charts as PNG files into this directory (needs kaleido + Chromium)."),
) -> None:  # fmt: skip
    """Write the HTML tear sheet of a saved backtest result."""
    from alphaforge.reports.output import export_pngs
    from alphaforge.reports.tearsheet import build_figures, write_tearsheet
    from alphaforge.services.results import load_result

    out = output or result_json.with_suffix(".html")
    if out.is_dir():
        out = out / f"{result_json.stem}.html"
    check_output_file(out, "--output")
    result = load_result(result_json)
    with console.status("building report…", spinner="dots"):
        figures = build_figures(result)
        write_tearsheet(result, out, title, figures=figures)
    console.print(f"report: {out}")
    if png is not None:
        with console.status("exporting PNG charts…", spinner="dots"):
            paths = export_pngs(figures, png)
        console.print(f"png:    {len(paths)} charts in {png}")


@handle_errors
def compare_cmd(
    results: list[Path] = typer.Argument(..., help="Two or more result JSON files."),
    output: Path = typer.Option(None, "--output", "-o", help="HTML file (default: compare.html beside the first JSON)."),
    title: str = typer.Option(None, "--title", help="Page title."),
) -> None:  # fmt: skip
    """Compare backtest results: metrics side by side and overlaid equity curves."""
    from alphaforge.cli.render import metrics_table
    from alphaforge.reports.compare import (
        COMPARE_KEYS,
        comparison_metrics,
        labels_for,
        write_comparison,
    )
    from alphaforge.services.results import load_result

    if len(results) < 2:
        raise ConfigError("compare: give at least two result files")
    out = output or results[0].parent / "compare.html"
    if out.is_dir():
        out = out / "compare.html"
    check_output_file(out, "--output")
    loaded = [load_result(p) for p in results]
    labels = labels_for(loaded, [p.stem if p.stem != "result" else p.parent.name for p in results])
    columns = comparison_metrics(loaded, labels)
    keys = [k for k in COMPARE_KEYS if any(k in c for c in columns.values())]
    console.print(metrics_table(columns, keys, title="Comparison"))
    write_comparison(loaded, out, labels, title)
    console.print(f"compare: {out}")
