"""``ml train`` refuses a bad config in one line naming the config file, the key and the value,
exits 2, and leaves the home as it was (no model version, no feature cache file): model
parameters the library refuses used to end in an "unexpected error", and configs refused once
the data was read left their feature cache behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import invoke, refused, tree_hash

pytestmark = pytest.mark.integration

ML_CONFIG = """\
name: syn_logit
symbols: [SYN01, SYN02, SYN03]
timeframe: 1d
features:
  - returns: {windows: [1, 5]}
label: {kind: fixed, horizon: 5}
model: {kind: logistic}
cv: null
walk_forward: {every: 126, train_bars: 126}
"""
LOGISTIC = "model: {kind: logistic}"

# (id, text replaced, replacement, words the error names besides the file)
BROKEN = [
    ("logistic-C", LOGISTIC, "model: {kind: logistic, params: {C: -1}}", ("model.params", "-1")),
    ("logistic-unknown", LOGISTIC, "model: {kind: logistic, params: {bogus: 1}}",
     ("model.params", "bogus")),
    ("lightgbm-leaves", LOGISTIC, "model: {kind: lightgbm, params: {num_leaves: -3}}",
     ("model.params", "num_leaves", "-3")),
    ("xgboost-depth", LOGISTIC, "model: {kind: xgboost, params: {max_depth: -3}}",
     ("model.params", "max_depth", "-3")),
    ("xgboost-unknown", LOGISTIC, "model: {kind: xgboost, params: {bogus: 1}}",
     ("model.params", "bogus")),
    ("member-params", LOGISTIC,
     "model: {ensemble: voting, members: [{kind: logistic}, {kind: logistic, params: {C: 0}}]}",
     ("model.members[1].params", "C")),
]  # fmt: skip


def _config(tmp_path: Path, old: str, new: str) -> Path:
    assert old in ML_CONFIG
    config = tmp_path / "broken.yaml"
    config.write_text(ML_CONFIG.replace(old, new))
    return config


@pytest.mark.parametrize(
    ("old", "new", "names"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_bad_config_is_refused_naming_the_file(
    af_home: Path, tmp_path: Path, old: str, new: str, names: tuple[str, ...]
) -> None:
    config = _config(tmp_path, old, new)
    before = tree_hash(af_home)
    res = invoke(af_home, "ml", "train", "-q", "--config", str(config))
    err = refused(res, str(config), *names)
    assert res.exit_code == 2, err
    assert "unexpected error" not in err
    assert tree_hash(af_home) == before
