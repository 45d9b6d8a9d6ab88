"""The skills extension (SEP-2640, ``io.modelcontextprotocol/skills``): a server publishes Agent
Skills (a ``SKILL.md`` plus supporting files, each an ordinary resource) with a manifest per skill
that carries the skill's frontmatter and every file's SHA-256 digest and size.

:class:`Skills` (``client.skills``) lists and gets those entries without reading a single file,
and :meth:`Skills.load` reads a skill's ``SKILL.md`` only when asked, refusing content whose size,
digest or frontmatter differs from the entry. A :class:`LoadedSkill` then reads supporting files
on demand, only those its entry lists, each verified the same way. Digests prove that the entry
and the content agree, not that either is trustworthy: skill text is untrusted model input.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import logging
import re
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Literal, Optional, Union

from pydantic import Field, StrictInt, ValidationError, field_validator, model_validator

from .errors import ExtensionNotSupported, SkillVerificationError
from .timeouts import TimeoutLike
from .types import BlobResourceContents, MCPModel, ReadResourceResult, TextResourceContents

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["SKILLS_EXTENSION", "Skill", "SkillFile", "LoadedSkill", "Skills", "parse_frontmatter"]

log = logging.getLogger("mcp_sync.skills")

SKILLS_EXTENSION = "io.modelcontextprotocol/skills"
SKILL_FILE = "SKILL.md"
DYNAMIC = "dynamic"
#: The per-skill limits every host must accept (SEP-2640 "Limits"); larger skills are refused by default.
MAX_RESOURCES = 512
MAX_TOTAL_SIZE = 16 * 1024 * 1024

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# A leading ``---`` line, the YAML, a closing ``---`` line (an optional BOM before it all).
_FRONTMATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class SkillFile(MCPModel):
    """One file of a skill, as its entry describes it: URI, ``sha256:<hex>`` digest, byte size."""

    uri: str
    digest: str
    size: StrictInt = Field(ge=0)

    @field_validator("digest")
    @classmethod
    def _digest_format(cls, value: str) -> str:
        if not _DIGEST.match(value):
            raise ValueError(f"digest {value!r} is not sha256: and 64 lowercase hex digits")
        return value


class Skill(MCPModel):
    """A skill entry from ``skills/list`` or ``skills/get``: nothing has been read yet.

    :ivar uri: the URI of the skill's ``SKILL.md``.
    :ivar frontmatter: the ``SKILL.md`` YAML frontmatter as JSON (``name``, ``description``, ...).
    :ivar resources: every file of the skill (``SKILL.md`` included), or ``"dynamic"`` when the
        server can publish no stable digests.
    """

    uri: str
    frontmatter: Dict[str, Any]
    resources: Union[List[SkillFile], Literal["dynamic"]]

    @field_validator("resources", mode="before")
    @classmethod
    def _resources_shape(cls, value: Any) -> Any:
        if not isinstance(value, list) and value != DYNAMIC:
            raise ValueError(f'resources must be a list of files or "dynamic", not {value!r:.40}')
        return value

    @model_validator(mode="after")
    def _check_entry(self) -> "Skill":
        name = self.frontmatter.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("frontmatter has no name")
        if not isinstance(self.frontmatter.get("description"), str):
            raise ValueError("frontmatter has no description")
        if not self.uri.endswith("/" + SKILL_FILE):
            raise ValueError(f"uri {self.uri!r} does not end in /{SKILL_FILE}")
        if self.root.rsplit("/", 1)[-1] != name:
            raise ValueError(f"the last path segment of {self.uri!r} is not the skill's name {name!r}")
        if isinstance(self.resources, list):
            uris = [f.uri for f in self.resources]
            if self.uri not in uris:
                raise ValueError(f"resources does not list {self.uri} itself")
            if len(set(uris)) != len(uris):
                raise ValueError("resources lists a file twice")
            outside = [u for u in uris if not u.startswith(self.root + "/")]
            if outside:
                raise ValueError(f"resources lists files outside the skill: {outside[:3]}")
        return self

    @property
    def name(self) -> str:
        """The skill's name: a label, not an identifier (two skills may share it)."""
        return str(self.frontmatter["name"])

    @property
    def description(self) -> str:
        return str(self.frontmatter["description"])

    @property
    def root(self) -> str:
        """The skill's directory URI (the ``SKILL.md`` URI without ``/SKILL.md``)."""
        return self.uri[: -len(SKILL_FILE) - 1]

    @property
    def dynamic(self) -> bool:
        """True when the server publishes no digests for this skill (nothing can be verified)."""
        return self.resources == DYNAMIC

    @property
    def files(self) -> List[SkillFile]:
        """The listed files (empty for a dynamic skill)."""
        return list(self.resources) if isinstance(self.resources, list) else []

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, uri: str) -> Optional[SkillFile]:
        """The entry's record of ``uri``, or None when the entry does not list it."""
        return next((f for f in self.files if f.uri == uri), None)


