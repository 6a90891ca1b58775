"""The paper run of the account of :mod:`tests.integration.alpaca_account` on the Alpaca
stand-in, in a process of its own, on a market clock the test process keeps: ``now`` and
``sleep`` are HTTP calls to it (``GET /now``, ``POST /sleep``), so time passes only when the
test says, and the test can kill this process at any point of a cycle.

    python -m tests.integration.alpaca_account_child HOME BROKER_URL STREAM_URL CLOCK_URL RUN_ID UNTIL

The Alpaca keys come from the environment (``ALPHAFORGE_ALPACA_API_KEY``, ``..._SECRET_KEY``);
the ledger is ``HOME/ledger.db``; the run continues ``RUN_ID`` when the ledger has it, and runs
until the clock is past ``UNTIL``.
"""

from __future__ import annotations

import faulthandler
import json
import signal
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
from tests.integration.alpaca_account import account_spec

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.paper import build_paper, run_paper


def _call(url: str, body: dict[str, Any] | None = None) -> pd.Timestamp:
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(url, data=data, timeout=60) as r:  # the test, on 127.0.0.1
        return pd.Timestamp(json.loads(r.read())["now"])


def main(argv: list[str]) -> None:
    faulthandler.register(signal.SIGUSR1)  # the test asks for the stacks of a stuck run
    home, base_url, stream_url, clock, run_id, end = argv
    until = pd.Timestamp(end)
    spec = RunSpec.model_validate(
        {**account_spec(None), "broker": {"name": "alpaca", "base_url": base_url,
                                          "stream_url": stream_url}}
    )  # fmt: skip
    settings = AppSettings(home=Path(home))
    state: dict[str, pd.Timestamp] = {"now": _call(f"{clock}/now")}

    def now() -> pd.Timestamp:
        return state["now"]

    def sleep(seconds: float) -> None:
        state["now"] = _call(f"{clock}/sleep", {"seconds": seconds})

    with Ledger.open(f"sqlite:///{Path(home) / 'ledger.db'}") as ledger:
        setup = build_paper(spec, settings, ledger, run_id, now())
        try:
            run_paper(setup, now, sleep, lambda: now() > until)
        finally:
            setup.close()


if __name__ == "__main__":
    main(sys.argv[1:])
