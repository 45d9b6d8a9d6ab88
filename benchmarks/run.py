"""mcp_sync's benchmark: every client against the same servers, interleaved, in one run, reported
as ratios to a hand-written floor (see floor.py). Machines are noisy; ratios within one run are not.

    python benchmarks/run.py            # full run (a few minutes)
    python benchmarks/run.py --quick    # fewer calls and rounds, for development
    python benchmarks/run.py --modes modern,stdio --kinds floor,mcp_sync --plot

Writes benchmarks/results/latest.json (and latest.rst, and latest.png with --plot, which needs
matplotlib: ``pip install -e ".[bench]"``); compares with benchmarks/baseline.json when present.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import clients  # noqa: E402
from clients import KINDS, MODES, Mode, Skip  # noqa: E402

RESULTS = HERE / "results"
BLOBS_KB = [1024, 8 * 1024, 32 * 1024]
#: Server processes per round that stdio's sequential calls are spread over (see fresh_processes).
STDIO_SEQ_LIVES = 4

#: name -> (higher is better, target for mcp_sync's ratio to the floor, or None)
METRICS: Dict[str, Any] = {
    "connect_ms": (False, 1.5),
    "seq_p50_ms": (False, 1.10),
    "seq_p99_ms": (False, None),
    "seq_calls_s": (True, None),
    "cpu_us_per_call": (False, None),
    "threads8_calls_s": (True, 0.90),
    "progress_stream_s": (True, 0.90),
    "progress_callback_s": (True, 0.90),
    "blob_1MiB_ms": (False, 1.3),
    "blob_8MiB_ms": (False, 1.3),
    "blob_32MiB_ms": (False, 1.3),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(mode: Mode) -> Optional[subprocess.Popen]:
    if mode.transport == "stdio":
        return None  # each client spawns its own
    port = free_port()
    transport = "sse" if mode.transport == "sse" else "streamable-http"
    proc = subprocess.Popen([sys.executable, str(clients.SERVER), "--transport", transport, "--port", str(port),
                             *mode.server_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mode.url = f"http://127.0.0.1:{port}" + ("/sse" if mode.transport == "sse" else "/mcp")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the {mode.name} server exited")
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the {mode.name} server did not listen")


def stop_server(proc: Optional[subprocess.Popen]) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_mode(mode: Mode, kinds: List[str], cfg: argparse.Namespace) -> Dict[str, Any]:
    """Every metric of every client on one server mode, interleaved round by round."""
    raw: Dict[str, Dict[str, List[Any]]] = {k: {} for k in kinds}
    notes: Dict[str, Dict[str, str]] = {k: {} for k in kinds}
    handles: Dict[str, clients.Handle] = {}
    enough: set = set()  # (kind, metric) measured once and too slow to repeat
    proc = start_server(mode)
    try:
        for kind in kinds:
            try:
                handles[kind] = KINDS[kind](mode)
                for _ in range(20):
                    handles[kind].echo()  # warm up connections, caches, threads
            except Skip as exc:
                notes[kind]["all"] = str(exc)
            except Exception as exc:
                notes[kind]["all"] = f"failed: {exc!r}"
                traceback.print_exc()

        def each(metric: str, rnd: int, fn: Any) -> None:
            live = [k for k in kinds if k in handles]
            shift = rnd % max(1, len(live))
            for kind in live[shift:] + live[:shift]:  # rotate who goes first
                if metric in notes[kind] or (kind, metric) in enough:
                    continue
                try:
                    value = fn(kind, handles[kind])
                except Skip as exc:
                    notes[kind][metric] = str(exc)
                    continue
                except Exception as exc:
                    notes[kind][metric] = f"failed: {type(exc).__name__}: {str(exc)[:120]}"
                    print(f"  {mode.name}/{kind}/{metric}: {notes[kind][metric]}", file=sys.stderr)
                    reopen(kind)
                    continue
                if value is not None:
                    raw[kind].setdefault(metric, []).append(value)
                    if metric.startswith("blob") and value > 10:
                        enough.add((kind, metric))

        def reopen(kind: str) -> None:
            # A failure may have broken the connection; later metrics deserve a working client.
            try:
                handles[kind].close()
            except Exception:
                pass
            try:
                handles[kind] = KINDS[kind](mode)
                for _ in range(20):
                    handles[kind].echo()
            except Exception as exc:
                del handles[kind]
                notes[kind]["all"] = f"failed to reconnect: {exc!r}"

        turns = [0]

        def fresh_processes() -> None:
            # Each stdio client runs a server process of its own, and one process's luck (its
            # CPU, its memory layout) moves its latency by up to +-15% for its whole life: the
            # same client code measured 0.86x-1.18x against the floor over eight fresh pairs.
            # New processes, started in a rotating order, spread that luck over every client:
            # the client whose server started first was the faster one (mcp_sync 0.99x against
            # the floor when its server started first, 1.15x when the floor's did, ten pairs each).
            turns[0] += 1
            live = list(handles)
            shift = turns[0] % max(1, len(live))
            for kind in live[shift:] + live[:shift]:
                reopen(kind)

        progress_n = cfg.progress_n
        lives = STDIO_SEQ_LIVES if mode.transport == "stdio" else 1
        for rnd in range(cfg.rounds):
            print(f"  {mode.name}: round {rnd + 1}/{cfg.rounds}", file=sys.stderr)
            if rnd and mode.transport == "stdio":
                fresh_processes()
            if "connect" in cfg.only:
                for i in range(cfg.connects):  # short and noisy: several samples per round
                    each("connect", rnd + i, lambda k, h: clients.connect_time(k, mode))
            if "seq" in cfg.only:
                # Blocks of 10 calls, clients alternating, so a burst of load elsewhere on the
                # machine lands on every client alike; on stdio, over several server lives.
                blocks = cfg.seq // 10
                for block in range(blocks):
                    if block and block % -(-blocks // lives) == 0:
                        fresh_processes()
                    each("seq", rnd + block, lambda k, h: h.seq(10))
            if "threads8" in cfg.only:
                each("threads8", rnd, lambda k, h: 8 * cfg.per_thread / h.threads(8, cfg.per_thread))
            for how in ("stream", "callback") if "progress" in cfg.only else ():
                def progress(k: str, h: clients.Handle, how: str = how) -> Optional[float]:
                    t0 = time.perf_counter()
                    got = h.count(progress_n, how)
                    elapsed = time.perf_counter() - t0
                    if got == 0:
                        raise Skip("no progress notifications on this transport/reply mode")
                    if got != progress_n:
                        notes[k][f"progress_{how}_lost"] = f"{progress_n - got} of {progress_n} lost"
                    return got / elapsed
                each(f"progress_{how}", rnd, progress)
            for kb in cfg.blobs if "blob" in cfg.only else ():
                def blob(k: str, h: clients.Handle, kb: int = kb) -> float:
                    t0 = time.perf_counter()
                    size = h.blob(kb)
                    elapsed = time.perf_counter() - t0
                    assert size == kb * 1024, size
                    return elapsed
                each(f"blob_{kb // 1024}MiB", rnd, blob)
    finally:
        for handle in handles.values():
            try:
                handle.close()
            except Exception:
                pass
        stop_server(proc)

    out: Dict[str, Any] = {}
    for kind in kinds:
        r = raw[kind]
        m: Dict[str, Any] = {}
        if "connect" in r:
            m["connect_ms"] = statistics.median(r["connect"]) * 1e3
        if "seq" in r:
            lat = [x for lats, _ in r["seq"] for x in lats]
            m["seq_p50_ms"] = percentile(lat, 0.50) * 1e3
            m["seq_p99_ms"] = percentile(lat, 0.99) * 1e3
            m["seq_calls_s"] = len(lat) / sum(lat)
            m["cpu_us_per_call"] = sum(cpu for _, cpu in r["seq"]) / len(lat) * 1e6
            m["seq_n"] = len(lat)
        if "threads8" in r:
            m["threads8_calls_s"] = statistics.median(r["threads8"])
        for how in ("stream", "callback"):
            if f"progress_{how}" in r:
                m[f"progress_{how}_s"] = statistics.median(r[f"progress_{how}"])
        for kb in cfg.blobs:
            key = f"blob_{kb // 1024}MiB"
            if key in r:
                m[key + "_ms"] = statistics.median(r[key]) * 1e3
        out[kind] = {"metrics": m, "notes": notes[kind]}
    # The floor has one progress path; both of the others are compared with it.
    floor_m = out.get("floor", {}).get("metrics", {})
    if "progress_callback_s" in floor_m:
        floor_m["progress_stream_s"] = floor_m["progress_callback_s"]
    return out


def probe(kind: str, url: Optional[str]) -> Dict[str, float]:
    argv = [sys.executable, str(HERE / "probe.py"), kind] + ([url] if url else [])
    # Any non-empty PYTHONDONTWRITEBYTECODE (even "0") stops Python writing bytecode, and then
    # every run would pay to compile what it imports: drop it, so the warm-up run caches it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return json.loads(subprocess.run(argv, capture_output=True, check=True, timeout=120, env=env).stdout)


def bench_process(cfg: argparse.Namespace) -> Dict[str, Any]:
    """Import time (fresh process) and the peak RSS of a process that imports, connects, calls once."""
    mode = Mode("modern", "streamable-http", "modern")
    proc = start_server(mode)
    kinds = ["floor", "mcp_sync", "sdk"]
    samples: Dict[str, Dict[str, List[float]]] = {k: {"import_s": [], "rss_mb": []} for k in kinds}
    try:
        for kind in kinds:
            probe(kind, None)  # compile bytecode once, so no run pays for it
        for rnd in range(cfg.process_rounds):
            for kind in kinds[rnd % 3:] + kinds[:rnd % 3]:
                samples[kind]["import_s"].append(probe(kind, None)["import_s"])
                samples[kind]["rss_mb"].append(probe(kind, mode.url)["rss_mb"])
    finally:
        stop_server(proc)
    return {k: {"import_ms": statistics.median(v["import_s"]) * 1e3, "rss_mb": statistics.median(v["rss_mb"])}
            for k, v in samples.items()}


# ---------------------------------------------------------------------------------------- reporting

def ratio(metric: str, value: Optional[float], floor: Optional[float]) -> Optional[float]:
    if value is None or not floor:
        return None
    return value / floor


def fmt(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def table(results: Dict[str, Any], kinds: List[str]) -> List[List[str]]:
    """Rows of [mode, metric, floor value, ratio per client...]."""
    rows = [["mode", "metric", "floor"] + [k for k in kinds if k != "floor"]]
    for mode, per_kind in results["modes"].items():
        floor_m = per_kind.get("floor", {}).get("metrics", {})
        for metric in METRICS:
            if metric not in floor_m:
                continue
            row = [mode, metric, fmt(floor_m[metric])]
            for kind in kinds:
                if kind == "floor":
                    continue
                entry = per_kind.get(kind, {})
                value = entry.get("metrics", {}).get(metric)
                r = ratio(metric, value, floor_m[metric])
                note = entry.get("notes", {}).get(metric.rsplit("_", 1)[0]) or entry.get("notes", {}).get("all")
                row.append(f"{r:.2f}x" if r is not None else ("fail" if note and "fail" in note else "n/a"))
            rows.append(row)
    proc = results.get("process")
    if proc:
        f = proc["floor"]
        sdk = proc.get("sdk", {})
        for metric, unit in (("import_ms", "ms"), ("rss_mb", "MB")):
            row = ["process", metric, fmt(f[metric])]
            for kind in kinds:
                if kind == "floor":
                    continue
                src = proc["mcp_sync"] if kind == "mcp_sync" else sdk
                row.append(f"{src[metric] / f[metric]:.2f}x" if src else "n/a")
            rows.append(row)
    return rows


def render_text(rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_rst(rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "  ".join("=" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join([rule, body[0], rule, *body[1:], rule])


def verdicts(results: Dict[str, Any]) -> List[str]:
    """mcp_sync against each target of issue 8."""
    out = []
    for mode, per_kind in results["modes"].items():
        floor_m = per_kind.get("floor", {}).get("metrics", {})
        mine = per_kind.get("mcp_sync", {}).get("metrics", {})
        for metric, (higher, target) in METRICS.items():
            if target is None or metric not in floor_m:
                continue
            r = ratio(metric, mine.get(metric), floor_m[metric])
            if r is None:
                out.append(f"{mode:12} {metric:20} n/a")
                continue
            ok = r >= target if higher else r <= target
            out.append(f"{mode:12} {metric:20} {r:6.3f}x  target {'>=' if higher else '<='} {target}  "
                       f"{'ok' if ok else 'MISSED'}")
        b1, b32 = mine.get("blob_1MiB_ms"), mine.get("blob_32MiB_ms")
        if b1 and b32:
            f1, f32 = floor_m.get("blob_1MiB_ms"), floor_m.get("blob_32MiB_ms")
            floor_growth = f"floor {f32 / f1:.1f}, " if f1 and f32 else ""
            out.append(f"{mode:12} {'blob growth 32/1MiB':20} {b32 / b1:5.1f}  ({floor_growth}linear: 32)")
    proc = results.get("process")
    if proc:
        extra = proc["mcp_sync"]["import_ms"] - proc["floor"]["import_ms"]
        out.append(f"{'process':12} {'import_ms':20} {extra:+.0f} ms over import requests, pydantic  target <= +30 ms  "
                   f"{'ok' if extra <= 30 else 'MISSED'}")
        r = proc["mcp_sync"]["rss_mb"] / proc["floor"]["rss_mb"]
        out.append(f"{'process':12} {'rss_mb':20} {r:5.2f}x  target <= 1.25  {'ok' if r <= 1.25 else 'MISSED'}")
    return out


def compare(results: Dict[str, Any], baseline: Dict[str, Any]) -> List[str]:
    """mcp_sync's ratios now and in the baseline, where they moved by more than 5%."""
    out = []
    for mode, per_kind in results["modes"].items():
        old_mode = baseline.get("modes", {}).get(mode, {})
        for metric in METRICS:
            now = ratio(metric, per_kind.get("mcp_sync", {}).get("metrics", {}).get(metric),
                        per_kind.get("floor", {}).get("metrics", {}).get(metric))
            then = ratio(metric, old_mode.get("mcp_sync", {}).get("metrics", {}).get(metric),
                         old_mode.get("floor", {}).get("metrics", {}).get(metric))
            if now and then and abs(now / then - 1) > 0.05:
                out.append(f"{mode:12} {metric:20} {then:.2f}x -> {now:.2f}x")
    return out


