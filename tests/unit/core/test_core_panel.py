"""Panel is a pure value in alphaforge.core; the data layer re-exports the same class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.errors import DataError, UnknownSymbolError
from alphaforge.core.panel import FIELDS, Panel


def _bars() -> pd.DataFrame:
    ts = pd.date_range("2024-01-02", periods=3, freq="D", tz="UTC")
    rows = []
    for k, sym in enumerate(("BBB", "AAA")):
        for i, t in enumerate(ts[k:]):
            p = 10.0 * (k + 1) + i
            rows.append((sym, t, p, p + 1, p - 1, p + 0.5, 100.0 + i))
    return pd.DataFrame(rows, columns=["symbol", "timestamp", *FIELDS])


def test_round_trip_and_accessors() -> None:
    panel = Panel.from_long(_bars())
    assert panel.symbols == ("AAA", "BBB") and panel.shape == (3, 2)
    assert np.isnan(panel.close[0, 0])  # AAA starts a bar later
    back = panel.to_long().sort_values(["symbol", "timestamp"]).reset_index(drop=True)
    want = _bars().sort_values(["symbol", "timestamp"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, want, check_dtype=False)
    sub = panel.select(["AAA"])
    assert sub.shape == (2, 1) and list(sub) == ["AAA"]
    assert panel.slice(end=panel.index[1]).shape == (2, 2)
    with pytest.raises(UnknownSymbolError, match="'ZZZ'"):
        panel.column("ZZZ")


def test_shapes_are_checked() -> None:
    idx = pd.date_range("2024-01-02", periods=2, freq="D", tz="UTC")
    ok = np.ones((2, 1))
    with pytest.raises(DataError, match="'volume'"):
        Panel(idx, ("A",), ok, ok, ok, ok, np.ones((3, 1)))


def test_data_panel_re_exports_the_core_class() -> None:
    from alphaforge.data import panel as data_panel

    assert data_panel.Panel is Panel and data_panel.FIELDS is FIELDS
