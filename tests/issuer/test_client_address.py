"""Which address a request counts under: X-Forwarded-For only through trusted proxies."""

import pytest

from issuer.sign_in.client_address import client_address, network_of, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.9", ["203.0.113.5"], "127.0.0.9"),  # untrusted peer: header ignored
        ("127.0.0.1", [], "127.0.0.1"),  # trusted peer, no header
        ("127.0.0.1", ["203.0.113.5"], "203.0.113.5"),
        # The right-most untrusted entry: the client wrote everything to its left.
        ("127.0.0.1", ["198.51.100.1, 203.0.113.5"], "203.0.113.5"),
        ("127.0.0.1", ["198.51.100.1, 203.0.113.5, 10.1.2.3"], "203.0.113.5"),
        ("127.0.0.1", ["198.51.100.1", "203.0.113.5, 10.1.2.3"], "203.0.113.5"),
        ("127.0.0.1", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),  # all trusted: the furthest
        ("127.0.0.1", ["not-an-ip, 10.2.2.2"], "10.2.2.2"),  # stop at what a proxy wrote
        (None, ["203.0.113.5"], "unknown"),
    ],
)
def test_forwarded_for_only_through_trusted_proxies(
    peer: str | None, forwarded: list[str], expected: str
) -> None:
    """ISSUER_TRUSTED_PROXIES decides whose X-Forwarded-For is believed."""
    assert expected == client_address(peer, forwarded, PROXIES)


def test_bad_proxy_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="not-a-cidr"):
        parse_networks(["not-a-cidr"])


@pytest.mark.parametrize(
    ("peer", "expected"),
    [("2001:DB8:0::1", "2001:db8::1"), ("/run/s", "/run/s")],
)
def test_addresses_are_counted_in_canonical_form(peer: str, expected: str) -> None:
    """One client is one counter, however its IPv6 address was written (RFC 5952)."""
    assert expected == client_address(peer, [], PROXIES)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.77", "203.0.113.0/24"),  # IPv4-mapped: its IPv4 neighbourhood
        ("unknown", None),
    ],
)
def test_network_is_the_24_or_the_64(address: str, expected: str | None) -> None:
    """Spraying from neighbouring addresses counts as one network: /24 for IPv4, /64 for
    IPv6 (the prefix one subscriber is usually given)."""
    assert expected == network_of(address)
