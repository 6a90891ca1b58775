"""The file ``alphaforge strategy new NAME`` writes: a small, working, commented strategy."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from alphaforge.atomic import atomic_write_text
from alphaforge.core.errors import ConfigError

TEMPLATE = '''"""{title}: a strategy scaffolded by ``alphaforge strategy new``.

Run it:
    alphaforge backtest {filename}:{cls} --data bars.parquet --symbols MSFT JPM
Check it for look-ahead bias:
    alphaforge lookahead {filename}:{cls} --data bars.parquet --symbols MSFT JPM
"""

from __future__ import annotations

import numpy as np

from alphaforge.strategy.base import (
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    crossed_above,
    param,
)


class {cls}Params(StrategyParams):
    # Every parameter has a default, bounds (the optimizer's search space) and a description.
    fast: int = param(20, ge=2, le=100, step=1, description="Fast moving average length")
    slow: int = param(100, ge=10, le=400, step=10, description="Slow moving average length")
    max_rsi: float = param(70.0, ge=50.0, le=90.0, step=5.0, description="No entry above this RSI")


class {cls}(Strategy[{cls}Params]):
    """Long when the fast SMA crosses above the slow SMA, unless RSI says overbought.

    Exit when the fast SMA crosses back below the slow one. Warm-up: ``slow`` bars.
    """

    # Strategy[{cls}Params] makes it the parameter model: self.params is a {cls}Params,
    # so a type checker (mypy, pyright) knows self.params.fast is an int.
    name = "{name}"

    def warmup(self) -> int:
        # Bars of history before the signals mean anything (used by checks and reports).
        return max(self.params.slow, 140)  # RSI(14) Wilder smoothing needs ~10 x 14 bars

    def signals(self, data: StrategyData) -> Signals:
        # ``data`` holds aligned (bars x symbols) float arrays: open, high, low, close, volume.
        # Row t may use rows <= t only: the engine fills a signal of bar t at the next open.
        p = self.params
        fast = data.sma(p.fast)  # cached helpers: data.sma, data.ema, data.atr
        slow = data.sma(p.slow)

        # Any indicator from alphaforge.indicators works on the whole panel at once;
        # data.cached(key, compute) keeps it for the rest of a parameter sweep.
        from alphaforge.indicators.oscillators import rsi

        r = data.cached(("rsi", 14), lambda: np.asarray(rsi(data.close, 14)))

        with np.errstate(invalid="ignore"):  # NaN during warm-up compares as False
            entries = crossed_above(fast, slow) & (r < p.max_rsi)
        exits = crossed_above(slow, fast)
        # Optional: short_entries/short_exits, stop_loss/take_profit price levels, priority.
        return Signals(entries=entries, exits=exits)
'''


def class_name(name: str) -> str:
    """``my_trend`` / ``my-trend`` -> ``MyTrend``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\-\s]+", name) if part)


def render(name: str) -> tuple[str, str]:
    """``(file name, source)`` of a new strategy called ``name``."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]*", name):
        raise ConfigError(
            f"strategy name {name!r}: use letters, digits, '_' or '-', starting with a letter"
        )
    module = name.replace("-", "_").lower()
    cls = class_name(name)
    if keyword.iskeyword(module):
        raise ConfigError(f"strategy name {name!r} is a Python keyword")
    filename = f"{module}.py"
    text = TEMPLATE.format(title=cls, filename=filename, cls=cls, name=module)
    return filename, text


def write_template(name: str, directory: Path, force: bool = False) -> tuple[Path, str]:
    """Write the template for ``name`` into ``directory`` (atomically); return path and class.

    Raises
    ------
    ConfigError
        Bad name, or the file exists and ``force`` is False.
    """
    filename, text = render(name)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists (use --force to overwrite)")
    atomic_write_text(path, text)
    return path, class_name(name)
