#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (gitignored), from the
# hpack-test-case stories in testdata/ and a set of hand-made frames. Safe to re-run: it only
# adds files (named by content hash), so inputs the fuzzer found are kept.
#
#   bash fuzz/seeds.sh
#
# Needs python3 (standard library only). The input formats are documented in
# fuzz/src/hpack_decode.rs, fuzz/src/frame_parse.rs, fuzz/src/server_conn.rs and
# fuzz/src/client_conn.rs.
set -euo pipefail
cd "$(dirname "$0")"
exec python3 - "$PWD/corpus" "$PWD/../testdata/hpack-test-case" <<'PY'
import hashlib, json, pathlib, struct, sys

corpus = pathlib.Path(sys.argv[1])
testcases = pathlib.Path(sys.argv[2])
MAX_SEED = 8192  # keep libFuzzer's default -max_len sensible
count = {}  # target -> set of seed hashes

def write(target, data):
    if len(data) > MAX_SEED:
        return
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    (d / name).write_bytes(data)
    count.setdefault(target, set()).add(name)

# hpack_decode: config byte 0 (table 4096, list limit 16 KiB, 1000 fields), then per block:
# ctl, u16 length, block. A story's own table size changes become ctl bit 7 where the size is
# one the target offers.
TABLE_SIZES = [4096, 0, 64, 256]
stories = []
for story_path in sorted(testcases.glob("*/story_*.json")):
    if story_path.parent.name == "raw-data":  # headers only, no wire
        continue
    cases = json.loads(story_path.read_text())["cases"]
    blocks = []
    for case in cases:
        wire = bytes.fromhex(case["wire"])
        ctl = 0
        size = case.get("header_table_size")
        if size is not None and size in TABLE_SIZES and size != 4096:
            ctl = 0x80 | TABLE_SIZES.index(size)
        blocks.append((ctl, wire))
    stories.append(blocks)
    for k in sorted({1, 4, 16, len(blocks)}):
        if k > len(blocks):
            continue
        for config in (0x00, 0x3e) if k == 4 else (0x00,):  # 0x3e: small limits
            data = bytes([config]) + b"".join(
                bytes([ctl]) + struct.pack(">H", len(w)) + w for ctl, w in blocks[:k])
            write("hpack_decode", data)

