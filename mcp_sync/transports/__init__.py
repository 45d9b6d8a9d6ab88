"""Transports: how JSON-RPC messages travel. Each implements :class:`~mcp_sync.transports.base.Transport`."""
from .base import Transport

__all__ = ["Transport"]