class LoadedSkill:
    """A skill whose ``SKILL.md`` was read and verified against the entry held here.

    :ivar skill: the :class:`Skill` entry the content was verified against.
    :ivar text: the whole ``SKILL.md``.
    :ivar body: ``SKILL.md`` after its frontmatter.
    :ivar frontmatter: the parsed frontmatter (equal to ``skill.frontmatter``).
    :ivar verified: False for a dynamic skill, whose content could not be checked.
    """

    def __init__(self, client: "Client", skill: Skill, text: str, body: str, frontmatter: Dict[str, Any],
                 max_total_size: Optional[int]) -> None:
        self._client = client
        self.skill = skill
        self.text = text
        self.body = body
        self.frontmatter = frontmatter
        self.verified = not skill.dynamic
        self._max_total_size = max_total_size
        self._retrieved = len(text.encode("utf-8"))
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<LoadedSkill {self.skill.uri} verified={self.verified}>"

    @property
    def name(self) -> str:
        return self.skill.name

    def resolve(self, path: str) -> str:
        """The URI of ``path``: a URI as is, else a path relative to the skill's root."""
        if "://" in path:
            return path
        parts: List[str] = []
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise ValueError(f"{path!r} leaves the skill's directory")
                parts.pop()
            else:
                parts.append(part)
        if not parts:
            raise ValueError(f"{path!r} names no file")
        return self.skill.root + "/" + "/".join(parts)

    def read_bytes(self, path: str, *, timeout: TimeoutLike = None) -> bytes:
        """Read one file of the skill (``"references/FORMS.md"`` or its URI), verified against the
        held entry. A file the entry does not list is refused without a request.

        :raises SkillVerificationError: the file is unlisted, or its size or digest differ.
        """
        uri = self.resolve(path)
        if self.skill.dynamic:
            if not uri.startswith(self.skill.root + "/"):
                raise SkillVerificationError(f"{uri} is not a file of skill {self.skill.uri}", uri=uri,
                                             skill_uri=self.skill.uri, reason="unlisted")
            data = _read(self._client, uri, timeout, cache=True)
            with self._lock:
                self._retrieved += len(data)
                over = self._max_total_size is not None and self._retrieved > self._max_total_size
            if over:
                raise SkillVerificationError(f"dynamic skill {self.skill.uri} grew past {self._max_total_size} "
                                             f"bytes", uri=uri, skill_uri=self.skill.uri, reason="limit")
            return data
        entry = self.skill.file(uri)
        if entry is None:
            raise SkillVerificationError(
                f"{uri} is not listed in the entry of skill {self.skill.uri}; refresh the entry with "
                f"client.skills.get() to see the skill's current files", uri=uri, skill_uri=self.skill.uri,
                reason="unlisted")
        return _verified_read(self._client, self.skill, entry, timeout)

    def read(self, path: str, *, encoding: str = "utf-8", timeout: TimeoutLike = None) -> str:
        """:meth:`read_bytes`, decoded (``encoding``, default UTF-8)."""
        return self.read_bytes(path, timeout=timeout).decode(encoding)


