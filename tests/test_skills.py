"""The skills extension (SEP-2640): listing without reading, loading with size, digest and
frontmatter verification, supporting files on demand. Against the official SDK serving skills
(tests/servers/skills_server.py), and via ``responses`` for what a real server will not send."""
from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests
import responses

from conftest import shared_server
from mcp_sync import Client
from mcp_sync.errors import ExtensionNotSupported, InvalidParams, SkillVerificationError
from mcp_sync.skills import SKILLS_EXTENSION, LoadedSkill, Skill, parse_frontmatter
from servers import EXAMPLE_SERVER, ROOT, ServerProcess

SKILLS_SERVER = ROOT / "tests" / "servers" / "skills_server.py"
PDF = "skill://pdf-processing/SKILL.md"


class Recorder:
    """A ``requests`` session that remembers the JSON-RPC method and params of every POST."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.calls: List[Dict[str, Any]] = []
        self.session.hooks["response"].append(self._record)

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        body = response.request.body
        if response.request.method == "POST" and body:
            message = json.loads(body)
            if "method" in message:
                self.calls.append(message)

    def methods(self) -> List[str]:
        return [m["method"] for m in self.calls]

    def reads(self) -> List[str]:
        return [m["params"]["uri"] for m in self.calls if m["method"] == "resources/read"]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture(scope="module", params=[[], ["--json-response"]], ids=["sse-replies", "json-replies"])
def skills_server(request: Any) -> Iterator[ServerProcess]:
    server = ServerProcess([str(SKILLS_SERVER), *request.param]).start()
    yield server
    server.stop()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.session.close()


@pytest.fixture
def client(skills_server: ServerProcess, recorder: Recorder) -> Iterator[Client]:
    with Client(skills_server.url, skills=True, session=recorder.session) as c:
        recorder.clear()
        yield c


# ---------------------------------------------------------------------- against the official SDK


def test_listing_follows_pages_reads_no_file_and_leaves_out_invalid_entries(client: Client, recorder: Recorder):
    skills = client.skills.list()
    assert [s.uri for s in skills] == [PDF, "skill://acme/billing/refunds/SKILL.md",
                                       "skill://acme/support/refunds/SKILL.md", "skill://reports/daily/SKILL.md",
                                       "skill://liar/SKILL.md", "skill://drifting/SKILL.md"]
    assert "skill://broken/SKILL.md" not in [s.uri for s in skills]  # resources: "everything"
    assert recorder.methods() == ["skills/list", "skills/list"]  # two pages, and no file read
    pdf = skills[0]
    assert isinstance(pdf, Skill)
    assert (pdf.name, pdf.root, pdf.dynamic) == ("pdf-processing", "skill://pdf-processing", False)
    assert pdf.frontmatter["metadata"] == {"version": "2.1.0", "reviewed": True}
    assert [f.uri for f in pdf.files] == [PDF, "skill://pdf-processing/references/FORMS.md",
                                          "skill://pdf-processing/assets/logo.bin"]
    assert pdf.file("skill://pdf-processing/assets/logo.bin").size == 256
    assert skills[3].dynamic and skills[3].files == []


def test_extension_is_declared_only_when_asked_for(skills_server: ServerProcess, recorder: Recorder):
    with Client(skills_server.url, skills=True, session=recorder.session) as c:
        c.skills.list()
    first = len(recorder.calls)
    with Client(skills_server.url, session=recorder.session) as c:
        c.list_tools()
        with pytest.raises(ValueError, match="skills=True"):
            c.skills.list()
    caps = [m["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] for m in recorder.calls
            if m["method"] in ("skills/list", "tools/list")]
    assert caps[0]["extensions"] == {SKILLS_EXTENSION: {}}
    assert "extensions" not in caps[-1]
    assert "skills/list" not in [m["method"] for m in recorder.calls[first:]]  # refused before any request


def test_load_reads_only_skill_md_and_verifies_it(client: Client, recorder: Recorder):
    client.skills.list()
    recorder.clear()
    pdf = client.skills.load("pdf-processing")
    assert isinstance(pdf, LoadedSkill) and pdf.verified
    assert recorder.reads() == [PDF]
    assert pdf.frontmatter == pdf.skill.frontmatter
    assert pdf.text.startswith("---\nname: pdf-processing\n")
    assert pdf.body.lstrip().startswith("# pdf-processing") and "Café ☕" in pdf.body
    assert hashlib.sha256(pdf.text.encode()).hexdigest() == pdf.skill.file(PDF).digest[len("sha256:"):]


def test_supporting_files_are_read_on_demand_and_verified(client: Client, recorder: Recorder):
    pdf = client.skills.load(PDF)
    recorder.clear()
    assert pdf.read("references/FORMS.md") == "# Forms\n\nField list.\n"
    assert pdf.read_bytes("skill://pdf-processing/assets/logo.bin") == bytes(range(256))  # a blob
    assert pdf.read("./references/../references/FORMS.md").startswith("# Forms")
    assert recorder.reads() == ["skill://pdf-processing/references/FORMS.md",
                                "skill://pdf-processing/assets/logo.bin",
                                "skill://pdf-processing/references/FORMS.md"]


def test_an_unlisted_file_is_refused_without_a_request(client: Client, recorder: Recorder):
    pdf = client.skills.load(PDF)
    recorder.clear()
    with pytest.raises(SkillVerificationError) as err:
        pdf.read("references/SECRET.md")  # the server serves it; the entry does not list it
    assert err.value.reason == "unlisted" and err.value.uri == "skill://pdf-processing/references/SECRET.md"
    with pytest.raises(ValueError, match="leaves"):
        pdf.read("../liar/SKILL.md")
    assert recorder.reads() == []


def test_frontmatter_that_differs_from_the_entry_is_not_loaded(client: Client):
    with pytest.raises(SkillVerificationError) as err:
        client.skills.load("liar")
    assert err.value.reason == "frontmatter" and err.value.skill_uri == "skill://liar/SKILL.md"
    assert "description" in str(err.value)


def test_a_stale_entry_fails_and_a_refreshed_one_loads(client: Client):
    uri = "skill://drifting/SKILL.md"
    held = client.skills.get(uri)
    client.call_tool("edit_skill", {"text": f"Version {uuid.uuid4().hex}"})
    with pytest.raises(SkillVerificationError) as err:
        client.skills.load(held)
    assert err.value.reason in ("size", "digest") and "skills.get" in str(err.value)
    fresh = client.skills.get(uri)
    assert fresh.file(uri).digest != held.file(uri).digest
    assert client.skills.load(fresh).body.strip().startswith("# drifting")


def test_a_dynamic_skill_loads_unverified_or_is_refused(client: Client):
    daily = client.skills.load("daily")
    assert daily.verified is False and "Generated at" in daily.body
    assert daily.frontmatter == {"name": "daily", "description": "Today's report"}
    with pytest.raises(SkillVerificationError) as err:
        client.skills.load("daily", allow_dynamic=False)
    assert err.value.reason == "dynamic"


def test_a_skill_missing_from_the_listing_loads_by_uri(client: Client, recorder: Recorder):
    client.skills.list()
    recorder.clear()
    hidden = client.skills.load("skill://hidden/SKILL.md")
    assert hidden.name == "hidden"
    assert recorder.methods() == ["skills/get", "resources/read"]
    with pytest.raises(InvalidParams):
        client.skills.get("skill://nowhere/SKILL.md")


def test_colliding_names_are_not_resolved_silently(client: Client):
    with pytest.raises(LookupError) as err:
        client.skills.load("refunds")
    assert "skill://acme/billing/refunds/SKILL.md" in str(err.value)
    assert "skill://acme/support/refunds/SKILL.md" in str(err.value)
    with pytest.raises(LookupError, match="no listed skill"):
        client.skills.find("nope")
    assert client.skills.load("skill://acme/support/refunds/SKILL.md").skill.description == "Refund through support"


def test_servers_without_the_extension(skills_server: ServerProcess):
    example = shared_server((str(EXAMPLE_SERVER),))
    with Client(example.url, skills=True) as c:
        assert c.skills.supported is False
        with pytest.raises(ExtensionNotSupported) as err:
            c.skills.list()
        assert err.value.extension == SKILLS_EXTENSION
    # The SDK advertises extensions in the modern era only.
    with Client(skills_server.url, skills=True, protocol="2025-11-25") as c:
        assert c.era == "legacy" and c.skills.supported is False
    with Client(skills_server.url, skills=True) as c:
        assert c.skills.supported is True and c.skills.settings == {}


# ---------------------------------------------------------------------- via responses

URL = "http://skills.test/mcp"
DISCOVER = {"supportedVersions": ["2026-07-28"], "resultType": "complete", "ttlMs": 0, "cacheScope": "private",
            "capabilities": {"resources": {}, "extensions": {SKILLS_EXTENSION: {}}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "fake", "version": "1"}}}
GOOD = "---\nname: demo\ndescription: A demo\n---\nBody.\n"


def file_entry(uri: str, data: bytes, **override: Any) -> Dict[str, Any]:
    return {"uri": uri, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data), **override}


def demo_entry(text: str = GOOD, frontmatter: Optional[Dict[str, Any]] = None, **override: Any) -> Dict[str, Any]:
    uri = "skill://demo/SKILL.md"
    return {"uri": uri, "frontmatter": frontmatter or {"name": "demo", "description": "A demo"},
            "resources": [file_entry(uri, text.encode(), **override)]}


class FakeServer:
    """A modern server: ``entries`` for skills/list and skills/get, ``files`` for resources/read."""

    def __init__(self, rsps: responses.RequestsMock, entries: List[Dict[str, Any]],
                 files: Dict[str, Any], read_ttl: int = 0) -> None:
        self.entries, self.files, self.read_ttl = entries, files, read_ttl
        self.calls: List[Dict[str, Any]] = []
        rsps.add_callback(responses.POST, URL, callback=self.handle)

    def reads(self) -> List[str]:
        return [c["params"]["uri"] for c in self.calls if c["method"] == "resources/read"]

    def handle(self, request: Any) -> Any:
        body = json.loads(request.body)
        self.calls.append(body)
        method, params = body["method"], body.get("params") or {}
        if method == "server/discover":
            result: Any = DISCOVER
        elif method == "skills/list":
            result = {"resultType": "complete", "ttlMs": 0, "cacheScope": "private", "skills": self.entries}
        elif method == "skills/get":
            found = [e for e in self.entries if e.get("uri") == params["uri"]]
            result = {"resultType": "complete", "ttlMs": 0, "cacheScope": "private", "skill": found[0]}
        elif method == "resources/read":
            content = self.files[params["uri"]]
            item = {"uri": params["uri"], **(content if isinstance(content, dict) else {"text": content})}
            result = {"resultType": "complete", "ttlMs": self.read_ttl, "cacheScope": "private", "contents": [item]}
        else:
            result = {"resultType": "complete"}
        return 200, {"Content-Type": "application/json"}, json.dumps({"jsonrpc": "2.0", "id": body["id"],
                                                                      "result": result})


def fake(entries: List[Dict[str, Any]], files: Dict[str, Any], **kw: Any) -> FakeServer:
    return FakeServer(responses.mock, entries, files, **kw)


def failure(entry: Dict[str, Any]) -> SkillVerificationError:
    with Client(URL, skills=True) as client:
        with pytest.raises(SkillVerificationError) as err:
            client.skills.load(Skill.model_validate(entry))
    return err.value


@responses.activate
def test_size_mismatch_is_a_failure_even_when_the_digest_matches():
    entry = demo_entry(size=len(GOOD) + 1)
    server = fake([entry], {"skill://demo/SKILL.md": GOOD})
    err = failure(entry)
    assert err.reason == "size" and "the entry says" in str(err)


@responses.activate
def test_digest_mismatch_is_a_failure():
    tampered = GOOD.replace("Body.", "Evil.")
    entry = demo_entry()
    server = fake([entry], {"skill://demo/SKILL.md": tampered})
    err = failure(entry)
    assert (err.reason, err.uri, err.skill_uri) == ("digest", "skill://demo/SKILL.md", "skill://demo/SKILL.md")
    assert server.reads() == ["skill://demo/SKILL.md"]  # nothing was cached, so no second read


@responses.activate
@pytest.mark.parametrize("text, frontmatter", [
    ("No frontmatter at all.\n", None),
    ("---\n- a\n- list\n---\n", None),
    ("---\nname: demo\ndescription: [unclosed\n---\n", None),
    ("---\nname: demo\ndescription: A demo\nextra: 1\n---\n", None),          # a field the entry lacks
    ("---\nname: demo\ndescription: A demo\n---\n", {"name": "demo", "description": "A demo", "license": "MIT"}),
    ("---\nname: demo\ndescription: A demo\ncount: 1\n---\n", {"name": "demo", "description": "A demo",
                                                               "count": True}),  # true is not 1
    ("---\nname: demo\ndescription: A demo\nok: yes\n---\n", {"name": "demo", "description": "A demo",
                                                              "ok": True}),  # YAML 1.2: "yes" is a string
])
def test_frontmatter_discrepancies(text: str, frontmatter: Optional[Dict[str, Any]]):
    entry = demo_entry(text, frontmatter)
    server = fake([entry], {"skill://demo/SKILL.md": text})
    assert failure(entry).reason == "frontmatter"


@responses.activate
def test_frontmatter_compares_as_json():
    text = ("\ufeff---\r\nname: demo\r\ndescription: A demo\r\nok: yes\r\nwhen: 2024-01-01\r\nratio: 1\r\n"
            "metadata: {b: 2, a: [1, x]}\r\n---\r\nBody\r\n")
    frontmatter = {"name": "demo", "description": "A demo", "ok": "yes", "when": "2024-01-01", "ratio": 1.0,
                   "metadata": {"a": [1, "x"], "b": 2}}
    entry = demo_entry(text, frontmatter)
    fake([entry], {"skill://demo/SKILL.md": text})
    with Client(URL, skills=True) as client:
        loaded = client.skills.load(Skill.model_validate(entry))
    assert loaded.body == "Body\r\n" and loaded.frontmatter["when"] == "2024-01-01"


@pytest.mark.parametrize("change, why", [
    ({"resources": "everything"}, "resources"),
    ({"resources": [{"uri": "skill://demo/SKILL.md", "digest": "sha256:ABC", "size": 1}]}, "digest"),
    ({"resources": [file_entry("skill://demo/SKILL.md", b"x", size=True)]}, "size"),
    ({"resources": [file_entry("skill://demo/other.md", b"x")]}, "itself"),
    ({"resources": [file_entry("skill://demo/SKILL.md", b"x"), file_entry("skill://else/a.md", b"x")]}, "outside"),
    ({"uri": "skill://other-name/SKILL.md"}, "name"),
    ({"uri": "skill://demo/README.md"}, "SKILL.md"),
    ({"frontmatter": {"name": "demo"}}, "description"),
])
def test_invalid_entries_are_rejected(change: Dict[str, Any], why: str):
    entry = {**demo_entry(), **change}
    with pytest.raises(ValueError, match=why):
        Skill.model_validate(entry)


@responses.activate
def test_invalid_entries_are_left_out_of_listings_and_refused_by_get(caplog):
    bad = {**demo_entry(), "resources": None}
    fake([bad, demo_entry()], {})
    with Client(URL, skills=True) as client:
        assert len(client.skills.list()) == 1
        with pytest.raises(SkillVerificationError) as err:
            client.skills.get("skill://demo/SKILL.md")  # the fake's first match is the bad entry
    assert err.value.reason == "entry"
    assert "leaving out an invalid skill entry" in caplog.text


@responses.activate
def test_limits_are_checked_from_the_entry_before_any_read():
    many = [file_entry(f"skill://demo/f{i}.md", b"x") for i in range(512)]
    entry = demo_entry()
    entry["resources"] += many  # 513 files
    server = fake([entry], {})
    assert failure(entry).reason == "limit"
    huge = demo_entry()
    huge["resources"].append({**file_entry("skill://demo/big.bin", b""), "size": 16 * 1024 * 1024})
    assert failure(huge).reason == "limit"
    assert server.reads() == []
    server.files["skill://demo/SKILL.md"] = GOOD
    with Client(URL, skills=True) as client:
        assert client.skills.load(Skill.model_validate(entry), max_resources=None).verified


@responses.activate
def test_blobs_are_verified_on_their_decoded_bytes():
    data = bytes(range(200))
    entry = demo_entry()
    entry["resources"] += [file_entry("skill://demo/a.bin", data), file_entry("skill://demo/b.bin", data)]
    fake([entry], {"skill://demo/SKILL.md": GOOD,
                   "skill://demo/a.bin": {"blob": base64.b64encode(data).decode(), "mimeType": "x/y"},
                   "skill://demo/b.bin": {"blob": "not base64!"}})
    with Client(URL, skills=True) as client:
        loaded = client.skills.load(Skill.model_validate(entry))
        assert loaded.read_bytes("a.bin") == data
        with pytest.raises(SkillVerificationError) as err:
            loaded.read_bytes("b.bin")
    assert err.value.reason == "content"


@responses.activate
def test_a_cached_read_older_than_the_entry_is_fetched_again():
    old, new = GOOD, GOOD.replace("Body.", "Body 2.")
    server = fake([demo_entry(old)], {"skill://demo/SKILL.md": old}, read_ttl=60_000)
    with Client(URL, skills=True) as client:
        assert client.skills.load("demo").body == "Body.\n"
        assert client.skills.load("demo").body == "Body.\n"  # from the cache: still one read
        assert server.reads() == ["skill://demo/SKILL.md"]
        server.entries[:] = [demo_entry(new)]
        server.files["skill://demo/SKILL.md"] = new
        refreshed = client.skills.get("skill://demo/SKILL.md")
        assert client.skills.load(refreshed).body == "Body 2.\n"
    assert server.reads() == ["skill://demo/SKILL.md"] * 2


def test_parse_frontmatter():
    assert parse_frontmatter("---\nname: a\ndescription: b\n---\nrest") == ({"name": "a", "description": "b"}, "rest")
    assert parse_frontmatter("---\nname: a\n---\n")[1] == ""
    with pytest.raises(ValueError):
        parse_frontmatter("name: a\n")
