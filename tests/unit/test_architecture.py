"""Layer and dependency rules of DESIGN.md, checked on the source (imports parsed with ast)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "alphaforge"


def _modules() -> Iterator[tuple[str, set[str]]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        yield rel, names


MODULES = dict(_modules())

# third-party package -> the only places allowed to import it
HOMES = {
    "numba": ("_jit.py", "kernels"),
    "duckdb": ("data/store",),
    "dask": ("optimize/dask_runner.py",),
    "distributed": ("optimize/dask_runner.py",),
    "sqlalchemy": ("data/postgres_store.py",),
    "yfinance": ("data/sources/yahoo.py",),
    "alpaca": ("data/sources/alpaca.py",),
    "ccxt": ("data/sources/ccxt_source.py", "testing/"),
    "exchange_calendars": ("data/calendars.py",),
    "optuna": ("optimize/",),
    "pypfopt": ("portfolio/",),
    "playwright": (),
}

# package -> alphaforge packages it must not import (inner layers never see outer ones)
FORBIDDEN = {
    "core/": ("alphaforge.",),
    "indicators/": (
        "alphaforge.sim",
        "alphaforge.strategy",
        "alphaforge.services",
        "alphaforge.cli",
    ),
    "sim/": ("alphaforge.services", "alphaforge.cli", "alphaforge.reports", "alphaforge.optimize"),
    "strategy/": (
        "alphaforge.services",
        "alphaforge.cli",
        "alphaforge.reports",
        "alphaforge.optimize",
    ),
    "analytics/": ("alphaforge.sim", "alphaforge.services", "alphaforge.cli", "alphaforge.reports"),
    "data/": ("alphaforge.sim", "alphaforge.strategy", "alphaforge.services", "alphaforge.cli"),
    "reports/": ("alphaforge.cli", "alphaforge.services"),
    "optimize/": ("alphaforge.cli",),
    "services/": ("alphaforge.cli",),
}


@pytest.mark.parametrize("package", sorted(HOMES))
def test_heavy_library_has_one_home(package: str) -> None:
    allowed = HOMES[package]
    offenders = [
        rel
        for rel, names in MODULES.items()
        if any(n == package or n.startswith(package + ".") for n in names)
        and not any(rel.startswith(a) or f"/{a}" in f"/{rel}" for a in allowed)
    ]
    assert offenders == [], f"{package} imported outside {allowed}: {offenders}"


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_inner_layers_do_not_import_outer(layer: str) -> None:
    banned = FORBIDDEN[layer]
    offenders = [
        f"{rel} -> {n}"
        for rel, names in MODULES.items()
        if rel.startswith(layer)
        for n in names
        if n.startswith(banned) and not (layer == "core/" and n.startswith("alphaforge.core"))
    ]
    assert offenders == []


def test_numba_functions_live_in_kernel_files() -> None:
    """Numba-compiled functions end in ``_nb`` and live only in ``kernels*.py``."""
    bad = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if "@njit" in text and not path.name.startswith("kernels"):
            bad.append(path.name)
        if path.name.startswith("kernels"):
            for node in ast.walk(ast.parse(text)):
                if (
                    isinstance(node, ast.FunctionDef)
                    and any("njit" in ast.unparse(d) for d in node.decorator_list)
                    and not node.name.endswith("_nb")
                ):
                    bad.append(f"{path.name}:{node.name}")
    assert bad == []
