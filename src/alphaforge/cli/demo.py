"""``alphaforge demo``: the offline tour — sample data, quality check, backtest, tear sheet."""

from __future__ import annotations

from pathlib import Path

import typer

from alphaforge.cli.common import console, handle_errors, settings_from

DEMO_SPEC = Path(__file__).resolve().parents[3] / "examples" / "demo.yaml"


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @handle_errors
    def demo_cmd(
        ctx: typer.Context,
        config: Path = typer.Option(None, "--config", "-c", help="Run config (default: examples/demo.yaml)."),
        seed: int = typer.Option(42, min=0, help="Seed of the synthetic sample market."),
    ) -> None:  # fmt: skip
        """Generate the SYNTHETIC sample market, check it, backtest it and write the tear sheet."""
        from alphaforge.cli.app import app as root
        from alphaforge.config.specs import load_run_spec
        from alphaforge.data.sample import sample_symbols
        from alphaforge.reports import write_report
        from alphaforge.services.backtest import run_spec, spec_strategy

        settings = settings_from(ctx)
        home = ["--home", str(settings.home)]
        # the run config first: a bad one is refused before the sample is written
        spec_path = config or DEMO_SPEC
        spec = load_run_spec(spec_path)
        sampled = not spec.symbols and not spec.data  # the demo's universe: the sample's equities
        if sampled:
            spec = load_run_spec(spec_path, {"symbols": sample_symbols(20)})
        spec_strategy(spec)
        console.rule("[bold]1. SYNTHETIC sample market")
        _step(root([*home, "data", "sample", "--seed", str(seed)], standalone_mode=False))
        console.rule("[bold]2. data quality")
        _step(root([*home, "data", "check", "--timeframe", "1d"], standalone_mode=False))
        console.rule("[bold]3. backtest")
        if sampled:
            console.print(f"symbols: {', '.join(spec.symbols or [])} (the SYNTHETIC sample)")
        with console.status("running backtest…"):
            result = run_spec(spec, settings)
        from alphaforge.cli.backtest import show_result

        show_result(result)
        out_dir = settings.reports_dir
        saved = result.to_json(settings.runs_dir / "demo" / "result.json")
        report = write_report(
            result, out_dir / "demo.html", title="alphaforge demo (SYNTHETIC data)"
        )
        console.rule("[bold]done")
        console.print(f"result:     {saved}")
        console.print(f"tear sheet: [bold]{report}[/]")


def _step(code: object) -> None:
    """Stop the demo at a step that failed (its one-line error is printed already)."""
    if isinstance(code, int) and code != 0:
        raise typer.Exit(code)
