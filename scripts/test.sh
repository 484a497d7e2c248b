#!/usr/bin/env bash
# The whole ropewalk test suite: formatting, lints, docs, unit/integration/property tests,
# and the interop checks against independent implementations. `.ci/run` calls exactly this.
#
# What it installs when missing: a Python virtualenv in interop/.venv with the pinned
# packages of interop/*/requirements.txt (PyPI). Nothing is skipped silently: a missing tool
# that cannot be installed fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n==> %s\n' "$*"; }
t0=$(date +%s)

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "cargo test (unit, integration, property and doc tests)"
cargo test --workspace --locked

step "fuzz regressions (every saved fuzz input replayed on stable)"
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo test --manifest-path fuzz/Cargo.toml --no-default-features --locked

step "interop: Python venv with pinned packages"
venv="$root/interop/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r interop/hpack/requirements.txt

step "interop: our HPACK encoder output decoded by Python's hpack"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo run --quiet --locked --release -p ropewalk-hpack --example encode_corpus -- "$out"
"$venv/bin/python" interop/hpack/check_with_python_hpack.py "$out"

step "interop: ropewalk serve against curl, nghttp, h2load, Python httpx/h2 and headless Chromium"
cargo build --quiet --locked -p ropewalk-cli
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
ROPEWALK_BIN="$target_dir/debug/ropewalk" bash interop/server/curl_nghttp.sh

step "interop: ropewalk get against nghttpd and h2o (h2c, Upgrade, TLS, push, gzip/br)"
ROPEWALK_BIN="$target_dir/debug/ropewalk" bash interop/client/run.sh

step "interop: the attack suite (all ten attacks, 3 s each, --assert) and a 120 s h2load soak"
DURATION=3s bash interop/attacks/run.sh
SOAK=120s bash interop/soak/run.sh
# The release binary the two used: is its hot-symbol list (bench/layout.py)
# current? Informational: a stale list costs resident memory, not behaviour.
python3 bench/layout.py --check

printf '\nall checks passed in %ss\n' "$(( $(date +%s) - t0 ))"
