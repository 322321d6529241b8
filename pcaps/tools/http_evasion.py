#!/usr/bin/env python3
"""HTTP evasion set for pcaps/make_http_evasion.sh (synthetic PI only).

Crafted HTTP/1.x responses (odd chunking, conflicting lengths, stacked
codings, folding, bare LF, bodies where none is allowed, ...) served raw
from a socket server, and crafted requests sent raw to a real server
(aiohttp). Each case carries its own synthetic resident ID in the body.
Real clients (curl, urllib3, requests, http.client, headless Chromium when
installed) fetch every response from an uncaptured port; what each decoded
(SHA-256 of the body, whether the ID is in it) is the ground truth. One
fetch per case by curl on the captured port makes the pcap.

CLI (run by make_http_evasion.sh inside a netns):
  http_evasion.py serve                  raw server on 127.0.0.2:8080 (captured) and :8081
  http_evasion.py req-server DIR         aiohttp receiver on 127.0.0.2:8090, logs what it decoded
  http_evasion.py oracle DIR             every client against :8081 -> DIR/oracle.json
  http_evasion.py capture                one curl fetch per case on :8080 (client port 43000+i)
  http_evasion.py send-requests          the crafted requests to :8090 (client port 43500+i)
  http_evasion.py truth DIR OUT ORIGIN   ground truth from the oracle results
"""
import base64
import gzip
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from synth_pi import Synth  # noqa: E402

SERVER = "127.0.0.2"
CAPTURED, ORACLE, REQ_PORT = 8080, 8081, 8090
CLIENT_BASE, REQ_CLIENT_BASE = 43000, 43500
SYN = Synth(5150)


def br(b):
    import brotli
    return brotli.compress(b)


def zst(b):
    import zstandard
    return zstandard.ZstdCompressor().compress(b)


def gz(b):
    return gzip.compress(b, mtime=0)


def raw_deflate(b):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(b) + c.flush()


def payload(i, value):
    """A plain-text record holding `value`, padded with filler prose."""
    filler = "".join("line %02d of the member record export, nothing personal here.\n" % k for k in range(6))
    return ("case %02d\nmember: Wang Fang\nresident id: %s\nstatus: active\n%s" % (i, value, filler)).encode()


def chunked(body, size=7, fmt="%x", ext="", eol="\r\n", last="0\r\n\r\n"):
    out = b""
    for k in range(0, len(body), size):
        part = body[k:k + size]
        out += (fmt % len(part) + ext + eol).encode() + part + eol.encode()
    return out + last.encode()


def response(headers, body, status="HTTP/1.1 200 OK", eol="\r\n"):
    head = eol.join([status] + headers) + eol + eol
    return head.encode() + body


