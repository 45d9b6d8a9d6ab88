"""The README's two set-up commands: CI runs the test command verbatim, and the quick start works."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_commands():
    text = (ROOT / "README.rst").read_text()
    return re.findall(r"^    (pip install .*)$", text.split("Usage\n-----")[0], flags=re.M)


def test_readme_starts_with_exactly_two_setup_commands():
    commands = setup_commands()
    assert commands == ['pip install -e ".[examples]" && python examples/quickstart.py',
                        'pip install -e ".[test]" && pytest']


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text()
    assert setup_commands()[1] in ci.splitlines()


def test_quickstart_runs_against_the_example_server():
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "connected to mcp-sync-example 1.0.0" in out
    assert "echo -> Hello, MCP!" in out
    assert [line.strip() for line in out.splitlines() if "progress" in line and ": generated" in line] == [
        f"progress {i}/5: generated {i}" for i in range(1, 6)]
    assert "result -> 1, 2, 3, 4, 5" in out


def test_readme_renders_without_warnings():
    import warnings

    from docutils.core import publish_string

    source = (ROOT / "README.rst").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # docutils' own, not the README's
        # halt_level 2 turns every rendering warning (a broken link target, a bad table) into an error
        publish_string(source, writer_name="null", settings_overrides={"report_level": 2, "halt_level": 2})
