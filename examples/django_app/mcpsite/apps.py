"""Where the shared client lives: made once per process when Django starts, closed at exit."""
import atexit

from django.apps import AppConfig
from django.conf import settings


class McpSiteConfig(AppConfig):
    name = "mcpsite"
    client = None  # the process's mcp_sync.Client, set in ready()

    def ready(self) -> None:
        from mcp_sync import Client

        # Client() does no I/O: it connects on its first call, so this is safe at start-up, and a
        # worker forked after it (gunicorn --preload) reconnects on its own first call.
        type(self).client = Client(settings.MCP_URL, timeout=30)
        atexit.register(type(self).client.close)
