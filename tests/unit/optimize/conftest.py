"""Small synthetic panels for the optimizer tests."""

from __future__ import annotations

import pytest

from alphaforge.core.panel import Panel
from alphaforge.data.sample import generate_daily
from alphaforge.services.backtest import to_panel


@pytest.fixture(scope="session")
def panel3() -> Panel:
    """SYNTHETIC: 3 symbols (plus the index ETF dropped), 3 years of daily bars."""
    bars = generate_daily(seed=7, n_symbols=3, years=3)
    bars = bars[bars["symbol"] != "SYNIDX"]
    return to_panel(bars, "1d")


@pytest.fixture(scope="session")
def panel1(panel3: Panel) -> Panel:
    return panel3.select([panel3.symbols[0]])
