"""The SSRF rules of kefu.core.outbound: every URL that would reach kefu's own network is refused, by
``check_url`` (save time) and by ``post`` (send time), before any connection is made.

Private targets are NOT allowed in this module (the rest of the suite allows them for its receivers on
127.0.0.1). Host names resolve through a test resolver (``socket.getaddrinfo`` patched for the names below
only), so "a name that resolves to a private address" is tested without a DNS server.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from kefu.core import outbound
from tests.kefu.outbound.servers import answer, keep_alive, tcp_server

# name → the addresses the test resolver gives it
FAKE_DNS = {
    "intranet.shop.example": ["10.20.30.40"],
    "db.shop.example": ["172.16.0.5"],
    "router.shop.example": ["192.168.1.1"],
    "cgnat.shop.example": ["100.64.12.34"],
    "aliyun-metadata.shop.example": ["100.100.100.200"],
    "aws-metadata.shop.example": ["169.254.169.254"],
    "v6-private.shop.example": ["fd12:3456::1"],
    "v6-loopback.shop.example": ["::1"],
    "v6-mapped.shop.example": ["::ffff:10.0.0.1"],
    # one public and one private answer: refused (the private one could be picked, or swapped in later)
    "rebind.shop.example": ["93.184.216.34", "127.0.0.1"],
    "storefront.example": ["93.184.216.34"],
    "v6-storefront.example": ["2606:4700:4700::1111"],
}


@pytest.fixture(autouse=True)
def _no_private_targets(settings) -> None:
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = False
    settings.KEFU_OUTBOUND_ALLOW_NETWORKS = []


@pytest.fixture(autouse=True)
def resolver(monkeypatch) -> Iterator[list[str]]:
    """Resolve FAKE_DNS names to their addresses; other names as the system does. Yields the names asked."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if host not in FAKE_DNS:
            return real(host, port, *args, **kwargs)
        infos = []
        for address in FAKE_DNS[host]:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return infos

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked


REFUSED = [
    # IPv4 loopback, private, link-local, shared, metadata, multicast, reserved, unspecified
    "http://127.0.0.1/hook",
    "http://127.45.6.7:8080/hook",
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://172.31.255.254/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.1/hook",
    "http://100.64.0.1/hook",
    "http://100.100.100.200/latest/meta-data/",
    "http://0.0.0.0/hook",
    "http://0.1.2.3/hook",
    "http://224.0.0.1/hook",
    "http://239.255.255.250:1900/hook",
    "http://240.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://192.0.0.8/hook",
    "http://198.18.0.1/hook",
    "http://192.0.2.1/hook",
    # IPv4 in other spellings (decimal, octal, hex, short forms)
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://0x7f.1/hook",
    "http://0x7f000001/hook",
    "http://127.1/hook",
    "http://017700000001/hook",
    "http://0300.0250.0.1/hook",
    "http://3232235777/hook",
    # IPv6 loopback, unspecified, link-local, unique-local, metadata, multicast, site-local, documentation
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[ff02::1]/hook",
    "http://[fec0::1]/hook",
    "http://[2001:db8::1]/hook",
    # IPv6 forms that carry a private IPv4 address: mapped, compatible, NAT64, 6to4
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[::127.0.0.1]/hook",
    "http://[64:ff9b::10.0.0.1]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://[64:ff9b:1::1]/hook",
    "http://[2002:7f00:1::1]/hook",
    "http://[2002:c0a8:101::1]/hook",
    # names that resolve to non-public addresses
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://intranet.shop.example/hook",
    "https://db.shop.example:5432/",
    "http://router.shop.example/hook",
    "http://cgnat.shop.example/hook",
    "http://aliyun-metadata.shop.example/latest/meta-data/",
    "http://aws-metadata.shop.example/latest/meta-data/",
    "http://v6-private.shop.example/hook",
    "http://v6-loopback.shop.example/hook",
    "http://v6-mapped.shop.example/hook",
    "http://rebind.shop.example/hook",
    # user names and passwords, parser confusion
    "http://a@127.0.0.1/hook",
    "http://storefront.example@127.0.0.1/hook",
    "http://user:password@storefront.example/hook",
    "http://127.0.0.1\\@storefront.example/hook",
    "http://storefront.example\t.evil/hook",
    "http:///hook",
    "http://storefront.example:99999/hook",
    # schemes other than http and https
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "ftp://storefront.example/hook",
    "dict://127.0.0.1:11211/stats",
    "data:text/plain,hello",
    "javascript:alert(1)",
    "ldap://storefront.example/",
    "storefront.example/hook",
]


