"""URL rules for OAuth (spec digest §4.7, §5): which URLs may be fetched or opened, the canonical
resource URI, origin checks, and parsing of ``WWW-Authenticate`` challenges."""
from __future__ import annotations

import ipaddress
import re
from typing import Dict, List, Optional
from urllib.parse import urlsplit, urlunsplit

from ..errors import AuthError

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback_host(host: Optional[str]) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: object, what: str) -> str:
    """Return ``url`` if it is safe to fetch or open: ``https``, or ``http`` on a loopback host.

    Everything else (``javascript:``, ``file:``, ``data:``, plain http to a remote host, URLs with
    credentials or a fragment) raises :class:`AuthError`, so a hostile metadata document cannot
    make us open or post to something unexpected."""
    if not isinstance(url, str) or not url or any(c in url for c in "\r\n\t\x00 "):
        raise AuthError(f"{what}: not a usable URL: {str(url)[:200]!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise AuthError(f"{what}: malformed URL {url[:200]!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise AuthError(f"{what}: refusing {url[:200]!r} (only https://, or http:// on loopback)")
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise AuthError(f"{what}: refusing plain-http {url[:200]!r} on a non-loopback host")
    if parts.username is not None or parts.password is not None:
        raise AuthError(f"{what}: refusing a URL with embedded credentials")
    if parts.fragment:
        raise AuthError(f"{what}: refusing a URL with a fragment: {url[:200]!r}")
    return url


def origin(url: str) -> str:
    """``scheme://host[:port]`` in lowercase, default ports dropped."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def canonical_resource(url: str) -> str:
    """RFC 8707 / spec §5 step 6: lowercase scheme and host, no fragment, no trailing slash."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), origin(url).split("://", 1)[1], path, parts.query, ""))


def resource_matches(published: str, server_url: str) -> bool:
    """Does the PRM ``resource`` identify the server we talk to? Equal after canonicalisation, or
    (as the Python SDK allows) an origin-equal path prefix of it at a segment boundary."""
    try:
        a, b = canonical_resource(published), canonical_resource(server_url)
    except ValueError:
        return False
    if a == b:
        return True
    if origin(published) != origin(server_url) or urlsplit(published).query:
        return False
    prefix = urlsplit(a).path
    path = urlsplit(b).path
    return prefix == "" or path.startswith(prefix + "/")


def well_known(url: str, suffix: str, *, insert_path: bool) -> str:
    """``origin/.well-known/<suffix>[<path of url>]`` (RFC 8414 / RFC 9728 path insertion)."""
    path = urlsplit(url).path.rstrip("/") if insert_path else ""
    return f"{origin(url)}/.well-known/{suffix}{path}"


# ---------------------------------------------------------------- WWW-Authenticate

_PARAM = re.compile(r'\s*([A-Za-z0-9_.\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def parse_challenges(header: str) -> List[Dict[str, str]]:
    """Parse ``WWW-Authenticate`` into challenges: ``[{"scheme": "bearer", "scope": ...}, ...]``.
    Parameter names are lowercased; quoted values are unescaped."""
    challenges: List[Dict[str, str]] = []
    pos, text = 0, header or ""
    current: Optional[Dict[str, str]] = None
    while pos < len(text):
        while pos < len(text) and text[pos] in " ,\t":
            pos += 1
        if pos >= len(text):
            break
        param = _PARAM.match(text, pos)
        if param and current is not None:
            name, value = param.group(1).lower(), param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            current.setdefault(name, value)
            pos = param.end()
            continue
        scheme = re.match(r"([A-Za-z0-9_.\-!#$%&'*+^`|~]+)", text[pos:])
        if not scheme:
            break
        current = {"scheme": scheme.group(1).lower()}
        challenges.append(current)
        pos += scheme.end()
        token68 = re.match(r"\s+([A-Za-z0-9\-._~+/]+=*)\s*(,|$)", text[pos:])
        if token68 and "=" not in text[pos:pos + token68.end()].strip().rstrip(",").rstrip("="):
            pos += token68.end()
    return challenges


def bearer_challenge(header: str) -> Dict[str, str]:
    """The ``Bearer`` challenge's parameters (empty if there is none)."""
    for challenge in parse_challenges(header):
        if challenge.get("scheme") == "bearer":
            return challenge
    return {}
