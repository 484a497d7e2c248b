"""Python's httpx (HTTP/2) and h2 (raw, sans-I/O) against a running `ropewalk serve`.

Usage: python_clients.py PLAIN_PORT TLS_PORT CERT_PEM
Each check asserts the protocol version and the exact bytes; exits non-zero on any failure.
"""

import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events
import httpx

plain_port, tls_port, cert = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
failures = 0


def check(name, cond):
    global failures
    print(("  ok   " if cond else "  FAIL ") + name)
    if not cond:
        failures += 1


def big(n):
    return bytes(i % 251 for i in range(n))


print("httpx (HTTP/2 over TLS, verifying the generated certificate)")
with httpx.Client(http2=True, http1=False, verify=ssl.create_default_context(cafile=cert)) as c:
    base = f"https://localhost:{tls_port}"
    r = c.get(base + "/hello")
    check("/hello over " + r.http_version, r.http_version == "HTTP/2" and r.content == b"Hello, world!")
    r = c.get(base + "/big", params={"size": 1048577})
    check("/big 1 MiB+1 every byte", r.content == big(1048577))
    payload = bytes((i * 7 + 3) % 256 for i in range(2 * 1024 * 1024 + 1))
    r = c.post(base + "/echo", content=payload, headers={"x-probe": "py"})
    check("/echo 2 MiB back, headers echoed", r.content == payload and r.headers["x-echo-x-probe"] == "py")
    r = c.get(base + "/", headers={"accept-encoding": "gzip"})
    check("/ gzip-decoded by httpx", r.headers.get("content-encoding") == "gzip" and b"nextHopProtocol" in r.content)
    r = c.get(base + "/redirect", follow_redirects=True)
    check("/redirect followed to /", r.url.path == "/" and r.history[0].status_code == 302)

print("httpx (h2c prior knowledge)")
with httpx.Client(http2=True, http1=False) as c:
    r = c.get(f"http://127.0.0.1:{plain_port}/hello")
    check("/hello over " + r.http_version, r.http_version == "HTTP/2" and r.content == b"Hello, world!")

print("h2 (raw frames, h2c): 50 concurrent streams with trailers")
sock = socket.create_connection(("127.0.0.1", plain_port))
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sock.sendall(conn.data_to_send())
sent = {}
for i in range(50):
    sid = conn.get_next_available_stream_id()
    body = (b"stream %d " % i) * (i * 4 + 1)  # all 50 fit in the initial 65535 window
    conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":authority", "localhost"),
                            (":path", "/echo?i=%d" % i), ("te", "trailers")])
    conn.send_data(sid, body)
    conn.send_headers(sid, [("x-trailer", "t%d" % i)], end_stream=True)
    sent[sid] = body
sock.sendall(conn.data_to_send())
got, trailers, status, open_streams = {}, {}, {}, set(sent)
settings_seen = None
sock.settimeout(10)
while open_streams:
    data = sock.recv(65536)
    if not data:
        break
    for ev in conn.receive_data(data):
        if isinstance(ev, h2.events.RemoteSettingsChanged):
            settings_seen = {int(k): v.new_value for k, v in ev.changed_settings.items()}
        elif isinstance(ev, h2.events.ResponseReceived):
            status[ev.stream_id] = dict(ev.headers)[b":status"]
        elif isinstance(ev, h2.events.DataReceived):
            got[ev.stream_id] = got.get(ev.stream_id, b"") + ev.data
            conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            trailers[ev.stream_id] = dict(ev.headers)
        elif isinstance(ev, h2.events.StreamEnded):
            open_streams.discard(ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            open_streams.discard(ev.stream_id)
    sock.sendall(conn.data_to_send())
conn.close_connection()
sock.sendall(conn.data_to_send())
sock.close()
check("all 50 streams answered 200", all(status.get(s) == b"200" for s in sent))
check("every body echoed exactly", all(got.get(s, b"") == sent[s] for s in sent))
check("every trailer echoed", all(trailers.get(s, {}).get(b"x-trailer") == b"t%d" % i for i, s in enumerate(sent)))
check("server SETTINGS: MAX_CONCURRENT_STREAMS 100", settings_seen is not None and settings_seen.get(3) == 100)

sys.exit(1 if failures else 0)
