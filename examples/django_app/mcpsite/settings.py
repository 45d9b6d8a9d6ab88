"""The whole configuration of the example project: no database, no apps, one setting for MCP."""
import os

SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "mcpsite.urls"
INSTALLED_APPS = ["mcpsite"]
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
WSGI_APPLICATION = "mcpsite.wsgi.application"

#: The MCP server the views call.
MCP_URL = os.environ.get("MCP_URL", "http://127.0.0.1:8000/mcp")
