#!/usr/bin/env python3
"""Real client/server traffic for a bench capture (run by gen_real_pcap.sh).

    python3 benches/gen_real_traffic.py drive --pcap OUT.pcap --size-mb 400 --work DIR

Runs INSIDE a network namespace whose loopback is captured by tcpdump; every
socket is on 127.0.0.1. Starts real servers as separate processes (Python
HTTP/1.1 keep-alive server with GET of files, gzip variants served with
`Content-Encoding: gzip`, and a POST upload handler; the same server behind
TLS with a self-signed certificate; a raw TCP sink; an aiosmtpd SMTP server)
and drives real clients (curl with several URLs per connection, curl uploads
chained with --next, Python sockets, smtplib) until the capture file reaches
the target size. Bodies come from gen_replay_pcap.Content: digit-dense JSON
lines with about one synthetic PI value per 8 KiB, except over TLS (filler
only: ciphertext is not inspected). Writes OUT.pcap.truth.json with the
distinct PI values per direction and type that went over the wire in clear.
"""
import argparse
import gzip
import http.server
import json
import os
import queue
import random
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_replay_pcap as grp  # noqa: E402

HTTP_PORT, TLS_PORT, RAW_PORT, SMTP_PORT = 8080, 8443, 9000, 2525
HOST = "127.0.0.1"
CLIENTS = 4


