"""Drift: a paper, replay or live run from the ledger against the backtest of its period.

The run's config is in the ledger (the run spec as JSON); :func:`drift_report` runs the backtest
of that spec over the run's bars and compares trades, fill costs and equity.

The verdict: a run is **within tolerance** when every trade matches (each closed round trip of
either side has its partner with the same symbol, side and entry bar, and the positions still
open are the same) and the total-return difference is at most
``max(tolerance x |backtest return|, floor)``; with the defaults, 5 % of the backtest's return
or 0.5 percentage points, whichever is larger (the floor keeps a backtest that barely moved from
asking for an exact match). Price, quantity and exit-reason differences of matched trades are
reported, not judged: they show up in the returns.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from pydantic import ValidationError

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec, recorded_spec
from alphaforge.core.errors import ConfigError, DataError
from alphaforge.core.jsonvalues import json_safe
from alphaforge.core.panel import utc_time
from alphaforge.ledger import Ledger, RunInfo
from alphaforge.services.backtest import run_spec
from alphaforge.services.drift_compare import (
    CostComparison,
    MatchedTrade,
    OpenPosition,
    ReturnComparison,
    UnmatchedTrade,
    compare_costs,
    compare_open,
    compare_returns,
    match_trades,
    trade_slippage,
)
from alphaforge.services.ledger import run_info

__all__ = [
    "DEFAULT_FLOOR",
    "DEFAULT_TOLERANCE",
    "CostComparison",
    "DriftReport",
    "MatchedTrade",
    "OpenPosition",
    "ReturnComparison",
    "UnmatchedTrade",
    "drift_report",
    "inherent_differences",
]

DEFAULT_TOLERANCE = 0.05  # of the backtest's total return, relative
DEFAULT_FLOOR = 0.005  # absolute return difference always allowed (0.5 percentage points)


@dataclass(frozen=True)
class DriftReport:
    """A run against its backtest; see the module docstring for the verdict rule."""

    run_id: str
    mode: str
    venue: str
    strategy: str
    start: str
    end: str
    tolerance: float
    floor: float
    matched: tuple[MatchedTrade, ...]
    run_only: tuple[UnmatchedTrade, ...]
    backtest_only: tuple[UnmatchedTrade, ...]
    open_positions: tuple[OpenPosition, ...]
    costs: CostComparison
    returns: ReturnComparison
    inherent: tuple[str, ...]  # differences the run's config makes unavoidable
    warnings: tuple[str, ...]  # the backtest's own

    @property
    def allowed_return_diff(self) -> float:
        return max(self.tolerance * abs(self.returns.return_backtest), self.floor)

    @property
    def returns_ok(self) -> bool:
        return abs(self.returns.return_diff) <= self.allowed_return_diff + 1e-12

    @property
    def trades_ok(self) -> bool:
        opened = all(p.matches for p in self.open_positions)
        return not self.run_only and not self.backtest_only and opened

    @property
    def within_tolerance(self) -> bool:
        return self.returns_ok and self.trades_ok

    def failures(self) -> list[str]:
        """Why the run is not within tolerance (empty when it is)."""
        out = []
        if not self.returns_ok:
            out.append(
                f"return differs by {self.returns.return_diff * 100:+.2f} pp "
                f"(allowed ±{self.allowed_return_diff * 100:.2f} pp)"
            )
        if self.run_only:
            out.append(f"{len(self.run_only)} trade(s) only in the run")
        if self.backtest_only:
            out.append(f"{len(self.backtest_only)} trade(s) only in the backtest")
        bad = [p.symbol for p in self.open_positions if not p.matches]
        if bad:
            out.append(f"open positions differ in {', '.join(bad)}")
        return out

    def verdict(self) -> str:
        """One line: within tolerance or not, and why."""
        r = self.returns
        n = len(self.matched) + len(self.run_only) + len(self.backtest_only)
        head = (
            f"return {r.return_run:+.2%} vs backtest {r.return_backtest:+.2%} "
            f"(diff {r.return_diff * 100:+.2f} pp, allowed ±{self.allowed_return_diff * 100:.2f} "
            f"pp); {len(self.matched)}/{n} trades matched"
        )
        if self.within_tolerance:
            return f"WITHIN TOLERANCE: {head}"
        return f"OUT OF TOLERANCE: {head}; " + "; ".join(self.failures())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, the derived differences and the verdict."""
        head = {k: getattr(self, k) for k in _HEAD}
        return json_safe(
            {
                **head,
                "within_tolerance": self.within_tolerance,
                "verdict": self.verdict(),
                "allowed_return_diff": self.allowed_return_diff,
                "failures": self.failures(),
                "returns": _with_props(self.returns, ("final_equity_diff", "return_diff")),
                "costs": _with_props(self.costs, ("cost_bps_run", "cost_bps_backtest")),
                "matched": [_with_props(m, _TRADE_PROPS) for m in self.matched],
                "run_only": [asdict(u) for u in self.run_only],
                "backtest_only": [asdict(u) for u in self.backtest_only],
                "open_positions": [_with_props(p, ("matches",)) for p in self.open_positions],
                "inherent": list(self.inherent),
                "warnings": list(self.warnings),
            }
        )

    def trades_frame(self) -> pd.DataFrame:
        """Every round trip, one row each: matched ones with both sides, then those of one
        side only (``status``: matched, run_only, backtest_only)."""
        rows = [{"status": "matched", **_with_props(m, _TRADE_PROPS)} for m in self.matched]
        for u in (*self.run_only, *self.backtest_only):
            d = asdict(u)
            side = "run" if d.pop("source") == "run" else "backtest"
            rows.append(
                {"status": f"{side}_only", "symbol": d.pop("symbol"), "side": d.pop("side"),
                 "entry_time": d.pop("entry_time"),
                 **{(f"{k}_{side}" if k != "exit_time" else f"exit_time_{side}"): v
                    for k, v in d.items()}}
            )  # fmt: skip
        return pd.DataFrame(rows)


