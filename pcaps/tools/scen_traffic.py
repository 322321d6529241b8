#!/usr/bin/env python3
"""Traffic programs and ground truth for make_scen.sh (run inside lw-scen-*).

  scen_traffic.py imp-server OUTDIR                 stream server on 127.0.0.2:9200
  scen_traffic.py imp-client OUTDIR SEED CPORT      one stream each way
  scen_traffic.py imp-truth OUTDIR RATE SEED CPORT PCAP ORIGIN OUT.json
  scen_traffic.py policy-server FAMILY              HTTP on 127.0.0.2 / ::1 port 8080
  scen_traffic.py policy-cases                      the cases, one per line (for make_scen.sh)
  scen_traffic.py policy-truth OUT.json PCAP ORIGIN expected violations (from policy_cases)
  scen_traffic.py merge OUT.pcap IN.pcap...         merge by time, TCP checksums fixed

The impaired streams: each side writes what it *received* (recv() bytes,
in order) to OUTDIR/received_<sender>_<cport>.bin; the truth stores their
SHA-256, length and the planted PI values found in them.
"""
import hashlib
import http.server
import json
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import synth_pi as sp  # noqa: E402

SRV, CLI = "127.0.0.2", "127.0.0.1"
IMP_PORT = 9200
CHUNK = 160  # bytes per write: many small segments to impair


def ready():
    print("ready", flush=True)


# ------------------------------------------------------------ impaired
def stream_content(seed, side):
    """~8 KB of records, some with PI; returns (bytes, [(type, value)])."""
    s = sp.Synth(seed * 10 + (1 if side == "client" else 2))
    r = random.Random(seed * 7 + len(side))
    out, values = [], []
    for i in range(60):
        if i % 5 == 2:
            rid, mob, card = s.resident_id(), s.mobile(), s.card("unionpay16")
            values += [("cn_resident_id", rid), ("cn_mobile", mob), ("bank_card", card)]
            out.append("rec %03d id=%s mobile=%s card=%s\n" % (i, rid, mob, card))
        else:
            filler = "".join(r.choice("abcdefghij klmnop") for _ in range(110))
            out.append("rec %03d note=%s\n" % (i, filler))
    return "".join(out).encode(), values


def send_paced(sock, data):
    for i in range(0, len(data), CHUNK):
        sock.sendall(data[i:i + CHUNK])
        time.sleep(0.002)


def recv_all(sock):
    got = bytearray()
    while True:
        d = sock.recv(65536)
        if not d:
            return bytes(got)
        got += d


def imp_server(outdir):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((SRV, IMP_PORT))
    ls.listen(4)
    ready()
    while True:
        s, (_, cport) = ls.accept()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        got = recv_all(s)
        with open(os.path.join(outdir, "received_client_%d.bin" % cport), "wb") as f:
            f.write(got)
        seed = int(got.split(b"seed=", 1)[1].split(b"\n", 1)[0]) if b"seed=" in got else 0
        send_paced(s, stream_content(seed, "server")[0])
        s.close()


def imp_client(outdir, seed, cport):
    seed, cport = int(seed), int(cport)
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.bind((CLI, cport))
    s.connect((SRV, IMP_PORT))
    data = b"seed=%d\n" % seed + stream_content(seed, "client")[0]
    send_paced(s, data)
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s)
    with open(os.path.join(outdir, "received_server_%d.bin" % cport), "wb") as f:
        f.write(got)
    s.close()


def imp_truth(outdir, rate, seed, cport, pcap, origin, out):
    seed, cport = int(seed), int(cport)
    streams = []
    for sender, direction in (("client", "to_server"), ("server", "to_client")):
        data = open(os.path.join(outdir, "received_%s_%d.bin" % (sender, cport)), "rb").read()
        planted = stream_content(seed, sender)[1]
        found = [{"type": t, "value": v} for t, v in planted if v.encode() in data]
        assert len(found) == len(planted), "receiver lost PI: %s" % sender
        streams.append({
            "direction": direction, "sender": sender,
            "src_port": cport if sender == "client" else IMP_PORT,
            "dest_port": IMP_PORT if sender == "client" else cport,
            "received_len": len(data),
            "received_sha256": hashlib.sha256(data).hexdigest(),
            "received_pi": found,
        })
    import pcaptool
    observed = pcaptool.analyze(pcap)
    recs = pcaptool.read_pcap(pcap)[2]
    observed["bad_tcp_checksums"] = sum(1 for r in recs if fix_tcp_checksum(r[2]) != r[2])
    truth = {"pcap": os.path.basename(pcap), "origin": origin, "impairment_pct": float(rate),
             "client_ip": CLI, "server_ip": SRV,
             "checksums": "valid except the corrupted copies (validate_checksums = true drops them, as the receiver did)",
             "observed": observed, "streams": streams}
    with open(out, "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")


