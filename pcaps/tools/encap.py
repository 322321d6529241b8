#!/usr/bin/env python3
"""Wrap every packet of an Ethernet pcap in a tunnel (no third-party modules).

  encap.py KIND IN.pcap OUT.pcap

KIND: gre (IPv4 in GRE with checksum, key 1001, sequence), erspan1,
erspan2 (session 77), erspan3 (session 78, with platform subheader), vxlan
(VNI 5001), mpls (labels 100/200 on Ethernet), ipip6 (IPv4 in IPv6,
protocol 4), nested (VXLAN in GRE-TEB, outer 802.1Q VLAN 42).

Outer addresses are documentation ranges (192.0.2.1 -> 192.0.2.2,
2001:db8::1 -> 2001:db8::2); nothing is ever sent. Outer checksums are
valid; inner packets are copied unchanged.
"""
import struct
import sys

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
from pcaptool import read_pcap  # noqa: E402

MAC = bytes.fromhex("020000000a01") + bytes.fromhex("020000000a02")
OUT_SRC, OUT_DST = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
OUT6_SRC = bytes.fromhex("20010db8000000000000000000000001")
OUT6_DST = bytes.fromhex("20010db8000000000000000000000002")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Outer:
    def __init__(self):
        self.ipid = 0
        self.seq = 0

    def ipv4(self, proto, payload):
        self.ipid = (self.ipid + 1) & 0xFFFF
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), self.ipid, 0x4000, 64, proto, 0,
                        OUT_SRC, OUT_DST)
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        return h + payload

    def ipv6(self, nxt, payload):
        return struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64) + OUT6_SRC + OUT6_DST + payload

    def udp(self, sport, dport, payload):
        # Checksum 0: allowed for UDP over IPv4 tunnels (RFC 7348).
        return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload

    def gre(self, ptype, payload, key=None, seq=False, cks=False):
        flags, opts = 0, b""
        if cks:
            flags |= 0x8000
            opts += b"\0\0\0\0"
        if key is not None:
            flags |= 0x2000
            opts += struct.pack("!I", key)
        if seq:
            self.seq += 1
            flags |= 0x1000
            opts += struct.pack("!I", self.seq)
        g = struct.pack("!HH", flags, ptype) + opts + payload
        if cks:
            g = g[:4] + struct.pack("!H", csum(g)) + g[6:]
        return g

    def eth(self, ethertype, payload, vlan=None):
        tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
        return MAC + tag + struct.pack("!H", ethertype) + payload


def wrap(o, kind, frame):
    ip = frame[14:]  # the captures are Ethernet without VLAN tags
    if kind == "gre":
        return o.eth(0x0800, o.ipv4(47, o.gre(0x0800, ip, key=1001, seq=True, cks=True)))
    if kind == "erspan1":
        return o.eth(0x0800, o.ipv4(47, o.gre(0x88BE, frame)))
    if kind == "erspan2":
        hdr = struct.pack("!HHI", 0x1000 | 10, 77, o.seq & 0xFFFFF)  # ver 1, vlan 10, session 77, index
        return o.eth(0x0800, o.ipv4(47, o.gre(0x88BE, hdr + frame, seq=True)))
    if kind == "erspan3":
        hdr = struct.pack("!HHIHH", 0x2000 | 10, 78, 0x12345678, 0, 0x0001)  # ver 2, session 78, O flag
        sub = bytes(8)  # platform-specific subheader
        return o.eth(0x0800, o.ipv4(47, o.gre(0x22EB, hdr + sub + frame, seq=True)))
    if kind == "vxlan":
        return o.eth(0x0800, o.ipv4(17, o.udp(49152, 4789, struct.pack("!II", 0x08000000, 5001 << 8) + frame)))
    if kind == "mpls":
        labels = struct.pack("!II", (100 << 12) | 64, (200 << 12) | 0x100 | 64)
        return o.eth(0x8847, labels + ip)
    if kind == "ipip6":
        return o.eth(0x86DD, o.ipv6(4, ip))
    if kind == "nested":
        vx = o.udp(49152, 4789, struct.pack("!II", 0x08000000, 6001 << 8) + frame)
        inner_tunnel = o.eth(0x0800, o.ipv4(17, vx))
        return o.eth(0x0800, o.ipv4(47, o.gre(0x6558, inner_tunnel, key=7)), vlan=42)
    raise SystemExit("unknown kind " + kind)


def main(kind, src, dst):
    hdr, endian, recs = read_pcap(src)
    o = Outer()
    with open(dst, "wb") as f:
        f.write(hdr[:20] + struct.pack(endian + "I", 1))
        for _, rh, frame in recs:
            sec, frac, _, _ = struct.unpack(endian + "IIII", rh)
            out = wrap(o, kind, frame)
            f.write(struct.pack(endian + "IIII", sec, frac, len(out), len(out)) + out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