# ---- servers (each runs in its own process) ---------------------------------
class Handler(http.server.BaseHTTPRequestHandler):
    """GET /f/NAME serves WORK/NAME (gzip if NAME ends in .gz); POST reads the
    body and answers a short JSON receipt. HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    root = "."

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = os.path.basename(self.path)
        try:
            with open(os.path.join(self.root, name), "rb") as f:
                body = f.read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if name.endswith(".gz"):
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        while n > 0:
            got = self.rfile.read(min(n, 1 << 16))
            if not got:
                break
            n -= len(got)
        body = b'{"status":"stored","receipt":"%d"}\n' % random.randrange(10 ** 12)
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_http(work, port, cert):
    Handler.root = work
    srv = http.server.ThreadingHTTPServer((HOST, port), Handler)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, cert)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


class RawHandler(socketserver.StreamRequestHandler):
    """Raw TCP: reads until the client half-closes, answers with a count."""

    def handle(self):
        n = 0
        while True:
            b = self.request.recv(1 << 16)
            if not b:
                break
            n += len(b)
        self.request.sendall(b"ACK %d bytes\n" % n)


def serve_raw(port):
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer((HOST, port), RawHandler).serve_forever()


def serve_smtp(port):
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK queued"

    c = Controller(Sink(), hostname=HOST, port=port, data_size_limit=0)
    c.start()
    threading.Event().wait()


# ---- clients ------------------------------------------------------------------
def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (cmd[0], r.returncode, r.stderr[-300:]))


def job_get(names, tls):
    scheme, port = ("https", TLS_PORT) if tls else ("http", HTTP_PORT)
    cmd = ["curl", "-sS", "--fail", "-k", "--compressed", "--limit-rate", "20M"]
    for n in names:
        cmd += ["-o", "/dev/null", "%s://%s:%d/f/%s" % (scheme, HOST, port, n)]
    run(cmd)


def job_post(paths):
    cmd = ["curl", "-sS", "--fail", "--limit-rate", "20M"]
    for i, p in enumerate(paths):
        if i:
            cmd.append("--next")
        cmd += ["-o", "/dev/null", "-H", "Content-Type: application/json",
                "--data-binary", "@" + p, "http://%s:%d/api/v1/orders" % (HOST, HTTP_PORT)]
    run(cmd)


def job_raw(bodies):
    with socket.create_connection((HOST, RAW_PORT)) as s:
        for b in bodies:
            s.sendall(b)
            time.sleep(0.001)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass


def job_smtp(bodies):
    import smtplib
    from email.message import EmailMessage

    with smtplib.SMTP(HOST, SMTP_PORT) as c:
        for i, b in enumerate(bodies):
            m = EmailMessage()
            m["From"] = "exports@shop.example.cn"
            m["To"] = "partner%d@example.com" % i
            m["Subject"] = "order export %d" % i
            m.set_content(b.decode(), cte="8bit" if i % 2 == 0 else "base64")
            c.send_message(m)


class Driver:
    """Generates jobs (single thread: Content is not thread-safe) and runs them
    on CLIENTS worker threads until the capture reaches the target size."""

    def __init__(self, work, seed):
        self.work = work
        self.rng = random.Random(seed)
        self.content = grp.Content(self.rng)
        self.n = 0
        self.counts = {}
        self.errors = []

    def file(self, data, suffix=""):
        self.n += 1
        p = os.path.join(self.work, "b%07d%s" % (self.n, suffix))
        with open(p, "wb") as f:
            f.write(data)
        return p

    def filler(self, size):
        parts, n = [], 0
        while n < size:
            c = self.rng.choice(self.content.chunks)
            parts.append(c)
            n += len(c)
        return b"".join(parts)

    def make_job(self):
        r, c = self.rng, self.content
        kind = r.choices(["get", "get_gz", "post", "raw", "smtp", "tls"], [40, 15, 20, 10, 8, 7])[0]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        k = r.randint(2, 6)
        if kind in ("get", "get_gz"):
            sizes = [r.randint(8 << 10, (1 << 20) if r.random() < 0.15 else 128 << 10) for _ in range(k)]
            files = []
            for s in sizes:
                body = c.body(s, "to_client")
                files.append(self.file(gzip.compress(body, 6), ".gz") if kind == "get_gz" else self.file(body))
            return files, (lambda: job_get([os.path.basename(p) for p in files], False))
        if kind == "tls":
            files = [self.file(self.filler(r.randint(8 << 10, 256 << 10))) for _ in range(k)]
            return files, (lambda: job_get([os.path.basename(p) for p in files], True))
        if kind == "post":
            files = [self.file(c.body(r.randint(2 << 10, 256 << 10), "to_server")) for _ in range(k)]
            return files, (lambda: job_post(files))
        if kind == "raw":
            bodies = [c.body(r.randint(1 << 10, 64 << 10), "to_server") for _ in range(k)]
            return [], (lambda: job_raw(bodies))
        bodies = [c.body(r.randint(1 << 10, 48 << 10), "to_server") for _ in range(r.randint(1, 3))]
        return [], (lambda: job_smtp(bodies))

    def worker(self, q):
        while True:
            item = q.get()
            if item is None:
                return
            files, fn = item
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - reported, makes the run fail
                self.errors.append(repr(e))
            for p in files:
                os.unlink(p)

    def drive(self, pcap, target):
        q = queue.Queue(maxsize=CLIENTS * 2)
        ts = [threading.Thread(target=self.worker, args=(q,)) for _ in range(CLIENTS)]
        for t in ts:
            t.start()
        while not self.errors:
            try:
                if os.path.getsize(pcap) >= target:
                    break
            except OSError:
                pass
            q.put(self.make_job())
        for _ in ts:
            q.put(None)
        for t in ts:
            t.join()


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server on port %d did not start" % port)


def drive(a):
    cert = os.path.join(a.work, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=bench.example.cn", "-keyout", cert, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    me = [sys.executable, os.path.abspath(__file__)]
    procs = [subprocess.Popen(me + ["serve", "http", a.work]),
             subprocess.Popen(me + ["serve", "tls", a.work, cert]),
             subprocess.Popen(me + ["serve", "raw"]),
             subprocess.Popen(me + ["serve", "smtp"])]
    try:
        for p in (HTTP_PORT, TLS_PORT, RAW_PORT, SMTP_PORT):
            wait_port(p)
        d = Driver(a.work, a.seed)
        d.drive(a.pcap, int(a.size_mb * 1_000_000))
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    if d.errors:
        raise SystemExit("client errors: %s" % d.errors[:5])
    counts = {dr: {t: len(v) for t, v in m.items()} for dr, m in d.content.seen.items()}
    truth = {"pcap": os.path.basename(a.pcap), "seed": a.seed, "size_mb": a.size_mb,
             "jobs": d.counts, "distinct_pi": counts,
             "note": "distinct values per direction and type sent in clear (HTTP bodies, "
                     "gzip bodies after decompression, raw TCP, SMTP bodies in 8bit or "
                     "base64); TLS bodies carry no PI"}
    with open(a.pcap + ".truth.json", "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "serve":
        kind, rest = sys.argv[2], sys.argv[3:]
        if kind == "http":
            serve_http(rest[0], HTTP_PORT, None)
        elif kind == "tls":
            serve_http(rest[0], TLS_PORT, rest[1])
        elif kind == "raw":
            serve_raw(RAW_PORT)
        else:
            serve_smtp(SMTP_PORT)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cmd", choices=["drive"])
    ap.add_argument("--pcap", required=True, help="capture file tcpdump is writing")
    ap.add_argument("--size-mb", type=float, default=400)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=1)
    drive(ap.parse_args())


if __name__ == "__main__":
    main()