# ------------------------------------------------------------ policy
def policy_cases():
    """Each case: one curl request on its own client port, the PI it
    carries, which side sends it, the scenario addresses it is given and
    what pcaps/scenarios/leakwatch-scenarios.toml makes of it: the PI
    sender's and receiver's zone and country, the violations beyond
    `unencrypted` (every case is cleartext HTTP) and the allowed ones.
    Addresses CN4/HK4/MO4/TW4 are real ranges of the embedded geo table
    (no packet ever goes there: the addresses are rewritten in the file)."""
    s = sp.Synth(4242)
    cases = []

    def case(name, cport, method, family, client, server, zones, countries,
             extra=(), allowed=()):
        rid, mob = s.resident_id(), s.mobile()
        sender = "server" if method == "GET" else "client"
        cases.append({"name": name, "cport": cport, "method": method, "family": family,
                      "client": client, "server": server, "sender": sender,
                      "host": name.replace("_", "-") + ".example.com",
                      "values": [["cn_resident_id", rid], ["cn_mobile", mob]],
                      "src_zone": zones[0], "dest_zone": zones[1],
                      "src_country": countries[0], "dest_country": countries[1],
                      "extra": list(extra), "allowed": list(allowed)})

    cb = lambda a, b: {"kind": "cross_border", "from_country": a, "to_country": b}  # noqa: E731
    bd = lambda a, b: {"kind": "boundary", "from": a, "to": b}  # noqa: E731
    # v4: client 127.0.0.1:CPORT, server 127.0.0.2:8080, rewritten per flow
    case("office_to_foreign", 42001, "POST", 4, "10.1.0.10", "203.0.113.80",
         ("office", "internet"), ("CN", "US"), [cb("CN", "US")])
    case("office_to_cn_cloud", 42002, "POST", 4, "10.1.0.11", "114.114.114.114",
         ("office", "internet"), ("CN", "CN"))
    case("pci_to_office", 42003, "POST", 4, "10.2.0.20", "10.1.0.30",
         ("pci", "office"), ("CN", "CN"), [bd("pci", "office")])
    case("office_to_office", 42004, "POST", 4, "10.1.0.12", "10.1.0.31",
         ("office", "office"), ("CN", "CN"))
    case("foreign_client_downloads_from_internal", 42005, "GET", 4, "203.0.113.90", "10.1.0.40",
         ("office", "internet"), ("CN", "US"), [cb("CN", "US")])
    case("foreign_client_downloads_from_foreign", 42006, "GET", 4, "203.0.113.91", "198.51.100.80",
         ("internet", "internet"), ("DE", "US"))
    case("office_to_hongkong", 42007, "POST", 4, "10.1.0.13", "202.45.84.1",
         ("office", "internet"), ("CN", "HK"), [cb("CN", "HK")])
    case("office_to_macau", 42008, "POST", 4, "10.1.0.14", "202.175.3.1",
         ("office", "internet"), ("CN", "MO"), [cb("CN", "MO")])
    case("office_to_taiwan", 42009, "POST", 4, "10.1.0.15", "168.95.1.1",
         ("office", "internet"), ("CN", "TW"), [cb("CN", "TW")])
    case("office_to_sanctioned_partner", 42010, "POST", 4, "10.1.0.16", "192.0.2.50",
         ("office", "internet"), ("CN", "US"), allowed=[("cross_border", "sanctioned-partner")])
    case("office_to_expired_allow", 42011, "POST", 4, "10.1.0.17", "192.0.2.60",
         ("office", "internet"), ("CN", "US"), [cb("CN", "US")])
    case("sg_branch_to_office", 42012, "POST", 4, "10.9.0.5", "10.1.0.32",
         ("sg_branch", "office"), ("SG", "CN"))
    # v6: client and server both ::1, told apart by port, rewritten per direction
    case("v6_office_to_foreign", 42101, "POST", 6, "fd00:1::10", "2001:db8:80::1",
         ("office", "internet"), ("CN", "US"), [cb("CN", "US")])
    case("v6_pci_to_office", 42102, "POST", 6, "fd00:2::20", "fd00:1::30",
         ("pci", "office"), ("CN", "CN"), [bd("pci", "office")])
    case("v6_foreign_client_downloads_from_internal", 42103, "GET", 6, "2001:db8:90::1", "fd00:1::40",
         ("office", "internet"), ("CN", "JP"), [cb("CN", "JP")])
    return cases


