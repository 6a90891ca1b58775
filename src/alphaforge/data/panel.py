"""Deprecated home of :class:`~alphaforge.core.panel.Panel`; import it from ``alphaforge.core.panel``.

Kept as a re-export until every importer has moved.
"""

from __future__ import annotations

from alphaforge.core.panel import FIELDS, Panel

__all__ = ["FIELDS", "Panel"]
