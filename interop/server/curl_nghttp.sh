#!/usr/bin/env bash
# Real-peer checks of `ropewalk serve`: curl (prior knowledge, Upgrade, TLS), nghttp, h2load,
# and Python's httpx and h2 (in a venv, interop/server/requirements.txt; SKIP_PYTHON=1 skips
# them), each asserting HTTP/2 and the exact bytes received.
#
# Needs curl, nghttp and h2load (Debian: `apt-get install -y curl nghttp2-client`; the script
# installs them when missing and it runs as root). Uses $ROPEWALK_BIN if set, otherwise builds
# the debug binary. Ports are picked by the kernel (`--tls 127.0.0.1:0`).
set -euo pipefail
cd "$(dirname "$0")/../.."

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq curl nghttp2-client >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq curl nghttp2-client >/dev/null; }
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "missing tool: $1" >&2; exit 1; }
}
need curl; need nghttp; need h2load

bin=${ROPEWALK_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet -p ropewalk-cli
  bin=target/debug/ropewalk
fi

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/root"
printf 'static file\n' >"$work/root/f.txt"
RUST_LOG=warn "$bin" serve --tls 127.0.0.1:0 --plain 127.0.0.1:0 \
  --cert-dir "$work/cert" --root "$work/root" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do
  grep -q '^press Ctrl-C' "$work/out" 2>/dev/null && break
  sleep 0.1
done
tls_port=$(sed -n 's|^serving https://127.0.0.1:\([0-9]*\).*|\1|p' "$work/out")
plain_port=$(sed -n 's|^serving http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/out")
[ -n "$tls_port" ] && [ -n "$plain_port" ] || { cat "$work/out" "$work/err"; echo "server did not start" >&2; exit 1; }
cert="$work/cert/localhost-cert.pem"
grep -q "SHA-256:" "$work/out"
h=http://127.0.0.1:$plain_port
s=https://localhost:$tls_port

fails=0
ok() { printf '  ok   %s\n' "$1"; }
bad() { printf '  FAIL %s\n' "$1"; fails=$((fails + 1)); }
check() { # name, command...
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

printf 'Hello, world!' >"$work/hello.expected"
python3 - "$work/big.expected" "$work/upload" <<'PY'
import sys
open(sys.argv[1], "wb").write(bytes(i % 251 for i in range(1048577)))
open(sys.argv[2], "wb").write(bytes((i * 7 + 3) % 256 for i in range(3 * 1024 * 1024 + 5)))
PY

# curl -w prints the negotiated HTTP version; the body goes to a file.
fetch() { # out-file, curl args...
  local out=$1; shift
  curl -sS --max-time 20 -o "$out" -w '%{http_version}' "$@"
}

echo "curl --http2-prior-knowledge (h2c)"
v=$(fetch "$work/a" --http2-prior-knowledge "$h/hello")
check "/hello over HTTP/$v" test "$v" = 2
check "/hello exact 13 bytes" cmp -s "$work/a" "$work/hello.expected"
v=$(fetch "$work/b" --http2-prior-knowledge "$h/big?size=1048577")
check "/big 1 MiB+1 every byte (HTTP/$v)" sh -c "test $v = 2 && cmp -s '$work/b' '$work/big.expected'"
v=$(fetch "$work/c" --http2-prior-knowledge --data-binary @"$work/upload" "$h/echo")
check "/echo 3 MiB upload streamed back (HTTP/$v)" sh -c "test $v = 2 && cmp -s '$work/c' '$work/upload'"
v=$(fetch "$work/d" --http2-prior-knowledge "$h/files/f.txt")
check "/files/f.txt" sh -c "test $v = 2 && printf 'static file\n' | cmp -s - '$work/d'"
fetch "$work/idx" --http2-prior-knowledge "$h/" >/dev/null
for enc in gzip br zstd; do
  feature=$enc; [ "$enc" = gzip ] && feature=libz; [ "$enc" = br ] && feature=brotli
  if curl -V | grep -qi "features:.*\b$feature\b"; then
    curl -sS --http2-prior-knowledge -H "accept-encoding: $enc" --compressed -D "$work/idx.$enc.h" -o "$work/idx.$enc" "$h/"
    check "curl --compressed $enc: content-encoding $enc, decodes to the page" \
      sh -c "grep -qi '^content-encoding: $enc' '$work/idx.$enc.h' && cmp -s '$work/idx' '$work/idx.$enc'"
  fi
done
code=$(curl -sS --http2-prior-knowledge -o /dev/null -w '%{http_code} %{redirect_url}' "$h/redirect")
check "/redirect -> / ($code)" test "$code" = "302 $h/"

echo "curl --http2 (HTTP/1.1 Upgrade: h2c)"
v=$(curl -sS -v --max-time 20 -o "$work/e" -w '%{http_version}' --http2 "$h/hello" 2>"$work/e.log")
check "upgraded (101 seen) and HTTP/$v" sh -c "grep -q '101 Switching Protocols' '$work/e.log' && test $v = 2"
check "/hello exact bytes after Upgrade" cmp -s "$work/e" "$work/hello.expected"
v=$(fetch "$work/e2" --http2 "$h/big?size=1048577")
check "/big after Upgrade every byte (HTTP/$v)" sh -c "test $v = 2 && cmp -s '$work/e2' '$work/big.expected'"
head -c 40000 "$work/upload" >"$work/upload.small"
v=$(curl -sS -v --max-time 20 -o "$work/e3" -w '%{http_version}' --http2 --data-binary @"$work/upload.small" "$h/echo" 2>"$work/e3.log")
check "POST 40 kB body through the Upgrade, echoed (HTTP/$v)" \
  sh -c "grep -q '101 Switching Protocols' '$work/e3.log' && test $v = 2 && cmp -s '$work/e3' '$work/upload.small'"
head -c 200000 "$work/upload" >"$work/upload.200k"
v=$(curl -sS -v --max-time 20 -o "$work/e4" -w '%{http_version}' --http2 \
  --data-binary @"$work/upload.200k" "$h/echo" 2>"$work/e4.log")
check "POST 200 kB body (over the old 64 KiB limit) through the Upgrade, echoed (HTTP/$v)" \
  sh -c "grep -q '101 Switching Protocols' '$work/e4.log' && test $v = 2 && cmp -s '$work/e4' '$work/upload.200k'"
# Five times: curl, given 100 and 101 together, would sometimes start
# HTTP/2 without sending its body; the 101 now waits for the whole body.
for i in 1 2 3 4 5; do
  v=$(curl -sS -v --max-time 20 -o "$work/e5" -w '%{http_version}' --http2 -H 'Transfer-Encoding: chunked' \
    --data-binary @"$work/upload.200k" "$h/echo" 2>"$work/e5.log")
  check "POST 200 kB chunked body through the Upgrade, echoed (HTTP/$v, round $i)" \
    sh -c "grep -q '101 Switching Protocols' '$work/e5.log' && grep -qi '> transfer-encoding: chunked' '$work/e5.log' && test $v = 2 && cmp -s '$work/e5' '$work/upload.200k'"
done

echo "curl over TLS (ALPN h2)"
v=$(fetch "$work/f" -k "$s/hello")
check "curl -k /hello over HTTP/$v" sh -c "test $v = 2 && cmp -s '$work/f' '$work/hello.expected'"
v=$(fetch "$work/g" --cacert "$cert" "$s/big?size=1048577")
check "curl --cacert (certificate trusted) /big every byte (HTTP/$v)" sh -c "test $v = 2 && cmp -s '$work/g' '$work/big.expected'"
if curl -sS --max-time 10 --http1.1 --cacert "$cert" -o /dev/null "$s/hello" 2>"$work/h1tls.err"; then
  bad "TLS client offering only http/1.1 must be refused"
else
  check "TLS http/1.1-only client refused (alert)" grep -qi "alert\|no application protocol\|SSL" "$work/h1tls.err"
fi

echo "plain HTTP/1.1 request"
code=$(curl -sS --max-time 10 --http1.1 -o "$work/i" -w '%{http_code}' "$h/hello")
check "HTTP/1.1 request answered $code, says HTTP/2" sh -c "test $code = 505 && grep -q 'speaks HTTP/2' '$work/i'"

echo "nghttp"
nghttp -nv "$h/hello" >"$work/n1" 2>&1 || true
grep -A8 'recv SETTINGS frame <length=[1-9]' "$work/n1" >"$work/n1.settings" || true
check "nghttp -nv h2c: our SETTINGS (MAX_CONCURRENT_STREAMS 100, MAX_HEADER_LIST_SIZE 16384)" \
  sh -c "grep -q 'SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100' '$work/n1.settings' && grep -q 'SETTINGS_MAX_HEADER_LIST_SIZE(0x06):16384' '$work/n1.settings'"
check "nghttp -nv h2c: our SETTINGS acknowledged" grep -q "recv SETTINGS frame <length=0, flags=0x01" "$work/n1"
check "nghttp -nv h2c: :status 200" grep -q ":status: 200" "$work/n1"
check "nghttp -nv h2c: no RST_STREAM" sh -c "! grep -q 'recv RST_STREAM' '$work/n1'"
nghttp "$h/hello" >"$work/n2"
check "nghttp h2c body exact" cmp -s "$work/n2" "$work/hello.expected"
nghttp -nv "$s/hello" >"$work/n3" 2>&1 || true
check "nghttp -nv TLS: h2 negotiated, :status 200" sh -c "grep -q 'negotiated protocol: h2' '$work/n3' && grep -q ':status: 200' '$work/n3'"
nghttp "$s/big?size=1048577" >"$work/n4" 2>/dev/null
check "nghttp TLS /big every byte" cmp -s "$work/n4" "$work/big.expected"
nghttp -u "$h/hello" >"$work/n5"
check "nghttp -u (Upgrade) body exact" cmp -s "$work/n5" "$work/hello.expected"

nghttp -nv "$h/push" >"$work/n6" 2>&1 || true
check "nghttp -nv /push: two PUSH_PROMISEs (style.css, app.js), pushed 200s" \
  sh -c "test \$(grep -c 'recv PUSH_PROMISE frame' '$work/n6') = 2 && grep -q ':path: /push/style.css' '$work/n6' && grep -q ':path: /push/app.js' '$work/n6' && test \$(grep -c ':status: 200' '$work/n6') = 3"

echo "h2load"
h2load -n 100000 -c 4 -m 100 "$h/hello" >"$work/h2load" 2>&1 || true
check "h2load 100000 requests, c=4 m=100: all 2xx, none failed/errored" \
  grep -q "requests: 100000 total, 100000 started, 100000 done, 100000 succeeded, 0 failed, 0 errored" "$work/h2load"
grep -E "^finished in|^requests:" "$work/h2load" | sed 's/^/       /'

if [ "${SKIP_PYTHON:-0}" != 1 ]; then
  venv=${ROPEWALK_VENV:-interop/.venv}
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r interop/server/requirements.txt
  if "$venv/bin/python" interop/server/python_clients.py "$plain_port" "$tls_port" "$cert"; then
    ok "Python httpx and h2 clients"
  else
    bad "Python httpx and h2 clients"
  fi
fi

chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser check"
  apt-get install -y -qq chromium >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null; } || true
  chrome=$(command -v chromium || true)
fi
if [ -n "$chrome" ]; then
  echo "headless Chromium on the TLS demo page"
  timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --ignore-certificate-errors --user-data-dir="$work/chrome" --virtual-time-budget=5000 \
    --dump-dom "$s/" >"$work/dom" 2>/dev/null || true
  check "Chromium: nextHopProtocol h2 and self-test passed" \
    grep -q 'self-test: passed (nextHopProtocol=h2)' "$work/dom"
else
  # Not skipped silently: a browser that cannot be had is a failed check.
  bad "headless Chromium: not installed and could not be installed (apt-get install -y chromium)"
fi

echo "graceful shutdown (SIGTERM with a request in flight)"
curl -sS --http2-prior-knowledge --max-time 20 -o "$work/slow" "$h/slow?ms=700" &
cpid=$!
sleep 0.3
kill -TERM "$pid"
if wait "$cpid"; then
  check "in-flight /slow finished" grep -q "slept 700 ms" "$work/slow"
else
  bad "in-flight /slow finished"
fi
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then bad "server exited after SIGTERM"; else ok "server exited after SIGTERM"; fi
wait "$pid" 2>/dev/null || true
pid=

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed; server log:" >&2
  tail -20 "$work/err" >&2
  exit 1
fi
echo "all server interop checks passed"
