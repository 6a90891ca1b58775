"""What the tests of an account of several strategies on the simulated venue share: the
account replayed, a strategy replayed alone (the reference that is independent of the netting
desk), the account identities and the trades field by field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.core.errors import IdleSettingError
from alphaforge.ledger import Ledger
from alphaforge.services.accounts import (
    AccountSetup,
    build_account_replay,
    run_account_replay,
    sleeve_spec,
)
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay

NOW = ReplayRequest(None, None, None)
FIELDS = ("symbol", "side", "entry_ts", "exit_ts", "qty", "entry_price", "exit_price", "fees",
          "pnl", "exit_reason")  # fmt: skip
Trips = Callable[[Ledger, str], list[tuple[Any, ...]]]


def trips(ledger: Ledger, run_id: str, strategy: str | None = None) -> list[tuple[Any, ...]]:
    """Every trade, field by field (quantities, prices, fees and P&L to 1e-6)."""
    out = []
    for t in ledger.trades(run_id, strategy):
        row = []
        for f in FIELDS:
            v = getattr(t, f)
            row.append(round(float(v), 6) if f in FIELDS[4:9] else v)
        out.append(tuple(row))
    return sorted(out, key=repr)


def replay_account(spec: RunSpec, home: Path, ledger: Ledger) -> AccountSetup:
    """The account of ``spec`` replayed to its end (the run left open for the caller)."""
    setup = build_account_replay(spec, AppSettings(home=home), ledger, NOW)
    run_account_replay(setup, None)
    return setup


def solo(spec: RunSpec, k: int, home: Path, of: Trips = trips) -> list[tuple[Any, ...]]:
    """Strategy ``k`` replayed alone, on its own venue, with its allocation of the cash; its
    trades as ``of`` lists them."""
    one = sleeve_spec(spec, k)
    with Ledger.open(f"sqlite:///{home / f'solo{k}.db'}") as ledger:
        try:
            setup = build_replay(one, AppSettings(home=home), ledger, NOW)
        except IdleSettingError as exc:
            # the account's time in force is for its limit entries: a strategy of market
            # entries alone refuses it (it does nothing there), so it runs with the default
            assert ": time_in_force: keeps limit / stop entries working" in str(exc), exc
            one = one.model_copy(update={"time_in_force": "day"})
            setup = build_replay(one, AppSettings(home=home), ledger, NOW)
        run_replay(setup, None)
        return of(ledger, setup.run_id)


def identities(setup: AccountSetup, ledger: Ledger, rel: float | None = None) -> None:
    """The strategies' cash and the account's reserve (the cash no strategy is allocated) and
    the strategies' positions add up to the venue's account (the positions exactly, or to
    ``rel``)."""
    venue = setup.account.desk.venue
    cash = sum(n.st.cash for n in setup.nodes) + setup.account.reserve
    assert cash == pytest.approx(venue.account().cash, rel=1e-12)
    held: dict[str, float] = {}
    for p in ledger.positions(setup.run_id):
        held[p.symbol] = held.get(p.symbol, 0.0) + float(p.qty)
    at_venue = {p.symbol: p.qty for p in venue.positions()}
    mine = {s: q for s, q in held.items() if q}
    assert mine == (at_venue if rel is None else pytest.approx(at_venue, rel=rel))
