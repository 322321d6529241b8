#!/usr/bin/env python3
"""Traffic programs run inside the netns by make.sh.

  scenarios.py http-server SCENARIO          python http.server on 127.0.0.2:8080
  scenarios.py tiny-server|tiny-client SEED CPORT
  scenarios.py bulk-server|bulk-client
  scenarios.py udp-server|udp-client SEED CPORT
  scenarios.py write-curl-bodies DIR         bodies for the curl POSTs
Servers bind 127.0.0.2, clients bind 127.0.0.1 with fixed source ports.
"""
import http.server
import os
import random
import socket
import sys
import time

import content

SRV, CLI = "127.0.0.2", "127.0.0.1"


def ready():
    print("ready", flush=True)


# ---------------------------------------------------------------- HTTP
def http_server(scenario):
    responses = getattr(content, scenario)()["responses"]

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self):
            body = responses.get(self.path)
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            ctype = "text/html" if self.path.endswith(".html") else (
                "text/plain" if self.path.endswith(".log") else "application/json")
            self.send_response(200)
            self.send_header("Content-Type", ctype + "; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._reply()

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._reply()

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer((SRV, content.SERVER_PORT_HTTP), H)
    ready()
    httpd.serve_forever()


# ---------------------------------------------------------------- tiny writes
def dribble(sock, data, rng):
    """Send in 1-5 byte writes, 1-3 ms apart (TCP_NODELAY: one segment each)."""
    i = 0
    while i < len(data):
        n = rng.randint(1, 5)
        sock.sendall(data[i:i + n])
        i += n
        time.sleep(rng.uniform(0.001, 0.003))


def recv_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        d = sock.recv(4096)
        if not d:
            break
        buf += d
    return buf


def tiny_server(seed, cport, port=content.SERVER_PORT_TINY):
    c = content.raw_tcp_segments(seed=int(seed), cport=int(cport))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((SRV, port))
    ls.listen(1)
    ready()
    s, _ = ls.accept()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    recv_line(s)
    dribble(s, c["response"].encode(), random.Random(int(seed) + 1))
    s.recv(1)  # wait for the client's FIN
    s.close()


def tiny_client(seed, cport, port=content.SERVER_PORT_TINY):
    c = content.raw_tcp_segments(seed=int(seed), cport=int(cport))
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.bind((CLI, int(cport)))
    s.connect((SRV, port))
    dribble(s, c["request"].encode(), random.Random(int(seed)))
    recv_line(s)
    s.close()


# ---------------------------------------------------------------- bulk
def bulk_server():
    c = content.reorder_loss_dup()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((SRV, content.SERVER_PORT_BULK))
    ls.listen(1)
    ready()
    s, _ = ls.accept()
    got = 0
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += len(d)
    assert got == len(c["request"]), got
    send_paced(s, c["response"].encode())
    s.close()


def send_paced(s, data):
    """Write in 4 KiB chunks with tiny pauses so many segments are in flight
    at moderate rate (more chances for reordering and recovery)."""
    for i in range(0, len(data), 4096):
        s.sendall(data[i:i + 4096])
        time.sleep(0.0005)


def bulk_client():
    c = content.reorder_loss_dup()
    s = socket.socket()
    s.bind((CLI, content.PORT_BULK))
    s.connect((SRV, content.SERVER_PORT_BULK))
    send_paced(s, c["request"].encode())
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    assert got == c["response"].encode(), len(got)
    s.close()


# ---------------------------------------------------------------- UDP
def udp_server(seed, cport):
    n = len(content.udp_payload(seed=int(seed), cport=int(cport))["datagrams"])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((SRV, content.SERVER_PORT_UDP))
    ready()
    s.settimeout(10)
    for _ in range(n):
        s.recvfrom(65535)


def udp_client(seed, cport):
    c = content.udp_payload(seed=int(seed), cport=int(cport))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((CLI, int(cport)))
    for d in c["datagrams"]:
        s.sendto(d.encode(), (SRV, content.SERVER_PORT_UDP))
        time.sleep(0.01)


# ---------------------------------------------------------------- UDP fragments
def udpfrag_server(family):
    c = content.udp_fragments()
    v6 = family == "6"
    n = len(c["v6" if v6 else "v4"])
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("::1" if v6 else SRV, content.SERVER_PORT_FRAG6 if v6 else content.SERVER_PORT_FRAG4))
    ready()
    s.settimeout(10)
    for _ in range(n):
        d, _ = s.recvfrom(65535)
        assert len(d) > 1500, len(d)


def udpfrag_client(family):
    c = content.udp_fragments()
    v6 = family == "6"
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("::1" if v6 else CLI, content.PORT_FRAG6 if v6 else content.PORT_FRAG4))
    dst = ("::1" if v6 else SRV, content.SERVER_PORT_FRAG6 if v6 else content.SERVER_PORT_FRAG4)
    for d in c["v6" if v6 else "v4"]:
        s.sendto(d.encode(), dst)
        time.sleep(0.01)


def write_curl_bodies(outdir):
    c = content.http_form_json()
    with open(os.path.join(outdir, "form.txt"), "w") as f:
        f.write(c["form"])
    with open(os.path.join(outdir, "json.txt"), "w") as f:
        f.write(c["json"])


CMDS = {"http-server": http_server, "tiny-server": tiny_server, "tiny-client": tiny_client,
        "bulk-server": bulk_server, "bulk-client": bulk_client, "udp-server": udp_server,
        "udp-client": udp_client, "write-curl-bodies": write_curl_bodies,
        "udpfrag-server": udpfrag_server, "udpfrag-client": udpfrag_client}

if __name__ == "__main__":
    CMDS[sys.argv[1]](*sys.argv[2:])
