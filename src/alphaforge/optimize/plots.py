"""Self-contained Plotly HTML: objective heatmap over two parameters, parallel coordinates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def _write(fig: object, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.write_html(str(tmp), include_plotlyjs=True, full_html=True)  # type: ignore[attr-defined]
    tmp.replace(path)
    return path


def heatmap(
    table: pd.DataFrame, x: str, y: str, path: Path, col: str = "objective", title: str = ""
) -> Path:
    """``col`` over ``x`` (columns) and ``y`` (rows); the max over any other parameters.

    Cells with no valid trial (e.g. fast >= slow) are blank.
    """
    import plotly.graph_objects as go

    grid = table.pivot_table(index=y, columns=x, values=col, aggfunc="max")
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(dtype=float),
            x=[str(v) for v in grid.columns],
            y=[str(v) for v in grid.index],
            colorscale="RdYlGn",
            colorbar={"title": col},
            hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{col}=%{{z:.3f}}<extra></extra>",
        )
    )
    fig.update_layout(title=title or f"{col} by {x} and {y}", xaxis_title=x, yaxis_title=y)
    return _write(fig, path)


def parallel_coordinates(
    table: pd.DataFrame, params: Sequence[str], path: Path, col: str = "objective"
) -> Path:
    """One line per trial through every parameter and the objective, coloured by it."""
    import plotly.graph_objects as go

    dims = []
    for p in [*params, col]:
        v = table[p]
        if v.dtype == object or v.dtype == bool:
            codes, labels = pd.factorize(v.astype(str), sort=True)
            dims.append(
                {"label": p, "values": codes, "tickvals": list(range(len(labels))),
                 "ticktext": list(labels)}
            )  # fmt: skip
        else:
            dims.append({"label": p, "values": v.to_numpy(dtype=float)})
    values = table[col].to_numpy(dtype=float)
    floor = float(np.nanmin(values)) if np.isfinite(values).any() else 0.0  # all NaN: flat
    color = np.nan_to_num(values, nan=floor)
    fig = go.Figure(
        go.Parcoords(
            line={"color": color, "colorscale": "RdYlGn", "showscale": True}, dimensions=dims
        )
    )
    fig.update_layout(title=f"trials: parameters and {col}")
    return _write(fig, path)
