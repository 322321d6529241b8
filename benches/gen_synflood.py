#!/usr/bin/env python3
"""Writes a SYN-flood pcap for `benches/flood.sh` (no network involved).

Contents, in capture order, 10 µs apart:
  - N spoofed SYNs (default 2,000,000) from random sources in 100.64/10
    (never answered),
  - H half-open flows (default 200,000): SYN from a spoofed source in
    172.16/12 plus the server's SYN-ACK, never completed,
  - R real flows (default 4) spread through the flood: full handshake,
    one client segment carrying a synthetic mobile number in JSON, FIN both
    ways. Their values are printed (and written to OUT.truth.json) so the
    script can check they were reported.

Every frame is Ethernet/IPv4/TCP with correct IP and TCP checksums.

    python3 benches/gen_synflood.py /tmp/flood.pcap [--syns N] [--half-open H]
"""
import argparse
import json
import random
import struct


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


ETH = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
SERVER = bytes([10, 9, 0, 1])


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    c = csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ETH + ip + tcp


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t = 1_700_000_000_000_000
        self.n = 0

    def write(self, fr):
        self.f.write(struct.pack("<IIII", self.t // 1_000_000, self.t % 1_000_000, len(fr), len(fr)))
        self.f.write(fr)
        self.t += 10
        self.n += 1


def mobile(rng):
    return "13" + "".join(rng.choice("0123456789") for _ in range(9))


def real_flow(w, i, value):
    cli = bytes([10, 1, 0, 2 + i])
    sport, isn, sisn = 40000 + i, 1000 * (i + 1), 5000 * (i + 1)
    data = ('{"phone":"%s"}\n' % value).encode()
    A, S, F, P = 0x10, 0x02, 0x01, 0x08
    w.write(frame(cli, SERVER, sport, 9000, isn, 0, S))
    w.write(frame(SERVER, cli, 9000, sport, sisn, isn + 1, S | A))
    w.write(frame(cli, SERVER, sport, 9000, isn + 1, sisn + 1, A))
    w.write(frame(cli, SERVER, sport, 9000, isn + 1, sisn + 1, A | P, data))
    end = isn + 1 + len(data)
    w.write(frame(cli, SERVER, sport, 9000, end, sisn + 1, A | F))
    w.write(frame(SERVER, cli, 9000, sport, sisn + 1, end + 1, A | F))
    w.write(frame(cli, SERVER, sport, 9000, end + 1, sisn + 2, A))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--syns", type=int, default=2_000_000)
    ap.add_argument("--half-open", type=int, default=200_000)
    ap.add_argument("--real", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    w = Writer(a.out)
    total = a.syns + a.half_open
    every = max(1, total // (a.real + 1))
    values, k = [], 0
    for i in range(total):
        if k < a.real and i == every * (k + 1) - 1:
            v = mobile(rng)
            values.append(v)
            real_flow(w, k, v)
            k += 1
        sport = rng.randrange(1024, 65536)
        seq = rng.getrandbits(32)
        if i < a.syns:
            src = bytes([100, 64 + rng.randrange(64), rng.randrange(256), rng.randrange(256)])
            w.write(frame(src, SERVER, sport, 80, seq, 0, 0x02))
        else:
            src = bytes([172, 16 + rng.randrange(16), rng.randrange(256), rng.randrange(256)])
            w.write(frame(src, SERVER, sport, 80, seq, 0, 0x02))
            w.write(frame(SERVER, src, 80, sport, rng.getrandbits(32), (seq + 1) & 0xFFFFFFFF, 0x12))
    w.f.close()
    truth = {"pcap": a.out, "packets": w.n, "syns": a.syns, "half_open": a.half_open,
             "real_values": values}
    with open(a.out + ".truth.json", "w") as f:
        json.dump(truth, f, indent=1)
    print(json.dumps(truth))


if __name__ == "__main__":
    main()
