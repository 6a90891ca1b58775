"""``ml train`` refuses a bad config in one line naming the config file, the key and the value,
exits 2, and leaves the home as it was (no model version, no feature cache file): model
parameters the library refuses used to end in an "unexpected error", configs refused once the
data was read left their feature cache behind, and those errors did not name the file."""

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
    # feature parameters are checked with the config, and the bars' errors name the file too
    ("feature-window", "windows: [1, 5]", "windows: [-1]", ("features[0]", "windows", "-1")),
    ("timeframe", "timeframe: 1d", "timeframe: 1x", ("timeframe", "1x")),
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
    assert "unexpected error" not in _refused_as_it_was(af_home, tmp_path, old, new, names)


def _refused_as_it_was(
    af_home: Path, tmp_path: Path, old: str, new: str, names: tuple[str, ...]
) -> str:
    """``ml train`` of the config with ``old`` replaced by ``new``: refused with exit 2
    naming the file and ``names``, the home as it was; returns the error line."""
    config = _config(tmp_path, old, new)
    before = tree_hash(af_home)
    res = invoke(af_home, "ml", "train", "-q", "--config", str(config))
    err = refused(res, str(config), *names)
    assert res.exit_code == 2, err
    assert tree_hash(af_home) == before
    return err


# refused once the bars are read: nothing may be left in the home (no feature cache)
AFTER_DATA = [
    ("name-escapes", "name: syn_logit", "name: ../evil", ("name", "../evil")),
    ("horizon-too-long", "horizon: 5", "horizon: 100000", ("horizon", "100000")),
    ("train-bars-too-many", "train_bars: 126", "train_bars: 1000000", ("walk_forward",)),
    ("min-samples-too-many", "cv: null", "cv: {min_samples: 100000}", ("min_samples",)),
]


@pytest.mark.parametrize(
    ("old", "new", "names"), [b[1:] for b in AFTER_DATA], ids=[b[0] for b in AFTER_DATA]
)
def test_refused_run_leaves_no_feature_cache(
    af_home: Path, tmp_path: Path, old: str, new: str, names: tuple[str, ...]
) -> None:
    _refused_as_it_was(af_home, tmp_path, old, new, names)
    assert not (af_home / "features").exists() or not any((af_home / "features").iterdir())


def test_refused_run_keeps_an_existing_feature_cache(af_home: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(ML_CONFIG)
    res = invoke(af_home, "ml", "train", "-q", "--config", str(good))
    assert res.exit_code == 0, res.output
    cached = sorted((af_home / "features").glob("*.npz"))
    assert len(cached) == 1
    before = tree_hash(af_home)
    config = _config(tmp_path, "cv: null", "cv: {min_samples: 100000}")
    refused(
        invoke(af_home, "ml", "train", "-q", "--config", str(config)), str(config), "min_samples"
    )
    assert tree_hash(af_home) == before
