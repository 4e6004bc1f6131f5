"""A PostgreSQL `DATABASE_URL`: whether libpq reads it as written, where it leads (for
people), and its password kept out of every message (docs/ADMIN.md, 'Several instances').

A password often holds `/`, `#`, `?` or `@` (`openssl rand -base64` makes `/`), written
as it is rather than percent-encoded. The user-info is taken to be everything between
`://` and the last `@`, whatever it holds: nothing before that `@` is ever shown.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import psycopg
from psycopg.conninfo import conninfo_to_dict

HIDDEN = "***"

# Where libpq, reading a URL, may cut a password that holds them unencoded: the password's
# pieces can then turn up in its messages as a host, a port, a database or a parameter.
_URL_DELIMITERS = re.compile(r"[/?#@:,=&\[\]]")
# A piece shorter than this tells next to nothing of the password, and blanking it would
# blank the same letters or digits wherever else the message has them.
_SHORTEST_PIECE = 3


def _location(database_url: str) -> str:
    """What follows the user-info: the hosts and ports, the database, the parameters."""
    return database_url.partition("://")[2].rpartition("@")[2]


def describe_url(database_url: str) -> str:
    """Where a PostgreSQL URL leads: its hosts and ports, and database; never any part of
    the user name or password."""
    hosts, slash, database = _location(database_url).partition("?")[0].partition("/")
    return f"{hosts or 'localhost'}{slash}{database}"


def without_password(message: str, database_url: str) -> str:
    """`message` (libpq's or psycopg's) without the user-info and password of `database_url`,
    whole, percent-decoded, or in the pieces libpq would cut them into."""
    user_info = database_url.partition("://")[2].rpartition("@")[0]
    password = user_info.partition(":")[2]
    if not password:
        return message  # a user name alone is no secret, and often the database's name too
    pieces = [piece for piece in _URL_DELIMITERS.split(password) if len(piece) >= _SHORTEST_PIECE]
    # The longest first: a piece replaced first would leave the rest of a longer one.
    for secret in sorted({user_info, password, unquote(password), *pieces}, key=len, reverse=True):
        message = message.replace(secret, HIDDEN)
    return message


def error_reason(error: BaseException, database_url: str) -> str:
    """psycopg's message, its first line (the rest are hints about the server), without the
    password of `database_url`: libpq quotes the part of a URL it cannot read."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return without_password(reason, database_url)


def check_url(database_url: str) -> None:
    """ValueError, safe to show, when libpq cannot read `database_url`, or would read part
    of its user name or password as the host or the database (an unencoded `@` or `/`)."""
    try:
        parameters = conninfo_to_dict(database_url)
    except psycopg.ProgrammingError as error:
        reason = error_reason(error, database_url)
        raise ValueError(f"cannot be read as a PostgreSQL URL: {reason}") from None
    # A host never holds an `@`, nor a database made by hand; libpq's do when it ended the
    # user-info at an `@` of the password, or the host at a `/` of it.
    if any("@" in str(parameters.get(name, "")) for name in ("host", "dbname")):
        raise ValueError(
            'write "@" and "/" in the user name or password as %40 and %2F: as they are, '
            "part of the password reads as the host or the database"
        )
