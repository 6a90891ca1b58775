"""``alphaforge backtest``: run a strategy on a file or the local store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
import yaml

from alphaforge.cli.backtest_options import SIZE_HELP, run_per_symbol, sizing_risk_overrides
from alphaforge.cli.common import check_output_file, console, handle_errors, settings_from
from alphaforge.cli.result_csv import check_csv_options, write_csvs
from alphaforge.core.errors import ConfigError

HEADLINE = (
    "total_return", "cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown", "calmar",
    "n_trades", "win_rate", "profit_factor", "exposure_time", "fees", "final_equity",
)  # fmt: skip


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``['fast=10', 'mode=fast']`` -> ``{'fast': 10, 'mode': 'fast'}`` (YAML scalars)."""
    out: dict[str, Any] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--param {item!r}: expected NAME=VALUE")
        out[name.strip()] = yaml.safe_load(value) if value.strip() else ""
    return out


def split_symbols(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def cli_overrides(**kw: Any) -> dict[str, Any]:
    """Nested RunSpec overrides from CLI flags that were given (None = not given).

    Flags named like a config shortcut (``commission``, ``stop_loss`` ...) land in their section
    through the same table the Python API uses.
    """
    from alphaforge.core.rules import set_dotted
    from alphaforge.services.backtest import SHORTCUTS

    out: dict[str, Any] = {}
    for key, value in kw.items():
        if value is None or value == {}:
            continue
        set_dotted(out, SHORTCUTS.get(key, key), value)
    return out


def register(app: typer.Typer) -> None:
    @app.command("backtest")
    @handle_errors
    def backtest_cmd(
        ctx: typer.Context,
        strategy: str = typer.Argument(None, help="Built-in name (see `alphaforge strategy list`) or path/file.py:ClassName."),
        symbols: list[str] = typer.Option(None, "--symbols", "-s", help="Symbols to trade (space- or comma-separated)."),
        data: Path = typer.Option(None, "--data", help="CSV/Parquet bars file; default: the local store."),
        param: list[str] = typer.Option(None, "--param", "-p", help="Strategy parameter NAME=VALUE (repeatable)."),
        start: str = typer.Option(None, help="First date (inclusive)."),
        end: str = typer.Option(None, help="Last date (inclusive)."),
        timeframe: str = typer.Option(None, help="1d, 1h, 15m, 5m or 1m (default: detected / 1d)."),
        cash: float = typer.Option(None, help="Starting cash [100000]."),
        commission: str = typer.Option(None, help="e.g. 0.1%, 5bps, 0.005/share,min=1,max=1%, ib, 0 [0.1%]."),
        slippage: str = typer.Option(None, help="e.g. 5bps, spread=10bps, 0.1atr, 0 [5bps]."),
        stop_loss: str = typer.Option(None, "--stop-loss", help="e.g. 5%, 2atr."),
        take_profit: str = typer.Option(None, "--take-profit", help="e.g. 10%, 3atr."),
        trailing_stop: str = typer.Option(None, "--trailing-stop", help="e.g. 8%, 3atr."),
        stop_on_entry_bar: bool = typer.Option(None, "--stop-on-entry-bar/--no-stop-on-entry-bar", help="Check stops in the entry bar [on]."),
        fill: str = typer.Option(None, help="next_open (default) or close (optimistic)."),
        direction: str = typer.Option(None, help="long, short or long_short [long]."),
        config: Path = typer.Option(None, "--config", "-c", help="YAML run config; flags override it."),
        json_out: Path = typer.Option(None, "--json", help="Write the result as JSON here."),
        report: Path = typer.Option(None, "--report", help="Write the HTML tear sheet here."),
        trades_csv: Path = typer.Option(None, "--trades-csv", help="Also write the trades as CSV here."),
        equity_csv: Path = typer.Option(None, "--equity-csv", help="Also write the equity curve as CSV here (per bar: equity, cash, exposure, benchmark)."),
        adjust: bool = typer.Option(None, "--adjust/--no-adjust", help="Use split/dividend-adjusted prices when available [adjust]."),
        benchmark: str = typer.Option(None, "--benchmark", help="Benchmark symbol, traded or not (e.g. SPY: its bars from --data or the store) [equal-weight buy & hold of the traded symbols]."),
        lookahead_check: bool = typer.Option(None, "--lookahead-check/--no-lookahead-check", help="Also run the look-ahead detector and record the verdict in the result."),
        lookahead_fail: bool = typer.Option(False, "--lookahead-fail", help="Run the look-ahead detector and fail the run (exit 1, no result saved) when it finds look-ahead."),
        allow_high_costs: bool = typer.Option(None, "--allow-high-costs", help="Accept a commission or slippage above 10% per fill (refused otherwise as a likely unit mistake)."),
        size: str = typer.Option(None, "--size", help=SIZE_HELP),
        max_positions: int = typer.Option(None, "--max-positions", help="Most open positions at once (risk.max_positions)."),
        max_weight: str = typer.Option(None, "--max-weight", help="Largest position as a fraction of equity, e.g. 20% (risk.max_weight)."),
        daily_loss: str = typer.Option(None, "--daily-loss", help="No new entries for the day once equity is this far below the day's start, e.g. 2% (risk.daily_loss_limit)."),
        max_drawdown: str = typer.Option(None, "--max-drawdown", help="Drawdown from the peak that triggers risk.drawdown_action, e.g. 20% (risk.max_drawdown)."),
        per_symbol: bool = typer.Option(False, "--per-symbol", help="Independent single-symbol backtests, each with its own cash, instead of one shared account."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the output paths."),
    ) -> None:  # fmt: skip
        """Backtest a strategy: signals at the close, fills at the next open, costs on."""
        from alphaforge.config.specs import load_run_spec
        from alphaforge.services.backtest import run_spec

        check_output_file(json_out, "--json")
        check_output_file(report, "--report")
        check_csv_options(ctx.params)
        settings = settings_from(ctx)
        over = cli_overrides(
            strategy=strategy, symbols=split_symbols(symbols),
            data=str(data) if data else None, params=parse_params(param) or None,
            start=start, end=end, timeframe=timeframe, cash=cash, commission=commission,
            slippage=slippage, stop_loss=stop_loss, take_profit=take_profit,
            trailing_stop=trailing_stop, stop_on_entry_bar=stop_on_entry_bar, fill=fill,
            direction=direction, adjust=adjust, benchmark=benchmark,
            lookahead_check="fail" if lookahead_fail else lookahead_check,
            **{"costs.allow_high": True if allow_high_costs else None},
            **sizing_risk_overrides(size, max_positions, {"--max-weight": max_weight,
                                    "--daily-loss": daily_loss, "--max-drawdown": max_drawdown}),
        )  # fmt: skip
        spec = load_run_spec(config, over)
        if per_symbol:
            run_per_symbol(spec, settings, json_out, report, quiet)
            return
        with console.status("running backtest…", spinner="dots"):
            result = run_spec(spec, settings)
        saved = result.to_json(new_run_dir(settings.runs_dir, result.strategy) / "result.json")
        if json_out:
            result.to_json(json_out)
        if report:
            from alphaforge.reports import write_report

            write_report(result, report)
        written = write_csvs(result, trades_csv, equity_csv)
        if not quiet:
            show_result(result)
        console.print(f"result: {saved}")
        if json_out:
            console.print(f"json:   {json_out}")
        if report:
            console.print(f"report: {report}")
        for label, path in written:
            console.print(f"{label + ':':<8}{path}")


def new_run_dir(runs: Path, strategy: str) -> Path:
    """A new directory ``runs/<UTC timestamp>-<strategy>[-n]`` that no other run has: made with
    ``mkdir`` (which fails if it exists), so two runs in the same second never share one."""
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in strategy) or "run"
    runs.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        path = runs / (f"{stamp}-{name}" if n == 1 else f"{stamp}-{name}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise ConfigError(f"{runs}: no free run directory for {stamp}-{name}")  # pragma: no cover


def rejected_summary(orders: Any) -> str | None:
    """``54 of 207 orders rejected: insufficient_cash 50, max_positions 4`` (None when none)."""
    if orders is None or len(orders) == 0:
        return None
    rejected = orders[orders["status"] == "rejected"]
    if rejected.empty:
        return None
    counts = rejected["reason"].value_counts()
    reasons = ", ".join(f"{reason} {n}" for reason, n in counts.items())
    return f"{len(rejected)} of {len(orders)} orders rejected: {reasons}"


def show_result(result: Any) -> None:
    from alphaforge.cli.render import metrics_table, trades_table

    syms = ", ".join(result.symbols[:8]) + (" …" if len(result.symbols) > 8 else "")
    cfg = result.config
    console.print(
        f"[bold]{result.strategy}[/] {result.params} on {syms} "
        f"{result.index[0]:%Y-%m-%d} → {result.index[-1]:%Y-%m-%d} ({len(result.index):,} bars, "
        f"{cfg['timeframe']}); fill={cfg['fill']}, commission={cfg['costs']['commission']}, "
        f"slippage={cfg['costs']['slippage']}"
    )
    from alphaforge.analytics.metrics import summary_metrics

    bench = summary_metrics(result.benchmark_values, cfg["periods_per_year"], cfg["risk_free"])
    bench["final_equity"] = float(result.benchmark_values[-1])
    label = f"buy & hold {cfg['benchmark']}" if cfg.get("benchmark") else "buy & hold"
    console.print(metrics_table({"strategy": result.metrics, label: bench}, HEADLINE))
    if result.num_trades:
        console.print(trades_table(result.trades))
    rejected = rejected_summary(result.orders)
    if rejected:
        hint = ""
        if "insufficient_cash" in rejected and cfg["sizing"]["method"] == "all_in":
            hint = (
                " (all-in sizing shares one account: entries after the first find no cash; "
                "size positions with sizing.method fraction, or run symbols separately)"
            )
        console.print(f"[yellow]{rejected}{hint}[/]", highlight=False)
    if result.ambiguous_bars:
        console.print(f"[yellow]{result.ambiguous_bars} bar(s) touched both stop and target[/]")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")
