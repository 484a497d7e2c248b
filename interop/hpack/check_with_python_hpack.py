#!/usr/bin/env python3
"""Decode ropewalk's HPACK encoder output with Python's independent `hpack` package.

Input: a directory tree of story files in the hpack-test-case format, as written by
`cargo run -p ropewalk-hpack --example encode_corpus -- OUT_DIR`. Each story shares one
compression context; each case carries `wire` (hex), the expected `headers` and the
`header_table_size` that our encoder was told the peer acknowledged before that case.

For every case the decoded header list must equal the expected one exactly (names, values,
order). Fields that RFC 7541 §7.1.3 says must stay out of the table (`authorization`,
`proxy-authorization`) must come back as never-indexed (`NeverIndexedHeaderTuple`).

Exits non-zero on the first mismatch, and prints one summary line at the end.
"""

import json
import pathlib
import sys

import hpack
from hpack import NeverIndexedHeaderTuple

ALWAYS_SENSITIVE = {b"authorization", b"proxy-authorization"}


def check_story(path: pathlib.Path) -> tuple[int, int]:
    story = json.loads(path.read_text())
    decoder = hpack.Decoder(max_header_list_size=1 << 30)
    cases = fields = 0
    for case in story["cases"]:
        size = case.get("header_table_size", 4096)
        # The SETTINGS_HEADER_TABLE_SIZE the decoder side advertised (RFC 7541 §4.2).
        decoder.max_allowed_table_size = size
        wire = bytes.fromhex(case["wire"])
        try:
            got = decoder.decode(wire, raw=True)
        except Exception as exc:  # report which case broke, then fail
            raise SystemExit(f"{path} seqno {case['seqno']}: python hpack rejected our block: {exc!r}")
        want = [
            (name.encode("utf-8"), value.encode("utf-8"))
            for header in case["headers"]
            for name, value in header.items()
        ]
        got_pairs = [(bytes(n), bytes(v)) for n, v in got]
        if got_pairs != want:
            for i, (g, w) in enumerate(zip(got_pairs, want)):
                if g != w:
                    raise SystemExit(f"{path} seqno {case['seqno']} field {i}: got {g!r}, want {w!r}")
            raise SystemExit(
                f"{path} seqno {case['seqno']}: got {len(got_pairs)} fields, want {len(want)}"
            )
        for tup in got:
            if bytes(tup[0]) in ALWAYS_SENSITIVE and not isinstance(tup, NeverIndexedHeaderTuple):
                raise SystemExit(f"{path} seqno {case['seqno']}: {tup[0]!r} was not sent never-indexed")
        cases += 1
        fields += len(want)
    return cases, fields


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    stories = sorted(root.rglob("*.json"))
    if not stories:
        print(f"no story files under {root}", file=sys.stderr)
        return 1
    total_cases = total_fields = 0
    for path in stories:
        cases, fields = check_story(path)
        total_cases += cases
        total_fields += fields
    print(
        f"python hpack {hpack.__version__} decoded {len(stories)} stories, "
        f"{total_cases} header blocks, {total_fields} fields from ropewalk's encoder"
    )
    print(f"hpack-interop: {len(stories)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
