"""The official MCP conformance harness, every client scenario, both harness versions.

`../shared/tools/conformance.sh` (beside this checkout) installs Node 22 and the harness from npm
on first use, then plays server to ``tests/conformance/client.py``: every scenario that
``conformance.sh list --client`` names, one harness run each. A run fails on any FAILURE or
WARNING check, a timeout or a crash, except for the scenarios named in
``tests/conformance/expected-failures*.yml`` (``client:``), which the harness also fails when they
start passing (stale entries).

The harness counts a scenario without any checks, or with only SKIPPED ones, as passed: a client
that does nothing "passes" ``initialize``. So this test also reads every ``checks.json`` and fails
a scenario that has no SUCCESS check, or lacks its required check id, unless the scenario is named
under ``unverified:`` in the same file (a scenario the client does not exercise yet); a listed
scenario that has a SUCCESS check is stale and fails too.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TOOLS = REPO.parent / "shared" / "tools"
HARNESS = TOOLS / "conformance.sh"
CHECKS = TOOLS / "conformance_checks.py"
CLIENT = HERE / "conformance" / "client.py"

#: Wall-clock bounds. A scenario takes about a second once the harness is cached (installing it
#: from npm the first time adds about 10 s); a suite is some 25-50 scenarios. The harness kills a
#: client after 30 s.
SCENARIO_TIMEOUT = 120
SUITE_TIMEOUT = 900
WORKERS = 2
#: Scenarios that measure the client's timing run alone, before the others.
TIMING_SENSITIVE = {"sse-retry"}
HARNESS_VERSIONS = {"0.1.16": [], "0.2.0-alpha.12": ["--next"]}
EXPECTED = {"0.1.16": HERE / "conformance" / "expected-failures.yml",
            "0.2.0-alpha.12": HERE / "conformance" / "expected-failures-next.yml"}

#: Check ids that must be SUCCESS, beyond "some SUCCESS check": the ones that prove the scenario's
#: point was exercised, where a mock would otherwise report its routine checks alone.
REQUIRED = {
    "initialize": ["mcp-client-initialization"],
    "tools_call": ["tool-add-numbers"],
    "sse-retry": ["client-sse-graceful-reconnect", "client-sse-retry-timing", "client-sse-last-event-id"],
    "request-metadata": ["sep-2575-client-retry-supported-version", "sep-2575-client-populates-meta"],
}

pytestmark = pytest.mark.skipif(not HARNESS.is_file(), reason=f"the conformance harness is not available: "
                                f"{HARNESS} is missing (CI clones shared/ beside the repository)")


def read_lists(path: Path) -> Dict[str, List[str]]:
    """Our expected-failures file: ``key:`` lines and ``  - item`` entries only (the harness
    reads it as YAML; this strict subset keeps both readings identical without a YAML library)."""
    lists: Dict[str, List[str]] = {}
    key = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        m = re.fullmatch(r"([a-z-]+):(\s*\[\])?", line)
        if m:
            key = m.group(1)
            lists[key] = []
            continue
        m = re.fullmatch(r"\s+-\s+([A-Za-z0-9_./:-]+)", line)
        if m and key is not None:
            lists[key].append(m.group(1))
            continue
        raise ValueError(f"{path}:{number}: not a 'key:' or '  - scenario' line: {raw!r}")
    return lists


def scenario_names(flags: List[str]) -> List[str]:
    out = subprocess.run(["bash", str(HARNESS), *flags, "list", "--client"], capture_output=True, text=True,
                         timeout=SCENARIO_TIMEOUT)
    assert out.returncode == 0, out.stderr
    return re.findall(r"^\s+-\s+(\S+)", out.stdout, re.M)


def load_checks_module():
    spec = importlib.util.spec_from_file_location("conformance_checks", CHECKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def client_command() -> str:
    # The harness splits the command on spaces and hands it to /bin/sh, so it is shell text:
    # quoting keeps paths with spaces whole. In CI sys.executable is the venv's python.
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(CLIENT))}"


def run_scenario(flags: List[str], scenario: str, results: Path, expected: Path) -> Tuple[str, int, str]:
    cmd = ["bash", str(HARNESS), *flags, "client", "--command", client_command(), "--scenario", scenario,
           "-o", str(results), "--expected-failures", str(expected)]
    try:
        run = subprocess.run(cmd, cwd=str(results), capture_output=True, text=True, timeout=SCENARIO_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return scenario, -1, f"no verdict within {SCENARIO_TIMEOUT}s: {exc.stdout!r:.2000}"
    return scenario, run.returncode, run.stdout + run.stderr


@pytest.mark.timeout(SUITE_TIMEOUT)
@pytest.mark.parametrize("version", list(HARNESS_VERSIONS))
def test_client_suite(version: str, tmp_path: Path) -> None:
    flags = HARNESS_VERSIONS[version]
    lists = read_lists(EXPECTED[version])
    expected, unverified = lists.get("client", []), lists.get("unverified", [])
    known = scenario_names(flags)
    assert len(known) > 20, f"harness {version} lists only {known}"
    for name in expected + unverified:
        assert name in known, f"{EXPECTED[version].name} names {name!r}, which harness {version} does not have"

    # One harness run per scenario, two at a time: `--suite all` starts every scenario's client at
    # once, and on a small machine that storm alone breaks the timing checks (sse-retry's 200 ms).
    results = tmp_path / "results"
    results.mkdir()
    timed = [s for s in known if s in TIMING_SENSITIVE]
    outcomes = [run_scenario(flags, s, results, EXPECTED[version]) for s in timed]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes += pool.map(lambda s: run_scenario(flags, s, results, EXPECTED[version]),
                             [s for s in known if s not in TIMING_SENSITIVE])
    failed = [(s, code, output) for s, code, output in outcomes if code != 0]
    assert not failed, f"harness {version}: {len(failed)} scenario(s) failed or are stale in " \
        f"{EXPECTED[version].name}: {[s for s, _, _ in failed]}\n\n" + "\n\n".join(
            f"--- {s} (exit {code}):\n{verdict(output)}" for s, code, output in failed)

    runs = load_checks_module().newest_runs(str(results))
    missing = sorted(set(known) - set(runs))
    assert not missing, f"harness {version} recorded no checks for {missing}"
    problems = []
    for scenario in sorted(runs):
        if scenario in expected:
            continue
        with open(runs[scenario][1]) as f:
            checks = json.load(f)
        ok = {c.get("id") for c in checks if c.get("status") == "SUCCESS"}
        bad = [c.get("id") for c in checks if c.get("status") in ("FAILURE", "WARNING")]
        if bad:
            problems.append(f"{scenario}: FAILURE/WARNING in {bad}")
        if scenario in unverified:
            if ok:
                problems.append(f"{scenario}: now has SUCCESS checks; remove it from 'unverified:' "
                                f"in {EXPECTED[version].name}")
            continue
        if not ok:
            problems.append(f"{scenario}: no SUCCESS check (a false pass: the client never exercised it)")
        lacking = [cid for cid in REQUIRED.get(scenario, []) if cid not in ok]
        if lacking:
            problems.append(f"{scenario}: required checks not SUCCESS: {lacking}")
    assert not problems, f"harness {version}:\n" + "\n".join(problems)


def verdict(output: str) -> str:
    """The useful part of a harness run's output: its checks, the client's stderr, the baseline."""
    lines = [line for line in output.splitlines() if "urllib3" not in line and "sseclient" not in line]
    return "\n".join(lines[-80:])
