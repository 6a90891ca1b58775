"""Tutorial: replay stored bars through the trading runtime, inspect the ledger, check drift.

Runs offline: it writes alphaforge's SYNTHETIC sample market into a temporary home, replays a
year of it on the simulated venue with examples/paper_sma.yaml, and reads the ledger back with
the same commands you would use on a paper or live run.

    python examples/tutorial_paper_replay.py --home /tmp/af-tutorial
"""

from __future__ import annotations

import os
from pathlib import Path

from _tutorial import folders, tutorial_parser  # examples/_tutorial.py: --home, --out

CONFIG = Path(__file__).resolve().parent / "paper_sma.yaml"


def alphaforge(home: Path, *argv: str) -> None:
    """Run one ``alphaforge`` command in this process, as ``alphaforge --home HOME ARGV``."""
    from alphaforge.cli.app import app

    print(f"$ alphaforge {' '.join(argv)}")
    try:
        app(["--home", str(home), *argv], prog_name="alphaforge", standalone_mode=False)
    except SystemExit as exc:  # a command that exits with a status (drift: 1 = out of tolerance)
        if exc.code:
            raise
    print()


def main() -> None:
    parser = tutorial_parser(__doc__)
    args = parser.parse_args()
    home, out = folders(args)
    os.environ.setdefault("COLUMNS", "120")  # table width of the printed output

    def af(*argv: str) -> None:
        alphaforge(home, *argv)

    # 1. Bars: the SYNTHETIC sample, daily only, into HOME/store.
    af("data", "sample", "--symbols", "3", "--years", "6", "--no-intraday")
    # 2. The replay: every stored bar of 2016-2019 as if it had just closed, as fast as possible.
    af("paper", "--config", str(CONFIG.relative_to(Path.cwd()) if CONFIG.is_relative_to(Path.cwd()) else CONFIG),
       "--replay", "--from", "2016-01-04", "--to", "2019-12-31", "--speed", "max")  # fmt: skip
    # 3. The ledger, read back: the last run's state, its orders and fills, one day's P&L.
    af("status")
    af("orders")
    af("fills")
    af("pnl", "--day", "2019-12-31")
    # 4. The kill switch: halt (it survives restarts) and resume.
    af("kill")
    af("resume")
    # 5. Export the round trips, and compare the run with the backtest of the same config.
    af("export", "trades", "--csv", str(out / "trades.csv"))
    af("drift")


if __name__ == "__main__":
    main()
