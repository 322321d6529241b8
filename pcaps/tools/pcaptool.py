#!/usr/bin/env python3
"""Small classic-pcap toolbox for make.sh (no third-party modules).

  pcaptool.py analyze FILE              TCP out-of-order / retransmit / duplicate counts (JSON)
  pcaptool.py verify FILE TRUTH         reassemble, run the reference detector, compare to truth
  pcaptool.py truth NAME PCAP ORIGIN OUT [--analyze]   write NAME.truth.json from content.py
  pcaptool.py broken SRC OUTDIR         truncated_last / corrupt_record / not_a_pcap
  pcaptool.py split SRC OUT1 OUT2 MS    alternate MS-millisecond time windows between two files
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import synth_pi as sp  # noqa: E402

CLIENT_IP, SERVER_IP = "10.20.1.15", "198.51.100.80"


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    _, _, _, _, _, snap, link = struct.unpack(endian + "IHHiIII", data[:24])
    assert link == 1, "expected Ethernet linktype, got %d" % link
    off, recs = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        recs.append((sec + frac / (1e9 if nano else 1e6), data[off:off + 16], data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return data[:24], endian, recs


def ip4(b):
    return ".".join(str(x) for x in b)


def parse(frame):
    """-> dict with proto, ips, ports, seq, flags, payload, ipid or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack(">H", ip[2:4])[0]
    ip = ip[:tot]
    p = {"src": ip4(ip[12:16]), "dst": ip4(ip[16:20]), "ipid": struct.unpack(">H", ip[4:6])[0]}
    l4 = ip[ihl:]
    if ip[9] == 6:
        sport, dport, seq, ack, offf, flags = struct.unpack(">HHIIBB", l4[:14])
        p.update(proto="tcp", sport=sport, dport=dport, seq=seq, ack=ack, flags=flags,
                 payload=l4[(offf >> 4) * 4:])
    elif ip[9] == 17:
        sport, dport = struct.unpack(">HH", l4[:4])
        p.update(proto="udp", sport=sport, dport=dport, payload=l4[8:])
    else:
        return None
    return p


def packets(path):
    """Parsed packets of a file, or of every *.pcap in a directory merged in
    timestamp order (how a multi-file capture must be read)."""
    files = ([os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".pcap")]
             if os.path.isdir(path) else [path])
    recs = sorted((r for f in files for r in read_pcap(f)[2]), key=lambda r: r[0])
    for ts, _, frame in recs:
        p = parse(frame)
        if p:
            p["ts"] = ts
            yield p


def analyze(path):
    """Count (a) duplicates: a data segment identical (IP id, seq, len) to one
    already seen; (b) retransmissions: non-duplicate segments re-sending bytes
    already seen; (c) out-of-order: segments bringing new bytes below the
    highest byte already seen (they arrived after a later segment)."""
    seen, hi, ranges = set(), {}, {}
    out = {"packets": 0, "data_segments": 0, "reordered": 0, "retransmitted": 0, "duplicated": 0}
    for p in packets(path):
        out["packets"] += 1
        if p["proto"] != "tcp" or not p["payload"]:
            continue
        out["data_segments"] += 1
        d = (p["src"], p["sport"], p["dst"], p["dport"])
        key = d + (p["ipid"], p["seq"], len(p["payload"]))
        if key in seen:
            out["duplicated"] += 1
            continue
        seen.add(key)
        # Use seq relative to the first data seen in this direction (no wrap in tests).
        base = ranges.setdefault(d, {"base": p["seq"], "have": []})
        start = (p["seq"] - base["base"]) & 0xFFFFFFFF
        end = start + len(p["payload"])
        covered = sum(max(0, min(end, e) - max(start, s)) for s, e in base["have"])
        if covered >= end - start:
            out["retransmitted"] += 1
        elif start < hi.get(d, 0):
            out["reordered"] += 1
        base["have"].append((start, end))
        hi[d] = max(hi.get(d, 0), end)
    return out


def streams(path):
    """Reassemble: {(cport, sport, direction, where): bytes}."""
    segs, isn, cli = {}, {}, {}
    out = {}
    for p in packets(path):
        if p["proto"] == "udp":
            k = (p["sport"], p["dport"], "to_server", "udp.payload")
            out.setdefault(k, []).append(p["payload"])
            continue
        d = (p["src"], p["sport"], p["dst"], p["dport"])
        if p["flags"] & 0x02:  # SYN
            isn[d] = p["seq"] + 1
            if not p["flags"] & 0x10:
                cli[frozenset([d[:2], d[2:]])] = d[:2]
        if p["payload"]:
            segs.setdefault(d, []).append((p["seq"], p["payload"]))
    res = {k: b"\n".join(v) for k, v in out.items()}
    for d, ss in segs.items():
        base = isn[d]
        buf = bytearray()
        for seq, pay in ss:
            o = (seq - base) & 0xFFFFFFFF
            if len(buf) < o + len(pay):
                buf.extend(b"\0" * (o + len(pay) - len(buf)))
            buf[o:o + len(pay)] = pay
        assert b"\0" not in buf, "hole in reassembled stream %r" % (d,)
        c = cli[frozenset([d[:2], d[2:]])]
        if d[:2] == c:
            res[(d[1], d[3], "to_server", "tcp.stream")] = bytes(buf)
        else:
            res[(d[3], d[1], "to_client", "tcp.stream")] = bytes(buf)
    return res


