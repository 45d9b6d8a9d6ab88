"""``python -m mcp_sync``: the ``mcp-sync`` command line."""
from .cli import _console_main

if __name__ == "__main__":
    _console_main()
