#!/usr/bin/env bash
# `ropewalk get` against real servers on loopback: nghttpd and h2o, each over h2c (prior
# knowledge, and HTTP/1.1 Upgrade with h2o, as nghttpd has no Upgrade) and TLS. Every body is compared byte for byte with the file
# the server serves; the server's own logs show what reached it (query strings, one connection
# for 200 concurrent requests); pushes from nghttpd's --push option are saved and compared;
# h2o's gzip/br responses are decoded; an untrusted certificate is refused without -k.
#
# Needs nghttpd (Debian: nghttp2-server), h2o and openssl; installs them with apt when missing
# and run as root, fails otherwise. Uses $ROPEWALK_BIN if set, else builds the debug binary.
set -euo pipefail
cd "$(dirname "$0")/../.."

need() { # tool, package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq "$2" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$2" >/dev/null; }
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "missing tool: $1 (package $2)" >&2; exit 1; }
}
need nghttpd nghttp2-server; need h2o h2o; need openssl openssl; need python3 python3

bin=${ROPEWALK_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet -p ropewalk-cli
  bin=$PWD/target/debug/ropewalk
fi

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP_WORK:-}" ] && trap - EXIT

fails=0
ok() { printf '  ok   %s\n' "$1"; }
bad() { printf '  FAIL %s\n' "$1"; fails=$((fails + 1)); }
check() { # name, command...
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

# Document root: files of 0 B to 10 MiB with distinct contents, a page and its style sheet.
doc=$work/doc
mkdir -p "$doc"
python3 - "$doc" <<'PY'
import os, sys
d = sys.argv[1]
for name, n in [("empty", 0), ("one", 1), ("small.txt", 13), ("frame", 16385),
                ("mib", 1 << 20), ("ten", 10 << 20)]:
    open(os.path.join(d, name), "wb").write(bytes((i * 31 + n) % 251 for i in range(n)))
page = "<!doctype html><title>t</title><link rel=stylesheet href=/style.css>\n" * 200
open(os.path.join(d, "index.html"), "w").write(page)
open(os.path.join(d, "style.css"), "w").write("body { color: #123456 }\n" * 100)
PY
chmod -R a+rX "$doc"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth >/dev/null 2>&1
chmod a+r "$work/key.pem" "$work/cert.pem"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2; return 1
}

# nghttpd: h2c and TLS, pushing /style.css with /index.html.
ng_plain=$(free_port); ng_tls=$(free_port)
nghttpd -v --no-tls -a 127.0.0.1 -d "$doc" -p/index.html=/style.css "$ng_plain" >"$work/nghttpd-plain.log" 2>&1 &
pids+=($!)
nghttpd -v -a 127.0.0.1 -d "$doc" -p/index.html=/style.css "$ng_tls" "$work/key.pem" "$work/cert.pem" >"$work/nghttpd-tls.log" 2>&1 &
pids+=($!)

# h2o: h2c and TLS, gzip and br compression, an access log.
h2_plain=$(free_port); h2_tls=$(free_port)
cat >"$work/h2o.conf" <<CONF
listen:
  host: 127.0.0.1
  port: $h2_plain
listen:
  host: 127.0.0.1
  port: $h2_tls
  ssl:
    certificate-file: $work/cert.pem
    key-file: $work/key.pem
    ocsp-update-interval: 0
$( [ "$(id -u)" = 0 ] && echo "user: nobody" )
access-log:
  path: $work/h2o-access.log
  format: "%r %s %b"
error-log: $work/h2o-error.log
compress: ON
hosts:
  default:
    paths:
      /:
        file.dir: $doc
CONF
touch "$work/h2o-access.log" "$work/h2o-error.log"; chmod a+w "$work/h2o-access.log" "$work/h2o-error.log"
h2o -c "$work/h2o.conf" >"$work/h2o.out" 2>&1 &
pids+=($!)
for p in "$ng_plain" "$ng_tls" "$h2_plain" "$h2_tls"; do wait_port "$p"; done

get() { "$bin" get "$@"; }

