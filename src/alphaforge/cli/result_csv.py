"""CSV copies of a backtest result: its trades and its equity curve (``backtest --trades-csv /
--equity-csv``), each written atomically (temp file + rename)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphaforge.atomic import atomic_write
from alphaforge.cli.common import check_output_file
from alphaforge.core.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd


def _write(frame: pd.DataFrame, path: Path, index: bool) -> Path:
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=index))


def write_trades_csv(result: Any, path: Path) -> Path:
    """One row per closed trade, the columns of ``result.trades`` (times in UTC)."""
    return _write(result.trades, path, index=False)


def write_equity_csv(result: Any, path: Path) -> Path:
    """One row per bar: ``timestamp, equity, cash, exposure, benchmark`` (exposure: gross
    position value / equity; benchmark: buy & hold of the same money)."""
    import pandas as pd

    frame = pd.concat([result.equity, result.cash, result.exposure, result.benchmark], axis=1)
    frame.index.name = "timestamp"
    return _write(frame, path, index=True)


def check_csv_options(params: Mapping[str, Any]) -> None:
    """Refuse the CSV options where they would write nothing (independent per-symbol runs have
    no single trade list or equity curve)."""
    given = [o for o, k in (("--trades-csv", "trades_csv"), ("--equity-csv", "equity_csv"))
             if params.get(k) is not None]  # fmt: skip
    if given and params.get("per_symbol"):
        raise ConfigError(f"{given[0]}: not with --per-symbol (use --json to keep each result)")
    for option in given:
        check_output_file(Path(params[option[2:].replace("-", "_")]), option)  # click: text


def write_csvs(result: Any, trades: Path | None, equity: Path | None) -> list[tuple[str, Path]]:
    """Write the CSV copies asked for; ``(label, path)`` of each written file."""
    out = []
    if trades is not None:
        out.append(("trades", write_trades_csv(result, trades)))
    if equity is not None:
        out.append(("equity", write_equity_csv(result, equity)))
    return out
