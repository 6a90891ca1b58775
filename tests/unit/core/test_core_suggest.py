"""Suggestions for misspelt names."""

from __future__ import annotations

from alphaforge.core.suggest import closest, did_you_mean


def test_closest_name() -> None:
    assert closest("sma_cros", ["ema_cross", "sma_cross", "rsi_macd"]) == "sma_cross"
    assert closest("FSAT", ["fast", "slow"]) == "fast"  # case does not matter
    assert closest("zzz", ["fast", "slow"]) is None


def test_did_you_mean() -> None:
    assert did_you_mean("fsat", ["fast", "slow"]) == "; did you mean 'fast'?"
    assert did_you_mean("zzz", ["fast", "slow"]) == ""
    assert did_you_mean("fast", ["fast"]) == ""  # the name itself is no suggestion
