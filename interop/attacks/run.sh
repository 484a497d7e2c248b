#!/usr/bin/env bash
# Runs the HTTP/2 attack suite against a freshly started `ropewalk serve`.
#
#   interop/attacks/run.sh                      # all ten attacks, 3 s each, --assert
#   DURATION=30s interop/attacks/run.sh         # longer
#   ONLY=rapid-reset,hpack-bomb interop/attacks/run.sh
#   SERVER=nghttpd interop/attacks/run.sh       # compare with nghttpd (report only, never fails)
#   JSON=/tmp/attacks.json interop/attacks/run.sh
#   SERVE_ARGS="--workers 1" interop/attacks/run.sh   # extra `ropewalk serve` flags
#
# Extra arguments are passed to ropewalk-attacks (e.g. --attackers 4).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-3s}"
SERVER="${SERVER:-ropewalk}"

echo "== building" >&2
cargo build --release --locked -p ropewalk-cli -p ropewalk-attacks >&2
# The target directory as cargo sees it (honours CARGO_TARGET_DIR and
# .cargo/config), as scripts/test.sh finds it.
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
ATTACKS="$TARGET_DIR/release/ropewalk-attacks"

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
    else
        echo $((20000 + RANDOM % 20000))
    fi
}
PORT="$(free_port)"
LOG="$(mktemp -t ropewalk-attacks-server.XXXXXX)"
WORK=""

case "$SERVER" in
ropewalk)
    "$TARGET_DIR/release/ropewalk" serve --plain "127.0.0.1:$PORT" --tls none ${SERVE_ARGS:-} >"$LOG" 2>&1 &
    ;;
nghttpd)
    command -v nghttpd >/dev/null || { echo "nghttpd not installed (apt-get install nghttp2-server)" >&2; exit 2; }
    WORK="$(mktemp -d)"
    echo "Hello, world!" >"$WORK/hello"
    head -c 10000000 /dev/zero >"$WORK/big"
    for f in echo slow; do cp "$WORK/hello" "$WORK/$f"; done
    nghttpd --no-tls -d "$WORK" "$PORT" >"$LOG" 2>&1 &
    ;;
*) echo "SERVER must be ropewalk or nghttpd" >&2; exit 2 ;;
esac
SERVER_PID=$!

cleanup() {
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
    rm -f "$LOG"
}
trap cleanup EXIT

for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:" >&2; cat "$LOG" >&2; exit 1; }
    sleep 0.1
done

echo "== $SERVER (pid $SERVER_PID) on 127.0.0.1:$PORT, $DURATION per attack" >&2
ARGS=(--target "127.0.0.1:$PORT" --server-pid "$SERVER_PID" --duration "$DURATION" --assert)
if [ -n "${ONLY:-}" ]; then ARGS+=(--only "$ONLY"); fi
if [ -n "${JSON:-}" ]; then ARGS+=(--json "$JSON"); fi

set +e
"$ATTACKS" "${ARGS[@]}" "$@"
RC=$?
set -e
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "FAIL: the server died during the attacks; its log:" >&2
    cat "$LOG" >&2
    RC=1
fi
if [ "$SERVER" != ropewalk ]; then
    echo "(comparison run against $SERVER: exit status $RC ignored)" >&2
    RC=0
fi
exit "$RC"
