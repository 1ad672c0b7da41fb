"""Where a product-database connector may connect, and what it may show: never Tend's own
servers or a Unix socket, private networks only when the operator allows them, nothing of
Tend's own libpq environment, and one message for every failure to connect."""

from __future__ import annotations

import socketserver
import threading
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from psycopg import pq

from usage.connectors import dsn as connector_dsn
from usage.connectors import services
from usage.models import UsageConnector
from tests.product_db import APP_PASSWORD

QUERY = "SELECT 'C-1', current_date, 'logins', 1"
UNREACHABLE = (
    "Could not connect to the product database at 127.0.0.1:{port}; check the address, that it accepts "
    "connections from Tend, and the credentials."
)


def save(org, dsn: str) -> UsageConnector:
    return services.connector_save(
        organization=org, actor=None, name="Product DB", dsn=dsn, query=QUERY, schedule_minutes=60, enabled=True
    )


def refusal(org, dsn: str) -> str:
    """The message refusing ``dsn``, which saving and testing must both give."""
    with pytest.raises(ValidationError) as error:
        save(org, dsn)
    [message] = error.value.message_dict["dsn"]
    assert services.connector_test(dsn, QUERY).error == message
    return message


def own_database_port() -> int:
    return int(settings.DATABASES["default"].get("PORT") or 5432)


def own_socket_directory() -> str:
    host = settings.DATABASES["default"].get("HOST") or ""
    return host if host.startswith("/") else "/var/run/postgresql"  # the embedded server's, or the usual one


def own_redis_port() -> int:
    return urlsplit(settings.REDIS_URL).port or 6379


def free_port() -> int:
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as probe:
        return probe.server_address[1]


