"""Run in a fresh process by run.py: import one client, optionally connect to ``url`` and call
``echo`` once, then print JSON with the import time and the peak RSS. Imports nothing else first,
so each client's figures are its own.

    python benchmarks/probe.py floor|mcp_sync|sdk [URL]
"""
import sys
import time


def main() -> None:
    kind = sys.argv[1]
    url = sys.argv[2] if len(sys.argv) > 2 else None
    t0 = time.perf_counter()
    if kind == "floor":
        import pydantic  # noqa: F401  - a runtime dependency of mcp_sync: part of the floor
        import requests  # noqa: F401
    elif kind == "mcp_sync":
        import mcp_sync  # noqa: F401
    else:
        from mcp import Client  # noqa: F401
    import_s = time.perf_counter() - t0
    if url:
        if kind == "floor":
            sys.path.insert(0, __file__.rsplit("/", 1)[0])
            import floor

            c = floor.FloorHTTP(url, "modern")
            c.connect()
            c.call("tools/call", {"name": "echo", "arguments": {"message": "hi"}})
            c.close()
        elif kind == "mcp_sync":
            with mcp_sync.Client(url) as client:
                client.call_tool("echo", {"message": "hi"})
        else:
            import asyncio

            async def go() -> None:
                async with Client(url) as client:
                    await client.call_tool("echo", {"message": "hi"})

            asyncio.run(go())
    import json

    print(json.dumps({"import_s": import_s, "rss_mb": peak_rss_kib() / 1024.0}))


def peak_rss_kib() -> float:
    # Not getrusage(): Linux carries ru_maxrss across fork+exec, so a child of a big parent would
    # report the parent's peak. VmHWM belongs to this process's own address space.
    try:
        with open("/proc/self/status") as f:
            return float(next(line.split()[1] for line in f if line.startswith("VmHWM:")))
    except (OSError, StopIteration):
        import resource

        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


if __name__ == "__main__":
    main()
