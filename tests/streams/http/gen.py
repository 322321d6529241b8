#!/usr/bin/env python3
"""Generates the HTTP transcript files (NN-what.t) of this directory.

Format: a line `>>>` starts client bytes, `<<<` server bytes, `><> N` a gap
of N bytes in the direction of the previous block. The bytes of a block run
up to the next marker line; the one LF before a marker (or at the end of the
file) belongs to the file, not to the data. Bodies are compressed here, so
the files are byte-exact. Synthetic PI only (generated, checksum-valid).
"""
import base64, gzip, os, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ID = "11010519491231002X"          # synthetic, valid MOD 11-2
MOBILE = "13812345678"


def crlf(*lines):
    return ("\r\n".join(lines) + "\r\n").encode()


def req(method, target, headers=(), body=b"", eol="\r\n"):
    h = eol.join([f"{method} {target} HTTP/1.1", *headers]) + eol + eol
    return h.encode() + body


def resp(status, headers=(), body=b"", eol="\r\n"):
    h = eol.join([f"HTTP/1.1 {status}", *headers]) + eol + eol
    return h.encode() + body


def chunked(data, sizes, ext=""):
    out, i = b"", 0
    for n in sizes:
        out += f"{n:x}{ext}\r\n".encode() + data[i:i + n] + b"\r\n"
        i += n
    return out + b"0\r\n\r\n"


def raw_deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def gz(data):
    return gzip.compress(data, mtime=0)


def write(name, blocks):
    out = b""
    for kind, data in blocks:
        marker = {"c": b">>>", "s": b"<<<"}.get(kind)
        if marker is None:
            out += b"><> " + str(data).encode() + b"\n"
        else:
            out += marker + b"\n" + data + b"\n"
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(out)