@contextmanager
def not_postgres() -> Iterator[int]:
    """An open port whose service hangs up at once, as anything but PostgreSQL would."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# --- Tend's own servers, sockets and what a connection string may say ------------------


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("postgresql://postgres@127.0.0.1:{db}/tend", "“127.0.0.1:{db}” is Tend's own database server, which Tend never connects to: enter the address of yours."),
        ("postgresql://postgres@localhost:{db}/tend", "“localhost:{db}” is Tend's own database server, which Tend never connects to: enter the address of yours."),
        ("postgresql://postgres@127.0.0.2:{db}/tend", "“127.0.0.2:{db}” is Tend's own database server, which Tend never connects to: enter the address of yours."),
        ("host=127.0.0.1 port={redis} user=postgres", "“127.0.0.1:{redis}” is Tend's own Redis server, which Tend never connects to: enter the address of yours."),
        ("postgresql://postgres@[::1]:{db}/tend", "“::1” is a loopback address, which Tend connects to only when its operator allows that network in CONNECTOR_ALLOWED_NETWORKS."),
        ("postgresql://postgres@/tend?host={socket}", "“{socket}” is a Unix socket; Tend connects only over the network, to a host name or address."),
        ("host=/tmp user=postgres dbname=tend", "“/tmp” is a Unix socket; Tend connects only over the network, to a host name or address."),
        ("host=@tend user=postgres dbname=tend", "“@tend” is a Unix socket; Tend connects only over the network, to a host name or address."),
        ("host='' user=postgres dbname=tend", "Enter the server's host name or address."),
        ("postgresql://postgres@/tend", "The connection string names no host: write it as postgresql://user:password@host:5432/database."),
        ("host=db.example.com,127.0.0.1 user=postgres", "Enter one host: “db.example.com,127.0.0.1” names several."),
        ("host=db.example.com hostaddr=127.0.0.1 user=postgres", "Give the server as host, not hostaddr: Tend looks the host up and checks its addresses itself."),
        ("host=db.example.com user=postgres service=tend", "service reads a file on Tend's server: write host, port, dbname and user out instead."),
        ("postgresql://postgres@db.example.com/tend?passfile=/root/.pgpass", "passfile names a file on Tend's server: put the password in the connection string."),
        ("host=db.example.com user=reader sslkey=/etc/ssl/private/tend.key", "Client certificates are not supported (sslcert and sslkey name files on Tend's server, which are not a connector's to read): use a password."),
        ("host=db.example.com user=reader options='-c default_transaction_read_only=off'", "options is not accepted: Tend sets up the session itself (read-only, with a time limit)."),
        ("host=db.example.com user=reader sslmode=verify-ca", "sslmode=verify-ca needs a certificate file on Tend's server: use verify-full, which checks the server's certificate and name against the public certificate authorities."),
        ("host=db.example.com dbname=product", "The connection string names no user: write it as postgresql://user:password@host:5432/database."),
    ],
)
def test_tends_own_servers_sockets_and_file_options_are_refused_before_connecting(org, in_org, product, dsn, message):
    # product: 127.0.0.0/8 is allowed, so Tend's own servers are refused inside an allowed network.
    values = {"db": own_database_port(), "redis": own_redis_port(), "socket": own_socket_directory()}
    assert refusal(org, dsn.format(**values)) == message.format(**values)
    assert not UsageConnector.objects.exists()


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("10.0.0.1", "“10.0.0.1” is a private address"),
        ("169.254.169.254", "“169.254.169.254” is a link-local address"),
        ("100.64.0.1", "“100.64.0.1” is a carrier-grade NAT address"),
        ("[::ffff:192.168.1.10]", "“::ffff:192.168.1.10” is a private address"),
        ("[fe80::1]", "“fe80::1” is a link-local address"),
        ("0.0.0.0", "“0.0.0.0” is an unspecified address"),
    ],
)
def test_private_and_link_local_addresses_need_the_operators_permission(org, in_org, settings, host, message):
    settings.CONNECTOR_ALLOWED_NETWORKS = []
    dsn = f"postgresql://reader:pw@{host}:6543/product"
    assert refusal(org, dsn) == (
        f"{message}, which Tend connects to only when its operator allows that network in CONNECTOR_ALLOWED_NETWORKS."
    )

    # Allowed, it is saved (a connection would then be tried: see the tests of the message below).
    settings.CONNECTOR_ALLOWED_NETWORKS = ["10.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10", "192.168.0.0/16", "fe80::/10", "0.0.0.0/32"]
    assert save(org, dsn).dsn_hint.startswith("user=reader password=******** dbname=product")


def test_an_allowed_address_is_tried_and_fails_with_the_one_message(product):
    port = free_port()
    assert services.connector_test(f"postgresql://reader:pw@127.0.0.1:{port}/product", QUERY).error == UNREACHABLE.format(port=port)


def test_an_open_port_a_closed_one_and_wrong_credentials_read_the_same(product):
    closed = free_port()
    with not_postgres() as open_port:
        failures = {
            "closed port": services.connector_test(f"postgresql://app:pw@127.0.0.1:{closed}/product", QUERY),
            "open port, not PostgreSQL": services.connector_test(f"postgresql://app:pw@127.0.0.1:{open_port}/product", QUERY),
            "wrong password": services.connector_test(product.server.dsn(password="wrong"), QUERY),
            "no such database": services.connector_test(product.server.dsn(dbname="nothing_here"), QUERY),
        }
    ports = {"closed port": closed, "open port, not PostgreSQL": open_port}
    for what, result in failures.items():
        assert result.error == UNREACHABLE.format(port=ports.get(what, product.server.port)), what


def test_a_host_name_is_pinned_to_the_address_that_was_checked(product, settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    dsn = product.dsn.replace("127.0.0.1", "localhost")
    params = connector_dsn.connection_params(connector_dsn.dsn_parse(dsn), application_name="tend-connector")
    # libpq connects to hostaddr, never looking the name up again; host stays for TLS.
    assert set(params["host"].split(",")) == {"localhost"}
    assert "127.0.0.1" in params["hostaddr"].split(",") and set(params["hostaddr"].split(",")) <= {"127.0.0.1", "::1"}
    assert services.connector_test(dsn, QUERY).ok


# --- Tend's own libpq environment and files -----------------------------------------------


def test_tends_own_libpq_environment_and_password_file_never_reach_a_connector(product, monkeypatch, tmp_path):
    pgpass = tmp_path / ".pgpass"
    pgpass.write_text(f"*:*:*:*:{APP_PASSWORD}\n")
    pgpass.chmod(0o600)
    for name, value in {"HOME": str(tmp_path), "PGPASSFILE": str(pgpass), "PGPASSWORD": APP_PASSWORD}.items():
        monkeypatch.setenv(name, value)
    # No password in the connection string, and none of Tend's is offered instead.
    assert services.connector_test(product.server.dsn(password=None), QUERY).error == UNREACHABLE.format(port=product.server.port)

    hostile = {
        "PGHOST": "/tmp", "PGHOSTADDR": "10.255.255.1", "PGPORT": "1", "PGUSER": "postgres", "PGDATABASE": "postgres",
        "PGOPTIONS": "-c default_transaction_read_only=off", "PGAPPNAME": "not-tend", "PGSSLMODE": "require",
        "PGTARGETSESSIONATTRS": "standby", "PGREQUIREAUTH": "gss", "PGCLIENTENCODING": "LATIN1",
        "PGSSLNEGOTIATION": "direct", "PGSSLCERT": "/etc/hostname", "PGCONNECT_TIMEOUT": "1",
    }
    for name, value in hostile.items():
        monkeypatch.setenv(name, value)
    result = services.connector_test(
        product.dsn,
        "SELECT current_setting('application_name'), current_date, current_user || ' ' || current_setting('default_transaction_read_only'), 1",
    )
    assert result.ok, result.error
    assert result.rows[0][0] == "tend-connector" and result.rows[0][2] == "app on"

    # And whatever libpq may add later: every parameter it could read from the environment is given.
    params = connector_dsn.connection_params(connector_dsn.dsn_parse(product.dsn), application_name="tend-connector")
    from_environment = {option.keyword.decode() for option in pq.Conninfo.get_defaults() if option.envvar}
    assert from_environment - {"service"} <= params.keys()


# --- What a connector's session may do, and what its messages show --------------------


def test_a_connector_session_can_neither_write_nor_read_the_servers_files(product):
    product.execute("CREATE SEQUENCE tend_probe")
    writing = services.connector_test(product.dsn, "SELECT 'C-1', current_date, 'm', nextval('tend_probe')")
    assert writing.error == (
        "The query tried to change the product database (cannot execute nextval() in a read-only transaction). "
        "Connectors only read: use a SELECT that writes nothing."
    )
    reading = services.connector_test(product.dsn, "SELECT 'C-1', current_date, pg_read_file('/etc/passwd'), 1")
    assert reading.error == "The query failed: permission denied for function pg_read_file."


def test_a_one_letter_password_is_masked_without_garbling_messages(org, in_org, product):
    dsn = product.server.login_role("e", "e")
    assert services.connector_test(dsn, "SELECT * FROM no_such_table").error == (
        'The query failed: relation "no_such_table" does not exist.'
    )
    message = refusal(org, "postgresql://reader:e@db.example.com/product?sslmode=require&nonsense=1")
    assert message == (
        'This is not a valid PostgreSQL connection string (invalid URI query parameter: "nonsense"). '
        "Use postgresql://user:password@host:5432/database."
    )
    # A password that breaks the string is never quoted back, whole or in part.
    message = refusal(org, "host=db.example.com user=reader password='s3cret unterminated")
    assert "s3cret" not in message and "unterminated" not in message
    connector = save(org, "postgresql://reader:e@db.example.com:5433/product?sslmode=verify-full")
    assert connector.dsn_hint == "user=reader password=******** dbname=product host=db.example.com port=5433 sslmode=verify-full"


def test_a_saved_connector_is_checked_again_at_every_connection(org, admin, in_org, product, settings, django_capture_on_commit_callbacks):
    connector = save(org, product.dsn)
    settings.CONNECTOR_ALLOWED_NETWORKS = []  # the operator withdraws the permission
    with django_capture_on_commit_callbacks(execute=True):
        run = services.connector_run_now(connector=connector, actor=admin)
    run.refresh_from_db()
    assert run.error == (
        "“127.0.0.1” is a loopback address, which Tend connects to only when its operator allows that network "
        "in CONNECTOR_ALLOWED_NETWORKS."
    )
