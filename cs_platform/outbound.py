"""Where Tend's outbound connections may go (product databases; later webhooks and trackers).

A host is resolved and every one of its addresses checked before any packet is sent; the
caller then connects to those checked addresses only, so DNS cannot change the answer
between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

import psutil
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# At most this many of a host's addresses are tried: enough for IPv6 and IPv4 of one
# server, few enough that connection timeouts do not add up.
MAX_ADDRESSES = 3
POSTGRES_PORT, REDIS_PORT = 5432, 6379
# DNS64 writes an IPv4 address into this prefix; the IPv4 address is what is reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """A destination Tend does not connect to; the message is one sentence for whoever entered it."""


class Unresolved(Exception):
    """The host name resolves to no address. Deliberately without detail: callers say "could not connect"."""


@dataclass(frozen=True)
class Destination:
    host: str  # as entered, for TLS (SNI, certificate names) and messages
    port: int
    addresses: tuple[str, ...]  # checked: connect to these and nothing else


def destination_check(host: str, port: int, *, allowed_setting: str) -> Destination:
    """``host:port`` resolved and checked; Refused with the reason, or Unresolved.

    Refused: a Unix socket path, several hosts, an address that is not public (loopback,
    private, link-local, CGNAT, multicast, reserved, unspecified, or IPv4 of those inside
    IPv6) unless inside the networks of ``allowed_setting``, and Tend's own PostgreSQL or
    Redis even inside an allowed network.
    """
    host = host_check(host)
    if not 0 < port < 65536:
        raise Refused(f"Port {port} is not a port number: use one from 1 to 65535.")
    addresses = _resolve(host, port)
    allowed = allowed_networks(allowed_setting)
    for address in addresses:
        kind = non_public_kind(address)
        if kind and not _within(address, allowed):
            article = "an" if kind[0] in "aeiou" else "a"
            raise Refused(
                f"“{host}” is {article} {kind} address, which Tend connects to only when its operator "
                f"allows that network in {allowed_setting}."
            )
    own = _own_server(addresses, port)
    if own:
        raise Refused(f"“{host}:{port}” is Tend's own {own}, which Tend never connects to: enter the address of yours.")
    return Destination(host=host, port=port, addresses=tuple(str(address) for address in addresses[:MAX_ADDRESSES]))


def host_check(host: str) -> str:
    """``host`` as a name or address (IPv6 brackets dropped); Refused if it is empty, a socket or several."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise Refused("Enter the server's host name or address.")
    if host.startswith(("/", "@")) or "\\" in host:
        raise Refused(f"“{host}” is a Unix socket; Tend connects only over the network, to a host name or address.")
    if "," in host:
        raise Refused(f"Enter one host: “{host}” names several.")
    if any(character.isspace() or not character.isprintable() for character in host):
        raise Refused(f"“{host}” is not a host name or address.")
    return host


def non_public_kind(address: Address) -> str:
    """Why ``address`` is not a public one (e.g. "loopback"), or "" when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return non_public_kind(address.ipv4_mapped)
        if address in _NAT64:
            return non_public_kind(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and non_public_kind(address.sixtofour):
            return non_public_kind(address.sixtofour)
        if address.is_site_local:
            return "private"
    for kind, test in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if test:
            return kind
    # What remains without being global is shared address space (RFC 6598), which carriers use.
    return "" if address.is_global else "carrier-grade NAT"


def allowed_networks(setting: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in getattr(settings, setting, []) or []:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{setting}: “{entry}” is not a network such as 10.0.0.0/8.") from None
    return networks


def _within(address: Address, networks: list) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in networks)


def _resolve(host: str, port: int) -> list[Address]:
    """Every address of ``host``, in the resolver's order of preference, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Unresolved(host) from None
    addresses: list[Address] = []
    for *_, sockaddr in infos:
        # An IPv6 link-local address carries its interface ("fe80::1%eth0").
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolved(host)
    return addresses


# --- Tend's own servers -----------------------------------------------------------------


def _own_endpoints() -> Iterator[tuple[str, str | None, int]]:
    """``(what, host, port)`` of every server Tend itself uses; host None for a Unix socket."""
    for database in settings.DATABASES.values():
        host = database.get("HOST") or ""
        port = int(database.get("PORT") or POSTGRES_PORT)
        # No host, or a socket directory: the server runs on this machine, perhaps also on TCP.
        yield "database server", (None if not host or host.startswith("/") else host), port
    caches = [cache.get("LOCATION") for cache in getattr(settings, "CACHES", {}).values()]
    locations = [getattr(settings, "REDIS_URL", ""), getattr(settings, "CELERY_BROKER_URL", "")]
    for location in locations + caches:
        for url in [location] if isinstance(location, str) else list(location or []):
            parts = urlsplit(url or "")
            if parts.scheme in ("redis", "rediss"):
                yield "Redis server", parts.hostname or None, parts.port or REDIS_PORT
            elif parts.scheme in ("unix", "redis+socket"):
                yield "Redis server", None, REDIS_PORT


def _this_machine() -> set[Address]:
    """The addresses that reach this machine: its interfaces' (loopback included)."""
    found: set[Address] = set()
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found.add(ipaddress.ip_address(entry.address.split("%", 1)[0]))
    return found


def _local(address: Address, machine: set[Address]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # 0.0.0.0 and :: connect to this machine too.
    return address.is_loopback or address.is_unspecified or address in machine


def _own_server(addresses: list[Address], port: int) -> str:
    """What of Tend's ``addresses``:``port`` is ("database server", "Redis server"), or ""."""
    machine: set[Address] | None = None
    for what, host, own_port in _own_endpoints():
        if own_port != port:
            continue
        if machine is None:
            machine = _this_machine()
        try:
            own = _resolve(host, own_port) if host else []
        except Unresolved:
            own = []
        # A server on this machine listens on all its addresses, as far as we know.
        on_this_machine = host is None or any(_local(address, machine) for address in own)
        for address in addresses:
            if address in own or (on_this_machine and _local(address, machine)):
                return what
            mapped = getattr(address, "ipv4_mapped", None)
            if mapped is not None and mapped in own:
                return what
    return ""