def check_tcp_complete(path):
    """Every TCP flow has SYN and FIN in both directions (nothing cut off)."""
    flags = {}
    for p in packets(path):
        if p["proto"] == "tcp":
            d = (p["src"], p["sport"], p["dst"], p["dport"])
            flags[d] = flags.get(d, 0) | p["flags"]
    for d, f in flags.items():
        assert f & 0x03 == 0x03, "flow %r lacks SYN or FIN" % (d,)


def check_split(path, truth):
    """No raw PI value (its first 6 chars) fits in any single packet."""
    pays = [p["payload"] for p in packets(path) if p["payload"]]
    assert max(len(x) for x in pays) <= 5, "a segment carries more than 5 bytes"
    for f in truth["findings"]:
        assert not any(f["value"][:6].encode() in x for x in pays), "value not split"


def verify(path, truth_path):
    truth = json.load(open(truth_path))
    got = set()
    ips = set()
    for p in packets(path):
        ips.update([p["src"], p["dst"]])
    assert ips <= {CLIENT_IP, SERVER_IP}, "unexpected addresses %s" % ips
    check_tcp_complete(path)
    if truth.get("values_split_across_segments"):
        check_split(path, truth)
    allbytes = b""
    for (cport, sport, direction, where), data in streams(path).items():
        allbytes += data + b"\n"
        for t, v in sp.ref_scan(data):
            got.add((t, v, direction, where, cport, sport))
    want = {(f["type"], f["value"], f["direction"], f["where"], f["src_port"], f["dest_port"])
            for f in truth["findings"]}
    for d in truth.get("decoys", []):
        assert d.encode() in allbytes, "decoy missing from capture: %r" % d
    if got != want:
        print("MISMATCH missing=%d extra=%d" % (len(want - got), len(got - want)))
        for x in sorted(want - got):
            print("  missing", x[0], x[2], x[4])
        for x in sorted(got - want):
            print("  extra", x[0], x[2], x[4])
        sys.exit(1)
    print("%s: %d findings match truth, %d decoys present, addresses %s"
          % (os.path.basename(path), len(want), len(truth.get("decoys", [])), sorted(ips)))


def write_truth(name, pcap, origin, out, do_analyze=False):
    import content
    c = content.SCENARIOS[name]()
    t = {"pcap": pcap, "origin": origin,
         "client_ip": CLIENT_IP, "server_ip": SERVER_IP,
         "flow_ports": "src_port = client port, dest_port = server port (flow orientation; "
                       "direction says which side sent the value)",
         "findings": c["findings"], "decoys": c["decoys"]}
    t.update(c.get("extra", {}))
    if do_analyze:
        t.update({k: v for k, v in analyze(os.path.join(os.path.dirname(out), pcap)).items()})
    with open(out, "w") as f:
        json.dump(t, f, indent=1, ensure_ascii=False)
        f.write("\n")


def write_pcap(path, hdr, recs):
    with open(path, "wb") as f:
        f.write(hdr)
        for r in recs:
            f.write(r)


def broken(src, outdir):
    hdr, endian, recs = read_pcap(src)
    raw = [rh + fr for _, rh, fr in recs]
    os.makedirs(outdir, exist_ok=True)
    last = raw[-1]
    write_pcap(os.path.join(outdir, "truncated_last.pcap"), hdr, raw[:-1] + [last[:16 + (len(last) - 16) // 2]])
    bad = bytearray(raw[2])
    bad[8:12] = struct.pack(endian + "I", 0x7FFFFFFF)  # incl_len
    write_pcap(os.path.join(outdir, "corrupt_record.pcap"), hdr, raw[:2] + [bytes(bad)] + raw[3:])
    with open(os.path.join(outdir, "not_a_pcap.pcap"), "w") as f:
        f.write("This is not a pcap file.\nIt is plain text that a capture reader must reject.\n")


def split(src, out1, out2, ms):
    hdr, _, recs = read_pcap(src)
    t0 = recs[0][0]
    a, b = [], []
    for ts, rh, fr in recs:
        (a if int((ts - t0) * 1000 / float(ms)) % 2 == 0 else b).append(rh + fr)
    write_pcap(out1, hdr, a)
    write_pcap(out2, hdr, b)
    print("split: %d + %d records" % (len(a), len(b)))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "analyze":
        print(json.dumps(analyze(args[0])))
    elif cmd == "verify":
        verify(args[0], args[1])
    elif cmd == "truth":
        write_truth(args[0], args[1], args[2], args[3], "--analyze" in args)
    elif cmd == "broken":
        broken(args[0], args[1])
    elif cmd == "split":
        split(*args)
    else:
        sys.exit(__doc__)