_HEAD = ("run_id", "mode", "venue", "strategy", "start", "end", "tolerance", "floor")
_TRADE_PROPS = ("qty_diff", "entry_diff_bps", "exit_diff_bps", "reasons_agree", "pnl_diff")


def _with_props(obj: Any, props: tuple[str, ...]) -> dict[str, Any]:
    return {**asdict(obj), **{p: getattr(obj, p) for p in props}}


def run_spec_of(run: RunInfo, curve: pd.DataFrame, unfinished: bool = False) -> RunSpec:
    """The run spec recorded with ``run``, over the run's period (its replay range, else the
    bars of its equity snapshots; up to its last snapshot when it is ``unfinished``, see
    :func:`unfinished_note`)."""
    try:
        spec = recorded_spec(json.loads(run.config_text))
    except (json.JSONDecodeError, ValidationError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"run {run.run_id}: its recorded config is not a run spec ({first})"
        ) from None
    spec._source = f"run {run.run_id}"
    start = run.replay_from or (curve.index[0].isoformat() if len(curve) else None)
    end = run.replay_to or (curve.index[-1].isoformat() if len(curve) else None)
    if unfinished:  # the run's own bars: up to where it got
        end = curve.index[-1].isoformat()
    if start is None or end is None:
        raise DataError(f"run {run.run_id}: no period (no replay range and no equity recorded)")
    spec.start, spec.end = start, end
    return spec


def unfinished_note(run: RunInfo, curve: pd.DataFrame) -> str | None:
    """A replay that stopped (or still runs) before its last bar: it is compared over the bars
    it got to, and the report says so (a backtest over the whole period made its missing
    trades look like drift)."""
    if not run.replay_to or not len(curve):
        return None
    last, planned = utc_time(curve.index[-1]), utc_time(run.replay_to)
    if last >= planned:
        return None
    return (
        f"run {run.run_id} stopped at {last.isoformat()} before its last bar "
        f"{planned.isoformat()} (unfinished, or still running): compared up to where it got; "
        "continue it with alphaforge paper --replay and its --run-id, then compare again"
    )


def inherent_differences(spec: RunSpec, run: RunInfo) -> tuple[str, ...]:
    """The differences between the run and its backtest that its config makes unavoidable
    (none for a replay on the simulated venue without a participation cap or runtime limits:
    it fills with the backtest's own rules)."""
    sim = run.venue == "simulated"
    ex, costs, rt = spec.exits, spec.costs, spec.runtime
    out = []
    if not sim:
        out.append(
            f"fills at {run.venue}: market orders fill at the broker's price when they arrive, "
            "with its real spread and commission, not at the next bar's open with the "
            "configured slippage and commission"
        )
    if run.venue == "alpaca" and spec.direction == "long_short":
        out.append(
            "reversals at alpaca: Alpaca takes no position through zero in one order, so a "
            "reversal's market entry is sent once its exit has filled (on a live feed at the "
            "price seconds after the open); a limit or stop entry sent with its exit is "
            "refused (insufficient qty available), and the run is flat where the backtest "
            "reversed"
        )
    if len(run.strategies) > 1:
        out.append(
            "an account of several strategies: orders crossed with another strategy's at the "
            "same open fill inside the account at the open, without commission or slippage"
        )
    if not sim and run.mode != "replay":
        out.append(
            "sizing on a live feed: an order leaves at the close that decides it, sized with "
            "that close; the backtest sizes with the next open (a gap changes quantities)"
        )
    protected = ex.stop_loss is not None or ex.take_profit is not None
    if not sim and (protected or ex.trailing_stop is not None):
        out.append(
            "protective stop / target filled at the broker when touched, at the market, not "
            "on bar highs and lows at the level"
        )
        out.append(
            f"a bar that touches both stop and target: the backtest takes {ex.ambiguity}, "
            "the broker whichever was touched first"
        )
    if costs.participation > 0:
        out.append(
            f"participation-capped fills ({costs.participation:g} of bar volume): entries after "
            "a partially filled exit at the same open are sized as if the exit had filled"
        )
    if rt.window is not None:
        out.append(
            f"runtime.window {rt.window}: the strategy sees its last {rt.window} bars, the "
            "backtest all since the start (equal only if its look-back is shorter)"
        )
    if rt.max_order_value > 0 or rt.max_order_qty > 0:
        out.append(
            "runtime order limits (max_order_value / max_order_qty): orders above them are "
            "refused in the run and placed in the backtest"
        )
    if run.mode != "replay":
        out.append(
            "bars: the backtest uses the bars stored now, the run saw them as they arrived "
            "(late corrections differ)"
        )
    return tuple(out)


