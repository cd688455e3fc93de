"""Load on the live service: concurrent clients mixing search and ask from a question set, over loopback.

    .venv/bin/python bench/service.py [--clients 16] [--seconds 60] [--publish-at 20]
    .venv/bin/python bench/service.py --all [--soak-minutes 10]

Copies the index (var/index by default) to a temporary folder, starts `protokollsok serve` on it in its own
process, and runs the clients for a bounded time. With --publish-at N, a new version is published N seconds in
(another process ingests a changed record), and the run reports how many requests each version answered.
Prints throughput, latency p50/p95/p99 per kind, errors, and the server's resident and peak memory.

--all is the run whose figures go in a closing note, on one server: 16 clients × 60 s of search alone and of
ask alone, 64 clients × 30 s of both, then a soak of unique questions (each dev question with a number no
other request carries, so no cache can answer it twice) with the server's RSS sampled every minute: a leak
shows as RSS that keeps growing after the first minutes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=ROOT / "var" / "index")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "dev.jsonl")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--publish-at", type=float, default=None)
    parser.add_argument("--all", action="store_true", help="search, ask, 64 clients and the soak, as the docstring says")
    parser.add_argument("--soak-minutes", type=int, default=10)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines() if line.strip()]
    if args.all:
        _all(args, questions)
        return

    work, index, server, url = _serve(args.index)
    try:
        _wait(url)
        results: list[tuple[str, float, int, str]] = []
        lock = threading.Lock()
        stop = time.monotonic() + args.seconds

        def client(seed: int) -> None:
            rng = random.Random(seed)
            with httpx.Client(base_url=url, timeout=120) as c:
                while time.monotonic() < stop:
                    question = rng.choice(questions)
                    kind = "ask" if rng.random() < 0.5 else "search"
                    started = time.perf_counter()
                    try:
                        r = c.post("/api/ask", json={"question": question}) if kind == "ask" else c.get("/api/search", params={"q": question})
                        status, version = r.status_code, r.json().get("index_version", "")
                    except httpx.HTTPError as error:
                        status, version = 0, type(error).__name__
                    with lock:
                        results.append((kind, time.perf_counter() - started, status, version))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        published = None
        if args.publish_at is not None:
            time.sleep(max(0.0, args.publish_at))
            published = _publish(index, work)
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        memory = _memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    errors = [r for r in results if r[2] != 200]
    print(f"{args.clients} clients, {elapsed:.0f} s: {len(results)} requests, {len(results) / elapsed:.1f} req/s, {len(errors)} errors")
    for kind in ("search", "ask"):
        ms = np.array([r[1] for r in results if r[0] == kind]) * 1000
        if len(ms):
            print(f"  {kind:<6} n={len(ms):<5} p50 {np.percentile(ms, 50):.0f} ms  p95 {np.percentile(ms, 95):.0f} ms  p99 {np.percentile(ms, 99):.0f} ms")
    print(f"  server memory: resident {memory['VmRSS']}, peak {memory['VmHWM']}")
    if published:
        print(f"  published {published} mid-run; requests per index version: {dict(Counter(r[3] for r in results if r[2] == 200))}")
    if errors:
        print(f"  errors: {Counter((r[2], r[3]) for r in errors)}")


def _all(args, questions: list[str]) -> None:
    work, index, server, url = _serve(args.index)
    unique = itertools.count()
    try:
        _wait(url)
        for clients, seconds, kinds in ((16, 60, ("search",)), (16, 60, ("ask",)), (64, 30, ("search", "ask"))):
            before = _rss_mb(server.pid)
            results = _load(url, clients, seconds, kinds, lambda rng: rng.choice(questions))
            _report(f"{clients} clients × {seconds} s, {'+'.join(kinds)}", results, seconds, before, _rss_mb(server.pid))
        print(f"soak: 16 clients × {args.soak_minutes} min of unique questions, search and ask; RSS each minute:")
        samples = [_rss_mb(server.pid)]
        print(f"  minute 0: {samples[0]:.0f} MB")
        results = []
        for minute in range(1, args.soak_minutes + 1):
            results += _load(url, 16, 60, ("search", "ask"), lambda rng: f"{rng.choice(questions)} {next(unique)}")
            samples.append(_rss_mb(server.pid))
            print(f"  minute {minute}: {samples[-1]:.0f} MB ({samples[-1] - samples[-2]:+.0f})", flush=True)
        _report("soak", results, 60 * args.soak_minutes, samples[0], samples[-1])
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _serve(source: Path) -> tuple[Path, Path, subprocess.Popen, str]:
    """`protokollsok serve` in its own process on a copy of the index, without a rate limit."""
    work = Path(tempfile.mkdtemp(prefix="bench-service-"))
    index = work / "index"
    shutil.copytree(source, index, symlinks=True)
    port = _free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "protokollsok"), "serve", "--port", str(port), "--index", str(index)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PROTOKOLLSOK_RATE_PER_MINUTE": "1000000"},
    )
    return work, index, server, f"http://127.0.0.1:{port}"


def _load(url: str, clients: int, seconds: float, kinds: tuple[str, ...], question) -> list[tuple[str, float, int]]:
    """`clients` threads asking for `seconds`; each request is (kind, seconds, status)."""
    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=url, timeout=120) as c:
            while time.monotonic() < stop:
                kind = rng.choice(kinds)
                with lock:
                    q = question(rng)
                started = time.perf_counter()
                try:
                    r = c.post("/api/ask", json={"question": q}) if kind == "ask" else c.get("/api/search", params={"q": q})
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    results.append((kind, time.perf_counter() - started, status))

    threads = [threading.Thread(target=client, args=(random.random(),)) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _report(title: str, results: list[tuple[str, float, int]], seconds: float, before: float, after: float) -> None:
    errors = sum(1 for r in results if r[2] != 200)
    print(f"{title}: {len(results)} requests, {len(results) / seconds:.1f} req/s, {errors} errors, "
          f"RSS {before:.0f} → {after:.0f} MB")
    for kind in ("search", "ask"):
        ms = np.array([r[1] for r in results if r[0] == kind]) * 1000
        if len(ms):
            print(f"  {kind:<6} n={len(ms):<6} p50 {np.percentile(ms, 50):.0f} ms  p95 {np.percentile(ms, 95):.0f} ms  "
                  f"p99 {np.percentile(ms, 99):.0f} ms", flush=True)


def _rss_mb(pid: int) -> float:
    return int(_memory(pid)["VmRSS"].split()[0]) / 1024


def _publish(index: Path, work: Path) -> str:
    """A new record ingested by another process: the service must switch to it without a failed request."""
    record = work / "norsjo-allmanna-utskottet-protokoll-2025-03-25.txt"
    text = (ROOT / "corpus" / "norsjo-allmanna-utskottet-protokoll-2025-02-25.txt").read_text(encoding="utf-8")
    record.write_text(text.replace("2025-02-25", "2025-03-25"), encoding="utf-8")
    subprocess.run([str(ROOT / ".venv" / "bin" / "protokollsok"), "ingest", str(record), "--index", str(index)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return os.readlink(index / "current").split("/")[-1]


def _memory(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = value.strip()
    return fields


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    sys.exit("the server did not start")


if __name__ == "__main__":
    main()
