"""PKCE (RFC 7636, S256 only) and the ``state`` value: random strings from :mod:`secrets`."""
from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Tuple


def verifier_and_challenge() -> Tuple[str, str]:
    """A 64-character code verifier (within RFC 7636's 43..128) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return verifier, challenge


def new_state() -> str:
    return secrets.token_urlsafe(32)


def same(a: str, b: str) -> bool:
    """Constant-time comparison, for ``state``."""
    return secrets.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
