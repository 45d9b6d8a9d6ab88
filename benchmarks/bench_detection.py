"""What transport detection costs against an HTTP+SSE-only server, on loopback.

Connects (open + ``initialize``) repeatedly to the example server in its fastapi-mcp layout
(``GET /mcp``, ``POST /mcp/messages/``) three ways: pinned (``transport="sse"``), detected from the
same URL (Streamable HTTP probe, then HTTP+SSE), and detected from the bare origin (``/``, then
``/mcp``). Prints the median of each and the extra cost of detecting. Target: under 100 ms extra.

    python benchmarks/bench_detection.py [--rounds 30]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import EXAMPLE_SERVER, ServerProcess  # noqa: E402

from mcp_sync import Client  # noqa: E402


def connect_ms(url: str, rounds: int, **kw: str) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        client = Client(url, **kw)
        client.connect()
        times.append((time.perf_counter() - started) * 1000)
        assert client.transport == "sse"
        client.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    server = ServerProcess([str(EXAMPLE_SERVER), "--transport", "sse", "--mount", "/mcp"]).start()
    try:
        origin = f"http://127.0.0.1:{server.port}"
        connect_ms(server.url, 3, transport="sse")  # warm up both sides
        direct = connect_ms(server.url, args.rounds, transport="sse")
        same_url = connect_ms(server.url, args.rounds)
        bare = connect_ms(origin, args.rounds)
    finally:
        server.stop()
    print(f"HTTP+SSE-only server, median of {args.rounds} connects (open + initialize):")
    print(f"  pinned transport='sse'         {direct:7.1f} ms")
    print(f"  detected from {'/mcp':<16} {same_url:7.1f} ms  (+{same_url - direct:.1f} ms, x{same_url / direct:.2f})")
    print(f"  detected from the bare origin  {bare:7.1f} ms  (+{bare - direct:.1f} ms, x{bare / direct:.2f})")
    worst = max(same_url, bare) - direct
    print(f"  detection costs at most {worst:.1f} ms extra: {'within' if worst < 100 else 'OVER'} the 100 ms target")


if __name__ == "__main__":
    main()