run_server() { # name, base-url, tls(0/1), log-file
  local name=$1 base=$2 tls=$3 log=$4 tlsargs=()
  [ "$tls" = 1 ] && tlsargs=(--cacert "$work/cert.pem")
  local out=$work/out-$name
  mkdir -p "$out"
  echo "== $name ($base)"
  for f in empty one small.txt frame mib ten; do
    check "$name: GET /$f (every byte)" \
      bash -c 'set -o pipefail; "$0" get "${@:3}" "$1" | cmp -s - "$2"' "$bin" "$base/$f" "$doc/$f" "${tlsargs[@]}"
  done
  # Uploads of 0 B to 10 MiB (nghttpd discards them and answers with the file; h2o's file
  # handler refuses POST, so uploads are checked against nghttpd only).
  local uploads=(empty frame ten)
  case $name in h2o*) uploads=() ;; esac
  for f in "${uploads[@]}"; do
    check "$name: POST $f as the body of GET /small.txt" \
      bash -c 'set -o pipefail; "$0" get "${@:4}" -d "@$2" "$1" | cmp -s - "$3"' \
      "$bin" "$base/small.txt" "$doc/$f" "$doc/small.txt" "${tlsargs[@]}"
  done
  check "$name: query string reaches the server" \
    bash -c '"$0" get "${@:4}" "$1" >/dev/null && sleep 0.3 && grep -q "small.txt?q=a%20b&n=$2" "$3"' \
    "$bin" "$base/small.txt?q=a%20b&n=$name" "$name" "$log" "${tlsargs[@]}"
  # 200 concurrent requests: one connection (one client preface), 200 streams, every byte.
  local urls=() expect=$out/200.expected
  : >"$expect"
  for i in $(seq 200); do
    local f; f=$( [ $((i % 3)) = 0 ] && echo frame || echo small.txt )
    urls+=("$base/$f?i=$i"); cat "$doc/$f" >>"$expect"
  done
  get "${tlsargs[@]}" -v "${urls[@]}" >"$out/200.out" 2>"$out/200.log" || true
  check "$name: 200 concurrent requests, bodies in order" cmp -s "$out/200.out" "$expect"
  check "$name: ... over one connection" \
    test "$(grep -c 'send SETTINGS frame <length=[0-9]*, flags=0x00, stream_id=0>' "$out/200.log")" = 1
  check "$name: ... on 200 streams" \
    test "$(grep -c 'send HEADERS frame' "$out/200.log")" = 200
  if [ "$tls" = 1 ]; then
    check "$name: untrusted certificate refused without -k (exit 3)" \
      bash -c '"$0" get "$1" >/dev/null 2>"$2"; test $? = 3 && grep -q UnknownIssuer "$2"' "$bin" "$base/small.txt" "$out/tls.err"
    check "$name: accepted with -k" \
      bash -c '"$0" get -k "$1" | cmp -s - "$2"' "$bin" "$base/small.txt" "$doc/small.txt"
  elif [ "${name#h2o}" != "$name" ]; then
    # (nghttpd does not implement the HTTP/1.1 Upgrade; h2o does.)
    check "$name: HTTP/1.1 Upgrade: h2c" \
      bash -c 'set -o pipefail; "$0" get --upgrade "$1" | cmp -s - "$2"' "$bin" "$base/mib" "$doc/mib"
  fi
}

run_server nghttpd-h2c "http://127.0.0.1:$ng_plain" 0 "$work/nghttpd-plain.log"
run_server nghttpd-tls "https://localhost:$ng_tls" 1 "$work/nghttpd-tls.log"
run_server h2o-h2c "http://127.0.0.1:$h2_plain" 0 "$work/h2o-access.log"
run_server h2o-tls "https://localhost:$h2_tls" 1 "$work/h2o-access.log"

echo "== push (nghttpd -p/index.html=/style.css)"
for base in "http://127.0.0.1:$ng_plain" "https://localhost:$ng_tls"; do
  d=$work/push-$(echo "$base" | tr -c 'a-z0-9' _)
  mkdir -p "$d"
  (cd "$d" && "$bin" get --cacert "$work/cert.pem" --push -O "$base/index.html" 2>"$d/err") || true
  check "pushed /style.css saved and identical ($base)" cmp -s "$d/style.css" "$doc/style.css"
  check "page saved and identical ($base)" cmp -s "$d/index.html" "$doc/index.html"
done
d=$work/nopush; mkdir -p "$d"
(cd "$d" && "$bin" get -O "http://127.0.0.1:$ng_plain/index.html" 2>/dev/null) || true
check "without --push nothing is pushed" test ! -e "$d/style.css"

echo "== compression (h2o compress: ON)"
for coding in gzip br; do
  check "h2o sends $coding when asked (raw)" \
    bash -c '"$0" get --raw -i -H "accept-encoding: $1" "$2" | grep -qi "^content-encoding: $1"' \
    "$bin" "$coding" "http://127.0.0.1:$h2_plain/index.html"
  check "$coding response decoded to the exact file" \
    bash -c 'set -o pipefail; "$0" get -H "accept-encoding: $1" "$2" | cmp -s - "$3"' \
    "$bin" "$coding" "http://127.0.0.1:$h2_plain/index.html" "$doc/index.html"
done

if [ "$fails" -gt 0 ]; then
  echo "$fails client interop check(s) failed" >&2
  exit 1
fi
echo "all client interop checks passed"
