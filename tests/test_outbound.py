"""Which addresses outbound connections may reach (cs_platform.outbound), IPv4 hidden in IPv6 included."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured

from cs_platform import outbound


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:0a00:0001::1", "private"),  # 6to4 of 10.0.0.1
        ("fec0::1", "private"),  # site-local
        ("fd12:3456::1", "private"),
        ("192.168.1.1", "private"),
        ("100.100.100.100", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),
        ("::", "unspecified"),
    ],
)
def test_addresses_that_are_not_public_say_what_they_are(address, kind):
    assert outbound.non_public_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(address):
    assert outbound.non_public_kind(ipaddress.ip_address(address)) == ""


def test_an_allowed_network_admits_its_addresses_and_a_typo_in_it_is_named(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = ["192.168.0.0/16"]
    assert outbound.destination_check("192.168.7.7", 6543, allowed_setting="CONNECTOR_ALLOWED_NETWORKS").addresses == ("192.168.7.7",)
    with pytest.raises(outbound.Refused, match="“10.1.2.3” is a private address"):
        outbound.destination_check("10.1.2.3", 6543, allowed_setting="CONNECTOR_ALLOWED_NETWORKS")
    settings.CONNECTOR_ALLOWED_NETWORKS = ["192.168.0.0/33"]
    with pytest.raises(ImproperlyConfigured, match="CONNECTOR_ALLOWED_NETWORKS: “192.168.0.0/33” is not a network"):
        outbound.destination_check("192.168.7.7", 6543, allowed_setting="CONNECTOR_ALLOWED_NETWORKS")


def test_a_name_that_resolves_to_nothing_is_unresolved_without_detail(settings):
    with pytest.raises(outbound.Unresolved):
        outbound.destination_check("no-such-host.invalid", 5432, allowed_setting="CONNECTOR_ALLOWED_NETWORKS")
