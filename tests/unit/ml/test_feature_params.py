"""A feature's parameters are checked when the list is parsed (before any data is read), and
the error names the entry, the parameter and the value."""

from __future__ import annotations

from typing import Any

import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.ml.features import ALLOWED, BUILDERS, PARAMETERS, parse_features


def test_every_feature_has_a_parameter_check() -> None:
    assert set(PARAMETERS) == set(BUILDERS) == set(ALLOWED)


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"returns": {"windows": [-1]}}, ("cfg.yaml: features[1]: returns: windows", "-1")),
        ({"volatility": {"windows": [1]}}, ("features[1]: volatility: windows", "1")),
        ({"vol_regime": {"lookback": 3}}, ("features[1]: vol_regime: lookback", "3")),
        ({"hmm": {"n_states": "two"}}, ("features[1]: hmm: n_states", "'two'")),
        ({"beta": {"window": 2}}, ("features[1]: beta: window", "2")),
        ({"indicator": {"name": 3}}, ("features[1]: indicator: name", "3")),
    ],
)
def test_bad_parameter_is_refused_when_parsed(
    entry: dict[str, Any], words: tuple[str, ...]
) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_features(["calendar", entry], "cfg.yaml: features")
    for word in words:
        assert word in str(exc.value), (word, str(exc.value))


def test_defaults_parse() -> None:
    """Every feature but the indicator (which needs a name) parses with its defaults."""
    kinds = [k for k in BUILDERS if k != "indicator"]
    assert [s.kind for s in parse_features(kinds).specs] == kinds