class Skills:
    """``client.skills``: the skills a server publishes (create the client with ``skills=True``).

    >>> with Client(url, skills=True) as client:                           # doctest: +SKIP
    ...     for skill in client.skills.list():
    ...         print(skill.name, skill.description)
    ...     pdf = client.skills.load("pdf-processing")
    ...     forms = pdf.read("references/FORMS.md")
    """

    def __init__(self, client: "Client", enabled: bool) -> None:
        self._client = client
        self.enabled = enabled
        self._lock = threading.Lock()
        self._held: Dict[str, Skill] = {}

    def capabilities(self, era: str) -> Dict[str, Any]:
        # The extension defines no client settings; declaring it tells the server this host loads
        # skills itself (a server may then withhold a skill-loading fallback tool).
        return {"extensions": {SKILLS_EXTENSION: {}}} if self.enabled else {}

    @property
    def supported(self) -> bool:
        """Whether the server declares the skills extension (connects first)."""
        self._client.connect()
        return SKILLS_EXTENSION in (self._client.server_capabilities.extensions or {})

    @property
    def settings(self) -> Dict[str, Any]:
        """The server's settings for the extension (e.g. ``{"directoryRead": True}``)."""
        value = (self._client.server_capabilities.extensions or {}).get(SKILLS_EXTENSION)
        return dict(value) if isinstance(value, dict) else {}

    def list(self, *, cache: bool = True) -> List[Skill]:
        """Every skill entry the server lists, following every page; no file is read. An entry
        that breaks the extension's rules is left out (and logged): it must never be loaded. A
        listing may be partial: :meth:`get` and :meth:`load` also take a URI it does not name."""
        self._check()
        skills: List[Skill] = []
        for item in self._client._list("skills/list", "skills", None, True, cache):
            try:
                skills.append(Skill.model_validate(item))
            except ValidationError as exc:
                log.warning("skills/list: leaving out an invalid skill entry %r: %s", item.get("uri"),
                            _first_error(exc))
        with self._lock:
            self._held.update((s.uri, s) for s in skills)
        return skills

    def get(self, uri: str, *, timeout: TimeoutLike = None, cache: bool = False) -> Skill:
        """The current entry of the skill whose ``SKILL.md`` is at ``uri`` (``skills/get``); use it
        to refresh a stale entry. An unknown URI raises :class:`~mcp_sync.errors.InvalidParams`.

        :raises SkillVerificationError: the server's entry breaks the extension's rules.
        """
        if not isinstance(uri, str) or not uri:
            raise ValueError("uri must be a non-empty string")
        self._check()
        result = self._client._cached_call("skills/get", {"uri": uri}, uri, timeout, cache)
        item = result.get("skill")
        try:
            skill = Skill.model_validate(item)
        except ValidationError as exc:
            raise SkillVerificationError(f"skills/get {uri}: invalid skill entry: {_first_error(exc)}", uri=uri,
                                         skill_uri=uri, reason="entry") from None
        if skill.uri != uri:
            raise SkillVerificationError(f"skills/get {uri}: the server answered with the entry of {skill.uri}",
                                         uri=uri, skill_uri=uri, reason="entry")
        with self._lock:
            self._held[uri] = skill
        return skill

    def find(self, name: str) -> Skill:
        """The listed skill called ``name`` (lists first if nothing is held yet).

        :raises LookupError: no listed skill has that name, or several do (their URIs are named).
        """
        with self._lock:
            held = list(self._held.values())
        if not held:
            held = self.list()
        matches = [s for s in held if s.name == name]
        if not matches:
            raise LookupError(f"no listed skill is named {name!r}")
        if len(matches) > 1:
            raise LookupError(f"{len(matches)} skills are named {name!r}; load one by URI: "
                              f"{', '.join(sorted(s.uri for s in matches))}")
        return matches[0]

    def load(self, skill: Union[Skill, str], *, allow_dynamic: bool = True,
             max_resources: Optional[int] = MAX_RESOURCES, max_total_size: Optional[int] = MAX_TOTAL_SIZE,
             timeout: TimeoutLike = None) -> LoadedSkill:
        """Read a skill's ``SKILL.md`` and verify it against the entry: byte size, SHA-256 digest,
        and frontmatter field by field. Nothing else is read: supporting files are read later with
        :meth:`LoadedSkill.read`.

        :param skill: a :class:`Skill`, a ``SKILL.md`` URI (its entry comes from the last listing,
            else ``skills/get``), or a name from the listing.
        :param allow_dynamic: load a ``"dynamic"`` skill, whose content cannot be verified.
        :param max_resources: refuse an entry listing more files (None: no limit).
        :param max_total_size: refuse an entry whose files add up to more bytes (None: no limit).
        :raises SkillVerificationError: the entry is unusable or the content does not match it.
            A stale entry is one cause: refresh it with :meth:`get` and load again.
        """
        entry = self._entry(skill)
        if entry.dynamic and not allow_dynamic:
            raise SkillVerificationError(f"skill {entry.uri} is dynamic (no digests), and allow_dynamic is False",
                                         uri=entry.uri, skill_uri=entry.uri, reason="dynamic")
        if max_resources is not None and len(entry.files) > max_resources:
            raise SkillVerificationError(f"skill {entry.uri} has {len(entry.files)} files, more than "
                                         f"{max_resources}", uri=entry.uri, skill_uri=entry.uri, reason="limit")
        if max_total_size is not None and entry.total_size > max_total_size:
            raise SkillVerificationError(f"skill {entry.uri} is {entry.total_size} bytes, more than "
                                         f"{max_total_size}", uri=entry.uri, skill_uri=entry.uri, reason="limit")
        manifest = entry.file(entry.uri)
        if manifest is not None:
            data = _verified_read(self._client, entry, manifest, timeout)
        else:
            data = _read(self._client, entry.uri, timeout, cache=True)
            if max_total_size is not None and len(data) > max_total_size:
                raise SkillVerificationError(f"dynamic skill {entry.uri} is larger than {max_total_size} bytes",
                                             uri=entry.uri, skill_uri=entry.uri, reason="limit")
        text = _decode(data, entry.uri, entry.uri)
        frontmatter, body = _checked_frontmatter(text, entry)
        log.debug("loaded skill %s (%s)", entry.uri, "verified" if manifest is not None else "dynamic, unverified")
        return LoadedSkill(self._client, entry, text, body, frontmatter, max_total_size)

    # ------------------------------------------------------------------ helpers

    def _check(self) -> None:
        if not self.enabled:
            raise ValueError("this client was created without skills=True; the skills extension is not declared")
        if not self.supported:
            raise ExtensionNotSupported(f"the server does not declare the {SKILLS_EXTENSION} extension",
                                        extension=SKILLS_EXTENSION)

    def _entry(self, skill: Union[Skill, str]) -> Skill:
        if isinstance(skill, Skill):
            return skill
        if not isinstance(skill, str) or not skill:
            raise TypeError("skill must be a Skill, a SKILL.md URI or a skill name")
        if "://" not in skill:
            return self.find(skill)
        with self._lock:
            held = self._held.get(skill)
        return held if held is not None else self.get(skill)


