"""The ``auth=`` the conformance client uses for the harness's ``auth/*`` scenarios.

The mock authorization servers approve at once and redirect to whatever ``redirect_uri`` they
are given, so :class:`~mcp_sync.auth.AutoApprove` stands in for the person at the browser.
Credentials for the pre-registered, client-credentials, enterprise-managed (ID-JAG) and workload
identity scenarios come from ``MCP_CONFORMANCE_CONTEXT``. DPoP needs nothing here: ``OAuth`` uses
it when the authorization server advertises it.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from mcp_sync.auth import AutoApprove, ClientCredentials, EnterpriseAuth, OAuth, WorkloadIdentity

#: The client ID metadata document URL the ``auth/basic-cimd`` mock expects.
CIMD_URL = "https://conformance-test.local/client-metadata.json"


def auth_for(scenario: str, context: Dict[str, Any]) -> Optional[Any]:
    if not scenario.startswith("auth/"):
        return None
    if context.get("idp_id_token"):  # auth/cross-app-access-complete-flow, auth/enterprise-managed-authorization
        return EnterpriseAuth(context["client_id"], client_secret=context.get("client_secret"),
                              id_token=context["idp_id_token"], idp_client_id=context.get("idp_client_id"),
                              idp_issuer=context.get("idp_issuer"), idp_token_endpoint=context.get("idp_token_endpoint"))
    if context.get("valid_jwt"):  # auth/wif-jwt-bearer
        return WorkloadIdentity(context["valid_jwt"], client_id=context.get("client_id"))
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
