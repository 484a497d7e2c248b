#!/usr/bin/env python3
"""ropewalk's HTTP/2 benchmark harness: ropewalk vs hyper vs nghttpd vs h2o.

One command (see README.md):

    python3 bench/h2bench.py                 # full run, 3 runs per shape, medians
    python3 bench/h2bench.py --quick         # smoke test: 1/10 of the requests
    python3 bench/h2bench.py --servers hyper,h2o --shapes S1,S2,S2-tls --runs 5
    python3 bench/h2bench.py --client        # client side: h2load / hyper / ropewalk clients vs nghttpd
    python3 bench/h2bench.py --criterion     # also run the criterion suites (hpack, proto)

It installs what is missing (h2load, nghttpd, h2o from Debian, as root), builds
the servers in release, writes the same content for every server, generates a
self-signed certificate, then for each run, each shape and each server (the
server order rotates from run to run) starts a fresh server on loopback, warms
it up, measures one h2load run and stops it. It prints one table and writes
CSV + JSON under bench/results/.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, asdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"            # generated content, certs, configs, logs (gitignored)
RESULTS = BENCH / "results"      # CSV/JSON output (gitignored)

HELLO = b"Hello, world!"         # 13 bytes, what /hello answers everywhere
BIG = 1 << 20                    # /big: 1 MiB
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

ALL_SERVERS = ["ropewalk", "hyper", "nghttpd", "h2o"]

# --pin: CPU sets for the load client and the server (None: no pinning, the scheduler decides).
PIN_CLIENT: set[int] | None = None
PIN_SERVER: set[int] | None = None


def _affinity(cpus: set[int] | None):
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


@dataclass
class Shape:
    name: str
    n: int
    c: int
    m: int
    tls: bool = False
    big: bool = False
    what: str = ""


SHAPES = [
    Shape("S1", 20_000, 1, 1, what="latency: 1 connection, 1 stream at a time"),
    Shape("S2", 100_000, 1, 100, what="multiplexing: 1 connection, 100 streams"),
    Shape("S2-tls", 100_000, 1, 100, tls=True, what="S2 over TLS"),
    Shape("S3", 100_000, 16, 10, what="16 connections x 10 streams"),
    Shape("S3-tls", 100_000, 16, 10, tls=True, what="S3 over TLS"),
    Shape("S4", 2_000, 4, 4, big=True, what="1 MiB bodies, 4 connections x 4 streams"),
    Shape("S5", 10_000, 100, 1, what="100 connections, 1 stream each"),
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- setup

def ensure_tools(install: bool) -> None:
    need = {"h2load": "nghttp2-client", "nghttpd": "nghttp2-server", "h2o": "h2o", "openssl": "openssl"}
    missing = sorted({pkg for exe, pkg in need.items() if not shutil.which(exe)})
    if not missing:
        return
    if not install:
        sys.exit(f"h2bench: missing {', '.join(missing)} (run without --no-install, as root, to apt-get them)")
    if os.geteuid() != 0:
        sys.exit(f"h2bench: missing {', '.join(missing)}; run as root or: apt-get install -y {' '.join(missing)}")
    log(f"h2bench: installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    # The h2o package enables a system service; the harness runs its own instances only.


def cargo_build(cwd: Path, args: list[str], logname: str) -> tuple[bool, str]:
    WORK.mkdir(parents=True, exist_ok=True)
    logf = WORK / "logs" / logname
    logf.parent.mkdir(parents=True, exist_ok=True)
    log(f"h2bench: cargo build --release {' '.join(args)} (in {cwd.relative_to(ROOT) if cwd != ROOT else '.'}) ...")
    with open(logf, "w") as f:
        r = subprocess.run(["cargo", "build", "--release", *args], cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode == 0:
        return True, ""
    tail = [l for l in logf.read_text(errors="replace").splitlines() if l.startswith("error")][:3]
    return False, f"build failed (see {logf}): " + ("; ".join(tail) or f"exit {r.returncode}")


def write_content() -> Path:
    docroot = WORK / "docroot"
    docroot.mkdir(parents=True, exist_ok=True)
    (docroot / "hello").write_bytes(HELLO)
    big = bytes((ord("a") + i % 26) for i in range(26)) * (BIG // 26 + 1)
    (docroot / "big").write_bytes(big[:BIG])
    return docroot


def make_cert() -> tuple[Path, Path]:
    d = WORK / "tls"
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / "cert.pem", d / "key.pem"
    if not (cert.exists() and key.exists()):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "3650", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        key.chmod(0o644)  # h2o drops to `nobody` only after loading it, but keep it simple
    return cert, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- servers

@dataclass
class ServerDef:
    name: str
    available: bool = True
    why: str = ""
    version: str = ""


class Running:
    """One server instance started for one measurement."""

    def __init__(self, name: str, argv: list[str], port: int, logpath: Path):
        self.name, self.port = name, port
        self.logpath = logpath
        self.logf = open(logpath, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_affinity(PIN_SERVER))

    def wait_ready(self, timeout: float = 15.0) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"exited with {self.proc.returncode} at start: {self.log_tail()}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return None
            except OSError:
                time.sleep(0.05)
        return f"not listening on {self.port} after {timeout:.0f}s: {self.log_tail()}"

    def log_tail(self) -> str:
        self.logf.flush()
        lines = self.logpath.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:])

    def pids(self) -> list[int]:
        """The server process and all its descendants (h2o forks helpers)."""
        children: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = Path(f"/proc/{d}/stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
        out, todo = [], [self.proc.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(children.get(p, []))
        return out

    def cpu_seconds(self) -> tuple[float, dict[int, int]]:
        """(utime+stime from /proc/PID/stat in clock ticks, {thread id: schedstat run time in ns}).

        The first has a 1/CLK_TCK (10 ms) grain; the second is exact per live thread.
        `cpu_delta` combines two readings."""
        ticks, ns = 0, {}
        for p in self.pids():
            try:
                f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(f[11]) + int(f[12])  # utime, stime (fields 14, 15)
            except OSError:
                continue
            try:
                for t in os.listdir(f"/proc/{p}/task"):
                    ns[int(t)] = int(Path(f"/proc/{p}/task/{t}/schedstat").read_text().split()[0])
            except OSError:
                pass
        return ticks / CLK_TCK, ns

    def rss_kib(self, field: str = "VmRSS") -> int:
        """`field` of /proc/PID/status (KiB) summed over the server's
        processes: VmRSS, or RssAnon (its heap and stacks, without the
        mapped pages of its binary and libraries)."""
        total = 0
        for p in self.pids():
            try:
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()


def cpu_delta(a: tuple[float, dict[int, int]], b: tuple[float, dict[int, int]]) -> float:
    """Server CPU seconds between two `cpu_seconds()` readings: the per-thread schedstat run time
    (threads alive at the end; ones born in between count whole), unless the tick-based figure,
    which also keeps threads that exited in between, is larger by more than its grain."""
    ticks = b[0] - a[0]
    precise = sum(v - a[1].get(t, 0) for t, v in b[1].items()) / 1e9
    if not b[1] or ticks - precise > 2.0 / CLK_TCK:
        return max(ticks, 0.0)
    return precise


class Env:
    def __init__(self, args, docroot: Path, cert: Path, key: Path, bins: dict[str, Path]):
        self.args, self.docroot, self.cert, self.key, self.bins = args, docroot, cert, key, bins

    def path(self, server: str, shape: Shape) -> str:
        if not shape.big:
            return "/hello"
        return f"/big?size={BIG}" if server == "ropewalk" else "/big"

    def start(self, server: str, tls: bool, tag: str) -> Running:
        port, other = free_port(), free_port()
        plain_addr = f"127.0.0.1:{port if not tls else other}"
        tls_addr = f"127.0.0.1:{port if tls else other}"
        logp = WORK / "logs" / f"{server}-{tag}.log"
        if server == "ropewalk":
            argv = [str(self.bins["ropewalk"]), "serve", "--plain", plain_addr, "--tls", tls_addr,
                    "--cert", str(self.cert), "--key", str(self.key)]
            # The other servers log nothing per request here (h2o has no
            # access-log directive, nghttpd no -v, hyper-server no logging).
            if not self.args.access_log:
                argv.append("--no-access-log")
            if self.args.workers:
                argv += ["--workers", str(self.args.workers)]
        elif server == "hyper":
            argv = [str(self.bins["hyper"]), "--plain", plain_addr, "--tls", tls_addr,
                    "--cert", str(self.cert), "--key", str(self.key)]
            if self.args.workers:
                argv += ["--workers", str(self.args.workers)]
        elif server == "nghttpd":
            # nghttpd serves one port, TLS or not: start the one this shape needs.
            argv = ["nghttpd", "-n", str(self.args.workers or os.cpu_count() or 1), "-d", str(self.docroot)]
            argv += [str(port), str(self.key), str(self.cert)] if tls else ["--no-tls", str(port)]
        elif server == "h2o":
            conf = WORK / f"h2o-{tag}.conf"
            conf.write_text(h2o_config(port, other, tls, self.docroot, self.cert, self.key,
                                       self.args.workers or os.cpu_count() or 1, WORK / "logs" / f"h2o-{tag}-error.log"))
            argv = ["h2o", "-c", str(conf)]
        else:
            raise ValueError(server)
        return Running(server, argv, port, logp)


def h2o_config(port: int, other: int, tls: bool, docroot: Path, cert: Path, key: Path,
               threads: int, errlog: Path) -> str:
    plain_port, tls_port = (other, port) if tls else (port, other)
    user = "user: nobody\n" if os.geteuid() == 0 else ""
    return f"""# generated by bench/h2bench.py
{user}num-threads: {threads}
error-log: {errlog}
http2-max-concurrent-requests-per-connection: 100
listen:
  host: 127.0.0.1
  port: {plain_port}
