"""A minimal legacy (2025-06-18) stdio MCP server in pure Python, fast to start, with misbehaviours
on request:

--silent-discover   ignore every request before ``initialize`` (as some 1.x servers do)
--banner            print a non-JSON line to stdout first
--child             start a ``sleep`` child in our process group and name its pid on stderr
--stubborn          ignore SIGTERM and stdin EOF
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

FLAGS = set(sys.argv[1:])
lock = threading.Lock()


def send(message: dict) -> None:
    with lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def call(message: dict) -> None:
    args = message["params"].get("arguments") or {}
    time.sleep(float(args.get("sleep", 0)))
    send({"jsonrpc": "2.0", "id": message["id"],
          "result": {"content": [{"type": "text", "text": str(args.get("message", ""))}]}})
    if "notify_after" in args:  # a notification nobody waits for, after the reply
        time.sleep(float(args["notify_after"]))
        send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "late"}})


def main() -> None:
    if "--stubborn" in FLAGS:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if "--child" in FLAGS:
        child = subprocess.Popen(["sleep", "1000"])
        sys.stderr.write(f"child pid {child.pid}\n")
        sys.stderr.flush()
    if "--banner" in FLAGS:
        print("Starting scripted server...", flush=True)
    initialized = False
    for line in sys.stdin:
        message = json.loads(line)
        method, rid = message.get("method"), message.get("id")
        if rid is None:
            continue
        if method == "initialize":
            initialized = True
            send({"jsonrpc": "2.0", "id": rid, "result": {
                "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                "serverInfo": {"name": "scripted-stdio", "version": "0.1"}}})
        elif not initialized and "--silent-discover" in FLAGS:
            continue
        elif method == "tools/call":
            threading.Thread(target=call, args=(message,), daemon=True).start()
        elif method == "ping":
            send({"jsonrpc": "2.0", "id": rid, "result": {}})
        else:
            send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"Method not found: {method}"}})
    if "--stubborn" in FLAGS:
        while True:
            time.sleep(1)


if __name__ == "__main__":
    main()
