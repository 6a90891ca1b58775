"""``alphaforge reconcile``: a run's differences with its venue, shown, and with ``apply``
resolved as a restart would resolve them.

One strategy: :func:`alphaforge.services.trading.reconcile_run`. An account of several
strategies is opened as it runs (on a broker, its netting desk first routes what the broker did
and makes the strategies' positions add up to the broker's; then every strategy reconciles its
share); ``apply`` writes every strategy's resolutions, the desk's order updates and the
account's state (the desk's book: the strategies' attributed positions, the working net
orders) in one transaction, so a restart of the run finds nothing left to resolve.
"""

from __future__ import annotations

import json
from typing import Any

from alphaforge.config.specs import recorded_spec
from alphaforge.engine.reconcile import Difference
from alphaforge.ledger import Ledger
from alphaforge.services import trading
from alphaforge.services.ledger import find_run


def reconcile_run(
    settings: Any, ledger: Ledger, run_id: str | None, apply: bool
) -> tuple[str, list[Difference]]:
    """Compare run ``run_id`` (default: the last) with its venue; with ``apply`` the
    resolutions are written (one transaction, at the run's last bar). Returns the run id and
    the differences."""
    from alphaforge.services.accounts import build_account_replay

    run = find_run(ledger, run_id)
    spec = recorded_spec(json.loads(run.config_text))
    if spec.strategies is None:
        return trading.reconcile_run(settings, ledger, run.run_id, apply)
    spec._source = f"run {run.run_id}"
    req = trading.ReplayRequest(None, None, None, run.run_id)
    setup = build_account_replay(spec, settings, ledger, req)
    try:
        diffs = [d for node in setup.nodes for d in node.pending_reconciliation()]
        last = ledger.last_bar(run.run_id)
        if apply and diffs and last is not None:
            setup.account.write_reconciliation(last, setup.start - 1)
    finally:
        setup.close()
    return run.run_id, diffs
