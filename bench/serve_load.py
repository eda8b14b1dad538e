"""Served `ask` under load: latency of one question at a time, then fifty `assistant ask` processes at
once against one `assistant serve`, with the real model and the sample corpus, in one run.

Ratios are taken against figures of the same run: a served question against a cold in-process
`ask --no-server` (the baseline every user has). The server runs as a real `assistant serve`
process; its memory is read from /proc (VmHWM, its peak resident size). Only the loopback unix
socket is used. The live index of the checkout is used as it is (run `assistant index` first).

Usage: python bench/serve_load.py [--clients 50] [--out bench/serve-load-report]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
ASSISTANT = [sys.executable, "-m", "assistant.apps.cli"]
QUESTIONS = ["什么是负向一体化？", "What does negative integration mean?", "协商一致决策方式有什么缺陷？"]
N_SEQUENTIAL = 20
N_COLD = 3


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def timed_ask(env: dict[str, str], question: str, *flags: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([*ASSISTANT, "ask", *flags, question], env=env, capture_output=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"ask failed: {done.stderr.decode()[-300:]}")
    return time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def start_server(env: dict[str, str], log: IO[bytes]) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    server = subprocess.Popen([*ASSISTANT, "serve"], env=env, stderr=log, stdout=subprocess.DEVNULL)
    while time.perf_counter() - started < 300:
        log.seek(0)
        if b"ready on" in log.read():
            return server, time.perf_counter() - started
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"serve exited: {log.read().decode()[-500:]}")
        time.sleep(0.2)
    server.kill()
    raise SystemExit("serve did not get ready in 300 s")


def burst(env: dict[str, str], clients: int) -> tuple[list[float], float]:
    """``clients`` ask processes started together; their wall times and the burst's total."""
    started = time.perf_counter()
    procs = [
        (
            time.perf_counter(),
            subprocess.Popen(
                [*ASSISTANT, "ask", "--no-reader", QUESTIONS[i % len(QUESTIONS)]],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
        )
        for i in range(clients)
    ]
    times = []
    for t0, proc in procs:
        out, err = proc.communicate(timeout=900)
        if proc.returncode != 0 or not out.strip():
            raise SystemExit(f"a client failed: {err.decode()[-300:]}")
        times.append(time.perf_counter() - t0)
    return times, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--out", default=str(ROOT / "bench" / "serve-load-report"))
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    report: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": load(),
    }
    cold = [timed_ask(env, QUESTIONS[i % 2], "--no-server", "--no-reader") for i in range(N_COLD)]
    with tempfile.TemporaryFile() as log:
        server, ready_s = start_server(env, log)
        try:
            served = [timed_ask(env, QUESTIONS[i % 2], "--no-reader") for i in range(N_SEQUENTIAL)]
            with_reader = [timed_ask(env, QUESTIONS[i % 2]) for i in range(3)]
            idle_rss = peak_rss_mb(server.pid)
            times, total = burst(env, args.clients)
            status = subprocess.run(
                [*ASSISTANT, "serve", "--status"], env=env, capture_output=True, text=True
            )
            report.update(
                {
                    "cold_in_process_s": cold,
                    "server_ready_s": round(ready_s, 1),
                    "served_sequential_s": served,
                    "served_with_reader_s": with_reader,
                    "server_peak_rss_mb_before_burst": round(idle_rss, 1),
                    "server_peak_rss_mb_after_burst": round(peak_rss_mb(server.pid), 1),
                    "burst_clients": args.clients,
                    "burst_client_s": times,
                    "burst_total_s": round(total, 2),
                    "status_after": status.stdout.strip(),
                    "load_after": load(),
                }
            )
        finally:
            server.terminate()
            server.wait(60)
    Path(args.out + ".json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    Path(args.out + ".md").write_text(render(report), encoding="utf-8")
    print(render(report))
    return 0


def render(r: dict) -> str:
    cold, served, times = r["cold_in_process_s"], r["served_sequential_s"], r["burst_client_s"]
    reader = statistics.median(r["served_with_reader_s"])
    base, p50 = statistics.median(cold), statistics.median(served)
    n = r["burst_clients"]
    rows = [
        (f"cold `ask --no-server --no-reader`, median of {len(cold)}", f"{base:.2f} s", "1 (baseline)"),
        (
            f"served `ask --no-reader`, p50 / p95 of {len(served)} one at a time",
            f"{p50:.2f} / {pct(served, 95):.2f} s",
            f"{p50 / base:.3f}",
        ),
        ("served `ask` with the reader, median of 3", f"{reader:.2f} s", f"{reader / base:.3f}"),
        (f"{n} `ask --no-reader` processes at once: all answered in", f"{r['burst_total_s']:.1f} s", "–"),
        ("… throughput", f"{n / r['burst_total_s']:.1f} questions/s", "–"),
        ("… per process p50 / p95", f"{statistics.median(times):.2f} / {pct(times, 95):.2f} s", "–"),
        (
            "server peak memory before / after the burst",
            f"{r['server_peak_rss_mb_before_burst']:.0f} / {r['server_peak_rss_mb_after_burst']:.0f} MB",
            "–",
        ),
        ("server ready after", f"{r['server_ready_s']:.1f} s", "–"),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return f"""# Served `ask` under load

`python bench/serve_load.py` on {r["date"]}, {r["machine"]}; 1/5/15-minute load average
{r["load_before"]} before, {r["load_after"]} after (the burst itself loads the machine).
Every figure is the wall time of a whole `assistant ask` process, as a user sees it.

| figure | value | ratio |
|---|---|---|
{table}

`serve --status` after the burst: {r["status_after"]}

A served question costs the client process's start-up (Python and the light client) plus one
answer from the resident engine. In the burst the {n} processes share the 2 cores while starting,
and the server answers their questions one at a time in arrival order, with heartbeats meanwhile.
"""


if __name__ == "__main__":
    raise SystemExit(main())
