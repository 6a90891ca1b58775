"""Sector momentum features: hand-computed values, causality and the sector map's errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.ml.features import parse_features
from alphaforge.ml.spec import load_ml_spec
from tests.unit.ml._helpers import ohlcv_panel, random_panel

TECH = {"S0": "tech", "S1": "tech", "S2": "energy"}


def _sector_features(sectors: dict[str, str], windows: list[int]):  # type: ignore[no-untyped-def]
    return parse_features([{"sector_momentum": {"windows": windows, "sectors": sectors}}])


def test_sector_momentum_by_hand() -> None:
    close = np.array(
        [[100.0, 50.0, 10.0], [100.0, 60.0, 11.0], [110.0, 60.0, 12.0], [121.0, 54.0, 13.0]]
    )
    fm = _sector_features(TECH, [2]).compute(ohlcv_panel(close))
    assert fm.names == ("sector_ret_2", "rel_sector_2")
    sector, rel = fm.values[..., 0], fm.values[..., 1]
    assert np.isnan(sector[:2]).all() and np.isnan(rel[:2]).all()
    # bar 2: A 110/100-1 = 0.10, B 60/50-1 = 0.20 -> tech 0.15; C 12/10-1 = 0.2 alone
    np.testing.assert_allclose(sector[2], [0.15, 0.15, 0.2], rtol=1e-12)
    np.testing.assert_allclose(rel[2], [-0.05, 0.05, 0.0], atol=1e-12)
    # bar 3: A 121/100-1 = 0.21, B 54/60-1 = -0.10 -> tech 0.055; C 13/11-1
    np.testing.assert_allclose(sector[3], [0.055, 0.055, 2 / 11], rtol=1e-12)
    np.testing.assert_allclose(rel[3], [0.155, -0.155, 0.0], atol=1e-12)


def test_a_member_without_a_return_is_left_out_of_its_sector() -> None:
    close = np.array([[100.0, 50.0, 10.0], [110.0, np.nan, 11.0], [121.0, 60.0, 12.0]])
    fm = _sector_features(TECH, [1]).compute(ohlcv_panel(close))
    # bar 1: only A has a 1-bar return (0.10); B has none
    assert fm.values[1, 0, 0] == pytest.approx(0.10)
    assert fm.values[1, 0, 1] == pytest.approx(0.0)
    assert np.isnan(fm.values[1, 1, 1])


def test_sector_momentum_is_causal() -> None:
    panel = random_panel(300, 4, seed=3)
    fs = _sector_features({"S0": "a", "S1": "a", "S2": "b", "S3": "b"}, [5, 20])
    full = fs.compute(panel).values
    for cut in (60, 180):
        part = fs.compute(panel.slice(None, panel.index[cut - 1])).values
        np.testing.assert_allclose(part, full[:cut], rtol=1e-12, equal_nan=True)
    assert np.isfinite(full[-1]).all()


def test_the_sector_map_is_part_of_the_feature_hash() -> None:
    a = _sector_features(TECH, [20])
    b = _sector_features({**TECH, "S2": "tech"}, [20])
    again = parse_features(a.to_json())  # as stored in a model's metadata
    assert a.hash == again.hash != b.hash


def test_a_panel_symbol_without_a_sector_is_refused() -> None:
    fs = _sector_features({"S0": "tech", "S1": "tech"}, [2])
    with pytest.raises(ConfigError, match="sectors: S2: the symbol has no sector"):
        fs.compute(random_panel(30, 3))


def _yaml(tmp_path: Path, extra: str, features: str = "[sector_momentum]") -> Path:
    path = tmp_path / "ml.yaml"
    path.write_text(f"name: m\nsymbols: [AAA, BBB]\nfeatures: {features}\n{extra}")
    return path


def test_the_config_sector_map_is_checked(tmp_path: Path) -> None:
    ok = load_ml_spec(_yaml(tmp_path, "sectors: {AAA: tech, BBB: energy}\n"))
    (spec,) = ok.feature_set("ml.yaml").specs
    assert dict(spec.get("sectors", ())) == {"AAA": "tech", "BBB": "energy"}
    with pytest.raises(ConfigError, match=r"ml.yaml: sectors: BBB: the symbol has no sector"):
        load_ml_spec(_yaml(tmp_path, "sectors: {AAA: tech}\n"))
    with pytest.raises(ConfigError, match=r"sectors: CCC: unknown symbol"):
        load_ml_spec(_yaml(tmp_path, "sectors: {AAA: tech, BBB: tech, CCC: tech}\n"))
    with pytest.raises(ConfigError, match=r"sectors: the sector_momentum feature needs"):
        load_ml_spec(_yaml(tmp_path, ""))
    with pytest.raises(ConfigError, match=r"sectors: no sector_momentum feature uses the map"):
        load_ml_spec(_yaml(tmp_path, "sectors: {AAA: a, BBB: b}\n", "[calendar]"))