def _switch_difference(ledger: Ledger, run_id: str, strategy: str | None) -> tuple[str, ...]:
    """The orders the kill switch refused during the run (halted or reducing): the backtest,
    which has no switch, placed them."""
    n, first, last = ledger.switch_refusals(run_id, strategy)
    if not n:
        return ()
    span = first if first == last else f"{first} to {last}"
    return (
        f"the kill switch refused {n} order(s) of the run ({span}: halted or reduce-only); the "
        "backtest has no switch and placed them",
    )


def _account_differences(spec: RunSpec, strategy: str | None) -> tuple[str, ...]:
    """The differences an account's venue makes for ``strategy`` (see
    :func:`alphaforge.services.accounts.wash_trade_risks`)."""
    if spec.strategies is None:
        return ()
    from alphaforge.services.accounts import wash_trade_risks

    return tuple(wash_trade_risks(spec, strategy))


def _one_strategy(spec: RunSpec, strategy: str | None) -> tuple[RunSpec, str | None]:
    """The spec the backtest runs: the run's, or for an account of several strategies the one
    ``strategy`` names (its rules and its allocation of the cash, as it traded)."""
    if spec.strategies is None:
        if strategy is not None:
            raise ConfigError(f"--strategy {strategy}: the run has one strategy; drop --strategy")
        return spec, None
    from alphaforge.services.accounts import sleeve_id, sleeve_spec

    ids = [sleeve_id(sl) for sl in spec.strategies]
    if strategy not in ids:
        got = "" if strategy is None else f" (got {strategy!r})"
        raise ConfigError(
            f"--strategy: the run is an account of {', '.join(ids)}; name one of them{got}"
        )
    one = sleeve_spec(spec, ids.index(strategy))
    one.start, one.end = spec.start, spec.end
    one._recorded = True  # the run happened: its backtest takes the rules as they ran
    return one, strategy


def drift_report(
    ledger: Ledger,
    run_id: str,
    settings: AppSettings,
    tolerance: float = DEFAULT_TOLERANCE,
    floor: float = DEFAULT_FLOOR,
    strategy: str | None = None,
) -> DriftReport:
    """Compare the run ``run_id`` of ``ledger`` with the backtest of its spec and period.

    Raises
    ------
    StoreError
        When the run is not in the ledger.
    ConfigError
        When its recorded config is not a run spec, or ``tolerance`` / ``floor`` is negative.
    DataError
        When the bars of its period cannot be loaded, or the run and the backtest share no bar.
    """
    if not (tolerance >= 0 and floor >= 0):
        raise ConfigError(f"--tolerance: must be zero or more (got {tolerance:g})")
    run = run_info(ledger, run_id)
    full_curve = ledger.equity_curve(run_id)
    unfinished = unfinished_note(run, full_curve)
    whole = run_spec_of(run, full_curve, unfinished is not None)
    spec, strategy = _one_strategy(whole, strategy)
    curve = ledger.equity_curve(run_id, strategy)
    result = run_spec(spec, settings)
    ppy = float(result.config.get("periods_per_year") or 252.0)
    returns = compare_returns(curve, result.equity, float(spec.cash), ppy)
    if returns is None:
        raise DataError(
            f"run {run_id}: no equity snapshot on the backtest's bars {spec.start} .. {spec.end}"
        )
    fills = ledger.fills(run_id, strategy)
    orders = {o.client_id: o for o in ledger.orders(run_id)}
    bt = result.trades
    is_open = bt["exit_reason"] == "end_of_data"
    matched, run_only, bt_only = match_trades(
        ledger.trades(run_id, strategy), trade_slippage(fills), orders, bt[~is_open],
        result.index,
    )  # fmt: skip
    return DriftReport(
        run_id=run_id, mode=run.mode, venue=run.venue,
        strategy=str(spec.strategy) if strategy is None else f"{strategy} ({spec.strategy})",
        start=str(spec.start), end=str(spec.end), tolerance=tolerance, floor=floor,
        matched=tuple(matched), run_only=tuple(run_only), backtest_only=tuple(bt_only),
        open_positions=tuple(compare_open(ledger.positions(run_id, strategy), bt[is_open])),
        costs=compare_costs(fills, result.orders, bt), returns=returns,
        inherent=inherent_differences(spec, run) + _account_differences(whole, strategy)
        + _switch_difference(ledger, run_id, strategy),
        warnings=((unfinished,) if unfinished else ()) + tuple(result.warnings),
    )  # fmt: skip
