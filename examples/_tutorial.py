"""What every tutorial script shares: ``--home`` and ``--out``, and the folders they name."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def tutorial_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with ``--home`` and ``--out``; add a tutorial's own options to it."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument(
        "--home", type=Path, default=None,
        help="alphaforge home (default: a new temporary directory)",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=None, help="where to write outputs (default: HOME/tutorial)"
    )
    return parser


def folders(args: argparse.Namespace) -> tuple[Path, Path]:
    """(home, out): the given folders, or a new temporary home with ``tutorial/`` in it."""
    home = args.home or Path(tempfile.mkdtemp(prefix="alphaforge-tutorial-"))
    out = args.out or home / "tutorial"
    out.mkdir(parents=True, exist_ok=True)
    return home, out
