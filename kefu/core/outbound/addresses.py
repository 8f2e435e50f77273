"""Which URLs and addresses kefu may send to (the SSRF rules of kefu.core.outbound), and resolving once."""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from kefu.core.outbound.errors import BlockedTarget, OutboundError
from kefu.core.outbound.masking import CONTROL_CHARACTERS

ALLOWED_SCHEMES = {"http": 80, "https": 443}


# Cloud instance metadata: refused even with KEFU_OUTBOUND_ALLOW_PRIVATE (AWS/GCP/Azure/Aliyun/Tencent ...).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.tencentyun.com"})
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_IETF = ipaddress.ip_network("192.0.0.0/24")  # IETF protocol assignments
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# What KEFU_OUTBOUND_ALLOW_PRIVATE lets through (local development: a receiver on 127.0.0.1 or the LAN).
DEV_ALLOWED_KINDS = frozenset({"loopback", "private", "link-local", "shared"})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address (the server's is public by design)
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_kind(ip: Address) -> str | None:
    """Why ``ip`` is not a public internet address ("loopback", "private", …), or None when it is."""
    if ip in METADATA_ADDRESSES:
        return "metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_kind(embedded)
        if ip in _NAT64_LOCAL or ip.is_site_local:
            return "private"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _SHARED:
        return "shared"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global or ip in _IETF:
        return "reserved"
    return None


def _kind_label(kind: str) -> str:
    labels = {
        "metadata": _("a cloud metadata address"),
        "unspecified": _("an unspecified address"),
        "loopback": _("a loopback address"),
        "link-local": _("a link-local address"),
        "multicast": _("a multicast address"),
        "shared": _("a carrier-grade NAT (shared) address"),
        "private": _("a private network address"),
        "reserved": _("a reserved address"),
    }
    return labels.get(kind, kind)


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, "KEFU_OUTBOUND_ALLOW_NETWORKS", ())]


def _refusal(ip: Address) -> str | None:
    """The reason ``ip`` is refused under the current settings, or None."""
    kind = address_kind(ip)
    if kind is None or kind == "metadata":
        return kind
    if any(ip in network for network in _allowed_networks()):
        return None
    if kind in DEV_ALLOWED_KINDS and getattr(settings, "KEFU_OUTBOUND_ALLOW_PRIVATE", False):
        return None
    return kind


@dataclass(frozen=True)
class Target:
    """A URL taken apart and checked: where to connect (``addresses``, all allowed) and what to ask for."""

    scheme: str
    host: str  # the name as written (lower case), for Host, SNI and certificate checks
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[tuple[int, Address], ...]  # (address family, address), in the resolver's order


def _parse(url: str) -> tuple[str, str, int, str]:
    if CONTROL_CHARACTERS.search(url) or "\\" in url or " " in url:
        raise BlockedTarget(_("The URL contains spaces, control characters or backslashes."))
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedTarget(_("The URL is not valid: %(error)s.") % {"error": exc}) from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedTarget(
            _("Only http and https URLs are allowed, not “%(scheme)s”.") % {"scheme": scheme or _("no scheme")}
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BlockedTarget(_("The URL must not contain a user name or password."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise BlockedTarget(_("The URL has no host name."))
    path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return scheme, host, port or ALLOWED_SCHEMES[scheme], path


def _literal(host: str) -> Address | None:
    """The address when ``host`` is an IP literal; BlockedTarget for IPv4 in another spelling than a.b.c.d."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # What inet_aton accepts (decimal 2130706433, octal 0177.0.0.1, hex 0x7f.1, short 127.1) the resolver
    # would turn into an address too; such spellings hide what is meant, so they are refused outright.
    if re.fullmatch(r"[0-9a-fx.]+", host) and re.search(r"\d", host):
        try:
            socket.inet_aton(host)
        except OSError:
            return None
        raise BlockedTarget(
            _("“%(host)s” is an IP address in an unusual spelling; write it as four decimal numbers (a.b.c.d).")
            % {"host": host}
        )
    return None


def _resolve(host: str, port: int) -> list[tuple[int, Address]]:
    """Every address ``host`` resolves to (OutboundError when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        message = _("The host name %(host)s does not resolve: %(error)s") % {"host": host, "error": exc}
        raise OutboundError(message) from exc
    addresses: list[tuple[int, Address]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if (family, ip) not in addresses:
            addresses.append((family, ip))
    if not addresses:
        raise OutboundError(_("The host name %(host)s does not resolve.") % {"host": host})
    return addresses


def resolved_target(url: str) -> Target:
    """Parse, resolve once and check ``url``: BlockedTarget when it or any address it resolves to is refused."""
    scheme, host, port, path = _parse(url)
    if host in METADATA_NAMES or host.endswith(".internal"):
        raise BlockedTarget(_("%(host)s is a cloud metadata or internal host name.") % {"host": host})
    literal = _literal(host)
    if literal is not None:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        addresses = [(int(family), literal)]
    else:
        addresses = _resolve(host, port)
    for _family, ip in addresses:
        reason = _refusal(ip)
        if reason is not None:
            if literal is not None:
                message = _("%(address)s is %(kind)s; kefu only sends to public internet addresses.")
            else:
                message = _("%(host)s resolves to %(address)s, %(kind)s; kefu only sends to public internet addresses.")
            raise BlockedTarget(message % {"host": host, "address": ip, "kind": _kind_label(reason)})
    return Target(scheme, host, port, path, tuple(addresses))


def check_url(url: str) -> None:
    """Refuse ``url`` (BlockedTarget, its message says why) unless kefu may send to it now.

    Used when a URL is saved (admin forms, API serializers) and, again, by every request. Resolves the host
    name: a name that does not resolve raises OutboundError (not BlockedTarget: it may resolve later).
    """
    resolved_target(url)
