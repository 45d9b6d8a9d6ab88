"""Authorization for HTTP servers (spec digest §5).

Three ways to log in, all passed as ``Client(url, auth=...)``:

- a bearer token string (or any ``requests.auth.AuthBase``);
- :class:`OAuth`: the interactive authorization-code flow with PKCE, discovery, registration,
  refresh and step-up, with a pluggable :mod:`~mcp_sync.auth.interaction` and
  :mod:`~mcp_sync.auth.storage`;
- :class:`ClientCredentials`: machine-to-machine, with a client secret or ``private_key_jwt``.

Extensions: :class:`EnterpriseAuth` (enterprise-managed authorization: the IdP's ID-JAG),
:class:`WorkloadIdentity` (workload identity federation: the platform's JWT), and DPoP-bound
tokens for all of them (``dpop=``, :class:`DPoPKey`).
"""
from __future__ import annotations

from .client_credentials import EXTENSION as CLIENT_CREDENTIALS_EXTENSION
from .client_credentials import ClientCredentials
from .dpop import DPoPKey
from .enterprise import EXTENSION as ENTERPRISE_EXTENSION
from .enterprise import EnterpriseAuth
from .interaction import AutoApprove, BrowserLogin, CallbackLogin, Interaction, PasteLogin
from .oauth import OAuth
from .storage import FileTokenStorage, MemoryTokenStorage, TokenStorage
from .workload import EXTENSION as WORKLOAD_IDENTITY_EXTENSION
from .workload import WorkloadIdentity

__all__ = [
    "OAuth",
    "ClientCredentials",
    "CLIENT_CREDENTIALS_EXTENSION",
    "EnterpriseAuth",
    "ENTERPRISE_EXTENSION",
    "WorkloadIdentity",
    "WORKLOAD_IDENTITY_EXTENSION",
    "DPoPKey",
    "Interaction",
    "BrowserLogin",
    "PasteLogin",
    "CallbackLogin",
    "AutoApprove",
    "TokenStorage",
    "MemoryTokenStorage",
    "FileTokenStorage",
]
