"""``alphaforge backtest``'s sizing and risk flags, and its ``--per-symbol`` mode.

The flags are shortcuts for the YAML keys (``--size 10%`` is ``sizing: {method: fraction,
value: 0.1}``, ``--max-drawdown 20%`` is ``risk: {max_drawdown: 0.2}``): they go through the
same run spec, so a value the config refuses is refused naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from alphaforge.cli.common import console
from alphaforge.core.errors import ConfigError

SIZE_METHODS = ("all_in", "fraction", "cash", "shares", "risk", "vol_target", "kelly")
SIZE_HELP = (
    "Position size (sizing.method and sizing.value): all_in, 10% (of equity), fraction:0.1, "
    "cash:10000, shares:100, risk:1% (of equity at the stop), vol_target:15%, kelly:0.5 [all_in]."
)
RISK_FLAGS = {  # option -> risk key (fractions read as 20%, 0.2 or 500bps)
    "--max-weight": "max_weight",
    "--daily-loss": "daily_loss_limit",
    "--max-drawdown": "max_drawdown",
}


def parse_size(text: str) -> dict[str, Any]:
    """``10%`` -> fraction 0.1, ``cash:10000`` -> cash 10000, ``all_in`` -> all_in (no value)."""
    from alphaforge.core.costs import parse_fraction

    method, sep, value = text.strip().lower().partition(":")
    method = method.replace("-", "_")
    if not sep and method.endswith("%"):
        return {"method": "fraction", "value": parse_fraction(method, f"--size {text!r}")}
    if method not in SIZE_METHODS:
        if not sep and _is_number(method):
            raise ConfigError(
                f"--size {text!r}: a bare number is ambiguous; write a percent of equity (10%) "
                "or METHOD:VALUE (fraction:0.1, cash:10000, shares:100)"
            )
        raise ConfigError(
            f"--size {text!r}: expected all_in, N% or METHOD:VALUE with METHOD one of "
            f"{', '.join(SIZE_METHODS)}"
        )
    if method == "all_in" and value:
        raise ConfigError(f"--size {text!r}: all_in takes no value (it buys with all the cash)")
    return {"method": method, "value": parse_fraction(value, f"--size {text!r}") if value else None}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def sizing_risk_overrides(
    size: str | None, max_positions: int | None, limits: dict[str, str | None]
) -> dict[str, Any]:
    """Run-spec overrides of the sizing and risk flags given (``limits``: option -> text)."""
    from alphaforge.core.costs import parse_fraction

    out: dict[str, Any] = {}
    if size is not None:
        out["sizing"] = parse_size(size)
    risk: dict[str, Any] = {}
    if max_positions is not None:
        risk["max_positions"] = max_positions
    for option, text in limits.items():
        if text is not None:
            risk[RISK_FLAGS[option]] = parse_fraction(text, f"{option} {text!r}")
    if risk:
        out["risk"] = risk
    return out


def per_symbol_path(path: Path, symbol: str) -> Path:
    """``out/result.json`` -> ``out/result-MSFT.json`` (one file per symbol)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in symbol)
    return path.with_name(f"{path.stem}-{safe}{path.suffix}")


def per_symbol_table(results: dict[str, Any]) -> Table:
    """One row per independent single-symbol backtest."""
    from alphaforge.analytics.metric_info import format_metric

    table = Table(
        title=f"{len(results)} independent single-symbol backtests (each with its own cash)",
        title_justify="left", header_style="bold",
    )  # fmt: skip
    keys = ("total_return", "cagr", "sharpe", "max_drawdown", "n_trades", "final_equity")
    for col in ("symbol", "bars", *keys[:4], "trades", "final_equity", "rejected orders"):
        table.add_column(col, justify="left" if col == "symbol" else "right")
    for sym, res in results.items():
        orders = res.orders
        rejected = int((orders["status"] == "rejected").sum()) if len(orders) else 0
        table.add_row(
            sym, f"{len(res.index):,}", *(format_metric(k, res.metrics.get(k)) for k in keys),
            str(rejected),
        )  # fmt: skip
    return table


def run_per_symbol(
    spec: Any,
    settings: Any,
    json_out: Path | None,
    report: Path | None,
    quiet: bool,
) -> None:
    """``backtest --per-symbol``: run, save one result per symbol under ``runs/``, print; the
    ``--json`` and ``--report`` files are written once per symbol (``out-MSFT.json``)."""
    from alphaforge.cli.backtest import new_run_dir, rejected_summary
    from alphaforge.services.backtest import run_spec_per_symbol

    with console.status("running backtests…", spinner="dots"):
        results = run_spec_per_symbol(spec, settings)
    saved: dict[str, Path] = {}
    for sym, res in results.items():
        saved[sym] = res.to_json(
            new_run_dir(settings.runs_dir, f"{res.strategy}-{sym}") / "result.json"
        )
        if json_out:
            res.to_json(per_symbol_path(json_out, sym))
        if report:
            from alphaforge.reports import write_report

            write_report(res, per_symbol_path(report, sym))
    if not quiet:
        console.print(per_symbol_table(results))
        for sym, res in results.items():
            note = rejected_summary(res.orders)
            if note:
                console.print(f"[yellow]{sym}: {note}[/]", highlight=False)
    for sym in results:
        console.print(f"result {sym}: {saved[sym]}", highlight=False)
        if json_out:
            console.print(f"json {sym}:   {per_symbol_path(json_out, sym)}", highlight=False)
        if report:
            console.print(f"report {sym}: {per_symbol_path(report, sym)}", highlight=False)
