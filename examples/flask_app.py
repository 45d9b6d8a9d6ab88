"""A Flask app that calls an MCP server from its views through one shared client.

    MCP_URL=http://127.0.0.1:8000/mcp flask --app examples/flask_app.py run --with-threads

Lifecycle: one ``Client`` per process, made when the app is made and shared by every request
thread (a ``Client`` is thread-safe). It connects on its first call, and is closed at interpreter
exit. Under a pre-forking server (gunicorn ``--preload``) a forked worker gets a fresh connection
on its first call; it never reuses the parent's sockets.
"""
from __future__ import annotations

import atexit
import os
from typing import Optional

from flask import Flask, jsonify, request

from mcp_sync import Client, MCPError


def create_app(mcp_url: Optional[str] = None) -> Flask:
    app = Flask(__name__)
    client = Client(mcp_url or os.environ.get("MCP_URL", "http://127.0.0.1:8000/mcp"), timeout=30)
    app.extensions["mcp_client"] = client
    atexit.register(client.close)

    @app.get("/tools")
    def tools():
        return jsonify([tool.name for tool in client.list_tools()])

    @app.post("/tools/<name>")
    def call_tool(name: str):
        try:
            result = client.call_tool(name, request.get_json(silent=True) or {})
        except MCPError as exc:  # the server is down or refused the call: a bad gateway for us
            return jsonify(error=str(exc)), 502
        body = {"text": result.text, "structured": result.structured, "is_error": result.is_error}
        return jsonify(body), 422 if result.is_error else 200

    return app


if __name__ == "__main__":
    create_app().run(threaded=True)
