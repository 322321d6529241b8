#!/usr/bin/env python3
"""Encode `location export --format list` output into leakwatch's embedded geo table.

Usage: geo-encode.py EXPORT_DIR OUT_FILE SOURCE_LINE VERSION_LINE

EXPORT_DIR holds one file per country and family (`CNv4.networks`, ...), one
CIDR a line. The flag pseudo-countries A1 (anonymous proxy), A2 (satellite),
A3 (anycast) and XD (hostile/drop) are skipped: their networks are also listed
under their real country.

Output format (documented in docs/policy.md, parsed by src/policy/geo.rs):
a text header of `key value` lines ended by an empty line, then binary records,
first all IPv4 records, then all IPv6 records. A record is
`varint(start_key - previous_start_key)` (LEB128, previous starts at 0)
followed by one byte, the index into the `countries` header line. Index 0 is
`ZZ` (no country: unallocated or unknown). A record's range runs up to the
next record's start (the last one to the end of the address space). IPv4 keys
are the 32-bit address; IPv6 keys are the top 48 bits (the database has no
prefix longer than /48, which the encoder checks).
"""
import glob
import ipaddress
import os
import sys

FLAGS = {"A1", "A2", "A3", "XD"}
V6_SHIFT = 80


def load(export_dir, fam):
    nets = []
    for path in sorted(glob.glob(os.path.join(export_dir, f"*{fam}.networks"))):
        cc = os.path.basename(path)[:2]
        if cc in FLAGS:
            continue
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                n = ipaddress.ip_network(line)
                nets.append((int(n.network_address), int(n.broadcast_address), cc))
    nets.sort()
    return nets


def merge(nets):
    merged = []
    for s, e, cc in nets:
        if merged and merged[-1][1] >= s and merged[-1][2] != cc:
            sys.exit(f"overlap between countries at {ipaddress.ip_address(s)}")
        if merged and merged[-1][2] == cc and merged[-1][1] + 1 >= s:
            merged[-1][1] = max(merged[-1][1], e)
            continue
        merged.append([s, e, cc])
    starts = []
    next_free = 0
    for s, e, cc in merged:
        if s > next_free:
            starts.append((next_free, "ZZ"))
        starts.append((s, cc))
        next_free = e + 1
    return starts, next_free


def varint(n):
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def encode(starts, end, space_end, shift, index):
    if end < space_end:
        starts = starts + [(end, "ZZ")]
    out = bytearray()
    prev = 0
    for s, cc in starts:
        key = s >> shift
        if key << shift != s:
            sys.exit(f"range start {s:x} not aligned to {shift} bits")
        out += varint(key - prev)
        out.append(index[cc])
        prev = key
    return len(starts), bytes(out)


def main():
    export_dir, out_file, source, version = sys.argv[1:5]
    v4, end4 = merge(load(export_dir, "v4"))
    v6, end6 = merge(load(export_dir, "v6"))
    codes = sorted({cc for _, cc in v4 + v6} - {"ZZ"})
    countries = ["ZZ"] + codes
    if len(countries) > 256:
        sys.exit("more than 256 country codes")
    index = {cc: i for i, cc in enumerate(countries)}
    n4, b4 = encode(v4, end4, 1 << 32, 0, index)
    n6, b6 = encode(v6, end6, 1 << 128, V6_SHIFT, index)
    header = (
        "leakwatch-geo 1\n"
        f"source {source}\n"
        f"version {version}\n"
        f"countries {' '.join(countries)}\n"
        f"v4 {n4}\n"
        f"v6 {n6}\n"
        "\n"
    )
    with open(out_file, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(b4)
        f.write(b6)
    print(f"{out_file}: {n4} IPv4 + {n6} IPv6 ranges, {len(codes)} countries")


if __name__ == "__main__":
    main()