def policy_truth(out, pcap, origin):
    events = []
    for c in policy_cases():
        to_server = c["sender"] == "client"
        ends = (c["client"], c["server"]) if to_server else (c["server"], c["client"])
        ports = (c["cport"], 8080) if to_server else (8080, c["cport"])
        events.append({
            "case": c["name"], "direction": "to_server" if to_server else "to_client",
            "src_ip": ends[0], "dest_ip": ends[1], "src_port": ports[0], "dest_port": ports[1],
            "dest_name": c["host"],
            "src_zone": c["src_zone"], "dest_zone": c["dest_zone"],
            "src_country": c["src_country"], "dest_country": c["dest_country"],
            "violations": [{"kind": "unencrypted"}] + c["extra"],
            "allowed": [{"kind": k, "rule": r} for k, r in c["allowed"]],
            # cn_resident_id is medium; a boundary or cross_border violation raises one step
            "severity": "high" if c["extra"] else "medium",
            "values": [{"type": t, "value": v} for t, v in c["values"]],
        })
    truth = {"pcap": pcap, "origin": origin, "config": "scenarios/leakwatch-scenarios.toml",
             "note": "one dlp event per case; violations exactly as listed (no missing, no extra)",
             "events": events}
    with open(out, "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")


def policy_server(family):
    cases = {c["cport"]: c for c in policy_cases()}

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, body):
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # the server sends the case's PI
            c = cases.get(self.client_address[1])
            vals = dict(c["values"]) if c else {}
            self._reply(json.dumps({"customer_id": vals.get("cn_resident_id"),
                                    "mobile": vals.get("cn_mobile")}))

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._reply('{"status":"ok"}')

        def log_message(self, *a):
            pass

    class S(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if family == "6" else socket.AF_INET

    httpd = S(("::1" if family == "6" else SRV, 8080), H)
    ready()
    httpd.serve_forever()


def post_body(c):
    vals = dict(c["values"])
    return json.dumps({"customer_id": vals["cn_resident_id"], "mobile": vals["cn_mobile"]})


def _sum16(b):
    if len(b) % 2:
        b += b"\0"
    return sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))


def fix_tcp_checksum(frame):
    """Ethernet/IPv4|IPv6/TCP frame with its TCP checksum recomputed
    (tcprewrite --fixcsum misses some IPv6 packets captured with partial
    checksums)."""
    f = bytearray(frame)
    et = int.from_bytes(f[12:14], "big")
    if et == 0x0800:
        ihl = (f[14] & 15) * 4
        tot = int.from_bytes(f[16:18], "big")
        src, dst, proto, l4 = f[26:30], f[30:34], f[23], 14 + ihl
        end = 14 + tot
    elif et == 0x86DD:
        src, dst, proto, l4 = f[22:38], f[38:54], f[20], 54
        end = l4 + int.from_bytes(f[18:20], "big")
    else:
        return bytes(f)
    if proto != 6:
        return bytes(f)
    seg = bytearray(f[l4:end])
    seg[16:18] = b"\0\0"
    pseudo = bytes(src) + bytes(dst) + (len(seg)).to_bytes(4, "big") + b"\0\0\0\x06"
    s = _sum16(pseudo) + _sum16(bytes(seg))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    f[l4 + 16:l4 + 18] = (~s & 0xFFFF).to_bytes(2, "big")
    return bytes(f)


def merge(out, *paths):
    """Merges pcaps by time, fixing TCP checksums."""
    import pcaptool
    recs, hdr = [], None
    for p in paths:
        h, _, rs = pcaptool.read_pcap(p)
        hdr = hdr or h
        recs += rs
    recs.sort(key=lambda r: r[0])
    pcaptool.write_pcap(out, hdr, [r[1] + fix_tcp_checksum(r[2]) for r in recs])


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "imp-server":
        imp_server(*args)
    elif cmd == "imp-client":
        imp_client(*args)
    elif cmd == "imp-truth":
        imp_truth(*args)
    elif cmd == "policy-server":
        policy_server(*args)
    elif cmd == "policy-cases":  # one line per case: cport method family host client server body
        for c in policy_cases():
            print(c["cport"], c["method"], c["family"], c["host"], c["client"], c["server"],
                  post_body(c))
    elif cmd == "merge":
        merge(*args)
    elif cmd == "policy-truth":
        policy_truth(*args)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
