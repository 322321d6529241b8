#!/usr/bin/env python3
"""Write a large synthetic replay pcap for leakwatch benchmarks, fast.

    python3 benches/gen_replay_pcap.py OUT.pcap --size-mb 200 [--seed N]

Frames are struct-packed Ethernet/IPv4/TCP|UDP with correct checksums, no
capture involved. Traffic: many interleaved HTTP/1.1 keep-alive flows between
a few hundred 10.x clients and a handful of servers (full 3-way handshake,
1460-byte MSS segments, ACKs, FIN at the end), some raw TCP flows, and UDP
syslog datagrams. Bodies are text dense with digit runs (timestamps, 24-digit
order ids, prices, hex trace ids) and sparse SYNTHETIC PI (about one value per
8 KiB): resident IDs, mobiles, bank cards, emails (pcaps/synth_pi.py).

Prints, and writes to OUT.pcap.truth.json, the number of distinct PI values
per direction and type, so a benchmark can assert what it should find.
"""
import argparse
import json
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pcaps"))
import synth_pi as sp  # noqa: E402

MSS = 1460
ETH_IP = b"\x08\x00"
TYPES = ("cn_resident_id", "cn_mobile", "bank_card", "email")
CONCURRENT_FLOWS = 48
PI_EVERY = 8192


def csum_fold(s: int) -> int:
    """One's-complement 16-bit sum from a value already reduced mod 0xFFFF."""
    return 0xFFFF if s == 0 else s


def ones_sum(data: bytes) -> int:
    """One's-complement sum of 16-bit big-endian words, mod 0xFFFF (2^16 = 1
    mod 0xFFFF, so the big integer's residue is the folded word sum)."""
    if len(data) & 1:
        data += b"\0"
    return int.from_bytes(data, "big") % 0xFFFF


