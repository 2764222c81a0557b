"""Where a webhook may go: http(s) URLs whose host has public addresses only.

An endpoint's URL is an address chosen from outside, and the requests to it come from
inside our network: without this rule an admin's mistake (or a stolen admin token) could
make the service post to its own database, a cloud metadata service or a printer
(server-side request forgery). The host is resolved and every address checked when the
endpoint is registered, and again at every send, where the connection then goes to an
address just checked and to no other (a name that resolved to a public address at
registration may resolve to 127.0.0.1 later: DNS rebinding). ``allow_private``
(LEARNHUB_WEBHOOKS_ALLOW_PRIVATE) lifts the rule, for tests and closed networks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# The well-known NAT64 prefix (RFC 6052): the IPv4 address in its last 32 bits is reached.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class Refused(Exception):
    """The URL, or an address its host resolves to, is not one we send to."""


@dataclass(frozen=True)
class Target:
    """What a URL names: its scheme, host (IDNA, lower case) and port."""

    scheme: str
    host: str
    port: int


def parse(url: str) -> Target:
    """The scheme, host and port of an http(s) URL; Refused, with a sentence, otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a bad port, or brackets that are not an IPv6 address
        raise Refused(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("must start with https:// or http://")
    if not parts.hostname:
        raise Refused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise Refused("must not carry a user name or password: deliveries are signed instead")
    if parts.fragment or url.endswith("#"):
        raise Refused("must not have a #fragment (it is never sent)")
    if any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in url):
        raise Refused("must not contain spaces or control characters")
    return Target(scheme, _ascii_host(parts.hostname), port or (443 if scheme == "https" else 80))


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise Refused(f"the host {host!r} is not a valid domain name") from None


def literal(host: str) -> IPAddress | None:
    """The address, if the host is written as one."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    """Whether the address is reachable on the public internet, and only there: not
    loopback, private, link-local, shared (CGNAT), multicast, reserved or unspecified, nor
    an IPv6 address that carries such an IPv4 address (mapped, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in _embedded(address):
            if not is_public(embedded):
                return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


def _embedded(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo is not None:
        found += list(address.teredo)
    if address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


async def resolve(host: str, port: int, *, within: float) -> list[IPAddress]:
    """Every address the host has now (the host itself if it is an address)."""
    address = literal(host)
    if address is not None:
        return [address]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(within):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise OSError(f"looking up {host} took more than {within:g} s") from None
    except socket.gaierror as exc:
        raise OSError(f"cannot look up {host}: {exc.strerror}") from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    return found


def check(host: str, addresses: list[IPAddress], *, allow_private: bool) -> None:
    """Refused if any address is not public (one bad address is enough: the connection
    might go to it)."""
    if allow_private:
        return
    bad = [str(a) for a in addresses if not is_public(a)]
    if bad:
        said = host if literal(host) is not None else f"{host} resolves to {', '.join(bad)}"
        raise Refused(
            f"{said}: webhooks go to public addresses only "
            "(not loopback, private, link-local or reserved ones)"
        )
