#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (gitignored), from the
# hpack-test-case stories in testdata/ and a set of hand-made frames. Safe to re-run: it only
# adds files (named by content hash), so inputs the fuzzer found are kept.
#
#   bash fuzz/seeds.sh
#
# Needs python3 (standard library only). The input formats are documented in
# fuzz/src/hpack_decode.rs and fuzz/src/frame_parse.rs.
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

for target, names in sorted(count.items()):
    print(f"{target}: {len(names)} seeds in {corpus / target}")
PY
