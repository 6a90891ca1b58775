"""Database URLs in messages: the password hidden wherever a URL can carry one.

A URL's password may sit in its user part (``postgresql://user:secret@host/db``, also with an
unescaped ``@`` in it) or in its query (``?user=u&password=secret``, as libpq accepts).
:func:`mask_url` hides both; :func:`scrub_secrets` hides them in any text, such as a driver's
error, which may quote the URL or a piece of the password it misread as a host name.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["mask_url", "scrub_secrets", "url_secrets"]

_USERINFO = re.compile(r"(://[^:/@?#]*:)([^/?#]*)@")
_QUERY = re.compile(r"([?&](?:password|sslpassword)=)([^&#]*)", re.IGNORECASE)
_MIN_PIECE = 3  # shorter pieces of a password are not searched for in a message


def mask_url(url: str) -> str:
    """``url`` with its password (user part and query) replaced by ``***``."""
    return _QUERY.sub(r"\1***", _USERINFO.sub(r"\1***@", url))


def url_secrets(url: str) -> list[str]:
    """The passwords ``url`` carries, as written and decoded, with the pieces a driver may
    quote when an ``@`` in the password made it misread the host (each piece of 3 or more
    characters), longest first."""
    found: set[str] = set()
    for pattern in (_USERINFO, _QUERY):
        for m in pattern.finditer(url):
            secret = m.group(2)
            for text in (secret, unquote(secret)):
                found.add(text)
                found.update(p for p in re.split(r"[@:]", text) if len(p) >= _MIN_PIECE)
    return sorted((s for s in found if s), key=len, reverse=True)


def scrub_secrets(text: str, url: str) -> str:
    """``text`` with every password of ``url`` (see :func:`url_secrets`) replaced by
    ``***``."""
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    return text
