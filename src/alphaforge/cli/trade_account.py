"""``alphaforge paper --replay`` of an account that runs several strategies (``strategies:``),
and the live display every replay uses."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from rich.live import Live
from rich.table import Table

from alphaforge.cli.common import console

T = TypeVar("T")


def account_view(acct: Any, t: int, eq: float, head: str) -> Table:
    """The terminal view of an account: ``head`` (the cycle), then one row per strategy
    (equity, its share, open positions, working orders, trading state) and its limits."""
    index = acct.nodes[0].panel.index
    table = Table(
        title=f"{head} {index[t]:%Y-%m-%d %H:%M}  ·  account equity {eq:,.2f}",
        title_justify="left",
    )
    for col in ("strategy", "equity", "share", "cash", "positions", "working", "state"):
        table.add_column(col, justify="left" if col in ("strategy", "state") else "right")
    for sid, node in zip(acct.ids, acct.nodes, strict=True):
        st = node.st
        held = sum(1 for j in range(st.n) if st.qty(j) != 0.0)
        working = sum(1 for o in node.oms.orders.values() if o.state.open)
        table.add_row(
            sid, f"{st.equity:,.2f}", f"{st.equity / eq:.1%}" if eq else "-", f"{st.cash:,.2f}",
            str(held), str(working), node.p.gate.state.value,
        )  # fmt: skip
    r = acct.risk
    lim = acct.limits
    parts = []
    if lim.daily_loss_limit is not None:
        loss = max(0.0, 1.0 - eq / r.day_start) if r.day_start > 0 else 0.0
        parts.append(f"day {loss:.2%} of {lim.daily_loss_limit:.1%}")
    if lim.max_drawdown is not None:
        dd = max(0.0, 1.0 - eq / r.peak) if r.peak > 0 else 0.0
        parts.append(f"drawdown {dd:.2%} of {lim.max_drawdown:.1%}")
    if lim.max_gross is not None:
        parts.append(f"gross cap {lim.max_gross:g}x")
    table.caption = "account limits: " + ("  ·  ".join(parts) if parts else "none")
    return table


def run_with_view(
    run: Callable[[Callable[[int, float], None] | None], T],
    bars: int,
    view: Callable[[int, float, float], Any],
    quiet: bool,
) -> T:
    """``run(on_bar)`` a replay of ``bars`` bars, refreshing ``view(t, equity, seconds)`` in a
    live display at most four times a second (no display when quiet or not on a terminal);
    ``seconds``: the replay's time so far, without compiling the engine (a first run)."""
    if quiet or not sys.stdout.isatty():
        return run(None)
    from alphaforge.services.pacing import replay_clock, replay_times

    started = replay_clock()
    with Live(console=console, refresh_per_second=4) as live:
        last = [0.0]

        def show(t: int, eq: float) -> None:
            now = time.perf_counter()
            if now - last[0] > 0.25 or t == bars - 1:
                last[0] = now
                live.update(view(t, eq, replay_times(started)["seconds"]))

        return run(show)


def replay_time(out: Any) -> str:
    """The "N bars in S s (R bars/s)" of a replay, and the time it spent compiling the engine first
    when it did (a first run on a machine): that is not the replay's speed."""
    text = (f"{out.bars:,} bars in {out.seconds:,.1f} s "
            f"({out.bars / max(out.seconds, 1e-9):,.0f} bars/s)")  # fmt: skip
    if out.compiling >= 0.05:
        text += (f", after {out.compiling:,.1f} s compiling the engine for this machine (once: "
                 "it is cached)")  # fmt: skip
    return text


def replay_counts(out: Any) -> str:
    """The trades and orders of a finished replay, for its summary line."""
    text = (f"{out.trades:,} closed trades, {out.orders:,} order records ({out.rejected:,} "
            "rejected by the sizing and risk rules: not_sent in the log)")  # fmt: skip
    if out.refused:
        text += f"; {out.refused:,} refused by the risk gate (reasons in the log)"
    return text


def print_lines(label: str, lines: Any) -> None:
    """``note:`` or ``warning:`` lines (a run's data notes, a replay's warnings)."""
    for line in lines:
        console.print(f"[yellow]{label}:[/] {line}", highlight=False)


def replay_end(out: Any, halted: str | None) -> None:
    """What follows a replay's summary line: the kill switch's state, its warnings, its log."""
    if halted:
        console.print(halted)
    print_lines("warning", out.warnings)
    console.print(f"log: {out.log_file}  ·  next: alphaforge pnl --run {out.run_id}")


def already_replayed(out: Any, last: Any) -> bool:
    """Say so when a replay ran no bar (a finished run started again with its --run-id)."""
    if out.bars:
        return False
    console.print(
        f"replay {out.run_id}: already replayed to its last bar ({last:%Y-%m-%d %H:%M}); "
        "nothing left to replay (a new run: leave out --run-id). Results: alphaforge pnl "
        f"--run {out.run_id}"
    )
    return True


def halt_note(ledger: Any, ended: bool = True) -> str | None:
    """A line saying the kill switch is on (a run under it opens nothing), or ``None``; in the
    past tense after a run (``ended``), else for a run that starts."""
    halt = ledger.halted()
    if halt is None:
        return None
    state = "REDUCE ONLY" if halt.reducing else "HALTED"
    what = "only exits and stops" if halt.reducing else "no new order"
    does = f"sent {what} while it was on" if ended else f"sends {what} while it is on"
    return (
        f"[bold red]{state}[/] by the kill switch since {halt.ts} ({halt.by}: {halt.reason}): "
        f"the run {does}; `alphaforge resume` lifts it"
    )


def replay_account(settings: Any, spec: Any, req: Any, quiet: bool) -> None:
    """Build, run and summarise the replay of an account of several strategies."""
    from alphaforge.services.accounts import (
        build_account_replay,
        check_account,
        run_account_replay,
    )
    from alphaforge.services.ledger import trading_ledger

    check_account(spec, replay=True)  # before the ledger is opened: the home stays as it was
    with trading_ledger(settings) as run:
        setup = run.setup = build_account_replay(spec, settings, run.ledger, req)
        print_lines("note", setup.panel.meta.get("data_notes", ()))  # (bad ticks, a short period)
        bars = setup.panel.shape[0]
        acct, first = setup.account, setup.start

        def view(t: int, eq: float, seconds: float) -> Table:
            rate = (t + 1 - first) / max(seconds, 1e-9)
            return account_view(acct, t, eq, f"cycle {t + 1:,}/{bars:,} ({rate:,.0f} bars/s)")

        out = run_with_view(partial(run_account_replay, setup, req.speed), bars, view, quiet)
        summary = account_view(setup.account, bars - 1, out.final_equity, f"{bars:,} bars")
        halted = halt_note(run.ledger)
    if already_replayed(out, setup.panel.index[-1]):
        return
    if quiet or not sys.stdout.isatty():
        console.print(summary)
    console.print(
        f"replay {out.run_id}: {len(setup.ids)} strategies on one account, {replay_time(out)}; "
        f"final equity {out.final_equity:,.2f}; {replay_counts(out)}"
    )
    replay_end(out, halted)
