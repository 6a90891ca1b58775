"""Sample bars shared by the Python API tests (SYNTHETIC, seeded, offline)."""

from __future__ import annotations

import pandas as pd
import pytest

from alphaforge.data.sample import generate_daily


@pytest.fixture(scope="package")
def bars() -> pd.DataFrame:
    """Long daily bars of three sample symbols over three years."""
    return generate_daily(n_symbols=3, years=3)


@pytest.fixture(scope="package")
def one(bars: pd.DataFrame) -> pd.DataFrame:
    """The first symbol's bars as an OHLCV frame with a DatetimeIndex."""
    sym = sorted(bars["symbol"].unique())[0]
    df = bars[bars["symbol"] == sym].set_index("timestamp")
    return df[["open", "high", "low", "close", "volume"]].astype(float)
