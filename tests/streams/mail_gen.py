#!/usr/bin/env python3
"""Writes the SMTP/POP3/IMAP transcripts (tests/streams/{smtp,pop3,imap}/*.t).

Format as tests/streams/http: `>>>` client bytes, `<<<` server bytes,
`><> N` N bytes lost. Lines end in CRLF on the wire (converted here).
Synthetic PI only.
"""
import base64
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ID = "11010519491231002X"
MOBILE = "13812345678"


def b64(b):
    return base64.b64encode(b).decode()


def crlf(s):
    return s.replace("\n", "\r\n")


def write(proto, name, steps):
    """Steps are (marker, text); `MARKER|raw` text is written unchanged
    (already CRLF), other text gets CRLF line ends. Each block is followed
    by one LF that the loader drops."""
    out = []
    for marker, text in steps:
        raw = marker.endswith("|raw")
        out.append(marker.removesuffix("|raw") + "\n")
        if marker.startswith("><>"):
            continue
        out.append((text if raw else crlf(text)) + "\n")
    with open(os.path.join(HERE, proto, name), "wb") as f:
        f.write("".join(out).encode("utf-8"))


def message_gbk():
    subj = b64("主题：张三的身份证".encode("gbk"))
    body = b64(f"姓名：张三 身份证：{ID}\n".encode("gbk"))
    csv = b64(f"name,mobile\nzhang,{MOBILE}\n".encode())
    return f"""From: =?utf-8?B?{b64('张三'.encode())}?= <zs@example.cn>
To: li@example.com
Subject: =?gbk?B?{subj}?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=gbk
Content-Transfer-Encoding: base64

{body}
--b2
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>=E6=89=8B=E6=9C=BA {MOBILE[:6]}=
{MOBILE[6:]}</p>
--b2--
--b1
Content-Type: text/csv
Content-Disposition: attachment; filename*=gbk''%D5%C5%C8%FD.csv
Content-Transfer-Encoding: base64

{csv}
--b1--
"""


C1 = "Subject: chunks\r\n\r\nfirst part "
C2 = ID + " end\r\n"


C1 = "Subject: chunks\r\n\r\nfirst part "
C2 = ID + " end\r\n"


def smtp():
    write("smtp", "01-auth-login-data.t", [
        ("<<<", "220 mx.example.cn ESMTP Postfix\n"),
        (">>>", "EHLO client.example.org\n"),
        ("<<<", "250-mx.example.cn\n250-PIPELINING\n250-AUTH PLAIN LOGIN\n250 8BITMIME\n"),
        (">>>", "AUTH LOGIN\n"),
        ("<<<", "334 VXNlcm5hbWU6\n"),
        (">>>", b64(b"zhangsan") + "\n"),
        ("<<<", "334 UGFzc3dvcmQ6\n"),
        (">>>", b64(MOBILE.encode()) + "\n"),
        ("<<<", "235 2.7.0 Authentication successful\n"),
        (">>>", "MAIL FROM:<zhangsan@example.cn> SIZE=100\n"),
        ("<<<", "250 ok\n"),
        (">>>", f"RCPT TO:<{MOBILE}@example.com>\n"),
        ("<<<", "250 ok\n"),
        (">>>", "DATA\n"),
        ("<<<", "354 go ahead\n"),
        (">>>", f"Subject: plain\n\nline one\n..dot stuffed {ID}\n.\n"),
        ("<<<", "250 queued\n"),
        (">>>", "QUIT\n"),
        ("<<<", "221 bye\n"),
    ])
    write("smtp", "02-pipelining-bdat.t", [
        ("<<<", "220 mx.example.cn ESMTP\n"),
        (">>>", "EHLO c\n"),
        ("<<<", "250-mx.example.cn\n250-PIPELINING\n250 CHUNKING\n"),
        (">>>|raw", f"MAIL FROM:<a@example.cn>\r\nRCPT TO:<b@example.cn>\r\nBDAT {len(C1)}\r\n{C1}BDAT {len(C2)} LAST\r\n{C2}"),
        ("<<<", "250 ok\n250 ok\n250 octets\n250 done\n"),
        (">>>", "MAIL FROM:<c@example.cn>\nRCPT TO:<d@example.cn>\nDATA\n"),
        ("<<<", "250 ok\n250 ok\n354 go\n"),
        (">>>", f"Subject: second\n\nmobile {MOBILE}\n.\nQUIT\n"),
        ("<<<", "250 ok\n221 bye\n"),
    ])
    write("smtp", "03-starttls.t", [
        ("<<<", "220 mx.example.cn ESMTP\n"),
        (">>>", "EHLO c\n"),
        ("<<<", "250-mx.example.cn\n250 STARTTLS\n"),
        (">>>", "STARTTLS\n"),
        ("<<<", "220 2.0.0 Ready to start TLS\n"),
        (">>>", f"\x16\x03\x01 ciphertext-looking {ID}\nMAIL FROM:<x@example.cn>\n"),
        ("<<<", f"\x16\x03\x03 {MOBILE}\n"),
    ])
    write("smtp", "04-mime-gbk.t", [
        ("<<<", "220 mx.example.cn ESMTP\n"),
        (">>>", "HELO c\nMAIL FROM:<zs@example.cn>\nRCPT TO:<li@example.com>\nDATA\n"),
        ("<<<", "250 ok\n250 ok\n250 ok\n354 go\n"),
        (">>>", message_gbk() + ".\n"),
        ("<<<", "250 ok\n"),
    ])
    write("smtp", "05-gap-resync.t", [
        ("<<<", "220 mx.example.cn ESMTP\n"),
        (">>>", "EHLO c\nMAIL FROM:<a@example.cn>\nRCPT TO:<b@example.cn>\nDATA\n"),
        ("<<<", "250 ok\n250 ok\n250 ok\n354 go\n"),
        (">>>", "Subject: gap\n\nbefore the gap\nlost"),
        ("><> 200", ""),
        (">>>", "tail of a lost line\n.\nMAIL FROM:<e@example.cn>\nRCPT TO:<f@example.cn>\nDATA\n"),
        ("<<<", "250 queued\n250 ok\n250 ok\n354 go\n"),
        (">>>", f"Subject: after\n\nresynced {ID}\n.\n"),
        ("<<<", "250 ok\n"),
    ])
    write("smtp", "06-auth-plain-rejected-data.t", [
        ("<<<", "220 mx.example.cn ESMTP\n"),
        (">>>", "EHLO c\n"),
        ("<<<", "250 mx.example.cn\n"),
        (">>>", "AUTH PLAIN " + b64(f"\0lisi\0{ID}".encode()) + "\n"),
        ("<<<", "235 ok\n"),
        (">>>", "MAIL FROM:<a@example.cn>\nDATA\n"),
        ("<<<", "250 ok\n554 no valid recipients\n"),
        (">>>", "RCPT TO:<g@example.cn>\nQUIT\n"),
        ("<<<", "250 ok\n221 bye\n"),
    ])