# ---------------------------------------------------------------------- reading and verifying


def _read(client: "Client", uri: str, timeout: TimeoutLike, cache: bool) -> bytes:
    """The raw bytes of ``uri``: a text content's UTF-8 encoding, or a blob decoded."""
    result: ReadResourceResult = client.read_resource(uri, timeout=timeout, cache=cache)
    contents = [c for c in result.contents if getattr(c, "uri", None) == uri] or list(result.contents)
    if len(contents) != 1:
        raise SkillVerificationError(f"resources/read {uri} returned {len(contents)} contents, not one file",
                                     uri=uri, reason="content")
    item = contents[0]
    if isinstance(item, TextResourceContents):
        return item.text.encode("utf-8")
    if isinstance(item, BlobResourceContents):
        try:
            return base64.b64decode(item.blob, validate=True)
        except ValueError:
            raise SkillVerificationError(f"resources/read {uri}: the blob is not valid base64", uri=uri,
                                         reason="content") from None
    raise SkillVerificationError(f"resources/read {uri}: the content is neither text nor blob", uri=uri,
                                 reason="content")


def _verified_read(client: "Client", skill: Skill, entry: SkillFile, timeout: TimeoutLike) -> bytes:
    from_cache = client._cache.get("resources/read", entry.uri) is not None
    data = _read(client, entry.uri, timeout, cache=True)
    problem = _mismatch(data, entry)
    if problem is not None and from_cache:
        # The cached copy may be older than the entry: fetch once more before calling it a mismatch.
        data = _read(client, entry.uri, timeout, cache=False)
        problem = _mismatch(data, entry)
    if problem is not None:
        reason, detail = problem
        log.warning("skill %s: %s failed verification (%s)", skill.uri, entry.uri, detail)
        raise SkillVerificationError(
            f"{entry.uri} does not match the entry of skill {skill.uri}: {detail}; the content was not used "
            f"(if the skill changed, refresh the entry with client.skills.get())",
            uri=entry.uri, skill_uri=skill.uri, reason=reason)
    return data