# Each case: (name, what it tests, request method, builder(value, i) -> raw response).
def _cases():
    ct = "Content-Type: text/plain; charset=utf-8"

    def cl(p):
        return "Content-Length: %d" % len(p)

    def c(name, desc, build, method="GET"):
        return {"name": name, "desc": desc, "method": method, "build": build}

    def P(v, i):
        return payload(i, v)

    return [
        c("cl_plain", "Content-Length, plain body (control)",
          lambda v, i: response([ct, cl(P(v, i))], P(v, i))),
        c("chunked_small", "chunked, 7-byte chunks (the ID spans chunks)",
          lambda v, i: response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i)))),
        c("chunk_leading_zeros", "chunk sizes with 8 leading zeros",
          lambda v, i: response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i), fmt="%08x"))),
        c("chunk_extensions", "chunk extensions (with a quoted ';')",
          lambda v, i: response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i), ext=';n=v;q="a;b"'))),
        c("chunk_upper_hex", "uppercase hex chunk sizes (0x1A)",
          lambda v, i: response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i), size=26, fmt="%X"))),
        c("chunk_ws_after_size", "space and tab after the chunk size",
          lambda v, i: response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i), ext=" \t"))),
        c("chunk_ws_before_size", "space before the chunk size",
          lambda v, i: response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i), fmt=" %x"))),
        c("chunk_0x_prefix", "chunk sizes written 0x..",
          lambda v, i: response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i), fmt="0x%x"))),
        c("chunk_no_final_crlf", "last chunk '0' without the final CRLF, then close",
          lambda v, i: response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i), last="0\r\n"))),
        c("chunk_trailers", "trailer fields after the last chunk",
          lambda v, i: response([ct, "Transfer-Encoding: chunked", "Trailer: X-Sum"],
                                chunked(P(v, i), last="0\r\nX-Sum: 1\r\nX-Note: t\r\n\r\n"))),
        c("chunk_lf_only", "chunk lines ended by bare LF",
          lambda v, i: response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i), eol="\n", last="0\n\n"))),
        c("cl_duplicate_same", "two identical Content-Length headers",
          lambda v, i: response([ct, cl(P(v, i)), cl(P(v, i))], P(v, i))),
        c("cl_list_same", "Content-Length: n, n",
          lambda v, i: response([ct, "Content-Length: %d, %d" % (len(P(v, i)), len(P(v, i)))], P(v, i))),
        c("cl_conflicting", "two different Content-Length headers (real one second)",
          lambda v, i: response([ct, "Content-Length: 20", cl(P(v, i))], P(v, i))),
        c("cl_and_te", "Content-Length 20 (a lie) with Transfer-Encoding: chunked",
          lambda v, i: response([ct, "Content-Length: 20", "Transfer-Encoding: chunked"], chunked(P(v, i)))),
        c("te_gzip_chunked", "Transfer-Encoding: gzip, chunked",
          lambda v, i: response([ct, "Transfer-Encoding: gzip, chunked"], chunked(gz(P(v, i)), size=40))),
        c("te_chunked_gzip", "Transfer-Encoding: chunked, gzip (chunked not last: read to close)",
          lambda v, i: response([ct, "Transfer-Encoding: chunked, gzip"], gz(chunked(P(v, i))))),
        c("mixed_case", "mixed-case names and values (tRANSFER-eNCODING: ChUnKeD, GZIP)",
          lambda v, i: response(["cONTENT-tYPE: Text/Plain", "tRANSFER-eNCODING: ChUnKeD",
                                 "content-ENCODING: GZIP"], chunked(gz(P(v, i)), size=40))),
        c("ws_before_colon", "Transfer-Encoding<SP>: chunked",
          lambda v, i: response([ct, "Transfer-Encoding : chunked"], chunked(P(v, i)))),
        c("obs_fold_te", "Transfer-Encoding value on a folded line",
          lambda v, i: response([ct, "Transfer-Encoding:", " chunked"], chunked(P(v, i)))),
        c("obs_fold_ce", "Content-Encoding value on a folded line",
          lambda v, i: response([ct, "Content-Encoding:", "\tgzip", cl(gz(P(v, i)))], gz(P(v, i)))),
        c("bare_lf", "bare LF line ends everywhere, gzip + chunked",
          lambda v, i: response([ct, "Content-Encoding: gzip", "Transfer-Encoding: chunked"],
                                chunked(gz(P(v, i)), size=40, eol="\n", last="0\n\n"), eol="\n")),
        c("ce_gzip_chunked", "Content-Encoding gzip inside 5-byte chunks",
          lambda v, i: response([ct, "Content-Encoding: gzip", "Transfer-Encoding: chunked"],
                                chunked(gz(P(v, i)), size=5))),
        c("ce_x_gzip", "Content-Encoding: x-gzip",
          lambda v, i: response([ct, "Content-Encoding: x-gzip", cl(gz(P(v, i)))], gz(P(v, i)))),
        c("ce_deflate_zlib", "Content-Encoding: deflate (zlib wrapper)",
          lambda v, i: response([ct, "Content-Encoding: deflate", cl(zlib.compress(P(v, i)))],
                                zlib.compress(P(v, i)))),
        c("ce_deflate_raw", "Content-Encoding: deflate (raw, no zlib wrapper)",
          lambda v, i: response([ct, "Content-Encoding: deflate", cl(raw_deflate(P(v, i)))],
                                raw_deflate(P(v, i)))),
        c("ce_br", "Content-Encoding: br",
          lambda v, i: response([ct, "Content-Encoding: br", cl(br(P(v, i)))], br(P(v, i)))),
        c("ce_zstd", "Content-Encoding: zstd",
          lambda v, i: response([ct, "Content-Encoding: zstd", cl(zst(P(v, i)))], zst(P(v, i)))),
        c("ce_gzip_br", "Content-Encoding: gzip, br (stacked)",
          lambda v, i: response([ct, "Content-Encoding: gzip, br", cl(br(gz(P(v, i))))], br(gz(P(v, i))))),
        c("ce_two_headers", "two Content-Encoding: gzip headers, body gzipped twice",
          lambda v, i: response([ct, "Content-Encoding: gzip", "Content-Encoding: gzip", cl(gz(gz(P(v, i))))],
                                gz(gz(P(v, i))))),
        c("ce_gzip_lie", "Content-Encoding: gzip on a plain body",
          lambda v, i: response([ct, "Content-Encoding: gzip", cl(P(v, i))], P(v, i))),
        c("ce_gzip_truncated", "gzip stream cut before its trailer (Content-Length matches)",
          lambda v, i: response([ct, "Content-Encoding: gzip", cl(gz(P(v, i))[:-8])], gz(P(v, i))[:-8])),
        c("head_with_body", "HEAD answered with a body",
          lambda v, i: response([ct, cl(P(v, i))], P(v, i)), method="HEAD"),
        c("status_204_body", "204 with Content-Length and a body",
          lambda v, i: response([ct, cl(P(v, i))], P(v, i), status="HTTP/1.1 204 No Content")),
        c("status_304_body", "304 with Content-Length and a body",
          lambda v, i: response([ct, cl(P(v, i))], P(v, i), status="HTTP/1.1 304 Not Modified")),
        c("continue_100", "100 Continue, then the 200",
          lambda v, i: b"HTTP/1.1 100 Continue\r\n\r\n" + response([ct, cl(P(v, i))], P(v, i))),
        c("close_delimited", "HTTP/1.1 without length, Connection: close",
          lambda v, i: response([ct, "Connection: close"], P(v, i))),
        c("http10_gzip_close", "HTTP/1.0, gzip, delimited by close",
          lambda v, i: response([ct, "Content-Encoding: gzip"], gz(P(v, i)), status="HTTP/1.0 200 OK")),
        c("keepalive_second", "keep-alive: a 204, then the chunked answer on the same connection",
          lambda v, i: response([ct, "Content-Length: 0"], b"", status="HTTP/1.1 204 No Content")
          + response([ct, "Transfer-Encoding: chunked"], chunked(P(v, i)))),
    ]


