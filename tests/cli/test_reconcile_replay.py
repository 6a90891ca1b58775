"""``reconcile`` of a replay: the run traded on the simulated venue, whose account is the
ledger's own, so there is nothing to reconcile (it used to say "the ledger and the broker
agree", though a replay has no broker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import invoke, tree_hash

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("args", [(), ("--run", "r1"), ("--apply",)], ids=["last", "run", "apply"])
def test_a_replay_has_nothing_to_reconcile(af_home: Path, args: tuple[str, ...]) -> None:
    before = tree_hash(af_home)
    res = invoke(af_home, "reconcile", *args)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert text.startswith("r1: traded on the simulated venue")
    assert "nothing to reconcile" in text and "broker agree" not in text
    assert tree_hash(af_home) == before
