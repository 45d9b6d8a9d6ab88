"""Authorization for HTTP servers (spec digest §5).

Three ways to log in, all passed as ``Client(url, auth=...)``:

- a bearer token string (or any ``requests.auth.AuthBase``);
- :class:`OAuth`: the interactive authorization-code flow with PKCE, discovery, registration,
  refresh and step-up, with a pluggable :mod:`~mcp_sync.auth.interaction` and
  :mod:`~mcp_sync.auth.storage`;
- :class:`ClientCredentials`: machine-to-machine, with a client secret or ``private_key_jwt``.
"""
from __future__ import annotations

from .client_credentials import EXTENSION as CLIENT_CREDENTIALS_EXTENSION
from .client_credentials import ClientCredentials
from .interaction import AutoApprove, BrowserLogin, CallbackLogin, Interaction, PasteLogin
from .oauth import OAuth
from .storage import FileTokenStorage, MemoryTokenStorage, TokenStorage

__all__ = [
    "OAuth",
    "ClientCredentials",
    "CLIENT_CREDENTIALS_EXTENSION",
    "Interaction",
    "BrowserLogin",
    "PasteLogin",
    "CallbackLogin",
    "AutoApprove",
    "TokenStorage",
    "MemoryTokenStorage",
    "FileTokenStorage",
]