CASES = _cases()
# Request cases: (name, what it tests, raw request builder(value, i) or None for curl).
FORM = "Content-Type: application/x-www-form-urlencoded"


def _req_body(v):
    return ("member=wang&id=%s&note=ok" % v).encode()


def _req(head, body):
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


REQ_CASES = [
    {"name": "req_chunked_small", "desc": "POST form in 5-byte chunks",
     "build": lambda v, path: _req(["POST %s HTTP/1.1" % path, "Host: up.example.cn", FORM,
                                    "Transfer-Encoding: chunked", "Connection: close"],
                                   chunked(_req_body(v), size=5))},
    {"name": "req_cl_and_te", "desc": "POST with Content-Length 10 and chunked",
     "build": lambda v, path: _req(["POST %s HTTP/1.1" % path, "Host: up.example.cn", FORM, "Content-Length: 10",
                                    "Transfer-Encoding: chunked", "Connection: close"],
                                   chunked(_req_body(v), size=5))},
    {"name": "req_bare_lf", "desc": "POST with bare LF header lines",
     "build": lambda v, path: ("POST %s HTTP/1.1\nHost: up.example.cn\n%s\nContent-Length: %d\nConnection: close\n\n"
                               % (path, FORM, len(_req_body(v)))).encode() + _req_body(v)},
    {"name": "req_gzip_body", "desc": "POST with Content-Encoding: gzip",
     "build": lambda v, path: _req(["POST %s HTTP/1.1" % path, "Host: up.example.cn", FORM,
                                    "Content-Encoding: gzip", "Content-Length: %d" % len(gz(_req_body(v))),
                                    "Connection: close"], gz(_req_body(v)))},
    {"name": "req_expect_100", "desc": "curl POST with Expect: 100-continue", "build": None},
]


def value_of(i):
    """Case i's own synthetic resident ID (deterministic)."""
    s = Synth(5150 + i)
    return s.resident_id()


