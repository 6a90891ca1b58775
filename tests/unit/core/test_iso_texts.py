"""``iso_texts``: the bars' times as ISO text, equal to ``Timestamp.isoformat`` one by one."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import pytest

from alphaforge.core.panel import iso_texts

INDEXES = {
    "daily UTC": pd.date_range("2010-01-04", periods=300, freq="B", tz="UTC"),
    "minute naive": pd.date_range("2019-03-01 09:30", periods=500, freq="min"),
    "half seconds": pd.date_range("2019-03-01 09:30", periods=5, freq="500ms", tz="UTC"),
    "New York": pd.date_range("2019-03-08", periods=5, freq="D", tz="America/New_York"),
    "before 1970": pd.date_range("1965-01-04", periods=30, freq="D", tz="UTC"),
    "empty": pd.DatetimeIndex([], tz="UTC"),
}


Unit = Literal["s", "ms", "us", "ns"]
UNITS: tuple[Unit, ...] = ("ns", "us", "ms", "s")
CASES = [(name, unit) for name in INDEXES for unit in UNITS
         if not (name == "half seconds" and unit == "s")]  # fmt: skip


@pytest.mark.parametrize(("name", "unit"), CASES)
def test_iso_texts_equal_isoformat(name: str, unit: Unit) -> None:
    index = INDEXES[name].as_unit(unit)
    assert iso_texts(index) == [ts.isoformat() for ts in index]


def test_whole_seconds_are_plain_iso() -> None:
    index = pd.DatetimeIndex(["2019-01-02 14:31:00"], tz="UTC")
    assert iso_texts(index) == ["2019-01-02T14:31:00+00:00"]
    assert iso_texts(index.tz_localize(None)) == ["2019-01-02T14:31:00"]
