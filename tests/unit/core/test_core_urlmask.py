"""Passwords of database URLs never reach a message (user part, query, a misread ``@``)."""

from __future__ import annotations

import pytest

from alphaforge.core.urlmask import mask_url, scrub_secrets, url_secrets


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:secret@host:5432/db", "postgresql://u:***@host:5432/db"),
        ("postgresql://u:p@ss%word@host/db", "postgresql://u:***@host/db"),
        ("postgresql://host/db?user=u&password=QuerySecret9",
         "postgresql://host/db?user=u&password=***"),
        ("postgresql://host/db?Password=x1y2&sslmode=require",
         "postgresql://host/db?Password=***&sslmode=require"),
        ("postgresql://host/db?sslpassword=k3y", "postgresql://host/db?sslpassword=***"),
        ("sqlite:////home/u/ledger.db", "sqlite:////home/u/ledger.db"),
        ("postgresql://u@host/db", "postgresql://u@host/db"),
    ],
)  # fmt: skip
def test_mask_url_hides_every_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_a_drivers_message_loses_the_pieces_of_a_password_it_misread() -> None:
    url = "postgresql://trader:p@ss%25word@127.0.0.1:1/ledger"
    assert url_secrets(url)[0] == "p@ss%25word"
    msg = "failed to resolve host 'ss%25word@127.0.0.1': Name or service not known"
    assert (
        scrub_secrets(msg, url)
        == "failed to resolve host '***@127.0.0.1': Name or service not known"
    )
    decoded = "failed to resolve host 'ss%word@127.0.0.1'"
    assert "ss%word" not in scrub_secrets(decoded, url)


def test_short_pieces_and_urls_without_passwords_leave_text_alone() -> None:
    assert scrub_secrets("a p b", "postgresql://u:p@q@host/db") == "a p b"
    assert scrub_secrets("nothing here", "sqlite:///x.db") == "nothing here"