# ------------------------------------------------------------------ server
def read_head(conn, buf):
    while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
        d = conn.recv(65536)
        if not d:
            return None, buf
        buf += d
    i = buf.find(b"\r\n\r\n")
    j = buf.find(b"\n\n")
    end = (i + 4) if i >= 0 and (j < 0 or i < j) else j + 2
    return buf[:end], buf[end:]


def serve_conn(conn):
    buf = b""
    try:
        while True:
            head, buf = read_head(conn, buf)
            if head is None:
                break
            path = head.split(b" ")[1].decode()
            name = path.rsplit("/", 1)[-1]
            idx = next((k for k, c in enumerate(CASES) if c["name"] == name), None)
            if idx is None:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            c = CASES[idx]
            raw = c["build"](value_of(idx), idx)
            if c["name"] == "keepalive_second":
                # First request gets the 204, the second the PI.
                cut = raw.index(b"HTTP/1.1 200")
                if not getattr(conn, "_first_done", False):
                    conn.sendall(raw[:cut])
                    conn._first_done = True
                    continue
                raw = raw[cut:]
            conn.sendall(raw)
            break
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(3)
        while conn.recv(65536):
            pass
    except OSError:
        pass
    finally:
        conn.close()


class Conn(socket.socket):
    """A socket that can carry a per-connection flag."""


