"""Numba on-disk cache that never goes stale.

Numba invalidates a cached function only when *its own* source file changes, but our kernels call
helpers in other files (``kernels_entry.py``, ``kernels_exec.py``, ``codes.py`` ...). The cache
therefore lives in a directory named after a fingerprint of every kernel source: change any of
them and the next run compiles afresh. An explicit ``NUMBA_CACHE_DIR`` is respected.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Any)

_configured = False
_notice: list[Callable[[], None]] = []  # see notify_first_compile


class _Compiles:
    """Time spent compiling in this process (see :func:`compile_seconds`)."""

    depth = 0  # a kernel's compile compiles the helpers it calls inside its own
    started = 0.0
    seconds = 0.0
    told = False


def kernel_fingerprint() -> str:
    root = Path(__file__).resolve().parent
    h = hashlib.blake2b(digest_size=8)
    files = sorted(root.rglob("kernels*.py")) + sorted(root.rglob("codes.py"))
    for p in files:
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def configure_cache() -> None:
    """Point Numba's cache at ``<cache>/alphaforge/numba/<fingerprint>`` (once per process)."""
    global _configured
    if _configured:
        return
    if os.environ.get("NUMBA_CACHE_DIR"):
        _configured = True
        _listen_for_compiles()
        return
    import numba

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    numba.config.CACHE_DIR = str(  # type: ignore[attr-defined]
        base / "alphaforge" / "numba" / kernel_fingerprint()
    )
    _configured = True
    _listen_for_compiles()


def compile_seconds() -> float:
    """Seconds this process has spent compiling kernels so far (cache misses only: a kernel
    loaded from the on-disk cache is not compiled). A command that reports its own speed takes
    the compiling of its run out of it, and says so, instead of reporting a first run's
    one-time compile as its speed."""
    if _Compiles.depth:  # inside a compile (a report from another thread): count it so far
        return _Compiles.seconds + time.perf_counter() - _Compiles.started
    return _Compiles.seconds


def notify_first_compile(notify: Callable[[], None]) -> None:
    """Call ``notify`` once, when Numba starts compiling a kernel in this process.

    Kernels load from the on-disk cache in milliseconds, so a compile means a cache miss: the
    first run on a machine, or the first after alphaforge changed. Compiling the kernels a
    command needs then takes tens of seconds, silently; the command line uses this to say so.
    Numba is not imported here: the listener is registered when the first kernel module
    configures the cache (:func:`configure_cache`)."""
    _notice[:] = [notify]
    _Compiles.told = False


def _listen_for_compiles() -> None:
    """Count the time of every outermost compile, and tell the first one (once)."""
    from numba.core import event

    class Compiles(event.Listener):
        def on_start(self, _event: Any) -> None:
            if _Compiles.depth == 0:
                _Compiles.started = time.perf_counter()
                if _notice and not _Compiles.told:
                    _Compiles.told = True
                    _notice[0]()
            _Compiles.depth += 1

        def on_end(self, _event: Any) -> None:
            _Compiles.depth -= 1
            if _Compiles.depth == 0:
                _Compiles.seconds += time.perf_counter() - _Compiles.started

    event.register("numba:compile", Compiles())


def helper_njit(fn: F) -> F:
    """Compile a kernel helper that never allocates and never returns an array.

    Such helpers are compiled without Numba's reference counting (``_nrt=False``): every array
    argument of an ordinary compiled call is reference counted on the way in and out (an atomic
    increment and decrement, about 5 ns per array), which made the event bars of the simulation,
    whose helpers take up to twenty arrays, cost hundreds of nanoseconds each. The arrays are
    owned by the caller for the whole call, so nothing is lost by not counting. A helper that
    allocates does not compile this way (Numba refuses), so the rule enforces itself.
    """
    from numba import njit

    options: dict[str, Any] = {"cache": True, "_nrt": False}
    return cast(F, njit(**options)(fn))


def inline_njit(fn: F) -> F:
    """Compile a per-bar kernel step that is inlined into its caller at Numba's IR level.

    The simulation's phases take named tuples of arrays; an ordinary call passes every member
    of every array (pointer, shape, strides ...), a few hundred machine words per call, on every
    bar. Inlined, the call costs nothing and the phase stays a function of its own in the
    source. Reserved for the few functions called on every bar: inlining costs compile time.
    """
    from numba import njit

    options: dict[str, Any] = {"cache": True, "_nrt": False, "inline": "always"}
    return cast(F, njit(**options)(fn))
