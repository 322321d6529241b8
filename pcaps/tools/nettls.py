#!/usr/bin/env python3
"""Helpers of pcaps/make_nettls.sh (TLS and DNS captures).

  nettls.py values DIR            synthetic PI (fixed seed) -> DIR/*.txt, DIR/values.json
  nettls.py http-server ADDR PORT answers every request 200 "ok" (no PI)
  nettls.py post-nohost ADDR PORT LPORT FILE
                                  HTTP/1.1 POST from 127.0.0.1:LPORT without a Host header
  nettls.py b32 TEXT | hex TEXT   query-name labels (lowercase, split at 40 chars)
  nettls.py truth KIND DIR OUT ORIGIN   write the ground truth of tls_sni / dns_names
"""
import base64
import http.server
import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from synth_pi import Synth  # noqa: E402


def values(d):
    s = Synth(5150)
    v = {
        "tls_id": s.resident_id(), "tls_mobile": s.mobile(), "tls_email": s.email(),
        "api_id": s.resident_id(), "files_mobile": s.mobile(), "plain_email": s.email(),
        "b32_id": s.resident_id(), "hex_mobile": s.mobile(), "label_mobile": s.mobile(),
        "txt_mobile": s.mobile(),
    }
    with open(os.path.join(d, "values.json"), "w") as f:
        json.dump(v, f, indent=1)
    forms = {
        "tls_form.txt": "name=x&id=%s&tel=%s&mail=%s" % (v["tls_id"], v["tls_mobile"], v["tls_email"]),
        "api_form.txt": "idcard=%s" % v["api_id"],
        "files_form.txt": "phone=%s" % v["files_mobile"],
        "plain_form.txt": "email=%s" % v["plain_email"],
    }
    for name, body in forms.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(body)


class Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _answer

    def log_message(self, *a):
        pass


def http_server(addr, port):
    srv = http.server.ThreadingHTTPServer((addr, int(port)), Ok)
    print("ready", flush=True)
    srv.serve_forever()


def post_nohost(addr, port, lport, path):
    body = open(path, "rb").read()
    req = (b"POST /submit HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
    s = socket.socket()
    s.bind(("127.0.0.1", int(lport)))
    s.connect((addr, int(port)))
    s.sendall(req)
    while s.recv(4096):
        pass
    s.close()


def labels(text):
    return ".".join(text[i:i + 40] for i in range(0, len(text), 40))


def finding(t, value, direction, where, port, dest_name=None):
    f = {"type": t, "value": value, "direction": direction, "where": where, "dest_port": port}
    if dest_name:
        f["dest_name"] = dest_name
    return f


def truth(kind, d, out, origin):
    v = json.load(open(os.path.join(d, "values.json")))
    if kind == "tls_sni":
        fs = [finding("cn_resident_id", v["tls_id"], "to_server", "http.uri", 8080, "api.example.cn"),
              finding("cn_mobile", v["tls_mobile"], "to_server", "http.uri", 8080, "api.example.cn"),
              finding("email", v["tls_email"], "to_server", "http.uri", 8080, "api.example.cn")]
        extra = {"encrypted_flows": [{"dest_port": 8443, "sni": "api.example.cn", "alpn": ["http/1.1"]}],
                 "note": "the same PI is sent in a GET query over TLS (port 8443, must not be reported) and cleartext (8080)"}
    else:
        fs = [finding("cn_resident_id", v["api_id"], "to_server", "http.request_body", 8080, "api.example.cn"),
              finding("cn_mobile", v["files_mobile"], "to_server", "http.request_body", 8081, "files.example.cn"),
              finding("email", v["plain_email"], "to_server", "http.request_body", 8082),
              finding("cn_resident_id", v["b32_id"], "to_server", "dns.query|base32", 53),
              finding("cn_mobile", v["hex_mobile"], "to_server", "dns.query|hex", 53),
              finding("cn_mobile", v["label_mobile"], "to_server", "dns.query", 53),
              finding("cn_mobile", v["txt_mobile"], "to_client", "dns.txt", 53)]
        extra = {"note": "POSTs carry no Host header: dest_name comes from the DNS answers "
                         "(files.example.cn via a CNAME to edge.example.net); 127.0.0.4 was never resolved"}
    t = {"pcap": kind + ".pcap", "origin": origin, "client_ip": "127.0.0.1",
         "flow_ports": "dest_port = server port", "findings": fs}
    t.update(extra)
    with open(out, "w") as f:
        json.dump(t, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "values":
        values(*args)
    elif cmd == "http-server":
        http_server(*args)
    elif cmd == "post-nohost":
        post_nohost(*args)
    elif cmd == "b32":
        print(labels(base64.b32encode(args[0].encode()).decode().rstrip("=").lower()))
    elif cmd == "hex":
        print(labels(args[0].encode().hex()))
    elif cmd == "truth":
        truth(*args)
    else:
        sys.exit("unknown command " + cmd)
