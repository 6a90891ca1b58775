"""The missing-Chromium line names --png and has no stray space where kaleido has no
``__version__`` (it read "needs Chromium for kaleido : install it")."""

from __future__ import annotations

import pytest

from alphaforge.reports import output


def test_missing_browser_line(monkeypatch: pytest.MonkeyPatch) -> None:
    kaleido = pytest.importorskip("kaleido", reason="PNG export needs the optional kaleido")
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    # The line is about a machine without Chromium; this one may have it.
    monkeypatch.setattr(output, "_browser_found", lambda: False)
    with pytest.raises(output.ExportError) as info:
        output.check_png_engine()
    text = str(info.value)
    version = getattr(kaleido, "__version__", "")
    assert text.startswith("--png: PNG export needs Chromium for kaleido")
    assert " :" not in text and (version in text)
