#!/usr/bin/env python3
"""Evasion check: what does a real client (Python's http.client, with
content decoding done like urllib3's decoders) receive for each transcript?

Prints, per response, the status and the decoded body; compare with the
`< http.response_body` lines of the matching `.out` golden (what leakwatch
extracts). Run: python3 tests/streams/http/verify.py [NN-what.t ...]
"""
import http.client, io, os, re, sys, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
METHOD = re.compile(rb"^([A-Z]+) \S+ HTTP/1\.\d\r?$", re.M)


def load(path):
    blocks, cur, direction = [], None, None
    data = open(path, "rb").read()
    for line in (data[:-1] if data.endswith(b"\n") else data).split(b"\n"):
        if line in (b">>>", b"<<<") or line.startswith(b"><> "):
            if cur is not None:
                blocks.append((direction, cur[:-1] if cur.endswith(b"\n") else cur))
            if line.startswith(b"><> "):
                blocks.append(("gap", int(line[4:])))
                cur = b""
                continue
            direction, cur = ("c" if line == b">>>" else "s"), b""
        elif cur is not None:
            cur += line + b"\n"
    if cur is not None:
        blocks.append((direction, cur[:-1] if cur.endswith(b"\n") else cur))
    return blocks


def decode(body, codings):
    """urllib3-style decoding: gzip (multi-member), deflate (zlib, raw fallback)."""
    for c in reversed([c.strip().lower() for c in codings if c.strip()]):
        if c in ("gzip", "x-gzip"):
            out, data = b"", body
            while data:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out += d.decompress(data)
                data = d.unused_data
            body = out
        elif c == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)
        elif c not in ("identity", "chunked"):
            return body, f"(coding {c} not decoded here)"
    return body, ""


class Stream(io.BytesIO):
    def close(self):  # http.client closes the file after each response
        pass


class Sock:
    def __init__(self, data):
        self.f = Stream(data)

    def makefile(self, *_):
        return self.f


def check(path):
    blocks = load(path)
    client = b"".join(d for k, d in blocks if k == "c")
    server = b"".join(d for k, d in blocks if k == "s")
    gaps = any(k == "gap" for k, _ in blocks)
    methods = [m.decode() for m in METHOD.findall(client)]
    print(f"== {os.path.basename(path)}" + (" (has gaps: a real client would fail)" if gaps else ""))
    sock = Sock(server)
    for m in methods:
        try:
            r = http.client.HTTPResponse(sock, method=m)
            r.begin()
            body = r.read()
            codings = (r.getheader("Transfer-Encoding") or "").split(",") + \
                (r.getheader("Content-Encoding") or "").split(",")
            body, note = decode(body, codings)
            shown = body[:80] + (b"..." if len(body) > 80 else b"")
            print(f"  {m} -> {r.status} body[{len(body)}] {shown!r} {note}")
        except Exception as e:  # what the client shows: an error
            print(f"  {m} -> error {type(e).__name__}: {e}")
            break


def main():
    paths = sys.argv[1:] or sorted(os.path.join(HERE, p) for p in os.listdir(HERE) if p.endswith(".t"))
    for p in paths:
        check(p)


if __name__ == "__main__":
    main()
