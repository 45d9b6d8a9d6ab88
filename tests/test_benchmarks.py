"""The benchmark harness (benchmarks/run.py) still runs, and judges its figures right.

No timing is asserted here (machines are noisy; the harness reports ratios): what is checked is
that a short stdio run completes with every figure for both clients, spreads the sequential calls
over fresh server processes, and that the verdicts compare against the targets correctly.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def run():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.timeout(120)
def test_a_quick_stdio_run_measures_both_clients_over_fresh_servers(run, tmp_path, monkeypatch, capsys):
    lives = {"floor": 0, "mcp_sync": 0}
    for kind in lives:
        make = run.KINDS[kind]

        def counted(mode, make=make, kind=kind):
            lives[kind] += 1
            return make(mode)

        monkeypatch.setitem(run.KINDS, kind, counted)
    out = tmp_path / "latest.json"
    assert run.main(["--quick", "--modes", "stdio", "--kinds", "floor,mcp_sync", "--only", "seq,progress",
                     "--no-process", "--out", str(out), "--baseline", str(tmp_path / "none.json")]) == 0

    results = json.loads(out.read_text())
    stdio = results["modes"]["stdio"]
    for kind in ("floor", "mcp_sync"):
        metrics = stdio[kind]["metrics"]
        assert stdio[kind]["notes"] == {}
        assert metrics["seq_n"] == 200  # --quick: 2 rounds of 100 calls
        for name in ("seq_p50_ms", "seq_p99_ms", "seq_calls_s", "cpu_us_per_call", "progress_callback_s"):
            assert metrics[name] > 0, name
    # Two rounds, four server lives each: the first made before the rounds, the rest in them.
    assert lives == {"floor": 8, "mcp_sync": 8}
    printed = capsys.readouterr().out
    assert "stdio        seq_p50_ms" in printed
    assert (tmp_path / "latest.rst").read_text().startswith("=====")


def _results(mine: float) -> dict:
    return {"modes": {"stdio": {"floor": {"metrics": {"seq_p50_ms": 1.0, "blob_1MiB_ms": 10.0,
                                                      "blob_32MiB_ms": 490.0}},
                                "mcp_sync": {"metrics": {"seq_p50_ms": mine, "blob_1MiB_ms": 9.0,
                                                         "blob_32MiB_ms": 486.0}}}}}


@pytest.mark.parametrize("mine, verdict", [(1.097, "ok"), (1.10, "ok"), (1.101, "MISSED")])
def test_verdicts_compare_the_unrounded_ratio_with_the_target(run, mine, verdict):
    lines = run.verdicts(_results(mine))
    seq = next(line for line in lines if "seq_p50_ms" in line)
    assert seq.split()[-1] == verdict
    assert f"{mine:.3f}x" in seq


def test_the_blob_growth_verdict_names_the_floors_growth_too(run):
    growth = next(line for line in run.verdicts(_results(1.0)) if "growth" in line)
    assert "54.0" in growth and "floor 49.0" in growth
