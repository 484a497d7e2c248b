#!/usr/bin/env python3
"""Writes crates/cli/layout/hot-symbols.txt, the order in which the linker
lays out the `ropewalk` binary's hot code and read-only data.

    python3 bench/layout.py            # build, profile, write the list (a minute after the build)
    python3 bench/layout.py --check    # how much of the list the release binary still has

Why: the kernel maps a binary's file pages 64 KiB at a time around each first
touch, so a server's resident size follows how many such windows its code
touches. `crates/cli/build.rs` passes this list to the linker, which puts the
listed sections first, together (see that file for when it applies).

How: the release binary runs `ropewalk serve` under callgrind (plain and TLS)
while h2load sends each benchmark shape of bench/h2bench.py at a small count,
then `ropewalk get` fetches from it. The list is every function of the binary
that ran, most instructions first, then the named read-only data those
functions address (found in their disassembly), then all other named
read-only data, so that the large tables nothing reads (brotli's dictionary,
for one) go after them and after nothing that is read. Symbol names carry
hashes of the compiler and dependency versions: run this again after
updating either; `--check` says when it is due.

Needs valgrind, objdump and nm (binutils), h2load and openssl; Python 3.11
standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import h2bench  # noqa: E402  (the shapes, the certificate, free ports)

ROOT = h2bench.ROOT
LIST = ROOT / "crates" / "cli" / "layout" / "hot-symbols.txt"
# Below this share of listed symbols present in the binary, --check says to
# run the generator again.
FRESH = 0.9


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def target_dir() -> Path:
    out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return Path(json.loads(out)["target_directory"])


def build() -> Path:
    log("layout: cargo build --release -p ropewalk-cli")
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "ropewalk-cli"], cwd=ROOT, check=True)
    return target_dir() / "release" / "ropewalk"


def symbols(binary: Path) -> dict[str, tuple[str, int, int]]:
    """name -> (nm type letter, address, size) for sized symbols."""
    out = subprocess.run(["nm", "-S", str(binary)], check=True, capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4:
            syms[p[3]] = (p[2], int(p[0], 16), int(p[1], 16))
    return syms


def wait_up(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"layout: the server under callgrind exited ({proc.returncode})")
        r = subprocess.run(["h2load", "-n", "1", "-c", "1", url], capture_output=True, text=True)
        if "1 succeeded" in r.stdout:
            return
        time.sleep(0.5)
    sys.exit(f"layout: {url} did not answer within {seconds:.0f} s")


def profile(binary: Path, work: Path) -> list[Path]:
    """Runs the workload under callgrind; returns its profiles in phase
    order: the server's start, its plain-text requests, its TLS requests,
    its stop, then the client."""
    cert, key = h2bench.make_cert()
    plain, tls = h2bench.free_port(), h2bench.free_port()
    vg = ["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=no"]
    serve_out = work / "serve.cg"
    log("layout: ropewalk serve under callgrind, h2load sends each benchmark shape")
    server = subprocess.Popen(
        [*vg, f"--callgrind-out-file={serve_out}", str(binary), "serve",
         "--plain", f"127.0.0.1:{plain}", "--tls", f"127.0.0.1:{tls}",
         "--cert", str(cert), "--key", str(key), "--no-access-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dumps = 0

    def dump() -> None:
        nonlocal dumps
        subprocess.run(["callgrind_control", "-d", str(server.pid)], check=True, capture_output=True)
        dumps += 1

    try:
        wait_up(f"http://127.0.0.1:{plain}/hello", server)
        dump()
        for base in (f"http://127.0.0.1:{plain}", f"https://127.0.0.1:{tls}"):
            # Each shape once per transport (the -tls shapes are the same
            # shapes over TLS).
            for shape in (s for s in h2bench.SHAPES if not s.tls):
                path = f"/big?size={h2bench.BIG}" if shape.big else "/hello"
                n = max(shape.c * shape.m * 2, 16 if shape.big else 400)
                r = subprocess.run(["h2load", "-t", "1", "-n", str(n), "-c", str(shape.c), "-m", str(shape.m),
                                    base + path], capture_output=True, text=True, timeout=300)
                if f"{n} succeeded" not in r.stdout:
                    sys.exit(f"layout: h2load {shape.name} on {base} failed:\n{r.stdout[-600:]}")
            dump()
        get_out = work / "get.cg"
        log("layout: ropewalk get under callgrind")
        subprocess.run([*vg, f"--callgrind-out-file={get_out}", str(binary), "get",
                        f"http://127.0.0.1:{plain}/hello", f"http://127.0.0.1:{plain}/big?size=100000"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    finally:
        server.send_signal(2)  # SIGINT: a graceful stop, and callgrind writes the rest
        server.wait(timeout=120)
    phases = [Path(f"{serve_out}.{i}") for i in range(1, dumps + 1)]
    stop = [p for p in work.glob("serve.cg*") if p not in phases]
    return [*phases, *stop, get_out]


def functions_run(profile: Path, binary: Path) -> dict[str, int]:
    """Functions of `binary` in a callgrind profile -> their own instructions."""
    names: dict[str, str] = {}   # callgrind's "(id)" -> name, for functions and objects
    objects: dict[str, str] = {}
    cost: dict[str, int] = {}
    fn = None
    in_binary = False
    skip_next = False
    ref = re.compile(r"^(c?)(ob|fn)=\((\d+)\)(?: (.*))?$")
    for line in profile.read_text(errors="replace").splitlines():
        m = ref.match(line)
        if m:
            called, kind, ident, name = m.groups()
            table = objects if kind == "ob" else names
            if name:
                table[ident] = name
            if not called:
                if kind == "ob":
                    in_binary = Path(objects.get(ident, "")).name == binary.name
                else:
                    fn = ident if in_binary else None
            continue
        if line.startswith("calls="):
            skip_next = True  # the next cost line is the call's inclusive cost
            continue
        if line[:1].isdigit() or line[:1] in "+-*":
            if skip_next:
                skip_next = False
            elif fn is not None:
                parts = line.split()
                if len(parts) > 1 and parts[1].isdigit():
                    cost[fn] = cost.get(fn, 0) + int(parts[1])
    out: dict[str, int] = {}
    for ident, c in cost.items():
        name = re.sub(r"'\d+$", "", names.get(ident, ""))  # "'2": a recursion cycle
        if name:
            out[name] = out.get(name, 0) + c
    return out


def data_read_by(binary: Path, functions: set[str], rodata: set[str]) -> list[str]:
    """Named read-only data that `functions` address, in first-seen order."""
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(binary)],
                         check=True, capture_output=True, text=True).stdout
    head = re.compile(r"^[0-9a-f]+ <(.*)>:$")
    target = re.compile(r"# [0-9a-f]+ <([^+>]+)")
    seen: dict[str, None] = {}
    current = None
    for line in dis.splitlines():
        m = head.match(line)
        if m:
            current = m.group(1)
            continue
        if current in functions and "#" in line:
            t = target.search(line)
            if t and t.group(1) in rodata:
                seen.setdefault(t.group(1))
    return list(seen)


def generate(args) -> int:
    binary = build()
    syms = symbols(binary)
    with tempfile.TemporaryDirectory(prefix="ropewalk-layout-") as tmp:
        profiles = profile(binary, Path(tmp))
        # Phase by phase (a shape touches the server's start, then the code
        # of its own phase), most run first within a phase; the client last.
        code: dict[str, None] = {}
        for p in profiles:
            ran = functions_run(p, binary)
            for name, _ in sorted(ran.items(), key=lambda kv: -kv[1]):
                if name in syms and syms[name][0] in "tTW":
                    code.setdefault(name)
    code = list(code)
    rodata = {n for n, (kind, _, _) in syms.items() if kind in "rR"}
    hot_data = data_read_by(binary, set(code), rodata)
    cold_data = sorted(rodata - set(hot_data), key=lambda n: syms[n][1])
    size = lambda names: sum(syms[n][2] for n in names) / 1024  # noqa: E731
    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    LIST.parent.mkdir(parents=True, exist_ok=True)
    LIST.write_text(
        "# The linker's order for the `ropewalk` binary's hot sections (see crates/cli/build.rs).\n"
        "# Written by `python3 bench/layout.py`; do not edit by hand.\n"
        f"# {rustc}; {len(code)} functions ({size(code):.0f} KiB) that ran,\n"
        f"# {len(hot_data)} read-only data they address ({size(hot_data):.0f} KiB),"
        f" then {len(cold_data)} others ({size(cold_data):.0f} KiB).\n"
        + "".join(n + "\n" for n in code + hot_data + cold_data))
    log(f"layout: wrote {LIST.relative_to(ROOT)}: {len(code)} functions ({size(code):.0f} KiB of "
        f"{sum(s for k, _, s in syms.values() if k in 'tTW') / 1024:.0f} KiB of code), "
        f"{len(hot_data)} + {len(cold_data)} read-only data")
    log("layout: rebuild (cargo build --release) to link with it")
    return 0


def check(args) -> int:
    if not LIST.exists():
        print(f"layout: {LIST.relative_to(ROOT)} is missing; run python3 bench/layout.py")
        return 1
    binary = Path(args.binary) if args.binary else target_dir() / "release" / "ropewalk"
    if not binary.exists():
        print(f"layout: no {binary}; build it first (cargo build --release -p ropewalk-cli)")
        return 1
    listed = [l.strip() for l in LIST.read_text().splitlines() if l.strip() and not l.startswith("#")]
    syms = symbols(binary)
    found = sum(1 for n in listed if n in syms)
    share = found / len(listed) if listed else 0.0
    verdict = "current" if share >= FRESH else "stale: run python3 bench/layout.py"
    print(f"layout: {found} of {len(listed)} listed symbols are in {binary.name} ({share:.0%}), {verdict}")
    return 0 if share >= FRESH or not args.strict else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only report how much of the list the binary has")
    ap.add_argument("--strict", action="store_true", help="with --check: exit 1 when the list is stale")
    ap.add_argument("--binary", help="with --check: the binary to look at (default: the release build)")
    args = ap.parse_args()
    return check(args) if args.check else generate(args)


if __name__ == "__main__":
    sys.exit(main())
