"""Product-database connection strings: what an admin may write, how it is shown back, and
the libpq parameters that reach the product's server and take nothing from Tend's own.
"""

from __future__ import annotations

import re

import psycopg
from django.core.exceptions import ValidationError
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cs_platform import outbound

MASK = "********"
ALLOWED_SETTING = "CONNECTOR_ALLOWED_NETWORKS"
CONNECT_TIMEOUT_SECONDS = 10
DEFAULT_PORT = 5432
ACCEPTED = ("host", "port", "dbname", "user", "password", "sslmode", "channel_binding", "connect_timeout")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-full")
CHANNEL_BINDINGS = ("disable", "prefer", "require")
EXAMPLE = "postgresql://user:password@host:5432/database"

# A path that cannot exist (/dev/null is no directory): libpq then reads no file, where an
# empty value would make it read Tend's own ~/.pgpass or ~/.postgresql/ instead.
NO_FILE = "/dev/null/none"

_SERVER_FILES = "name files on Tend's server, which are not a connector's to read"
REFUSED = {
    "hostaddr": "Give the server as host, not hostaddr: Tend looks the host up and checks its addresses itself.",
    "passfile": "passfile names a file on Tend's server: put the password in the connection string.",
    "service": "service reads a file on Tend's server: write host, port, dbname and user out instead.",
    "servicefile": "servicefile names a file on Tend's server: write host, port, dbname and user out instead.",
    "options": "options is not accepted: Tend sets up the session itself (read-only, with a time limit).",
    "requiressl": "requiressl is obsolete: use sslmode=require.",
    "requirepeer": "requirepeer applies only to Unix sockets, which connectors do not use.",
    "sslkeylogfile": "sslkeylogfile would write a file on Tend's server.",
    "replication": "replication is not accepted: connectors run ordinary read-only queries.",
    **dict.fromkeys(
        ("sslcert", "sslkey", "sslpassword", "sslcertmode"),
        f"Client certificates are not supported (sslcert and sslkey {_SERVER_FILES}): use a password.",
    ),
    **dict.fromkeys(
        ("sslrootcert", "sslcrl", "sslcrldir"),
        f"sslrootcert, sslcrl and sslcrldir {_SERVER_FILES}: with sslmode=verify-full Tend checks the "
        "server's certificate against the public certificate authorities.",
    ),
    **dict.fromkeys(
        ("krbsrvname", "gsslib", "gssencmode", "gssdelegation"),
        "Kerberos (GSSAPI) is not supported for connectors: use a password.",
    ),
}

# Every libpq parameter Tend sets whatever the connection string says. The rest of what
# libpq knows gets its built-in default in connection_params(): none may come from Tend's
# environment (PGPASSWORD, PGSSLKEY, PGOPTIONS, …) or files.
_FIXED = {
    "passfile": NO_FILE,
    "sslcert": NO_FILE,
    "sslkey": NO_FILE,
    "sslcrl": NO_FILE,
    "sslcrldir": NO_FILE,
    "sslcertmode": "disable",  # never offer a client certificate (libpq 16+)
    "gssencmode": "disable",
    "gssdelegation": "0",
    "require_auth": "!gss,!sspi",  # nor Tend's own Kerberos tickets (libpq 16+)
    "options": "",
    "requirepeer": "",
    "client_encoding": "UTF8",
    "target_session_attrs": "any",
    "load_balance_hosts": "disable",
    "min_protocol_version": "3.0",
    "max_protocol_version": "3.0",
}


def _invalid(message: str) -> ValidationError:
    return ValidationError({"dsn": message})


def dsn_masked(dsn: str) -> str:
    """``dsn`` as typed, its password field masked (in the URI's user info or as password=…)."""
    masked = re.sub(r"^([a-zA-Z][\w+.-]*://[^:@/?#]*:)[^@/]*@", rf"\1{MASK}@", dsn.strip())
    masked = re.sub(r"([?&](?:ssl)?password=)[^&#]*", rf"\1{MASK}", masked)
    return re.sub(r"(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+)", rf"\1{MASK}", masked)


def _parse_problem(dsn: str) -> str:
    """libpq's complaint about ``dsn``, made on the masked text so it cannot quote the password."""
    try:
        conninfo_to_dict(dsn_masked(dsn))
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
    # Only the password differs, so it is what does not parse.
    return "its password does not parse: write special characters percent-encoded, e.g. %40 for @"