# frame_parse: config byte (max frame size 16384), chunk-size count and sizes, then frames.
def frame(kind, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", sid) + payload

def seed(frames, chunks=b""):
    return bytes([0, len(chunks)]) + chunks + b"".join(frames)

settings = frame(0x4, 0, 0, b"".join(struct.pack(">HI", i, v) for i, v in
                                    [(1, 4096), (2, 0), (3, 100), (4, 65535), (5, 16384), (6, 8192), (8, 1), (9, 1)]))
single = [
    frame(0x0, 0x1, 1, b"hello"),                                 # DATA END_STREAM
    frame(0x0, 0x8, 3, b"\x04body" + b"\0" * 4),                  # DATA PADDED
    frame(0x1, 0x4, 1, b"\x82\x86\x84"),                          # HEADERS END_HEADERS
    frame(0x1, 0x2d, 3, b"\x02" + b"\x80\0\0\x01\x10" + b"\x82\x86" + b"\0\0"),  # PADDED|PRIORITY|END_STREAM|END_HEADERS
    frame(0x1, 0x0, 5, b"\x82") + frame(0x9, 0x0, 5, b"\x86") + frame(0x9, 0x4, 5, b"\x84"),
    frame(0x2, 0, 3, b"\x80\0\0\x01\x20"),                        # PRIORITY
    frame(0x3, 0, 1, struct.pack(">I", 8)),                       # RST_STREAM CANCEL
    settings,
    frame(0x4, 0x1, 0),                                           # SETTINGS ACK
    frame(0x5, 0x4, 1, struct.pack(">I", 2) + b"\x82\x87\x84"),   # PUSH_PROMISE
    frame(0x6, 0, 0, b"ropewalk"),                                # PING
    frame(0x6, 0x1, 0, b"ropewalk"),                              # PING ACK
    frame(0x7, 0, 0, struct.pack(">II", 7, 2) + b"debug data"),   # GOAWAY
    frame(0x8, 0, 0, struct.pack(">I", 65535)),                   # WINDOW_UPDATE connection
    frame(0x8, 0, 1, struct.pack(">I", 1)),                       # WINDOW_UPDATE stream
    frame(0xa, 0, 0, struct.pack(">H", 11) + b"example.com" + b'h2=":443"'),  # ALTSVC
    frame(0xa, 0, 1, struct.pack(">H", 0) + b'h2=":443"'),
    frame(0xc, 0, 0, struct.pack(">H", 19) + b"https://example.com"),  # ORIGIN
    frame(0x10, 0, 0, struct.pack(">I", 1) + b"u=3, i"),          # PRIORITY_UPDATE
    frame(0xfa, 0xff, 7, b"unknown frame type"),                  # unknown type
]
for f in single:
    write("frame_parse", seed([f]))
write("frame_parse", seed([settings] + single))
write("frame_parse", seed([settings] + single, bytes([1, 7, 100])))
write("frame_parse", seed([settings] + single, bytes([9, 0])))
# HEADERS frames carrying real header blocks, some split over CONTINUATION frames.
for blocks in stories[::8]:
    frames = [settings]
    for i, (_, w) in enumerate(blocks[:12]):
        sid = 2 * i + 1
        if len(w) > 8 and i % 3 == 2:
            h = len(w) // 2
            frames += [frame(0x1, 0x0, sid, w[:h]), frame(0x9, 0x4, sid, w[h:])]
        else:
            frames.append(frame(0x1, 0x5 if i % 2 else 0x4, sid, w))
        if i % 2 == 0:
            frames.append(frame(0x0, 0x1, sid, b"x" * (i * 10)))
    write("frame_parse", seed(frames))
    write("frame_parse", seed(frames, bytes([3, 50, 1])))

# server_conn: config bytes A and B, control-op count and ops, then the wire after the preface
# (the harness sends the preface itself). Ops: 0xf0 feed all, 0x?0 feed CHUNKS[?], 0x04
# poll_transmit, 0x05 drain, 0x?6 tick, 0x?7 respond, 0x?8 103, 0x?9 b send_data, 0x?a
# trailers, 0x?b reset, 0x?c release, 0x0d graceful shutdown, 0x0e ping, 0x?f extra.
def server_seed(a, b, ops, frames):
    assert len(ops) < 256
    return bytes([a, b, len(ops)]) + bytes(ops) + b"".join(frames)

GET = b"\x82\x87\x84\x41\x0bexample.com"      # GET https / example.com
POST = b"\x83\x87\x85\x41\x0bexample.com"     # POST https /index.html example.com
empty_settings = frame(0x4, 0, 0)
ack = frame(0x4, 0x1, 0)
def client_settings(pairs):
    return frame(0x4, 0, 0, b"".join(struct.pack(">HI", i, v) for i, v in pairs))
FEED_ALL, TX, DRAIN = 0xf0, 0x04, 0x05
server_seeds = [
    # One GET: response with a body in two DATA frames and trailers.
    server_seed(0x00, 0x00, [FEED_ALL, DRAIN, 0x07, 0x09, 0x03, 0x89, 0x02, 0x0a, DRAIN],
                [empty_settings, ack, frame(0x1, 0x5, 1, GET)]),
    # A POST whose body arrives in chunks; capacity released, 103 then 204.
    server_seed(0x00, 0x00, [0x50, 0x70, 0x80, DRAIN, 0x08, 0xf0, 0x8c, TX, 0x87, DRAIN],
                [empty_settings, ack, frame(0x1, 0x4, 1, POST),
                 frame(0x0, 0x0, 1, b"hello " * 20), frame(0x0, 0x1, 1, b"world")]),
    # Small windows everywhere: the client allows 10 octets per stream, then opens windows.
    server_seed(0x05, 0x01, [0xe0, DRAIN, 0x07, 0x09, 0x03, DRAIN, 0x90, DRAIN, 0x90, DRAIN,
                             0x96, 0xe6, DRAIN, FEED_ALL, DRAIN],
                [client_settings([(4, 10), (1, 0)]), ack, frame(0x1, 0x5, 1, GET),
                 frame(0x8, 0, 1, struct.pack(">I", 100)), frame(0x8, 0, 0, struct.pack(">I", 100)),
                 frame(0x8, 0, 1, struct.pack(">I", 5000))]),
    # Several streams against MAX_CONCURRENT_STREAMS 3, resets, pings, graceful shutdown.
    server_seed(0x02, 0x10, [FEED_ALL, DRAIN, 0x07, 0x17, 0x0b, 0x1b, 0x0e, DRAIN, 0x0d, DRAIN,
                             0x86, DRAIN, 0xe6, DRAIN],
                [empty_settings, ack] + [frame(0x1, 0x5, i, GET) for i in (1, 3, 5, 7, 9)]
                + [frame(0x3, 0, 3, struct.pack(">I", 8)), frame(0x6, 0, 0, b"pingpong")]),
    # Server push: a promise, its response and data, then the original response.
    server_seed(0x00, 0x00, [FEED_ALL, 0x0f, 0x00, DRAIN, 0x3f, 0x00, 0x19, 0x02, 0x07, 0x89, 0x01,
                             DRAIN],
                [empty_settings, ack, frame(0x1, 0x5, 1, GET)]),
    # SETTINGS changes both ways, a larger frame size, a small table, and a close.
    server_seed(0x10, 0x48, [FEED_ALL, DRAIN, 0x5f, 0x05, 0x6f, 0x01, DRAIN, 0x07, 0x09, 0x04,
                             DRAIN, 0x8f, DRAIN],
                [client_settings([(5, 65535), (1, 256), (6, 1000)]), ack,
                 frame(0x1, 0x5, 1, b"\x20" + GET), frame(0x1, 0x5, 3, GET)]),  # table size 0 (acked 256)
    # Keep-alive and SETTINGS timeouts: the client never acknowledges.
    server_seed(0x00, 0x20, [FEED_ALL, DRAIN, 0xe6, DRAIN, 0xe6, DRAIN, 0xe6, DRAIN],
                [empty_settings, frame(0x1, 0x5, 1, GET)]),
]
for s_ in server_seeds:
    write("server_conn", s_)
# The frame_parse frame sequences after a preface, fed whole and in small chunks.
for ops in ([], [FEED_ALL, DRAIN], [0x20, 0x40, DRAIN, 0x07, 0x80, DRAIN, 0xf0, DRAIN]):
    opened = [frame(0x1, 0x4, 1, GET), frame(0x1, 0x4, 3, GET), frame(0x1, 0x4, 5, GET)]
    write("server_conn", server_seed(0x00, 0x00, ops, [settings] + single))
    write("server_conn", server_seed(0x00, 0x00, ops, [settings, ack] + opened + single))
    write("server_conn", server_seed(0x02, 0x13, ops, [empty_settings, ack] + opened + single))

# client_conn: the same format with the roles swapped; the wire is what the server sends
# (its SETTINGS first). Unless config bit A7 is set, a GET on stream 1 is sent first.
OK = b"\x88"                                   # :status 200
EARLY = b"\x08\x03103"                         # :status 103
client_seeds = [
    # The GET answered with a body; capacity released.
    server_seed(0x00, 0x00, [DRAIN, FEED_ALL, DRAIN, 0x8c, DRAIN],
                [empty_settings, ack, frame(0x1, 0x4, 1, OK), frame(0x0, 0x1, 1, b"hello")]),
    # A POST with a body against small windows, answered with 103 and 200 and trailers.
    server_seed(0x00, 0x00, [0x17, 0x99, 0x03, DRAIN, 0x20, DRAIN, FEED_ALL, DRAIN, 0x18, DRAIN],
                [client_settings([(4, 50), (3, 10)]), ack, frame(0x1, 0x4, 1, OK + b"\x5c\x015"),
                 frame(0x0, 0x1, 1, b"12345"), frame(0x8, 0, 3, struct.pack(">I", 1000)),
                 frame(0x8, 0, 0, struct.pack(">I", 1000)), frame(0x1, 0x4, 3, EARLY),
                 frame(0x1, 0x4, 3, OK), frame(0x0, 0x0, 3, b"body"),
                 frame(0x1, 0x5, 3, b"\x40\x0ax-checksum\x03abc")]),
    # Push accepted (config B7): a promise on stream 1, the pushed response and the original.
    server_seed(0x00, 0x80, [DRAIN, FEED_ALL, DRAIN, 0x9c, 0x8c, DRAIN],
                [empty_settings, ack, frame(0x5, 0x4, 1, struct.pack(">I", 2) + GET),
                 frame(0x1, 0x4, 1, OK), frame(0x1, 0x4, 2, OK), frame(0x0, 0x1, 2, b"pushed"),
                 frame(0x0, 0x1, 1, b"x")]),
    # MAX_CONCURRENT_STREAMS 1: requests queue; a reset, a ping, GOAWAY, timeouts.
    server_seed(0x00, 0x10, [DRAIN, 0x87, 0x97, 0x80, DRAIN, 0x50, DRAIN, 0x0e, DRAIN, 0x1b, 0xf0,
                             DRAIN, 0xe6, DRAIN, 0x0d, DRAIN],
                [client_settings([(3, 1)]), ack, frame(0x1, 0x5, 1, OK),
                 frame(0x6, 0, 0, b"pingpong"), frame(0x3, 0, 3, struct.pack(">I", 7)),
                 frame(0x7, 0, 0, struct.pack(">II", 3, 0))]),
]
for s_ in client_seeds:
    write("client_conn", s_)
for ops in ([], [FEED_ALL, DRAIN], [0x20, 0x40, DRAIN, 0x07, 0x80, DRAIN, 0xf0, DRAIN]):
    write("client_conn", server_seed(0x00, 0x80, ops, [settings] + single))
    write("client_conn", server_seed(0x00, 0x00, ops, [empty_settings, ack] + single))

for target, names in sorted(count.items()):
    print(f"{target}: {len(names)} seeds in {corpus / target}")
PY
