"""Where OAuth credentials live between requests and between runs.

A record holds the client registration and the tokens for one MCP server *and* one
authorization server (its ``issuer``): credentials are bound to the issuer that issued them and
are never offered to another (spec digest §5 step 4, "issuer binding").
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, Optional, Protocol, Tuple, Union

log = logging.getLogger("mcp_sync.auth")

Record = Dict[str, Any]


class TokenStorage(Protocol):
    """Implement these three methods to keep credentials elsewhere (a keyring, a database).

    ``server`` is the canonical MCP server URL and ``issuer`` the authorization server's issuer.
    A record is a JSON-serialisable dict: ``{"client": {...}, "tokens": {...}}``. Methods may be
    called from several threads.
    """

    def load(self, server: str, issuer: str) -> Optional[Record]: ...

    def save(self, server: str, issuer: str, record: Record) -> None: ...

    def delete(self, server: str, issuer: str) -> None: ...


class MemoryTokenStorage:
    """The default: credentials live as long as the provider object."""

    def __init__(self) -> None:
        self._records: Dict[Tuple[str, str], Record] = {}
        self._lock = threading.Lock()

    def load(self, server: str, issuer: str) -> Optional[Record]:
        with self._lock:
            record = self._records.get((server, issuer))
            return json.loads(json.dumps(record)) if record is not None else None

    def save(self, server: str, issuer: str, record: Record) -> None:
        with self._lock:
            self._records[(server, issuer)] = json.loads(json.dumps(record))

    def delete(self, server: str, issuer: str) -> None:
        with self._lock:
            self._records.pop((server, issuer), None)

    def __repr__(self) -> str:
        return f"MemoryTokenStorage({len(self._records)} record(s))"


def default_directory() -> Path:
    """``mcp-sync/tokens`` under the user's configuration directory."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mcp-sync" / "tokens"


class FileTokenStorage:
    """One JSON file per (server, issuer) in ``directory`` (default: :func:`default_directory`),
    readable by the owner only (files 0600; a directory it creates 0700, an existing one is left
    as it is), replaced atomically on each save.

    The file names are hashes; each file also records its server and issuer, and a file whose
    contents name another pair is ignored.
    """

    def __init__(self, directory: Union[str, "os.PathLike[str]", None] = None) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()
        self._lock = threading.Lock()

    def path(self, server: str, issuer: str) -> Path:
        digest = hashlib.sha256(f"{server}\n{issuer}".encode("utf-8")).hexdigest()[:40]
        return self.directory / f"{digest}.json"

    def load(self, server: str, issuer: str) -> Optional[Record]:
        path = self.path(server, issuer)
        try:
            with open(path, "r", encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable token file %s: %s", path, exc)
            return None
        if not isinstance(data, dict) or data.get("server") != server or data.get("issuer") != issuer:
            log.warning("ignoring token file %s: it belongs to another server or issuer", path)
            return None
        record = data.get("record")
        return record if isinstance(record, dict) else None

    def save(self, server: str, issuer: str, record: Record) -> None:
        with self._lock:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = self.path(server, issuer)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=str(self.directory))
            try:
                os.chmod(tmp, 0o600)  # mkstemp already uses 0600; be explicit for odd umasks/platforms
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"server": server, "issuer": issuer, "record": record}, f)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise

    def delete(self, server: str, issuer: str) -> None:
        with self._lock:
            try:
                os.unlink(self.path(server, issuer))
            except FileNotFoundError:
                pass

    def __repr__(self) -> str:
        return f"FileTokenStorage({str(self.directory)!r})"