def main():
    html = f"<p>id {ID}</p>".encode()
    write("01-get-simple.t", [
        ("c", req("GET", f"/user/%E5%BC%A0%E4%B8%89?id={ID}&q=a+b%20c", [
            "Host: example.test", "User-Agent: curl/8.0", "Cookie: sid=abc; phone=%2B86" + MOBILE,
            "X-Trace: t1", "Referer: http://example.test/?m=" + MOBILE])),
        ("s", resp("200 OK", ["Content-Type: text/html", f"Content-Length: {len(html)}"], html)),
    ])
    form = f"name=%E5%BC%A0%E4%B8%89&id={ID}&addr=a+b".encode()
    write("02-post-form.t", [
        ("c", req("POST", "/submit", ["Host: a.test", "Content-Type: application/x-www-form-urlencoded",
                                     f"Content-Length: {len(form)}"], form)),
        ("s", resp("204 No Content", ["Server: t"])),
    ])
    write("03-pipelining.t", [
        ("c", req("GET", "/a", ["Host: p.test"]) + req("HEAD", "/b", ["Host: p.test"]) +
              req("GET", "/c", ["Host: p.test"])),
        ("s", resp("200 OK", ["Content-Length: 3"], b"aaa") +
              resp("200 OK", ["Content-Length: 1000"]) +
              resp("200 OK", ["Transfer-Encoding: chunked"], chunked(b"ccccc", [2, 3]))),
    ])
    body = f'{{"mobile":"{MOBILE}"}}'.encode()
    write("04-100-continue.t", [
        ("c", req("POST", "/api", ["Host: c.test", "Expect: 100-continue", "Content-Type: application/json",
                                  f"Content-Length: {len(body)}"])),
        ("s", resp("100 Continue")),
        ("c", body),
        ("s", resp("200 OK", ["Content-Length: 2", "Connection: keep-alive"], b"ok")),
        ("c", req("GET", "/next", ["Host: c.test"])),
        ("s", resp("200 OK", ["Content-Length: 4"], b"next")),
    ])
    write("05-head-204-304.t", [
        ("c", req("HEAD", "/h", ["Host: h.test"]) + req("GET", "/n", ["Host: h.test"]) +
              req("GET", "/e", ["Host: h.test"]) + req("GET", "/ok", ["Host: h.test"])),
        ("s", resp("200 OK", ["Content-Length: 50", "Content-Type: text/plain"]) +
              resp("304 Not Modified", ["Content-Length: 10"]) +
              resp("204 No Content", ["Content-Length: 7"]) +
              resp("200 OK", ["Content-Length: 2"], b"ok")),
    ])
    data = f"card=6222021234567890123&id={ID}".encode()
    write("06-chunked-ext-trailers.t", [
        ("c", req("GET", "/c", ["Host: c.test"])),
        ("s", resp("200 OK", ["Transfer-Encoding: chunked", "Trailer: X-Sum"],
                   chunked(data, [5, 10, len(data) - 15], ext=';name="v"')[:-2] + b"X-Sum: 1\r\n\r\n")),
    ])
    text = f"gzip body {ID}".encode()
    write("07-gzip.t", [
        ("c", req("GET", "/g", ["Host: g.test", "Accept-Encoding: gzip"])),
        ("s", resp("200 OK", ["Content-Encoding: gzip", "Content-Type: text/plain",
                              f"Content-Length: {len(gz(text))}"], gz(text))),
    ])
    for name, enc in [("08-deflate-raw.t", raw_deflate), ("09-deflate-zlib.t", zlib.compress)]:
        z = enc(b"deflate body " + ID.encode())
        write(name, [
            ("c", req("GET", "/d", ["Host: d.test"])),
            ("s", resp("200 OK", ["Content-Encoding: deflate", f"Content-Length: {len(z)}"], z)),
        ])
    z = gz(b"chunked gzip " + ID.encode())
    write("10-gzip-in-chunked.t", [
        ("c", req("GET", "/gc", ["Host: g.test"])),
        ("s", resp("200 OK", ["Content-Encoding: gzip", "Transfer-Encoding: chunked"], chunked(z, [7, len(z) - 7]))),
    ])
    inner = gz(b"gzip in chunked in gzip " + ID.encode())
    outer = gz(inner)
    write("11-gzip-chunked-gzip.t", [
        ("c", req("GET", "/gcg", ["Host: g.test"])),
        ("s", resp("200 OK", ["Content-Encoding: gzip", "Transfer-Encoding: gzip, chunked"],
                   chunked(outer, [3, 11, len(outer) - 14]))),
    ])
    mp = (b"--XyZ\r\nContent-Disposition: form-data; name=\"who\"\r\n\r\n" + "张三".encode() +
          b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"staff.csv\"\r\n"
          b"Content-Type: text/csv\r\n\r\nname,id\r\nzs," + ID.encode() + b"\r\n--XyZ--\r\n")
    write("12-multipart.t", [
        ("c", req("POST", "/upload", ["Host: u.test", "Content-Type: multipart/form-data; boundary=XyZ",
                                     f"Content-Length: {len(mp)}"], mp)),
        ("s", resp("200 OK", ["Content-Length: 0"])),
    ])
    js = b'{"name":"\\u5f20\\u4e09","id":"\\u0031\\u0031010519491231002X","e":"\\ud83d\\ude00","u":"http:\\/\\/x"}'
    write("13-json-escapes.t", [
        ("c", req("GET", "/j", ["Host: j.test"])),
        ("s", resp("200 OK", ["Content-Type: application/json", f"Content-Length: {len(js)}"], js)),
    ])
    g = "姓名：张三 身份证：".encode("gbk") + ID.encode()
    write("14-gbk.t", [
        ("c", req("GET", "/g1", ["Host: g.test"]) + req("GET", "/g2", ["Host: g.test"])),
        ("s", resp("200 OK", ["Content-Type: text/html; charset=GB2312", f"Content-Length: {len(g)}"], g) +
              resp("200 OK", ["Content-Type: text/html", f"Content-Length: {len(g)}"], g)),
    ])
    cred = base64.b64encode(f"zhangsan:{MOBILE}".encode()).decode()
    write("15-basic-auth.t", [
        ("c", req("GET", "/private", ["Host: b.test", f"Authorization: Basic {cred}"])),
        ("s", resp("401 Unauthorized", ["Content-Length: 0"])),
    ])
    r2 = req("GET", "/lost", ["Host: r.test", "X-Pad: " + "p" * 40])
    write("16-gap-resync.t", [
        ("c", req("GET", "/one", ["Host: r.test"]) + r2[:20]),
        ("><>", 30),
        ("c", r2[50:] + req("GET", f"/three?id={ID}", ["Host: r.test"])),
        ("s", resp("200 OK", ["Content-Length: 100"], b"x" * 40)),
        ("><>", 40),
        ("s", b"y" * 20 + resp("200 OK", ["Content-Length: 5"], b"three")),
    ])
    lf = f"lf only {ID}".encode()
    write("17-lf-only.t", [
        ("c", req("GET", "/lf", ["Host: l.test"], eol="\n")),
        ("s", resp("200 OK", ["Transfer-Encoding: chunked"], eol="\n") +
              f"{len(lf):x}\n".encode() + lf + b"\n0\n\n"),
    ])
    fold = f"folded {ID}".encode()
    write("18-header-folding.t", [
        ("c", req("GET", "/f", ["Host: f.test", "X-Long: part1,", " part2", "x-MiXeD:   spaced  "])),
        ("s", resp("200 OK", ["Content-Type: text/plain", "Content-Length:", f" {len(fold)}"], fold)),
    ])
    bog = b"hidden " + ID.encode()
    write("19-bogus-cl-chunked.t", [
        ("c", req("GET", "/b", ["Host: b.test"])),
        ("s", resp("200 OK", ["Content-Length: 5", "Transfer-Encoding: chunked"], chunked(bog, [6, len(bog) - 6]))),
    ])
    bomb = gz(b"\0" * (40 << 20))
    write("20-bomb.t", [
        ("c", req("GET", "/bomb", ["Host: z.test"])),
        ("s", resp("200 OK", ["Content-Encoding: gzip", f"Content-Length: {len(bomb)}"], bomb)),
    ])
    odd = b"odd chunks " + ID.encode()
    odd_body = b"0005\r\n" + odd[:5] + b"\r\n 3 \r\n" + odd[5:8] + b"\r\n0x4\r\n" + odd[8:12] + \
        b"\r\n" + f"{len(odd) - 12:X}".encode() + b"\r\n" + odd[12:] + b"\r\n0\r\n\r\n"
    write("21-odd-chunking.t", [
        ("c", req("GET", "/odd", ["Host: o.test"])),
        ("s", resp("200 OK", ["Transfer-Encoding: chunked"], odd_body)),
    ])
    close = f"until close {ID}".encode()
    write("22-connection-close.t", [
        ("c", req("GET", "/close", ["Host: k.test", "Connection: close"])),
        ("s", b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + close),
    ])


if __name__ == "__main__":
    main()
