"""An unexpected error raised inside a compiled library (pandas' Cython: frames named
``pandas/_libs/tslibs/parsing.pyx``) is not taken for a user's file: the line used to read
"error: pandas/_libs/tslibs/parsing.pyx:731 in ...dateutil_parse: OutOfBoundsDatetime ..."."""

from __future__ import annotations

import traceback

import pandas as pd
import pytest

from alphaforge.cli.common import unexpected_error_text, user_frame


def test_error_inside_pandas_cython_is_not_a_user_frame() -> None:
    """The innermost frame outside the libraries is this test's call into pandas, not the
    Cython frames below it."""
    with pytest.raises(Exception) as info:
        pd.to_datetime(["46007791315-06-09"], utc=True, format="mixed")
    exc = info.value
    frames = traceback.extract_tb(exc.__traceback__)
    assert frames[-1].filename.endswith(".pyx")  # the premise: raised inside Cython
    found = user_frame(exc)
    assert found is not None and found.filename == __file__
    text = unexpected_error_text(exc)
    assert text.startswith(f"{__file__}:{found.lineno} in test_error_inside_pandas_cython")
    assert ".pyx" not in text and type(exc).__name__ in text


def test_a_users_file_is_still_named() -> None:
    def inner() -> None:
        raise ValueError("bad thing")

    with pytest.raises(ValueError, match="bad thing") as info:
        inner()
    text = unexpected_error_text(info.value)
    assert text.startswith(f"{__file__}:") and " in inner: ValueError: bad thing" in text
