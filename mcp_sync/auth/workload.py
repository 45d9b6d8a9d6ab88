"""Workload identity federation (``io.modelcontextprotocol/auth/wif``, SEP-1933): a workload
(a Kubernetes pod, a CI job, a cloud VM, a SPIFFE workload) presents the JWT its platform issued it
as an RFC 7523 JWT bearer grant, and gets an access token without any client secret.

Platforms rotate these tokens (Kubernetes projected service-account tokens, GitHub Actions OIDC
tokens, ...), so the assertion is read anew for every token request: from a string, a callable, a
file (:meth:`WorkloadIdentity.from_file`) or an environment variable
(:meth:`WorkloadIdentity.from_env`). A refused grant is final: the error is raised, never retried
with another grant type.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Optional, Sequence, Union

import requests

from ..errors import AuthError
from ._grant import JWT_BEARER_GRANT, GrantAuth
from ._token import ClientIdentity
from .dpop import DPoPKey

log = logging.getLogger("mcp_sync.auth")

EXTENSION = "io.modelcontextprotocol/auth/wif"
#: Workload tokens are small; a bigger file is not one.
MAX_ASSERTION_SIZE = 64 * 1024


class WorkloadIdentity(GrantAuth):
    """Get tokens with the JWT bearer grant, presenting the workload's identity token.

    :param assertion: the workload JWT, or a callable returning the current one.
    :param client_id: a client identifier, if the authorization server wants one (none needed
        by SEP-1933: the token's issuer and subject identify the workload).
    :param scopes: scopes to ask for when the server's challenge names none.
    :param issuer: the authorization server that trusts the workload's issuer; a server pointing
        elsewhere is refused instead of being sent the token.
    :param dpop: DPoP-bound tokens, see :mod:`mcp_sync.auth.dpop`.
    """

    def __init__(
        self,
        assertion: Union[str, Callable[[], str]],
        *,
        client_id: Optional[str] = None,
        scopes: Optional[Sequence[str]] = None,
        issuer: Optional[str] = None,
        server_url: Optional[str] = None,
        session: Optional[requests.Session] = None,
        timeout: float = 30.0,
        max_step_up: int = 2,
        dpop: Union[bool, DPoPKey, None] = None,
    ) -> None:
        identity = ClientIdentity(client_id=client_id, auth_method="none") if client_id else None
        super().__init__(identity, scopes=scopes, issuer=issuer, server_url=server_url, session=session,
                         timeout=timeout, max_step_up=max_step_up, dpop=dpop)
        self._assertion = assertion

    @classmethod
    def from_file(cls, path: Union[str, "os.PathLike[str]"], **options: object) -> "WorkloadIdentity":
        """Read the token from ``path`` for every token request (e.g. a Kubernetes projected
        service-account token at ``/var/run/secrets/tokens/...``)."""
        location = os.fspath(path)

        def read() -> str:
            try:
                with open(location, "rb") as handle:
                    data = handle.read(MAX_ASSERTION_SIZE + 1)
            except OSError as exc:
                raise AuthError(f"cannot read the workload identity token at {location}: {exc.strerror}") from None
            if len(data) > MAX_ASSERTION_SIZE:
                raise AuthError(f"{location} is larger than {MAX_ASSERTION_SIZE} bytes; not a workload token")
            return data.decode("ascii", "replace").strip()

        return cls(read, **options)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, variable: str, **options: object) -> "WorkloadIdentity":
        """Read the token from the environment variable ``variable`` for every token request."""

        def read() -> str:
            value = os.environ.get(variable, "").strip()
            if not value:
                raise AuthError(f"no workload identity token in ${variable}")
            return value

        return cls(read, **options)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<mcp_sync.auth.WorkloadIdentity server={self._server_url!r} {'token' if self._tokens else 'no token'}>"

    def _fetch(self) -> None:
        assertion = self._assertion() if callable(self._assertion) else self._assertion
        if not isinstance(assertion, str) or assertion.count(".") != 2:
            raise AuthError("the workload identity token is not a JWT")
        self._tokens = self._request_token({"grant_type": JWT_BEARER_GRANT, "assertion": assertion,
                                            "scope": self._scope})
