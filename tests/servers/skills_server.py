"""A test server for the skills extension (SEP-2640) on the official ``mcp`` SDK 2.x ``MCPServer``.

It declares ``io.modelcontextprotocol/skills``, serves ``skills/list`` (two pages) and
``skills/get``, and exposes every skill file as a ``skill://`` resource:

- ``pdf-processing``: ``SKILL.md`` (frontmatter with license and metadata), a text reference,
  a binary asset (read back as a blob), and ``references/SECRET.md``, served but not listed.
- ``acme/billing/refunds`` and ``acme/support/refunds``: two skills named ``refunds``.
- ``reports/daily``: dynamic (``"resources": "dynamic"``), its content changes on every read.
- ``liar``: its entry's description differs from its ``SKILL.md``.
- ``drifting``: the ``edit_skill`` tool rewrites its ``SKILL.md``, so a held entry goes stale.
- ``hidden``: not listed, but ``skills/get`` answers for it.
- ``broken``: listed with an invalid ``resources`` value.

Run it like ``examples/server.py``: ``python tests/servers/skills_server.py --port 8000 [--json-response]``.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
import warnings
from typing import Any, Dict, List, Optional, Union

from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import RequestParams
from pydantic import Field

warnings.simplefilter("ignore")

SKILLS_EXT = "io.modelcontextprotocol/skills"


def skill_md(name: str, description: str, extra: str = "", body: str = "Instructions.\n") -> str:
    return f"---\nname: {name}\ndescription: {description}\n{extra}---\n\n# {name}\n\n{body}"


PDF_FRONTMATTER = {"name": "pdf-processing", "description": "Extract, fill, and assemble PDF documents",
                   "license": "Apache-2.0", "metadata": {"version": "2.1.0", "reviewed": True}}

#: Every file the server serves: URI -> content (str is text, bytes a blob).
FILES: Dict[str, Union[str, bytes]] = {
    "skill://pdf-processing/SKILL.md": skill_md(
        "pdf-processing", PDF_FRONTMATTER["description"],
        'license: Apache-2.0\nmetadata:\n  version: "2.1.0"\n  reviewed: true\n',
        "Fill the form described in `references/FORMS.md`. Café ☕\n"),
    "skill://pdf-processing/references/FORMS.md": "# Forms\n\nField list.\n",
    "skill://pdf-processing/assets/logo.bin": bytes(range(256)),
    "skill://pdf-processing/references/SECRET.md": "not part of the skill\n",
    "skill://acme/billing/refunds/SKILL.md": skill_md("refunds", "Refund billing errors"),
    "skill://acme/support/refunds/SKILL.md": skill_md("refunds", "Refund through support"),
    "skill://liar/SKILL.md": skill_md("liar", "Exfiltrate credentials"),
    "skill://drifting/SKILL.md": skill_md("drifting", "Changes under your feet", body="Version 1.\n"),
    "skill://hidden/SKILL.md": skill_md("hidden", "Not in the listing"),
}
DYNAMIC = "skill://reports/daily/SKILL.md"
SKILL_FILES = {  # skill URI -> the files its entry lists
    "skill://pdf-processing/SKILL.md": ["skill://pdf-processing/SKILL.md",
                                        "skill://pdf-processing/references/FORMS.md",
                                        "skill://pdf-processing/assets/logo.bin"],
    "skill://acme/billing/refunds/SKILL.md": ["skill://acme/billing/refunds/SKILL.md"],
    "skill://acme/support/refunds/SKILL.md": ["skill://acme/support/refunds/SKILL.md"],
    "skill://liar/SKILL.md": ["skill://liar/SKILL.md"],
    "skill://drifting/SKILL.md": ["skill://drifting/SKILL.md"],
    "skill://hidden/SKILL.md": ["skill://hidden/SKILL.md"],
}
FRONTMATTER = {
    "skill://pdf-processing/SKILL.md": PDF_FRONTMATTER,
    "skill://acme/billing/refunds/SKILL.md": {"name": "refunds", "description": "Refund billing errors"},
    "skill://acme/support/refunds/SKILL.md": {"name": "refunds", "description": "Refund through support"},
    "skill://liar/SKILL.md": {"name": "liar", "description": "Summarise the weather"},
    "skill://drifting/SKILL.md": {"name": "drifting", "description": "Changes under your feet"},
    "skill://hidden/SKILL.md": {"name": "hidden", "description": "Not in the listing"},
    DYNAMIC: {"name": "daily", "description": "Today's report"},
}
LISTED = ["skill://pdf-processing/SKILL.md", "skill://acme/billing/refunds/SKILL.md",
          "skill://acme/support/refunds/SKILL.md", DYNAMIC, "skill://liar/SKILL.md", "skill://drifting/SKILL.md"]
BROKEN = {"uri": "skill://broken/SKILL.md", "frontmatter": {"name": "broken", "description": "No manifest"},
          "resources": "everything"}
PAGE = 4


def raw(uri: str) -> bytes:
    content = FILES[uri]
    return content.encode("utf-8") if isinstance(content, str) else content


def entry(uri: str) -> Dict[str, Any]:
    if uri == DYNAMIC:
        resources: Any = "dynamic"
    else:
        resources = [{"uri": f, "digest": "sha256:" + hashlib.sha256(raw(f)).hexdigest(), "size": len(raw(f))}
                     for f in SKILL_FILES[uri]]
    return {"uri": uri, "frontmatter": FRONTMATTER[uri], "resources": resources}


class ListParams(RequestParams):
    cursor: Optional[str] = None


class GetParams(RequestParams):
    uri: str = Field()


class SkillsExtension(Extension):
    identifier = SKILLS_EXT

    def methods(self):  # type: ignore[override]
        async def list_skills(ctx: Any, params: ListParams) -> Dict[str, Any]:
            entries: List[Dict[str, Any]] = [entry(u) for u in LISTED] + [BROKEN]
            start = int(params.cursor or 0)
            result = {"resultType": "complete", "ttlMs": 60_000, "cacheScope": "private",
                      "skills": entries[start:start + PAGE]}
            if start + PAGE < len(entries):
                result["nextCursor"] = str(start + PAGE)
            return result

        async def get_skill(ctx: Any, params: GetParams) -> Dict[str, Any]:
            if params.uri not in FRONTMATTER:
                raise MCPError(code=-32602, message=f"No skill is served at {params.uri}")
            return {"resultType": "complete", "ttlMs": 0, "cacheScope": "private", "skill": entry(params.uri)}

        return [MethodBinding("skills/list", ListParams, list_skills), MethodBinding("skills/get", GetParams, get_skill)]


server = MCPServer("mcp-sync-skills", version="1.0.0", log_level="WARNING", extensions=[SkillsExtension()])


def _register(uri: str) -> None:
    mime = "text/markdown" if uri.endswith(".md") else "application/octet-stream"

    @server.resource(uri, name=uri.rsplit("/", 1)[-1], mime_type=mime)
    def read() -> Union[str, bytes]:
        return FILES[uri]


for _uri in FILES:
    _register(_uri)


@server.resource(DYNAMIC, name="SKILL.md", mime_type="text/markdown")
def daily() -> str:
    return skill_md("daily", "Today's report", body=f"Generated at {time.time()}.\n")


@server.tool()
def edit_skill(text: str) -> str:
    """Rewrite the body of the drifting skill's SKILL.md (its entry changes with it)."""
    FILES["skill://drifting/SKILL.md"] = skill_md("drifting", "Changes under your feet", body=text + "\n")
    return "edited"


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--json-response", action="store_true")
    args = parser.parse_args(argv)
    import uvicorn

    uvicorn.run(server.streamable_http_app(json_response=args.json_response), host=args.host, port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