class Writer:
    """pcap writer that assigns monotonically increasing timestamps."""

    def __init__(self, path, rng):
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t_us = 1_795_000_000 * 1_000_000  # fixed start time (2026-11)
        self.rng = rng
        self.bytes = 24
        self.packets = 0

    def write(self, frame: bytes):
        self.t_us += self.rng.randint(1, 40)
        n = len(frame)
        self.f.write(struct.pack("<IIII", self.t_us // 1_000_000, self.t_us % 1_000_000, n, n))
        self.f.write(frame)
        self.bytes += 16 + n
        self.packets += 1

    def close(self):
        self.f.close()


def ip_header(src: bytes, dst: bytes, proto: int, l4_len: int, ipid: int) -> bytes:
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + l4_len, ipid, 0x4000, 64, proto, 0, src, dst)
    c = ~csum_fold(ones_sum(h)) & 0xFFFF
    return h[:10] + struct.pack(">H", c) + h[12:]


class Endpoint:
    """One direction of a TCP connection: addresses, MACs, seq and IP id."""

    def __init__(self, src, dst, sport, dport, smac, dmac, seq, rng):
        self.src, self.dst, self.sport, self.dport = src, dst, sport, dport
        self.eth = dmac + smac + ETH_IP
        self.seq = seq
        self.ipid = rng.randint(0, 65535)
        self.pseudo = ones_sum(src + dst + b"\x00\x06")

    def tcp(self, ack: int, flags: int, payload: bytes = b"", opts: bytes = b"") -> bytes:
        hlen = 20 + len(opts)
        tlen = hlen + len(payload)
        hdr = struct.pack(">HHIIBBHHH", self.sport, self.dport, self.seq, ack,
                          (hlen // 4) << 4, flags, 64240, 0, 0) + opts
        s = (self.pseudo + tlen + ones_sum(hdr) + ones_sum(payload)) % 0xFFFF
        c = ~csum_fold(s) & 0xFFFF
        hdr = hdr[:16] + struct.pack(">H", c) + hdr[18:]
        self.ipid = (self.ipid + 1) & 0xFFFF
        return self.eth + ip_header(self.src, self.dst, 6, tlen, self.ipid) + hdr + payload


SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10
MSS_OPT = b"\x02\x04" + struct.pack(">H", MSS)


def tcp_flow(c: Endpoint, s: Endpoint, exchanges):
    """Yield the frames of one connection: handshake, exchanges, FIN close."""
    yield c.tcp(0, SYN, opts=MSS_OPT)
    c.seq += 1
    yield s.tcp(c.seq, SYN | ACK, opts=MSS_OPT)
    s.seq += 1
    yield c.tcp(s.seq, ACK)
    for req, resp in exchanges:
        yield from send(c, s, req)
        yield from send(s, c, resp)
    yield c.tcp(s.seq, FIN | ACK)
    c.seq += 1
    yield s.tcp(c.seq, FIN | ACK)
    s.seq += 1
    yield c.tcp(s.seq, ACK)


def send(a: Endpoint, b: Endpoint, data: bytes):
    """a sends data to b in MSS segments; b ACKs every second segment."""
    n = 0
    for off in range(0, len(data), MSS):
        seg = data[off:off + MSS]
        last = off + MSS >= len(data)
        yield a.tcp(b.seq, ACK | (PSH if last else 0), seg)
        a.seq = (a.seq + len(seg)) & 0xFFFFFFFF
        n += 1
        if n % 2 == 0 or last:
            yield b.tcp(a.seq, ACK)


class Content:
    """Digit-dense filler (checked PI-free) plus sparse, counted PI values."""

    def __init__(self, rng):
        self.rng = rng
        self.synth = sp.Synth(rng.randint(0, 1 << 30))
        self.seen = {d: {t: set() for t in TYPES} for d in ("to_server", "to_client")}
        words = ("status pending shipped warehouse region east west sku batch carrier "
                 "express standard refund coupon member level gold silver").split()
        lines = []
        for _ in range(400):
            lines.append(
                '{"ts":%d,"order":"%s","price":"%s","qty":%d,"trace":"%s","state":"%s","sku":"SKU-%05d"}\n'
                % (int(self.synth.decoy_timestamp_ms()), self.synth.decoy_order_with_id()
                   if rng.random() < 0.3 else "%024d" % rng.randrange(10 ** 23, 10 ** 24),
                   self.synth.decoy_price(), rng.randint(1, 99), self.synth.decoy_trace_id(),
                   " ".join(rng.choice(words) for _ in range(rng.randint(1, 4))),
                   rng.randint(0, 99999)))
        self.chunks = []
        for _ in range(128):
            chunk = "".join(rng.choice(lines) for _ in range(12)).encode()
            assert not sp.ref_scan(chunk), "filler contains PI"
            self.chunks.append(chunk)
        self.pool = []

    def pi_line(self, direction: str) -> bytes:
        s, r = self.synth, self.rng
        if self.pool and r.random() < 0.1:  # repeat an earlier value: distinct counts matter
            t, v, text = r.choice(self.pool)
        else:
            t = TYPES[r.randrange(4)]
            if t == "cn_resident_id":
                v = s.resident_id(want_x=r.random() < 0.09)
                text = '{"customer_id":"%s"}' % v
            elif t == "cn_mobile":
                v = s.mobile()
                text = '{"phone":"%s"}' % r.choice([v, sp.mobile_spaced(v), sp.mobile_intl(v)])
            elif t == "bank_card":
                v = s.card(r.choice(["unionpay16", "unionpay19", "visa", "mastercard"]))
                text = '{"card":"%s"}' % (sp.card_spaced(v) if r.random() < 0.3 else v)
            else:
                v = s.email()
                text = '{"email":"%s"}' % v
            if len(self.pool) < 4096:
                self.pool.append((t, v, text))
        self.seen[direction][t].add(v)
        return text.encode() + b"\n"

    def body(self, size: int, direction: str) -> bytes:
        parts, n, since_pi = [], 0, self.rng.randrange(PI_EVERY)
        while n < size:
            c = self.rng.choice(self.chunks)
            parts.append(c)
            n += len(c)
            since_pi += len(c)
            if since_pi >= PI_EVERY:
                p = self.pi_line(direction)
                parts.append(p)
                n += len(p)
                since_pi = 0
        return b"".join(parts)


def http_exchanges(content, rng, host):
    out = []
    for _ in range(rng.randint(1, 8)):
        if rng.random() < 0.5:
            body = content.body(rng.randint(256, 16 * 1024), "to_server")
            req = (b"POST /api/v1/orders HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n" % (host, len(body))) + body
        else:
            req = b"GET /api/v1/orders?page=%d HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n\r\n" % (
                rng.randint(1, 500), host)
        big = rng.random() < 0.1
        body = content.body(rng.randint(1024, 256 * 1024 if big else 32 * 1024), "to_client")
        resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Connection: keep-alive\r\n\r\n" % len(body)) + body
        out.append((req, resp))
    return out


def raw_exchanges(content, rng):
    return [(content.body(rng.randint(256, 16 * 1024), "to_server"),
             content.body(rng.randint(64, 4 * 1024), "to_client")) for _ in range(rng.randint(1, 4))]


def udp_frame(rng, content, cli, srv, sport):
    payload = b"<134>Nov 22 10:%02d:%02d app01 svc[%d]: " % (
        rng.randint(0, 59), rng.randint(0, 59), rng.randint(1, 999))
    payload += rng.choice(content.chunks)[:rng.randint(80, 600)].split(b"\n")[0]
    if rng.random() < 0.2:
        payload += b" " + content.pi_line("to_server").strip()
    l4 = struct.pack(">HHHH", sport, 514, 8 + len(payload), 0) + payload
    s = (ones_sum(cli + srv + b"\x00\x11") + len(l4) + ones_sum(l4)) % 0xFFFF
    c = (~csum_fold(s) & 0xFFFF) or 0xFFFF
    l4 = l4[:6] + struct.pack(">H", c) + l4[8:]
    mac_c, mac_s = b"\x02\x00" + cli, b"\x02\x01" + srv
    return mac_s + mac_c + ETH_IP + ip_header(cli, srv, 17, len(l4), rng.randint(0, 65535)) + l4


def generate(path, size_mb, seed):
    rng = random.Random(seed)
    content = Content(rng)
    w = Writer(path, rng)
    clients = [bytes([10, rng.randint(1, 250), rng.randint(0, 255), rng.randint(1, 254)]) for _ in range(300)]
    servers = [(bytes([198, 51, 100, 80 + i]), b"shop%d.example.cn" % i) for i in range(4)] + \
              [(bytes([203, 0, 113, 10 + i]), b"api%d.example.com" % i) for i in range(3)] + \
              [(bytes([10, 1, 0, 10 + i]), b"hr%d.corp.example.cn" % i) for i in range(3)]
    target = int(size_mb * 1_000_000)
    active, flows, udp_n = [], 0, 0
    next_port = {}

    def new_flow():
        cip = rng.choice(clients)
        sip, host = rng.choice(servers)
        cport = next_port.get(cip, rng.randint(32768, 50000))
        next_port[cip] = cport + 1 if cport < 60999 else 32768
        mc, ms = b"\x02\x00" + cip, b"\x02\x01" + sip
        raw = rng.random() < 0.15
        dport = 9000 if raw else rng.choice([80, 8080])
        c = Endpoint(cip, sip, cport, dport, mc, ms, rng.getrandbits(32), rng)
        s = Endpoint(sip, cip, dport, cport, ms, mc, rng.getrandbits(32), rng)
        ex = raw_exchanges(content, rng) if raw else http_exchanges(content, rng, host)
        # Frame overhead: 70 bytes of headers per 1460-byte segment plus ACKs.
        est = sum(len(a) + len(b) for a, b in ex) * 1.07 + 1000
        return tcp_flow(c, s, ex), est

    committed = 24
    while True:
        while committed < target and len(active) < CONCURRENT_FLOWS:
            g, est = new_flow()
            active.append(g)
            committed += est
            flows += 1
        if not active:
            break
        i = rng.randrange(len(active))
        g = active[i]
        for _ in range(rng.randint(1, 12)):
            f = next(g, None)
            if f is None:
                active[i] = active[-1]
                active.pop()
                break
            w.write(f)
        if w.bytes < target and rng.random() < 0.02:
            w.write(udp_frame(rng, content, rng.choice(clients), bytes([10, 1, 0, 5]),
                              rng.randint(32768, 60999)))
            udp_n += 1
    w.close()
    counts = {d: {t: len(v) for t, v in m.items()} for d, m in content.seen.items()}
    return {"pcap": os.path.basename(path), "seed": seed, "size_mb": size_mb,
            "bytes": w.bytes, "packets": w.packets, "tcp_flows": flows, "udp_datagrams": udp_n,
            "distinct_pi": counts,
            "note": "distinct normalised values per direction and type; UDP counted as to_server"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t0 = time.time()
    truth = generate(a.out, a.size_mb, a.seed)
    truth["generate_seconds"] = round(time.time() - t0, 1)
    with open(a.out + ".truth.json", "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    print(json.dumps(truth, indent=1))


if __name__ == "__main__":
    main()
