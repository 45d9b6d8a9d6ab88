"""An MCP server that is also its own OAuth authorization server, built from the official SDK's
auth components (``mcp.server.auth``): dynamic registration, PKCE, refresh with rotation, RFC 8707
resource binding. Authorization is granted at once (no login page), so a test drives the flow
through the real endpoints. The ``auth_stats`` tool reports how often each grant was used.

    python tests/servers/oauth_server.py --port 8000 [--token-ttl 3600]
"""
from __future__ import annotations

import argparse
import secrets
import time
from typing import Dict, Optional

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


class AutoApproveProvider:
    def __init__(self, token_ttl: int) -> None:
        self.token_ttl = token_ttl
        self.clients: Dict[str, OAuthClientInformationFull] = {}
        self.codes: Dict[str, AuthorizationCode] = {}
        self.access: Dict[str, AccessToken] = {}
        self.refresh: Dict[str, RefreshToken] = {}
        self.stats = {"registrations": 0, "authorizations": 0, "code_exchanges": 0, "refreshes": 0}

    async def get_client(self, client_id: str) -> Optional[OAuthClientInformationFull]:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.stats["registrations"] += 1
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        self.stats["authorizations"] += 1
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code, scopes=params.scopes or [], expires_at=time.time() + 300, client_id=client.client_id,
            code_challenge=params.code_challenge, redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly, resource=params.resource)
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client, authorization_code):  # type: ignore[no-untyped-def]
        code = self.codes.get(authorization_code)
        return code if code is not None and code.client_id == client.client_id else None

    async def exchange_authorization_code(self, client, authorization_code):  # type: ignore[no-untyped-def]
        self.stats["code_exchanges"] += 1
        self.codes.pop(authorization_code.code, None)
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource)

    async def load_refresh_token(self, client, refresh_token):  # type: ignore[no-untyped-def]
        token = self.refresh.get(refresh_token)
        return token if token is not None and token.client_id == client.client_id else None

    async def exchange_refresh_token(self, client, refresh_token, scopes):  # type: ignore[no-untyped-def]
        self.stats["refreshes"] += 1
        self.refresh.pop(refresh_token.token, None)  # rotation: the old refresh token dies
        return self._issue(client.client_id, scopes or refresh_token.scopes, refresh_token.resource)

    async def load_access_token(self, token: str) -> Optional[AccessToken]:
        access = self.access.get(token)
        if access is None or (access.expires_at is not None and access.expires_at < time.time()):
            return None
        return access

    async def revoke_token(self, token) -> None:  # type: ignore[no-untyped-def]
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)

    def _issue(self, client_id: str, scopes: list, resource: Optional[str]) -> OAuthToken:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access[access] = AccessToken(token=access, client_id=client_id, scopes=scopes,
                                          expires_at=int(time.time()) + self.token_ttl, resource=resource)
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes, resource=resource)
        return OAuthToken(access_token=access, token_type="Bearer", expires_in=self.token_ttl,
                          refresh_token=refresh, scope=" ".join(scopes) or None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-ttl", type=int, default=3600)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    provider = AutoApproveProvider(args.token_ttl)
    server = MCPServer(
        "oauth-test-server", version="1.0.0", log_level="WARNING", auth_server_provider=provider,
        auth=AuthSettings(issuer_url=base, resource_server_url=f"{base}/mcp", validate_token_resource=True,
                          required_scopes=["mcp"],
                          client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=["mcp"],
                                                                                default_scopes=["mcp"])))

    @server.tool()
    def echo(message: str) -> str:
        return message

    @server.tool()
    def auth_stats() -> dict:
        return dict(provider.stats)

    import uvicorn

    uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
