"""Every decision of a replay is a line of its log with its reason, the entries its sizing
rules did not place too (they were only rows of the ledger's decisions, which no command
shows, while the summary counted them as rejected)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke

pytestmark = pytest.mark.integration


def test_entries_the_sizing_refuses_are_logged_with_their_reason(
    af_home: Path, tmp_path: Path
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(REPLAY_CONFIG.replace("cash: 100000", "cash: 10"))  # not one share
    res = invoke(af_home, "paper", "--config", str(config), "--replay", "--from", "2014-01-02",
                 "--to", "2014-12-31", "-q", "--run-id", "tiny")  # fmt: skip
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    found = re.search(r"(\d+) order records \((\d+) rejected by the sizing and risk rules", text)
    assert found is not None, text
    rejected = int(found.group(2))
    assert rejected > 0 and found.group(1) == found.group(2)  # every entry: not one share
    lines = [json.loads(x) for x in (af_home / "logs" / "tiny.jsonl").read_text().splitlines()]
    not_sent = [x for x in lines if x["event"] == "not_sent"]
    assert len(not_sent) == rejected
    assert {x["reason"] for x in not_sent} == {"insufficient_cash"}
    assert {x["symbol"] for x in not_sent} == {"SYN01"} and {x["side"] for x in not_sent} == {"buy"}
