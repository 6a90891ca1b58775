"""The calendar table of alphaforge.core.calendar agrees with exchange_calendars.

Time zones, regular-session lengths (lunch breaks excluded) and names are read from the library
that builds the session lists, on an ordinary fortnight of 2025.
"""

from __future__ import annotations

import warnings

import exchange_calendars as xcals
import pytest

from alphaforge.core.calendar import ALIASES, CALENDARS, Calendar
from alphaforge.data import calendars


def _xcal(name: str) -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xcals.get_calendar(name)


def _regular_minutes(cal: xcals.ExchangeCalendar) -> set[float]:
    out = set()
    for day in cal.sessions_in_range("2025-03-03", "2025-03-14"):
        minutes = (cal.session_close(day) - cal.session_open(day)).total_seconds() / 60
        if cal.session_has_break(day):
            brk = cal.session_break_end(day) - cal.session_break_start(day)
            minutes -= brk.total_seconds() / 60
        out.add(minutes)
    return out


@pytest.mark.parametrize("cal", list(CALENDARS.values()), ids=list(CALENDARS))
def test_time_zone_and_session_length_match_exchange_calendars(cal: Calendar) -> None:
    xcal = _xcal(cal.name)
    assert str(xcal.tz) == cal.tz
    assert _regular_minutes(xcal) == {float(cal.session_minutes)}


def test_aliases_known_to_exchange_calendars_mean_the_same_exchange() -> None:
    known = set(xcals.get_calendar_names(include_aliases=True))
    for alias, name in ALIASES.items():
        if alias in known:
            assert str(_xcal(alias).tz) == CALENDARS[name].tz, alias


@pytest.mark.parametrize("name", ["24x7", "crypto", "NYSE", "xtks"])
def test_the_data_layer_resolves_names_through_the_core_table(name: str) -> None:
    assert calendars.canonical_name(name) in CALENDARS
    assert len(calendars.sessions(name, "2025-03-03", "2025-03-07")) == 5
