"""The ``auth=`` the conformance client uses for the harness's ``auth/*`` scenarios.

The mock authorization servers approve at once and redirect to whatever ``redirect_uri`` they
are given, so :class:`~mcp_sync.auth.AutoApprove` stands in for the person at the browser.
Credentials for the pre-registered and client-credentials scenarios come from
``MCP_CONFORMANCE_CONTEXT``.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from mcp_sync.auth import AutoApprove, ClientCredentials, OAuth

#: The client ID metadata document URL the ``auth/basic-cimd`` mock expects.
CIMD_URL = "https://conformance-test.local/client-metadata.json"


def auth_for(scenario: str, context: Dict[str, Any]) -> Optional[Any]:
    if not scenario.startswith("auth/"):
        return None
    if scenario.startswith("auth/client-credentials"):
        if context.get("private_key_pem"):
            return ClientCredentials(context["client_id"], private_key=context["private_key_pem"],
                                     signing_algorithm=context.get("signing_algorithm") or "ES256")
        return ClientCredentials(context["client_id"], client_secret=context.get("client_secret"))
    options: Dict[str, Any] = {"interaction": AutoApprove(), "client_name": "mcp-sync-conformance",
                               "client_metadata_url": CIMD_URL}
    if context.get("client_id"):
        options.update(client_id=context["client_id"], client_secret=context.get("client_secret"))
    return OAuth(**options)
