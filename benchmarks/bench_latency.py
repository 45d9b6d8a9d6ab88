"""The first benchmark (issue 2): sequential ``call_tool("echo")`` with mcp_sync against a raw
``requests`` JSON-RPC loop on the same server, printed as a ratio. ``run.py`` measures this and
much more (every transport, the official SDK, threads, progress, large results, import, memory).

    python benchmarks/bench_latency.py [--calls 1000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402
from clients import MODES  # noqa: E402
from run import start_server, stop_server  # noqa: E402

import mcp_sync  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    mode = next(m for m in MODES if m.name == "modern")
    proc = start_server(mode)
    try:
        raw = floor.FloorHTTP(mode.url, "modern")
        raw.connect()
        client = mcp_sync.Client(mode.url).connect()
        calls = {
            "raw requests": lambda: raw.call("tools/call", {"name": "echo", "arguments": {"message": "hi"}}),
            "mcp_sync": lambda: client.call_tool("echo", {"message": "hi"}),
        }
        times = {name: [] for name in calls}
        for _ in range(args.calls // 10):  # alternate in blocks of 10: load elsewhere hits both alike
            for name, call in calls.items():
                for _ in range(10):
                    t0 = time.perf_counter()
                    call()
                    times[name].append(time.perf_counter() - t0)
        client.close()
        raw.close()
    finally:
        stop_server(proc)
    p50 = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    for name, value in p50.items():
        print(f"{name:14} p50 {value:.3f} ms")
    print(f"mcp_sync / raw requests: {p50['mcp_sync'] / p50['raw requests']:.2f}x")


if __name__ == "__main__":
    main()