listen:
  host: 127.0.0.1
  port: {tls_port}
  ssl:
    certificate-file: {cert}
    key-file: {key}
    ocsp-update-interval: 0
hosts:
  "default":
    paths:
      "/":
        file.dir: {docroot}
"""


# --------------------------------------------------------------------------- h2load

_units = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def parse_h2load(out: str) -> dict:
    r: dict = {}
    m = re.search(r"finished in ([\d.]+)(s|ms|us), ([\d.]+) req/s", out)
    if m:
        r["elapsed_s"] = float(m.group(1)) * _units[m.group(2)]
        r["req_per_s"] = float(m.group(3))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out)
    if m:
        for k, v in zip(["total", "started", "done", "succeeded", "failed", "errored", "timeout"], m.groups()):
            r[k] = int(v)
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if m:
        r["non2xx"] = sum(int(x) for x in m.groups()[1:])
    m = re.search(r"traffic: .*?\((\d+)\) total.*\((\d+)\) data", out)
    if m:
        r["traffic_bytes"], r["data_bytes"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"Cipher: (\S+)", out)
    if m:
        r["cipher"] = m.group(1)
    m = re.search(r"Application protocol: (\S+)", out)
    if m:
        r["alpn"] = m.group(1)
    return r


def h2load(url: str, n: int, c: int, m: int, timeout: float) -> tuple[int, str]:
    argv = ["h2load", "-t", "1", "-n", str(n), "-c", str(c), "-m", str(m), url]
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                           preexec_fn=_affinity(PIN_CLIENT))
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return -1, out + f"\nh2bench: h2load timed out after {timeout:.0f}s"


# --------------------------------------------------------------------------- measurement

@dataclass
class Run:
    run: int
    shape: str
    server: str
    n: int
    c: int
    m: int
    tls: bool
    ok: bool = False
    error: str = ""
    req_per_s: float = 0.0
    mb_per_s: float = 0.0          # response body bytes / 10^6 / elapsed
    succeeded: int = 0
    failed: int = 0
    errored: int = 0
    timeout: int = 0
    non2xx: int = 0
    data_bytes: int = 0
    server_cpu_s: float = 0.0
    cpu_s_per_100k: float = 0.0
    cpu_s_per_gb: float = 0.0
    rss_kib: int = 0
    anon_kib: int = 0
    cipher: str = ""


def measure(env: Env, server: str, shape: Shape, run_no: int, scale: float, timeout: float) -> Run:
    n = max(int(shape.n * scale), shape.c * shape.m, shape.c)
    r = Run(run_no, shape.name, server, n, shape.c, shape.m, shape.tls)
    tag = f"{shape.name}-r{run_no}"
    srv = env.start(server, shape.tls, tag)
    try:
        err = srv.wait_ready()
        if err:
            r.error = err
            return r
        url = f"{'https' if shape.tls else 'http'}://127.0.0.1:{srv.port}{env.path(server, shape)}"
        # Warm-up: same shape, a tenth of the requests (fault in code, TLS session state, allocator pools).
        h2load(url, max(n // 10, shape.c * shape.m, shape.c), shape.c, shape.m, timeout)
        cpu0 = srv.cpu_seconds()
        rc, out = h2load(url, n, shape.c, shape.m, timeout)
        cpu1 = srv.cpu_seconds()
        r.rss_kib = srv.rss_kib()
        r.anon_kib = srv.rss_kib("RssAnon")
        alive = srv.proc.poll() is None
        (WORK / "logs" / f"h2load-{server}-{tag}.txt").write_text(out)
        p = parse_h2load(out)
        r.req_per_s = p.get("req_per_s", 0.0)
        for k in ("succeeded", "failed", "errored", "timeout", "non2xx", "data_bytes"):
            setattr(r, k, p.get(k, 0))
        r.cipher = p.get("cipher", "")
        if r.req_per_s and r.succeeded:
            elapsed = r.succeeded / r.req_per_s
            r.mb_per_s = r.data_bytes / 1e6 / elapsed
        r.server_cpu_s = round(cpu_delta(cpu0, cpu1), 4)
        r.cpu_s_per_100k = round(cpu_delta(cpu0, cpu1) * 100_000 / n, 4)
        if r.data_bytes:
            r.cpu_s_per_gb = round(cpu_delta(cpu0, cpu1) * 1e9 / r.data_bytes, 4)
        expect_body = BIG if shape.big else len(HELLO)
        problems = []
        if rc != 0:
            problems.append(f"h2load exit {rc}")
        if "req_per_s" not in p:
            problems.append("h2load output not understood")
        if r.failed or r.errored or r.timeout:
            problems.append(f"failed={r.failed} errored={r.errored} timeout={r.timeout}")
        if r.non2xx:
            problems.append(f"non-2xx={r.non2xx}")
        if r.succeeded != n:
            problems.append(f"succeeded {r.succeeded}/{n}")
        elif r.data_bytes != n * expect_body:
            problems.append(f"body bytes {r.data_bytes} != {n}x{expect_body}")
        if shape.tls and p.get("alpn") not in (None, "h2"):
            problems.append(f"ALPN {p.get('alpn')}")
        if not alive:
            problems.append(f"server died: {srv.log_tail()}")
        r.error = "; ".join(problems)
        r.ok = not problems
        return r
    finally:
        srv.stop()


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def spread(xs: list[float]) -> float | None:
    """(max - min) / median, in percent: how far apart the runs were."""
    if len(xs) < 2 or not statistics.median(xs):
        return None
    return round(100 * (max(xs) - min(xs)) / statistics.median(xs), 1)


def summarize(runs: list[Run], servers: list[str], shapes: list[Shape], unavailable: dict[str, str]) -> list[dict]:
    rows = []
    for sh in shapes:
        by: dict[str, dict] = {}
        for s in servers:
            mine = [r for r in runs if r.shape == sh.name and r.server == s]
            good = [r for r in mine if r.ok]
            bad = [r for r in mine if not r.ok]
            row = {
                "shape": sh.name, "server": s, "tls": sh.tls, "n": mine[0].n if mine else None,
                "c": sh.c, "m": sh.m, "unit": "MB/s" if sh.big else "req/s",
                "runs": len(mine), "clean_runs": len(good),
                "throughput": median([r.mb_per_s if sh.big else r.req_per_s for r in good]),
                "req_per_s": median([r.req_per_s for r in good]),
                "spread_pct": spread([r.mb_per_s if sh.big else r.req_per_s for r in good]),
                "cpu_s_per_100k": median([r.cpu_s_per_100k for r in good]),
                "cpu_s_per_gb": median([r.cpu_s_per_gb for r in good]) if sh.big else None,
                "rss_mib": (lambda v: None if v is None else round(v / 1024, 1))(median([r.rss_kib for r in good])),
                "anon_mib": (lambda v: None if v is None else round(v / 1024, 1))(median([r.anon_kib for r in good])),
                "flags": "",
            }
            if s in unavailable:
                row["flags"] = f"{s}: not available ({unavailable[s]})"
            elif bad:
                row["flags"] = f"FLAGGED {len(bad)}/{len(mine)} runs: " + " | ".join(sorted({r.error for r in bad}))[:300]
            by[s] = row
        rw = by.get("ropewalk")
        for s, row in by.items():
            for key, col in (("throughput", "rw_over_x"), ("cpu_s_per_100k", "rw_over_x_cpu"), ("rss_mib", "rw_over_x_rss")):
                v = None
                if s != "ropewalk" and rw and rw[key] and row[key]:
                    v = round(rw[key] / row[key], 3)
                row[col] = v
            rows.append(row)
    return rows


def fmt(v, spec: str = ",.0f", none: str = "-") -> str:
    return none if v is None else format(v, spec)


def print_table(rows: list[dict]) -> str:
    hdr = ["shape", "server", "n", "c x m", "throughput", "spread", "cpu s/100k", "RSS MiB",
           "rw/x thrpt", "rw/x cpu", "rw/x RSS", "flags"]
    lines = []
    for r in rows:
        na = "not available" in r["flags"]
        thr = "not available" if na else (
            f"{fmt(r['throughput'], ',.1f' if r['unit'] == 'MB/s' else ',.0f')} {r['unit']}" if r["throughput"] else "-")
        ratio = lambda v: "-" if v is None else f"{v:.2f}x"  # noqa: E731
        lines.append([
            r["shape"], r["server"], fmt(r["n"], "d"), f"{r['c']}x{r['m']}", thr,
            "-" if r["spread_pct"] is None else f"{r['spread_pct']:.0f}%",
            fmt(r["cpu_s_per_100k"], ".2f"), fmt(r["rss_mib"], ".1f"),
            ratio(r["rw_over_x"]), ratio(r["rw_over_x_cpu"]), ratio(r["rw_over_x_rss"]), r["flags"],
        ])
    widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(hdr[:-1])]
    out = []
    out.append("  ".join(h.ljust(w) for h, w in zip(hdr, widths)) + "  " + hdr[-1])
    out.append("  ".join("-" * w for w in widths) + "  -----")
    prev = None
    for l in lines:
        if prev is not None and l[0] != prev:
            out.append("")
        prev = l[0]
        out.append("  ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in enumerate(zip(l, widths))) + "  " + l[-1])
    return "\n".join(out)


# --------------------------------------------------------------------------- client side

def client_bench(env: Env, args, scale: float, timeout: float) -> list[dict]:
    """ropewalk's client vs hyper's client vs h2load as a client, against nghttpd (h2c /hello)."""
    n = max(int(100_000 * scale), 100)
    results = []
    # ropewalk-client sends on one `Client::connection`, as hyper-client does on one
    # `SendRequest`; ropewalk-client-pool goes through the client's pool per request.
    clients = ["h2load", "hyper-client", "ropewalk-client", "ropewalk-client-pool"]
    for run_no in range(1, args.runs + 1):
        order = clients[run_no - 1:] + clients[:run_no - 1]
        for cl in order:
            srv = env.start("nghttpd", False, f"client-{cl}-r{run_no}")
            row = {"run": run_no, "client": cl, "n": n, "c": 1, "m": 100, "ok": False, "req_per_s": None,
                   "client_cpu_s_per_100k": None, "server_cpu_s_per_100k": None, "error": ""}
            try:
                err = srv.wait_ready()
                if err:
                    row["error"] = "nghttpd: " + err
                    results.append(row)
                    continue
                url = f"http://127.0.0.1:{srv.port}/hello"
                if cl == "h2load":
                    argv = ["h2load", "-t", "1", "-n", str(n), "-c", "1", "-m", "100", url]
                elif cl == "hyper-client":
                    argv = [str(env.bins["hyper-client"]), "-n", str(n), "-m", "100", url]
                else:
                    # Default: bench/ropewalk-client (built with the bench workspace), the same
                    # arguments and output line as hyper-client.
                    cmd = args.ropewalk_client_cmd or (str(env.bins["ropewalk-client"]) + " -n {n} -m {m} {url}")
                    argv = cmd.format(n=n, m=100, url=url).split()
                    if cl == "ropewalk-client-pool":
                        argv.append("--pool")
                    if not Path(argv[0]).exists():
                        row["error"] = f"ropewalk-client: not available (no binary at {argv[0]})"
                        results.append(row)
                        continue
                ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu0 = srv.cpu_seconds()
                try:
                    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       timeout=timeout, preexec_fn=_affinity(PIN_CLIENT))
                    out, rc = p.stdout, p.returncode
                except (subprocess.TimeoutExpired, OSError) as e:
                    out, rc = str(e), -1
                cpu1 = srv.cpu_seconds()
                ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                (WORK / "logs" / f"client-{cl}-r{run_no}.txt").write_text(out)
                ccpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
                row["client_cpu_s_per_100k"] = round(ccpu * 100_000 / n, 4)
                row["server_cpu_s_per_100k"] = round(cpu_delta(cpu0, cpu1) * 100_000 / n, 4)
                if cl == "h2load":
                    pr = parse_h2load(out)
                    row["req_per_s"] = pr.get("req_per_s")
                    bad = pr.get("failed", 1) + pr.get("errored", 1) + pr.get("timeout", 1) + pr.get("non2xx", 1)
                    row["ok"] = rc == 0 and bad == 0 and pr.get("succeeded") == n
                else:
                    m = re.search(r"ok=(\d+) failed=(\d+) .*req_per_s=([\d.]+)", out)
                    if m:
                        row["req_per_s"] = float(m.group(3))
                        row["ok"] = rc == 0 and int(m.group(2)) == 0 and int(m.group(1)) == n
                if not row["ok"]:
                    row["error"] = f"exit {rc}: " + " | ".join(out.strip().splitlines()[-2:])
                results.append(row)
            finally:
                srv.stop()
    return results


def client_summary(rows: list[dict]) -> str:
    out = ["client (vs nghttpd, h2c /hello, 1 connection x 100 streams)   req/s   client cpu s/100k   rw/x   flags"]
    meds = {}
    for cl in ["h2load", "hyper-client", "ropewalk-client", "ropewalk-client-pool"]:
        mine = [r for r in rows if r["client"] == cl]
        if not mine:
            continue
        good = [r for r in mine if r["ok"]]
        meds[cl] = (median([r["req_per_s"] for r in good]), median([r["client_cpu_s_per_100k"] for r in good]))
    rw = meds.get("ropewalk-client", (None, None))[0]
    for cl, (rps, cpu) in meds.items():
        mine = [r for r in rows if r["client"] == cl]
        errs = sorted({r["error"] for r in mine if not r["ok"]})
        ratio = f"{rw / rps:.2f}x" if rw and rps and cl != "ropewalk-client" else "-"
        out.append(f"  {cl:<20} {fmt(rps):>12} {fmt(cpu, '.2f'):>10}   {ratio:>6}   {' | '.join(errs)[:200]}")
    pool, hyper = meds.get("ropewalk-client-pool", (None,))[0], meds.get("hyper-client", (None,))[0]
    if pool and hyper:
        out.append(f"  (ropewalk-client-pool / hyper-client: {pool / hyper:.2f}x)")
    return "\n".join(out)


# --------------------------------------------------------------------------- main

def tool_versions() -> dict:
    v = {}
    for name, argv in {"h2load": ["h2load", "--version"], "nghttpd": ["nghttpd", "--version"],
                       "h2o": ["h2o", "--version"], "rustc": ["rustc", "--version"]}.items():
        try:
            v[name] = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except Exception as e:  # noqa: BLE001 - informational only
            v[name] = f"? ({e})"
    try:
        v["ropewalk_git"] = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                           capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001
        pass
    return v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default=",".join(ALL_SERVERS), help=f"comma list from {ALL_SERVERS}")
    ap.add_argument("--shapes", default=",".join(s.name for s in SHAPES),
                    help="comma list from " + ",".join(s.name for s in SHAPES))
    ap.add_argument("--runs", type=int, default=3, help="runs per shape and server (median; default 3)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 1/10 of the requests (and criterion --quick)")
    ap.add_argument("--scale", type=float, help="multiply every shape's -n by this (overrides --quick's 0.1)")
    ap.add_argument("--workers", type=int, help="server worker threads (default: each server's own, = cores)")
    ap.add_argument("--pin", action="store_true",
                    help="pin the load client to the first CPU and the server to the others (less noise in S1, "
                         "but the server gets fewer cores); default: no pinning")
    ap.add_argument("--access-log", action="store_true",
                    help="keep ropewalk's access log on (default: --no-access-log, as the others log nothing)")
    ap.add_argument("--timeout", type=float, default=180, help="seconds allowed per h2load run (default 180)")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get missing tools")
    ap.add_argument("--no-build", action="store_true", help="use existing release binaries, do not run cargo")
    ap.add_argument("--ropewalk-bin", type=Path, help="ropewalk binary (default: target/release/ropewalk, built)")
    ap.add_argument("--client", action="store_true", help="also run the client-side comparison against nghttpd")
    ap.add_argument("--client-only", action="store_true", help="run only the client-side comparison")
    ap.add_argument("--ropewalk-client-cmd",
                    help="command template for ropewalk's client (default: bench/target/release/ropewalk-client "
                         "-n {n} -m {m} {url}); it must print 'ok=N failed=N ... req_per_s=F'")
    ap.add_argument("--criterion", action="store_true",
                    help="also run `cargo bench -p ropewalk-hpack` and `cargo bench -p ropewalk-proto`")
    ap.add_argument("--criterion-only", action="store_true", help="run only the criterion suites")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results directory (default bench/results)")
    args = ap.parse_args()

    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for s in servers:
        if s not in ALL_SERVERS:
            ap.error(f"unknown server {s!r}; choose from {ALL_SERVERS}")
    by_name = {s.name.lower(): s for s in SHAPES}
    try:
        shapes = [by_name[s.strip().lower()] for s in args.shapes.split(",") if s.strip()]  # case-insensitive
    except KeyError as e:
        ap.error(f"unknown shape {e}; choose from {[s.name for s in SHAPES]}")
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    scale = args.scale if args.scale else (0.1 if args.quick else 1.0)
    if args.pin:
        global PIN_CLIENT, PIN_SERVER
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            ap.error("--pin needs at least 2 CPUs")
        PIN_CLIENT, PIN_SERVER = {cpus[0]}, set(cpus[1:])
    do_servers = not (args.client_only or args.criterion_only)
    do_client = (args.client or args.client_only) and not args.criterion_only
    do_criterion = args.criterion or args.criterion_only
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "logs").mkdir(exist_ok=True)

    status = 0
    if do_criterion:
        # --quick is criterion's flag: only its bench targets may get it (libtest's harness for the
        # library's own unit tests would refuse it).
        extra = ["--bench", "*", "--", "--quick"] if args.quick else []
        for pkg in ("ropewalk-hpack", "ropewalk-proto"):
            log(f"h2bench: cargo bench -p {pkg} {' '.join(extra)}")
            r = subprocess.run(["cargo", "bench", "-p", pkg, *extra], cwd=ROOT)
            if r.returncode != 0:
                log(f"h2bench: cargo bench -p {pkg} FAILED (exit {r.returncode})")
                status = 1
        log("h2bench: criterion reports are under target/criterion/")

    if not (do_servers or do_client):
        return status

    ensure_tools(not args.no_install)
    unavailable: dict[str, str] = {}
    bins: dict[str, Path] = {"hyper": BENCH / "target" / "release" / "hyper-server",
                             "hyper-client": BENCH / "target" / "release" / "hyper-client",
                             "ropewalk-client": BENCH / "target" / "release" / "ropewalk-client",
                             "ropewalk": args.ropewalk_bin or ROOT / "target" / "release" / "ropewalk"}
    if not args.no_build:
        ok, why = cargo_build(BENCH, [], "build-bench.log")
        if not ok:
            for s in ("hyper", "hyper-client"):
                unavailable[s] = why
        if "ropewalk" in servers and not args.ropewalk_bin:
            ok, why = cargo_build(ROOT, ["-p", "ropewalk-cli", "--bin", "ropewalk"], "build-ropewalk.log")
            if not ok:
                unavailable["ropewalk"] = why
    for s in ("ropewalk", "hyper"):
        if s in servers and s not in unavailable and not bins[s].exists():
            unavailable[s] = f"no binary at {bins[s]}"
    for s, why in unavailable.items():
        if s in servers or s == "hyper-client":
            log(f"h2bench: {s}: not available ({why})")

    layout = ""
    if "ropewalk" in servers and "ropewalk" not in unavailable:
        # Whether the binary is laid out from a current hot-symbol list
        # (bench/layout.py; it shows in the server's resident size).
        layout = subprocess.run([sys.executable, str(BENCH / "layout.py"), "--check", "--binary", str(bins["ropewalk"])],
                                capture_output=True, text=True).stdout.strip()
        log(f"h2bench: {layout}")
    docroot = write_content()
    cert, key = make_cert()
    env = Env(args, docroot, cert, key, bins)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"stamp": stamp, "argv": sys.argv[1:], "scale": scale, "runs": args.runs,
            "pin": {"client": sorted(PIN_CLIENT), "server": sorted(PIN_SERVER)} if args.pin else None,
            "loadavg_start": os.getloadavg(),
            "host": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
            "versions": tool_versions(), "layout": layout, "unavailable": unavailable}

    all_runs: list[Run] = []
    rows: list[dict] = []
    if do_servers:
        live = [s for s in servers if s not in unavailable]
        total = args.runs * len(shapes) * len(live)
        done = 0
        t0 = time.monotonic()
        for run_no in range(1, args.runs + 1):
            for sh in shapes:
                # Interleave: the server order rotates from run to run and shape to shape.
                k = (run_no - 1 + SHAPES.index(sh)) % max(len(live), 1)
                order = live[k:] + live[:k]
                for s in order:
                    done += 1
                    r = measure(env, s, sh, run_no, scale, args.timeout)
                    all_runs.append(r)
                    thr = f"{r.mb_per_s:,.1f} MB/s" if sh.big else f"{r.req_per_s:,.0f} req/s"
                    log(f"[{done}/{total} {time.monotonic() - t0:5.0f}s] run {run_no} {sh.name:<6} {s:<8} {thr:>16}  "
                        f"cpu {r.server_cpu_s:.2f}s  rss {r.rss_kib / 1024:.1f} MiB  {'' if r.ok else 'FLAG: ' + r.error}")
        rows = summarize(all_runs, servers, shapes, unavailable)
        table = print_table(rows)
        print()
        print(f"ropewalk HTTP/2 bench  {stamp}  scale={scale:g}  runs={args.runs}{'  pinned' if args.pin else ''}  "
              f"load avg at start {meta['loadavg_start'][0]:.2f}\n"
              f"(medians of clean runs; throughput = req/s, MB/s of response bodies for S4; spread = (max-min)/median "
              f"of the runs; rw/x = ropewalk / that server)")
        print(table)
        for s, why in unavailable.items():
            if s in servers:
                print(f"{s}: not available ({why})")
        if any(r["flags"] for r in rows):
            status = 1 if any(r["flags"].startswith("FLAGGED") for r in rows) else status
        base = args.out / f"h2bench-{stamp}"
        with open(f"{base}-runs.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(asdict(all_runs[0]).keys()) if all_runs else ["run"])
            w.writeheader()
            for r in all_runs:
                w.writerow(asdict(r))
        with open(f"{base}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)

    client_rows: list[dict] = []
    if do_client:
        if "hyper-client" in unavailable:
            log("h2bench: hyper-client not available; the client comparison will flag it")
        client_rows = client_bench(env, args, scale, args.timeout)
        print()
        print(client_summary(client_rows))

    base = args.out / f"h2bench-{stamp}"
    doc = {"meta": meta, "shapes": [asdict(s) for s in shapes], "summary": rows, "runs": [asdict(r) for r in all_runs],
           "client": client_rows}
    Path(f"{base}.json").write_text(json.dumps(doc, indent=2))
    shutil.copyfile(f"{base}.json", args.out / "latest.json")
    print(f"\nresults: {base}.json" + (f", {base}.csv, {base}-runs.csv" if rows else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