def pop3():
    msg = f"Subject: =?utf-8?B?{b64('工资单'.encode())}?=\nContent-Type: text/plain; charset=utf-8\n\n身份证 {ID}\n.leading dot\n"
    stuffed = msg.replace("\n.", "\n..")
    write("pop3", "01-user-pass-retr.t", [
        ("<<<", "+OK Dovecot ready.\n"),
        (">>>", "USER zhangsan\n"),
        ("<<<", "+OK\n"),
        (">>>", f"PASS {MOBILE}\n"),
        ("<<<", "+OK Logged in.\n"),
        (">>>", "LIST\n"),
        ("<<<", "+OK 1 messages:\n1 120\n.\n"),
        (">>>", "RETR 1\n"),
        ("<<<", "+OK 120 octets\n" + stuffed + ".\n"),
        (">>>", "QUIT\n"),
        ("<<<", "+OK Logging out.\n"),
    ])
    write("pop3", "02-auth-plain-top-stls.t", [
        ("<<<", "+OK ready\n"),
        (">>>", "AUTH PLAIN\n"),
        ("<<<", "+ \n"),
        (">>>", b64(f"\0wangwu\0{MOBILE}".encode()) + "\n"),
        ("<<<", "+OK\n"),
        (">>>", "TOP 1 0\nRETR 2\n"),
        ("<<<", f"+OK\nSubject: top {ID}\n\n.\n-ERR no such message\n"),
        (">>>", "STLS\n"),
        ("<<<", "+OK Begin TLS negotiation\n"),
        (">>>", f"\x16\x03\x01 {ID}\n"),
        ("<<<", f"\x16\x03\x03 {MOBILE}\n"),
    ])


def imap():
    msg = crlf(message_gbk())
    write("imap", "01-login-fetch.t", [
        ("<<<", "* OK [CAPABILITY IMAP4rev1] Dovecot ready.\n"),
        (">>>", f'a1 LOGIN zhangsan "{MOBILE}"\n'),
        ("<<<", "a1 OK Logged in\n"),
        (">>>", "a2 SELECT INBOX\n"),
        ("<<<", "* 1 EXISTS\na2 OK [READ-WRITE] Select completed\n"),
        (">>>", "a3 FETCH 1 (ENVELOPE BODY[])\n"),
        ("<<<", f'* 1 FETCH (ENVELOPE ("date" "=?utf-8?B?{b64(("身份证 " + ID).encode())}?=" NIL) BODY[] {{{len(msg.encode())}}}\n'),
        ("<<<|raw", msg),
        ("<<<", ")\na3 OK Fetch completed\n"),
        (">>>", "a4 UID FETCH 1 (BODY[TEXT])\n"),
        ("<<<", f"* 1 FETCH (UID 1 BODY[TEXT] {{17}}\nmobile {MOBILE[:10]})\na4 OK done\n"),
        (">>>", "a5 LOGOUT\n"),
        ("<<<", "* BYE\na5 OK\n"),
    ])
    app = crlf(f"Subject: draft\n\ncard holder {ID}\n")
    write("imap", "02-literal-login-authenticate-append-starttls.t", [
        ("<<<", "* OK ready\n"),
        (">>>", "a1 LOGIN {8}\n"),
        ("<<<", "+ OK\n"),
        (">>>", f"zhangsan {{11}}\n"),
        ("<<<", "+ OK\n"),
        (">>>", f"{MOBILE}\n"),
        ("<<<", "a1 NO wrong\n"),
        (">>>", "a2 AUTHENTICATE PLAIN\n"),
        ("<<<", "+ \n"),
        (">>>", b64(f"\0lisi\0{ID}".encode()) + "\n"),
        ("<<<", "a2 OK\n"),
        (">>>", f"a3 APPEND Drafts (\\Seen) {{{len(app.encode())}}}\n"),
        ("<<<", "+ go\n"),
        (">>>|raw", app),
        (">>>", "\n"),
        ("<<<", "a3 OK appended\n"),
        (">>>", "a4 STARTTLS\n"),
        ("<<<", "a4 OK Begin TLS\n"),
        (">>>", f"\x16\x03\x01 a5 LOGIN x {MOBILE}\n"),
    ])


if __name__ == "__main__":
    smtp()
    pop3()
    imap()