def plot(results: Dict[str, Any], kinds: List[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [k for k in kinds if k != "floor"]
    labels, series = [], {k: [] for k in others}
    for mode, per_kind in results["modes"].items():
        floor_m = per_kind.get("floor", {}).get("metrics", {})
        for metric, (higher, _) in METRICS.items():
            if metric not in floor_m:
                continue
            labels.append(f"{mode}\n{metric}")
            for k in others:
                r = ratio(metric, per_kind.get(k, {}).get("metrics", {}).get(metric), floor_m[metric])
                # Plot "times slower than the floor" for every metric, so taller is always worse.
                series[k].append((1 / r if higher else r) if r else 0)
    fig, ax = plt.subplots(figsize=(max(10, len(labels) * 0.5), 5))
    width = 0.8 / max(1, len(others))
    for i, k in enumerate(others):
        ax.bar([x + i * width for x in range(len(labels))], series[k], width, label=k)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([x + width * (len(others) - 1) / 2 for x in range(len(labels))])
    ax.set_xticklabels(labels, rotation=90, fontsize=6)
    ax.set_ylabel("times the floor's cost (lower is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds (development)")
    parser.add_argument("--modes", default=",".join(m.name for m in MODES))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--only", default="connect,seq,threads8,progress,blob", help="metric groups to run")
    parser.add_argument("--no-process", action="store_true", help="skip the import-time and RSS probes")
    parser.add_argument("--plot", action="store_true", help="also write latest.png (needs matplotlib)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--baseline", type=Path, default=HERE / "baseline.json")
    cfg = parser.parse_args(argv)
    cfg.rounds = cfg.rounds or (2 if cfg.quick else 3)
    cfg.seq = 100 if cfg.quick else -(-1000 // (10 * cfg.rounds)) * 10  # per round: >= 1000 calls in all
    cfg.connects = 2 if cfg.quick else 5
    cfg.per_thread = 15 if cfg.quick else 100  # 800 calls: shorter runs were mostly noise here
    cfg.progress_n = 1000 if cfg.quick else 5000
    cfg.blobs = BLOBS_KB
    cfg.process_rounds = 3 if cfg.quick else 5
    kinds = [k for k in cfg.kinds.split(",") if k]
    if "floor" not in kinds:
        kinds.insert(0, "floor")
    modes = [m for m in MODES if m.name in cfg.modes.split(",")]

    results: Dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "machine": machine(), "quick": cfg.quick,
        "rounds": cfg.rounds, "load": os.getloadavg() if hasattr(os, "getloadavg") else None, "modes": {},
    }
    for mode in modes:
        print(f"{mode.name} ...", file=sys.stderr)
        results["modes"][mode.name] = bench_mode(mode, kinds, cfg)
    if not cfg.no_process:
        print("import time and RSS ...", file=sys.stderr)
        results["process"] = bench_process(cfg)

    rows = table(results, kinds)
    print(f"\n{results['date']} - {results['machine']}\nratios to the floor (connect/latency/time/cpu/memory: lower "
          f"is better; calls/s and progress/s: higher is better)\n")
    print(render_text(rows))
    print("\nmcp_sync against the targets:")
    print("\n".join(verdicts(results)))
    for kind, per in ((k, v) for m in results["modes"].values() for k, v in m.items()):
        for metric, note in per["notes"].items():
            if "fail" in note or "lost" in note:
                print(f"note: {kind} {metric}: {note}")
    if cfg.baseline.exists() and cfg.baseline.resolve() != cfg.out.resolve():
        moved = compare(results, json.loads(cfg.baseline.read_text()))
        print(f"\nmcp_sync compared with {cfg.baseline.name}:" + ("\n" + "\n".join(moved) if moved else " no ratio moved >5%"))
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(results, indent=1))
    cfg.out.with_suffix(".rst").write_text(render_rst(rows) + "\n")
    if cfg.plot:
        plot(results, kinds, cfg.out.with_suffix(".png"))
    print(f"\nwrote {cfg.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