def test_the_matrix_is_large() -> None:
    assert len(REFUSED) >= 30


@pytest.mark.parametrize("url", REFUSED)
def test_check_url_refuses(url) -> None:
    with pytest.raises(outbound.BlockedTarget):
        outbound.check_url(url)


@pytest.mark.parametrize("url", REFUSED)
def test_a_request_is_refused_before_connecting(url) -> None:
    with pytest.raises(outbound.BlockedTarget):
        outbound.post(url, data=b"{}", headers={})


def test_loopback_spellings_never_reach_a_receiver_listening_on_loopback() -> None:
    with tcp_server(keep_alive(answer())) as receiver:
        port = receiver.port
        for host in ("127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "localhost"):
            with pytest.raises(outbound.BlockedTarget):
                outbound.post(f"http://{host}:{port}/hook", data=b"{}", headers={})
        assert receiver.connections == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/", "a private network address"),
        ("http://169.254.169.254/", "a cloud metadata address"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://intranet.shop.example/", "intranet.shop.example resolves to 10.20.30.40, a private network address"),
        ("http://0x7f.1/", "unusual spelling"),
        ("gopher://storefront.example/", "Only http and https URLs are allowed, not “gopher”"),
        ("http://a@storefront.example/", "must not contain a user name or password"),
    ],
)
def test_the_refusal_names_the_reason(url, reason) -> None:
    with pytest.raises(outbound.BlockedTarget, match=reason):
        outbound.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://storefront.example/kefu/webhook",
        "http://storefront.example:8080/kefu/webhook?shop=1",
        "https://v6-storefront.example/hook",
        "https://93.184.216.34/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://[64:ff9b::5db8:d822]/hook",  # NAT64 of a public address
    ],
)
def test_public_targets_pass(url) -> None:
    outbound.check_url(url)


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(
    settings, resolver, monkeypatch
) -> None:
    """DNS rebinding: a second lookup would answer an address that is refused; there is no second lookup."""
    settings.KEFU_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]  # the receiver of this test, and nothing else
    with tcp_server(keep_alive(answer())) as receiver:
        answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])
        monkeypatch.setitem(FAKE_DNS, "rebinding.example", [])

        def next_answer(host, *args, **kwargs):
            FAKE_DNS["rebinding.example"] = next(answers)
            return fake(host, *args, **kwargs)

        fake = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", next_answer)
        response = outbound.post(f"http://rebinding.example:{receiver.port}/hook", data=b"{}", headers={})

    assert response.status == 200
    assert resolver.count("rebinding.example") == 1
    assert receiver.connections == 1
    assert f"Host: rebinding.example:{receiver.port}".encode() in receiver.requests[0]


def test_a_name_that_does_not_resolve_is_an_outbound_error_not_a_refusal() -> None:
    with pytest.raises(outbound.OutboundError, match="does not resolve") as caught:
        outbound.check_url("https://no-such-host.invalid/hook")
    assert not isinstance(caught.value, outbound.BlockedTarget)


def test_private_targets_are_allowed_only_with_the_development_setting_and_metadata_never(settings) -> None:
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = True
    outbound.check_url("http://127.0.0.1:8000/hook")
    outbound.check_url("http://intranet.shop.example/hook")
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://100.100.100.200/", "http://224.0.0.1/"):
        with pytest.raises(outbound.BlockedTarget):
            outbound.check_url(url)


def test_an_operator_may_allow_one_internal_network(settings) -> None:
    settings.KEFU_OUTBOUND_ALLOW_NETWORKS = ["10.20.30.0/24"]
    outbound.check_url("http://intranet.shop.example/hook")
    with pytest.raises(outbound.BlockedTarget):
        outbound.check_url("http://db.shop.example/hook")
