"""Writing report files: atomic text writes and PNG export of figures through kaleido."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import plotly.graph_objects as go

from alphaforge.atomic import atomic_write_text
from alphaforge.core.errors import AlphaforgeError

PNG_WIDTH = 1200
PNG_SCALE = 1.5


class ExportError(AlphaforgeError):
    """Charts could not be exported as images (no kaleido or no Chromium)."""


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temp file in the same directory and a rename."""
    return atomic_write_text(path, text)


def check_png_engine() -> None:
    """Raise :class:`ExportError` with a one-line reason when PNG export cannot work here."""
    try:
        import kaleido
    except ImportError:
        raise ExportError(
            "--png: PNG export needs the kaleido package: pip install 'alphaforge[dashboard]'"
        ) from None
    if not _browser_found():
        version = getattr(kaleido, "__version__", "")
        raise ExportError(
            f"--png: PNG export needs Chromium for kaleido{' ' + version if version else ''}: "
            "install it (e.g. apt-get install -y chromium) or set BROWSER_PATH"
        )


def _browser_found() -> bool:
    if os.environ.get("BROWSER_PATH"):
        return True
    try:
        from choreographer.browsers.chromium import Chromium

        return bool(Chromium.find_browser(skip_local=False))
    except Exception:
        names = ("chromium", "chromium-browser", "google-chrome", "chrome")
        return any(shutil.which(n) for n in names)


def export_pngs(figures: Mapping[str, go.Figure], directory: str | Path) -> list[Path]:
    """Write each figure as ``<directory>/<name>.png``; return the paths in order.

    Raises
    ------
    ExportError
        When kaleido or a Chromium browser is missing, or the export fails.
    """
    check_png_engine()
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ExportError(f"--png {out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png" for name in figures]
    try:
        import plotly.io as pio

        pio.write_images(
            list(figures.values()), paths, format="png", width=PNG_WIDTH, scale=PNG_SCALE
        )
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"PNG export to {out} failed: {first}") from None
    return paths