def dsn_parse(dsn: str) -> dict[str, str]:
    """The parameters of a connection string, if it is one a connector may use; else
    ValidationError on ``dsn`` saying what to change. Looks nothing up."""
    dsn = dsn.strip()
    if not dsn:
        raise _invalid("Enter the product database's connection string.")
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", dsn)
    if scheme and scheme.group(1).lower() not in ("postgres", "postgresql"):
        raise _invalid(f"“{scheme.group(1)}://” is not a PostgreSQL connection string: it must start with postgresql://.")
    try:
        params = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    except psycopg.Error:
        raise _invalid(f"This is not a valid PostgreSQL connection string ({_parse_problem(dsn)}). Use {EXAMPLE}.") from None
    for key in params:
        if key not in ACCEPTED:
            raise _invalid(
                REFUSED.get(key)
                or f"“{key}” is not accepted in a connector's connection string: use only host, port, dbname, "
                "user, password, sslmode, channel_binding and connect_timeout."
            )
    if "host" not in params:
        raise _invalid(f"The connection string names no host: write it as {EXAMPLE}.")
    try:
        params["host"] = outbound.host_check(params["host"])
    except outbound.Refused as refusal:
        raise _invalid(str(refusal)) from None
    port = params.get("port", "")
    if "," in port:
        raise _invalid(f"Enter one port: “{port}” names several.")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise _invalid(f"The port “{port}” is not a number from 1 to 65535.")
    if not params.get("user"):
        raise _invalid(f"The connection string names no user: write it as {EXAMPLE}.")
    if params.get("sslmode") == "verify-ca":
        raise _invalid(
            "sslmode=verify-ca needs a certificate file on Tend's server: use verify-full, which checks the "
            "server's certificate and name against the public certificate authorities."
        )
    for key, choices in (("sslmode", SSL_MODES), ("channel_binding", CHANNEL_BINDINGS)):
        if key in params and params[key] not in choices:
            raise _invalid(f"{key} “{params[key]}” is not one of {', '.join(choices)}.")
    if not params.get("connect_timeout", "0").isdigit():
        raise _invalid(f"connect_timeout “{params['connect_timeout']}” is not a whole number of seconds.")
    return params


def destination(params: dict[str, str]) -> outbound.Destination:
    """Where ``params`` would connect, checked; outbound.Refused or outbound.Unresolved."""
    port = int(params.get("port") or DEFAULT_PORT)
    return outbound.destination_check(params["host"], port, allowed_setting=ALLOWED_SETTING)


def dsn_check(dsn: str) -> dict[str, str]:
    """:func:`dsn_parse`, and the host refused now if it resolves to where connectors may not go.

    A name that does not resolve passes: every connection checks again, and it fails then.
    """
    params = dsn_parse(dsn)
    try:
        destination(params)
    except outbound.Refused as refusal:
        raise _invalid(str(refusal)) from None
    except outbound.Unresolved:
        pass
    return params


def dsn_hint(params: dict[str, str]) -> str:
    """The connection string as shown back to admins, its password masked."""
    shown = {key: (MASK if key == "password" and value else value) for key, value in params.items()}
    return make_conninfo(**shown)[:200]


def unreachable(params: dict[str, str]) -> str:
    """The one message of every failure to connect: it must not tell a closed port from an open one."""
    return (
        f"Could not connect to the product database at {params.get('host')}:{params.get('port') or DEFAULT_PORT}; "
        "check the address, that it accepts connections from Tend, and the credentials."
    )


def connection_params(params: dict[str, str], *, application_name: str) -> dict[str, str]:
    """Every libpq parameter for connecting with ``params``: to its checked addresses only
    (``hostaddr``, while ``host`` serves TLS), and nothing from Tend's environment or files.

    Raises outbound.Refused or outbound.Unresolved.
    """
    checked = destination(params)
    copies = len(checked.addresses)
    sslmode = params.get("sslmode") or "prefer"
    timeout = int(params.get("connect_timeout") or 0)
    ours = {
        **_FIXED,
        # One entry per checked address: libpq tries them in turn, as it would a host's addresses.
        "host": ",".join([checked.host] * copies),
        "hostaddr": ",".join(checked.addresses),
        "port": ",".join([str(checked.port)] * copies),
        "user": params["user"],
        "password": params.get("password", ""),
        "dbname": params.get("dbname") or params["user"],
        "sslmode": sslmode,
        # "system": the public certificate authorities (libpq 16+), never Tend's ~/.postgresql/root.crt.
        "sslrootcert": "system" if sslmode == "verify-full" else NO_FILE,
        "channel_binding": params.get("channel_binding") or "prefer",
        "connect_timeout": str(min(timeout, CONNECT_TIMEOUT_SECONDS) if timeout > 0 else CONNECT_TIMEOUT_SECONDS),
        "application_name": application_name,
    }
    result = {}
    for option in pq.Conninfo.get_defaults():
        keyword = option.keyword.decode()
        if keyword in ours:
            result[keyword] = ours[keyword]
        elif option.envvar is not None and keyword != "service":
            # One this code does not know of: libpq's built-in default, not Tend's environment.
            # (service cannot be given empty; with every parameter explicit, a service file
            # named by PGSERVICE has nothing left to set.)
            result[keyword] = (option.compiled or b"").decode()
    return result