def _mismatch(data: bytes, entry: SkillFile) -> Optional[tuple]:
    # Size first: it is cheap, and a size mismatch is a failure whatever the digest says.
    if len(data) != entry.size:
        return "size", f"{len(data)} bytes, the entry says {entry.size}"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if digest != entry.digest:
        return "digest", f"digest {digest}, the entry says {entry.digest}"
    return None


def _decode(data: bytes, uri: str, skill_uri: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SkillVerificationError(f"{uri} is not UTF-8 text", uri=uri, skill_uri=skill_uri,
                                     reason="frontmatter") from None


def parse_frontmatter(text: str) -> tuple:
    """``(frontmatter, body)`` of a ``SKILL.md``: the leading ``---`` YAML block as a dict, and
    the rest. Scalars follow YAML 1.2's core schema (``yes`` stays a string, dates stay strings),
    which is how the JSON ``frontmatter`` of an entry renders them. Needs PyYAML.

    :raises ValueError: there is no frontmatter block, or it is not a YAML mapping.
    """
    match = _FRONTMATTER.match(text)
    if match is None:
        raise ValueError("SKILL.md does not begin with a --- delimited YAML frontmatter block")
    loader = _loader()
    import yaml

    try:
        value = yaml.load(match.group(1), Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValueError(f"the frontmatter is not valid YAML: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("the frontmatter is not a YAML mapping")
    return value, text[match.end():]


def _checked_frontmatter(text: str, skill: Skill) -> tuple:
    try:
        frontmatter, body = parse_frontmatter(text)
    except ValueError as exc:
        raise SkillVerificationError(f"{skill.uri}: {exc}", uri=skill.uri, skill_uri=skill.uri,
                                     reason="frontmatter") from None
    differences = [key for key in sorted(set(frontmatter) | set(skill.frontmatter), key=str)
                   if key not in frontmatter or key not in skill.frontmatter
                   or not _same(frontmatter[key], skill.frontmatter[key])]
    if differences:
        log.warning("skill %s: SKILL.md frontmatter differs from the entry in %s", skill.uri, differences)
        raise SkillVerificationError(
            f"the frontmatter of {skill.uri} differs from its entry in: {', '.join(map(str, differences))}; "
            f"the skill was not loaded", uri=skill.uri, skill_uri=skill.uri, reason="frontmatter")
    return frontmatter, body


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``True`` is not ``1``, ``1`` equals ``1.0``, key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@functools.lru_cache(maxsize=None)
def _loader() -> Any:
    """A SafeLoader resolving scalars as YAML 1.2 does (PyYAML speaks 1.1: ``yes`` is true there,
    ``2024-01-01`` a date), built once."""
    try:
        import yaml
    except ImportError:
        raise SkillVerificationError("verifying a skill's frontmatter needs PyYAML: pip install 'mcp-sync[skills]'",
                                     reason="frontmatter") from None

    class Loader(yaml.SafeLoader):
        pass

    dropped = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))
    return Loader


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