def serve():
    socks = []
    for port in (CAPTURED, ORACLE):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((SERVER, port))
        s.listen(64)
        socks.append(s)

    def loop(s):
        while True:
            c, _ = s.accept()
            w = Conn(fileno=c.detach())
            threading.Thread(target=serve_conn, args=(w,), daemon=True).start()

    for s in socks:
        threading.Thread(target=loop, args=(s,), daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def req_server(d):
    """aiohttp receiver: logs what it decoded from each request body."""
    from aiohttp import web
    log = os.path.join(d, "req_oracle.jsonl")

    async def handle(request):
        name = request.match_info["name"]
        entry = {"name": name, "server": "aiohttp %s" % __import__("aiohttp").__version__}
        try:
            body = await request.read()
            idx = next(k for k, c in enumerate(REQ_CASES) if c["name"] == name)
            entry.update(sha256=hashlib.sha256(body).hexdigest(), pi=req_value(idx) in body.decode("latin-1"))
        except Exception as e:  # noqa: BLE001 - any failure is the server's verdict
            entry.update(error=type(e).__name__, pi=False)
        with open(log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_post("/up/{name}", handle)
    print("ready", flush=True)
    web.run_app(app, host=SERVER, port=REQ_PORT, print=None, access_log=None)


def req_value(i):
    return Synth(6150 + i).resident_id()


# ------------------------------------------------------------------ clients
def verdict(body, value, **extra):
    out = {"pi": value.encode() in body, "sha256": hashlib.sha256(body).hexdigest()[:16], "len": len(body)}
    out.update((k, v) for k, v in extra.items() if v not in ("", None))
    return out


def client_curl(url, method, value, raw=False):
    args = ["curl", "-s", "-S", "--max-time", "5", "-o", "-"]
    args += ["--raw"] if raw else ["--compressed"]
    if method == "HEAD":
        args += ["-I"]
    p = subprocess.run(args + [url], capture_output=True, timeout=10)
    return verdict(p.stdout, value, rc=p.returncode, error=p.stderr.decode(errors="replace").strip()[:120])


def client_curl_keepalive(url, value):
    p = subprocess.run(["curl", "-s", "-S", "--compressed", "--max-time", "5", "-o", "/dev/null", url,
                        "-o", "-", url], capture_output=True, timeout=10)
    return verdict(p.stdout, value, rc=p.returncode, error=p.stderr.decode(errors="replace").strip()[:120])


def guarded(fn, value):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - a client's failure is its verdict
        return {"pi": False, "error": "%s: %s" % (type(e).__name__, str(e)[:100])}


def client_urllib3(url, method, value, second=False):
    import urllib3

    def go():
        pm = urllib3.PoolManager(retries=False, timeout=5)
        if second:
            pm.request("GET", url)
        r = pm.request(method, url, decode_content=True)
        return verdict(r.data, value, status=r.status)
    return guarded(go, value)


def client_requests(url, method, value, second=False):
    import requests

    def go():
        s = requests.Session()
        if second:
            s.get(url, timeout=5)
        r = s.request(method, url, timeout=5)
        return verdict(r.content, value, status=r.status_code)
    return guarded(go, value)


def client_http_client(url, method, value, second=False):
    def go():
        conn = http.client.HTTPConnection(SERVER, ORACLE, timeout=5)
        path = url.split(str(ORACLE), 1)[1]
        if second:
            conn.request("GET", path)
            conn.getresponse().read()
        conn.request(method, path)
        r = conn.getresponse()
        return verdict(r.read(), value, status=r.status)
    return guarded(go, value)


def chromium_bin():
    for b in ("chromium", "chromium-browser", "google-chrome"):
        for d in os.environ.get("PATH", "").split(":"):
            if os.access(os.path.join(d, b), os.X_OK):
                return os.path.join(d, b)
    return None


def client_chromium(url, value):
    """Headless Chromium's DOM of the page; a hang (error page) is killed after 20 s."""
    b = chromium_bin()
    p = subprocess.Popen([b, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--user-data-dir=/tmp/lw-http-chromium", "--dump-dom", url],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        dom, _ = p.communicate(timeout=20)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        dom, _ = p.communicate()
        rc = "timeout"
    return {"pi": value.encode() in dom, "dom_sha256": hashlib.sha256(dom).hexdigest()[:16], "rc": rc,
            "error_page": b"chrome-error" in dom or b"neterror" in dom}


def oracle(d):
    out = {"clients": {}, "cases": []}
    have_chromium = chromium_bin() is not None
    if have_chromium:
        v = subprocess.run([chromium_bin(), "--version"], capture_output=True).stdout.decode().strip()
        out["clients"]["chromium"] = v
    import requests
    import urllib3
    out["clients"].update({
        "curl": subprocess.run(["curl", "--version"], capture_output=True).stdout.decode().split("\n")[0][:40],
        "urllib3": urllib3.__version__, "requests": requests.__version__,
        "http_client": "python %d.%d.%d" % sys.version_info[:3]})
    for i, c in enumerate(CASES):
        value, method = value_of(i), c["method"]
        url = "http://%s:%d/case/%s" % (SERVER, ORACLE, c["name"])
        second = c["name"] == "keepalive_second"
        r = {}
        r["curl"] = client_curl_keepalive(url, value) if second else client_curl(url, method, value)
        r["curl_raw"] = client_curl(url, method, value, raw=True)
        r["urllib3"] = client_urllib3(url, method, value, second)
        r["requests"] = client_requests(url, method, value, second)
        r["http_client"] = client_http_client(url, method, value, second)
        if have_chromium and method == "GET" and not second:
            r["chromium"] = client_chromium(url, value)
        out["cases"].append({"name": c["name"], "results": r})
        print("%-22s %s" % (c["name"], " ".join("%s=%d" % (k, v["pi"]) for k, v in r.items())), flush=True)
    with open(os.path.join(d, "oracle.json"), "w") as f:
        json.dump(out, f, indent=1)


def capture():
    """One curl fetch per case on the captured port (the bytes on the wire)."""
    for i, c in enumerate(CASES):
        url = "http://%s:%d/case/%s" % (SERVER, CAPTURED, c["name"])
        args = ["curl", "-s", "--compressed", "--max-time", "5", "-o", "/dev/null", "--interface", "127.0.0.1",
                "--local-port", str(CLIENT_BASE + i)]
        if c["method"] == "HEAD":
            args += ["-I"]
        if c["name"] == "keepalive_second":
            args += [url, "-o", "/dev/null"]
        p = subprocess.run(args + [url], capture_output=True, timeout=10)
        if p.returncode == 45:  # could not bind the client port: the case would be missing
            sys.exit("capture: %s: %s" % (c["name"], p.stderr.decode(errors="replace")))


def send_requests(d):
    for i, c in enumerate(REQ_CASES):
        path = "/up/%s" % c["name"]
        v = req_value(i)
        if c["build"] is None:
            body = _req_body(v)
            subprocess.run(["curl", "-s", "-o", "/dev/null", "--interface", "127.0.0.1", "--local-port",
                            str(REQ_CLIENT_BASE + i), "-H", "Expect: 100-continue", "-H", "Content-Type: " + FORM.split(": ")[1],
                            "--data-binary", body.decode(), "http://%s:%d%s" % (SERVER, REQ_PORT, path)],
                           check=False, timeout=10)
            continue
        s = socket.socket()
        s.bind(("127.0.0.1", REQ_CLIENT_BASE + i))
        s.connect((SERVER, REQ_PORT))
        s.sendall(c["build"](v, path))
        s.shutdown(socket.SHUT_WR)
        s.settimeout(3)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
        s.close()
        time.sleep(0.1)


# ------------------------------------------------------------------ truth
DECODERS = ("curl", "urllib3", "requests", "http_client", "chromium")


def truth(d, out_path, origin):
    with open(os.path.join(d, "oracle.json")) as f:
        orc = json.load(f)
    reqs = {}
    p = os.path.join(d, "req_oracle.jsonl")
    if os.path.exists(p):
        for line in open(p):
            e = json.loads(line)
            reqs[e["name"]] = e
    cases, findings = [], []
    for i, (c, o) in enumerate(zip(CASES, orc["cases"])):
        r = o["results"]
        oracle_name = "chromium" if "chromium" in r else "curl"
        decoded = bool(r[oracle_name]["pi"])
        votes = {k: bool(r[k]["pi"]) for k in DECODERS if k in r}
        disagree = len(set(votes.values())) > 1
        expect = decoded or disagree
        value = value_of(i)
        cases.append({"name": c["name"], "desc": c["desc"], "client_port": CLIENT_BASE + i,
                      "direction": "to_client", "value_sha256": hashlib.sha256(value.encode()).hexdigest(),
                      "oracle": oracle_name, "oracle_decoded": decoded, "clients_decoded": votes,
                      "clients_disagree": disagree, "expect_found": expect, "results": r})
        if expect:
            findings.append({"type": "cn_resident_id", "value": value, "direction": "to_client",
                             "where": "http.response_body", "src_port": CLIENT_BASE + i, "dest_port": CAPTURED})
    for i, c in enumerate(REQ_CASES):
        e = reqs.get(c["name"], {"pi": False, "error": "no request reached the server"})
        value = req_value(i)
        # A crafted request: the sensor must find it when the server decoded it,
        # and also when it refused it (err toward finding: another server may not).
        expect = True
        cases.append({"name": c["name"], "desc": c["desc"], "client_port": REQ_CLIENT_BASE + i,
                      "direction": "to_server", "value_sha256": hashlib.sha256(value.encode()).hexdigest(),
                      "oracle": "aiohttp", "oracle_decoded": bool(e.get("pi")), "clients_decoded": {"aiohttp": bool(e.get("pi"))},
                      "clients_disagree": False, "expect_found": expect, "results": {"aiohttp": e}})
        findings.append({"type": "cn_resident_id", "value": value, "direction": "to_server",
                         "where": "http.request_body", "src_port": REQ_CLIENT_BASE + i, "dest_port": REQ_PORT})
    t = {"pcap": "http_evasion.pcap", "origin": origin, "client_ip": "10.20.1.15", "server_ip": "198.51.100.80",
         "clients": orc["clients"],
         "rule": "expect_found = the oracle (Chromium, else curl --compressed) decoded the ID, or the decoding "
                 "clients disagree (a sensor errs toward finding); requests: always (aiohttp's verdict recorded)",
         "cases": cases, "findings": findings, "decoys": []}
    with open(out_path, "w") as f:
        # One line per case keeps the file short and diffable.
        f.write(json.dumps({k: v for k, v in t.items() if k not in ("cases", "findings")}, indent=1)[:-2])
        for key in ("cases", "findings"):
            f.write(',\n "%s": [\n  ' % key + ",\n  ".join(json.dumps(x) for x in t[key]) + "\n ]")
        f.write("\n}\n")


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve()
    elif cmd == "req-server":
        req_server(sys.argv[2])
    elif cmd == "oracle":
        oracle(sys.argv[2])
    elif cmd == "capture":
        capture()
    elif cmd == "send-requests":
        send_requests(sys.argv[2] if len(sys.argv) > 2 else ".")
    elif cmd == "truth":
        truth(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
