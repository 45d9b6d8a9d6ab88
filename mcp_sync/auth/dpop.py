"""DPoP, sender-constrained access tokens (RFC 9449; the MCP DPoP extension, SEP-1932).

A DPoP-bound token is useless without the private key it is bound to: every request carries a
fresh proof JWT signed with that key (``DPoP`` header) next to ``Authorization: DPoP <token>``.
Proofs are signed with PyJWT and keys come from ``cryptography`` (the ``mcp-sync[oauth]`` extra).

Every token provider in :mod:`mcp_sync.auth` takes ``dpop=``: ``None`` (default) uses DPoP when
the authorization server advertises it (``dpop_signing_alg_values_supported``) or the MCP server
challenges with the ``DPoP`` scheme, ``True`` always, ``False`` never, and a :class:`DPoPKey`
always, with that key (keep one across restarts to reuse stored DPoP-bound tokens).
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from typing import Any, Dict, Optional, Sequence, Union
from urllib.parse import urlsplit, urlunsplit

import requests

from ..errors import AuthError
from ._urls import origin, parse_challenges

log = logging.getLogger("mcp_sync.auth")

__all__ = ["DPoPKey", "DPoPSession", "SUPPORTED_ALGORITHMS"]

#: Algorithms a key can be generated for, in order of preference.
SUPPORTED_ALGORITHMS = ("ES256", "ES384", "ES512", "EdDSA", "PS256", "RS256")
#: What ``dpop=True`` or automatic DPoP generates when the server states no preference.
DEFAULT_ALGORITHM = "ES256"
_CURVES = {"ES256": "SECP256R1", "ES384": "SECP384R1", "ES512": "SECP521R1"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _crypto() -> Any:
    try:
        import jwt  # noqa: F401  (PyJWT signs the proofs)
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise AuthError("DPoP needs PyJWT and cryptography: pip install 'mcp-sync[oauth]'") from None
    return ec


def available() -> bool:
    """Can DPoP proofs be made here (are the ``oauth`` extra's packages installed)?"""
    try:
        _crypto()
    except AuthError:
        return False
    return True


class DPoPKey:
    """A DPoP key pair: the private key signs proofs, the public key travels in each proof.

    :param private_key: a PEM private key (``str``/``bytes``) or a ``cryptography`` private key;
        ``None`` generates a new one for ``algorithm``.
    :param algorithm: ``ES256`` (default), ``ES384``, ``ES512``, ``EdDSA`` (Ed25519), or for RSA
        keys ``RS256``/``PS256``.
    """

    def __init__(self, private_key: Any = None, algorithm: str = DEFAULT_ALGORITHM) -> None:
        _crypto()
        from cryptography.hazmat.primitives import serialization

        if algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"unsupported DPoP algorithm {algorithm!r} (one of {', '.join(SUPPORTED_ALGORITHMS)})")
        if private_key is None:
            private_key = _generate(algorithm)
        elif isinstance(private_key, (str, bytes)):
            data = private_key.encode("ascii") if isinstance(private_key, str) else private_key
            private_key = serialization.load_pem_private_key(data, password=None)
        self.algorithm = algorithm
        self._key = private_key
        self.public_jwk: Dict[str, str] = _public_jwk(private_key.public_key(), algorithm)
        #: RFC 7638 SHA-256 thumbprint of the public key: the ``cnf.jkt`` a bound token carries.
        self.thumbprint = _thumbprint(self.public_jwk)

    @classmethod
    def generate(cls, algorithm: str = DEFAULT_ALGORITHM) -> "DPoPKey":
        return cls(None, algorithm)

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM, to keep it (safely!) across restarts."""
        from cryptography.hazmat.primitives import serialization

        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())

    def proof(self, method: str, url: str, *, access_token: Optional[str] = None,
              nonce: Optional[str] = None) -> str:
        """A fresh proof JWT for one HTTP request (RFC 9449 §4.2): unique ``jti``, ``htm``,
        ``htu`` (the URL without query and fragment), ``iat``, and ``ath`` when presenting a
        token, ``nonce`` when the server supplied one."""
        import jwt

        parts = urlsplit(url)
        claims: Dict[str, Any] = {"jti": str(uuid.uuid4()), "htm": method.upper(),
                                  "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
                                  "iat": int(time.time())}
        if access_token is not None:
            claims["ath"] = _b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        if nonce is not None:
            claims["nonce"] = nonce
        headers = {"typ": "dpop+jwt", "jwk": self.public_jwk}
        try:
            return jwt.encode(claims, self._key, algorithm=self.algorithm, headers=headers)
        except Exception as exc:  # never echo key material
            raise AuthError(f"could not sign a DPoP proof with {self.algorithm}: {type(exc).__name__}") from None

    def __repr__(self) -> str:
        return f"DPoPKey(algorithm={self.algorithm!r}, thumbprint={self.thumbprint!r})"


def _generate(algorithm: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if algorithm in _CURVES:
        return ec.generate_private_key(getattr(ec, _CURVES[algorithm])())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_jwk(public_key: Any, algorithm: str) -> Dict[str, str]:
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    for kind in (ECAlgorithm, RSAAlgorithm, OKPAlgorithm):
        try:
            text = kind.to_jwk(public_key)
        except Exception:  # not this key type
            continue
        jwk = json.loads(text) if isinstance(text, str) else dict(text)
        break
    else:
        raise AuthError(f"unsupported DPoP key type {type(public_key).__name__}")
    expected = {"EC": "ES", "RSA": ("RS", "PS"), "OKP": "EdDSA"}[jwk["kty"]]
    if not algorithm.startswith(expected):
        raise ValueError(f"a {jwk['kty']} key cannot sign {algorithm} proofs")
    # Only the public members: a proof's jwk must never carry private parts (``d`` etc.).
    members = {"EC": ("kty", "crv", "x", "y"), "RSA": ("kty", "n", "e"), "OKP": ("kty", "crv", "x")}[jwk["kty"]]
    return {k: jwk[k] for k in members}


def _thumbprint(jwk: Dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without whitespace."""
    canonical = json.dumps({k: jwk[k] for k in sorted(jwk)}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def choose_algorithm(advertised: Any) -> Optional[str]:
    """The first of our algorithms the authorization server accepts; ES256 when it lists none;
    None when it lists only algorithms we cannot make."""
    if not isinstance(advertised, list) or not advertised:
        return DEFAULT_ALGORITHM
    return next((alg for alg in SUPPORTED_ALGORITHMS if alg in advertised), None)


class DPoPSession:
    """DPoP state of one token provider: the key and the latest nonce each server supplied
    (RFC 9449 §8/§9). Thread-safe; proofs are never reused."""

    def __init__(self, key: DPoPKey) -> None:
        self.key = key
        self._nonces: Dict[str, str] = {}
        self._lock = threading.Lock()

    def proof(self, method: str, url: str, access_token: Optional[str] = None) -> str:
        with self._lock:
            nonce = self._nonces.get(origin(url))
        return self.key.proof(method, url, access_token=access_token, nonce=nonce)

    def observe(self, response: requests.Response) -> bool:
        """Remember a ``DPoP-Nonce`` the server sent; True when it is new for that server."""
        nonce = response.headers.get("DPoP-Nonce")
        url = response.request.url if response.request is not None else response.url
        if not nonce or not url or len(nonce) > 4096:
            return False
        with self._lock:
            key = origin(url)
            changed = self._nonces.get(key) != nonce
            self._nonces[key] = nonce
        return changed

    def nonce_for(self, url: str) -> Optional[str]:
        with self._lock:
            return self._nonces.get(origin(url))


def nonce_challenge(response: requests.Response) -> bool:
    """Does a resource server's 401 ask for a proof with its nonce (``use_dpop_nonce``)?"""
    if response.status_code != 401:
        return False
    for challenge in parse_challenges(response.headers.get("www-authenticate", "")):
        if challenge.get("scheme") == "dpop" and challenge.get("error") == "use_dpop_nonce":
            return True
    return False


def resolve(setting: Union[bool, DPoPKey, None], advertised: Any, *, demanded: bool) -> Optional[DPoPKey]:
    """Which key (if any) to use with an authorization server that lists ``advertised`` as its
    ``dpop_signing_alg_values_supported``; ``demanded`` when the MCP server challenged with DPoP."""
    if setting is False:
        return None
    listed: Sequence[Any] = advertised if isinstance(advertised, list) else []
    if isinstance(setting, DPoPKey):
        if listed and setting.algorithm not in listed:
            raise AuthError(f"the authorization server accepts DPoP proofs signed with {list(listed)}, "
                            f"not {setting.algorithm} (the algorithm of the given DPoPKey)")
        return setting
    if setting is None and not listed and not demanded:
        return None  # automatic: only when a server asks for it
    algorithm = choose_algorithm(listed)
    if algorithm is None:
        if setting is True:
            raise AuthError(f"the authorization server accepts DPoP proofs signed with {list(listed)}; "
                            "mcp_sync can make none of them")
        log.info("not using DPoP: the authorization server only accepts %s", listed)
        return None
    if setting is None and not available():
        log.warning("the server supports DPoP but PyJWT/cryptography are not installed "
                    "(pip install 'mcp-sync[oauth]'); using bearer tokens")
        return None
    return DPoPKey.generate(algorithm)
