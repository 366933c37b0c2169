"""SSRF guard: refuse URLs that point inside the machine or its network.

The workbench fetches whatever URL an analyst pastes, and yt-dlp then follows
redirects, subtitle links and media URLs taken from remote pages. Every one of
those URLs passes :func:`check_url` first, so a crafted page cannot make the
server read ``http://169.254.169.254/...`` (cloud metadata), ``localhost``
admin ports or ``file:///etc/passwd``.

Limit: the address is checked when the URL is checked; the HTTP client resolves
the name again when it connects (a DNS-rebinding window remains).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import unicodedata
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from .errors import BlockedSourceError, InvalidSourceError, PipelineError, ServiceUnavailableError

log = logging.getLogger(__name__)

ALLOWED_SCHEMES = ("http", "https")
ALLOW_HINT = (
    "If this is a trusted setup that must reach local or private addresses, "
    "set VIDEOMAP_ALLOW_PRIVATE_ADDRESSES=true."
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
P = ParamSpec("P")
R = TypeVar("R")
# Characters that reorder or hide terminal text although they are not control characters.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), for messages that quote input.

    A source line or list file can hold terminal escape sequences; echoed as they are,
    they would recolour, clear or rewrite the analyst's terminal.
    """
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char == " " or (char.isprintable() and char not in _BIDI_CONTROLS):
            out.append(char)
        elif unicodedata.category(char) == "Zs":
            out.append(" ")
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def printable_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Escape control characters in the message of every PipelineError ``func`` raises."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PipelineError as exc:
            safe = printable(exc.message)
            if safe != exc.message:
                exc.message = safe
                exc.args = (safe, *exc.args[1:])
            raise

    return wrapper


def check_scheme(url: str) -> None:
    """Refuse anything but http(s) - in every mode, before offline mode or DNS matter."""
    text = url.strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""  # what urlsplit gives, without its ValueError
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "(no scheme)"
        raise BlockedSourceError(
            f"Refused {url!r}: only http:// and https:// URLs can be fetched; {shown} URLs are refused "
            "in every mode, online or offline. Local files must be given as a path, not a URL.",
            source=url,
        )


def _resolve(host: str) -> list[IPAddress]:
    """All addresses ``host`` resolves to (a separate function so tests can stub DNS)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        addresses.append(ipaddress.ip_address(text))
    return addresses


def blocked_reason(address: IPAddress) -> str | None:
    """Why ``address`` is refused, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            reason = blocked_reason(mapped)
            return f"{reason} (IPv4 inside IPv6)" if reason else None
        if address.teredo is not None:
            return "a Teredo tunnel address"
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private network address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    if not address.is_global:
        return "a non-public address"
    return None


@printable_errors
def check_url(url: str, *, allow_private: bool = False) -> None:
    """Raise BlockedSourceError unless ``url`` is http(s) to a public address.

    With ``allow_private`` only the scheme is checked (no name resolution).
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidSourceError(f"Not a valid URL: {url!r} ({exc}).", source=url) from exc
    check_scheme(url)
    if not host:
        raise InvalidSourceError(f"Not a valid URL: {url!r} has no host name.", source=url)
    if allow_private:
        return
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = _resolve(host)
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)):
                raise InvalidSourceError(
                    f"The host name {host!r} in {url!r} does not exist (DNS lookup failed).", source=url
                ) from exc
            raise ServiceUnavailableError(
                f"Could not look up the host name {host!r} ({exc.strerror or exc}); "
                "the network or DNS may be down.",
                source=url,
            ) from exc
        except (OSError, UnicodeError, ValueError) as exc:
            raise InvalidSourceError(f"Could not look up the host name {host!r} in {url!r}: {exc}", source=url) from exc
    if not addresses:
        raise InvalidSourceError(f"The host name {host!r} in {url!r} has no addresses.", source=url)
    for address in addresses:
        reason = blocked_reason(address)
        if reason:
            shown_host = host if host == str(address) else f"{host} ({address})"
            log.warning("Blocked %s: %s is %s", url, shown_host, reason)
            raise BlockedSourceError(
                f"Refused {url!r}: {shown_host} is {reason}, which the workbench does not fetch "
                f"(protection against server-side request forgery). {ALLOW_HINT}",
                source=url,
            )
