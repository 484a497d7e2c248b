#!/usr/bin/env bash
# h2load against /hello on the cleartext port: ropewalk serve vs a hyper 1.x HTTP/2 server
# (crates/ropewalk/examples/hyper_hello.rs) answering the same 13 bytes, side by side in one run.
# Median req/s of 3 runs per configuration, the ratio ropewalk/hyper, and each server's RSS after
# the runs. Release builds; needs h2load (nghttp2-client).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v h2load >/dev/null || { echo "missing h2load (apt-get install -y nghttp2-client)" >&2; exit 1; }
runs=${RUNS:-3}
cargo build --quiet --release -p ropewalk-cli
cargo build --quiet --release -p ropewalk --example hyper_hello

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

start() { # name, command...
  local name=$1; shift
  "$@" >"$work/$name.out" 2>/dev/null &
  pids+=($!)
  echo $! >"$work/$name.pid"
  for _ in $(seq 100); do grep -q '^serving http://' "$work/$name.out" && break; sleep 0.05; done
  sed -n 's|^serving http://\([0-9.:]*\).*|\1|p' "$work/$name.out" | head -1
}

# RUST_LOG=warn: no access-log line per request (hyper logs nothing either); with the
# access log on, ropewalk is about 20-25% slower on this benchmark.
rw=$(RUST_LOG=warn start ropewalk target/release/ropewalk serve --tls none --plain 127.0.0.1:0)
hy=$(start hyper target/release/examples/hyper_hello 127.0.0.1:0)
[ -n "$rw" ] && [ -n "$hy" ] || { echo "servers did not start" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$(cat "$work/$1.pid")/status"; }

printf '%-28s %14s %14s %8s %12s %12s\n' "h2load -t 1" "ropewalk req/s" "hyper req/s" "ratio" "RSS rw KiB" "RSS hy KiB"
for cfg in "-n 100000 -c 1 -m 100" "-n 100000 -c 16 -m 10" "-n 20000 -c 1 -m 1"; do
  declare -A med
  for name in ropewalk hyper; do
    addr=$rw; [ "$name" = hyper ] && addr=$hy
    for _ in $(seq "$runs"); do
      out=$(h2load -t 1 $cfg "http://$addr/hello")
      echo "$out" | grep -q " 0 failed, 0 errored" || { echo "$name: failures in h2load $cfg" >&2; echo "$out" >&2; exit 1; }
      echo "$out" | sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p'
    done | median >"$work/$name.med"
    med[$name]=$(cat "$work/$name.med")
  done
  ratio=$(awk -v a="${med[ropewalk]}" -v b="${med[hyper]}" 'BEGIN {printf "%.2f", a / b}')
  printf '%-28s %14.0f %14.0f %8s %12s %12s\n' "$cfg" "${med[ropewalk]}" "${med[hyper]}" "$ratio" "$(rss ropewalk)" "$(rss hyper)"
done
