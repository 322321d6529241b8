#!/usr/bin/env python3
"""Cross-checks the embedded geo table (as decoded by leakwatch) against a
`location export --format list` directory, on random addresses.

    location export --format list --directory /tmp/geo-export
    scripts/check-geo.py /tmp/geo-export [N]

Addresses are drawn uniformly (IPv4) and inside 2000::/3 (IPv6), plus the
first address of random exported networks. Exits non-zero on any mismatch.
"""
import glob
import ipaddress
import os
import random
import subprocess
import sys
import tempfile

FLAGS = {"A1", "A2", "A3", "XD"}


def load(export_dir):
    by_len = {4: {}, 6: {}}
    firsts = []
    for path in glob.glob(os.path.join(export_dir, "*.networks")):
        cc = os.path.basename(path)[:2]
        if cc in FLAGS:
            continue
        for line in open(path):
            line = line.strip()
            if line:
                n = ipaddress.ip_network(line)
                by_len[n.version].setdefault(n.prefixlen, {})[int(n.network_address)] = cc
                firsts.append(str(n.network_address))
    return by_len, firsts


def expected(by_len, ip):
    a = ipaddress.ip_address(ip)
    bits = 32 if a.version == 4 else 128
    for plen, nets in sorted(by_len[a.version].items(), reverse=True):
        key = int(a) & (((1 << plen) - 1) << (bits - plen))
        if key in nets:
            return nets[key]
    return "ZZ"


def main():
    export_dir = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    by_len, firsts = load(export_dir)
    rnd = random.Random(42)
    probes = [str(ipaddress.IPv4Address(rnd.getrandbits(32))) for _ in range(n)]
    probes += [str(ipaddress.IPv6Address((1 << 125) | rnd.getrandbits(125))) for _ in range(n)]
    probes += rnd.sample(firsts, n)
    special = lambda p: not ipaddress.ip_address(p).is_global
    probes = [p for p in probes if not special(p)]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(probes) + "\n")
    out = subprocess.run(
        ["cargo", "test", "--lib", "policy::geo::tests::dump_lookups", "--", "--ignored", "--nocapture"],
        env={**os.environ, "LEAKWATCH_GEO_PROBES": f.name},
        capture_output=True, text=True, check=True,
    ).stdout
    got = dict(l.split()[1:3] for l in out.splitlines() if l.startswith("GEO "))
    bad = [(p, got.get(p), expected(by_len, p)) for p in probes if got.get(p) != expected(by_len, p)]
    for b in bad[:20]:
        print("mismatch", *b)
    print(f"{len(probes)} addresses, {len(bad)} mismatches")
    sys.exit(1 if bad or not got else 0)


if __name__ == "__main__":
    main()
