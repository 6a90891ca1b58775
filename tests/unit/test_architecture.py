"""Layer and dependency rules of docs/architecture.md.

The layering, the independence of siblings, the absence of package cycles and most heavy-library
homes are import-linter contracts in ``pyproject.toml`` (``[tool.importlinter]``); ``make test``
runs ``lint-imports`` before pytest, and :func:`test_import_contract` runs each contract here so
that a plain ``pytest`` run checks them too. What import-linter cannot express is checked on the
source with ast below: Numba's home is a file-name pattern (``kernels*.py``), and libraries that
no module imports today are absent from import-linter's graph.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "alphaforge"
PYPROJECT = ROOT / "pyproject.toml"
CONTRACTS = [
    c["id"] for c in tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
]


@pytest.mark.parametrize("contract", CONTRACTS)
def test_import_contract(contract: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = lint_imports(
        config_filenames=(str(PYPROJECT),),
        limit_to_contracts=(contract,),
        no_cache=True,
        no_logo=True,
    )
    report = capsys.readouterr().out
    assert code == 0, report[report.find("Broken contracts") :]


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

# third-party package -> the only places allowed to import it (the others are import-linter
# "protected" contracts)
HOMES = {
    "numba": ("_jit.py", "kernels"),  # any kernels*.py: a pattern import-linter cannot match
    "distributed": ("optimize/dask_runner.py",),  # imported nowhere yet
    "playwright": (),  # tests only
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


def _declared() -> dict[str, str]:
    """Every distribution pyproject.toml declares (normalized name -> 'core' or its extra)."""
    import re

    project = tomllib.loads(PYPROJECT.read_text())["project"]
    found: dict[str, str] = {}
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    for group, specs in groups.items():
        for spec in specs:
            name = re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]
            found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), group)
    return found


def test_every_imported_library_is_declared() -> None:
    """A library imported by alphaforge's source is declared in pyproject.toml (core or an
    extra): one that is only present because another package pulls it in goes missing on a
    new machine when that package changes (``click`` did when typer started shipping its own
    copy, and ``make demo`` failed to start)."""
    import importlib.metadata as md
    import re
    import sys

    owners = md.packages_distributions()
    declared = _declared()
    missing = []
    for rel, names in MODULES.items():
        for name in sorted(names):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ("alphaforge", "__future__"):
                continue
            dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(top, [])}
            if not dists & set(declared):
                missing.append(f"{rel}: {name} ({', '.join(sorted(dists)) or 'not installed'})")
    assert missing == [], "imported but not declared in pyproject.toml:\n" + "\n".join(missing)
