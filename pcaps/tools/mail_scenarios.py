#!/usr/bin/env python3
"""Mail capture scenarios for pcaps/make_mail.sh (run inside lw-mail-* netns).

  smtp-server TMPDIR          aiosmtpd on 127.0.0.2:2525 (AUTH without TLS, STARTTLS
                              with a self-signed cert made by openssl in TMPDIR)
  smtp-client TMPDIR          smtplib: AUTH LOGIN + MIME message (port 42001), and a
                              STARTTLS session whose message must stay unseen (42002)
  maildir TMPDIR              the message dovecot serves (written before it starts)
  pop3-client / imap-client   poplib (42101) / imaplib (42201) against dovecot
  truth NAME PCAP ORIGIN OUT  ground truth of mail_smtp / mail_pop3 / mail_imap

All PI is synthetic (synth_pi.Synth, fixed seed).
"""
import io
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import zipfile
from email.header import Header
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from synth_pi import Synth  # noqa: E402

SERVER = "127.0.0.2"
CLIENT = "127.0.0.1"
SMTP_PORT = 2525


def values():
    s = Synth(5150)
    v = {
        "id1": s.resident_id(), "id2": s.resident_id(), "id3": s.resident_id(),
        "id5": s.resident_id(), "id6": s.resident_id(),
        "m1": s.mobile(), "m2": s.mobile(), "m3": s.mobile(), "m4": s.mobile(),
        "m5": s.mobile(), "m6": s.mobile(), "m7": s.mobile(),
        "card1": s.card("unionpay16"), "card2": s.card("unionpay19"), "m8": s.mobile(),
        "from": "zhang.wei88@example.cn", "rcpt": "hr.li@example.com",
        "from2": "wang.fang12@corp.test", "rcpt2": "lisi@mail.example.com",
    }
    return v


def docx_bytes(text):
    """A minimal Word document (deflated, as Word writes it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                   'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>%s</w:t></w:r></w:p>'
                   '</w:body></w:document>' % text)
    return buf.getvalue()


def smtp_message(v):
    msg = MIMEMultipart("mixed")
    msg["From"] = v["from"]
    msg["To"] = v["rcpt"]
    msg["Subject"] = Header("员工联系电话 %s" % v["m1"], "gbk")
    alt = MIMEMultipart("alternative")
    plain = MIMEText("姓名：张伟 身份证：%s 手机：%s\n" % (v["id1"], v["m2"]), "plain", "gbk")
    alt.attach(plain)  # base64 (MIMEText picks it for gbk)
    alt.attach(qp_text("<p>银行卡 %s</p>\n" % v["card1"], "html"))
    msg.attach(alt)
    csv = "姓名,身份证,手机\n张伟,%s,%s\n" % (v["id2"], v["m3"])
    att = MIMEApplication(csv.encode("gbk"), "csv", Name=None)
    att.replace_header("Content-Type", "text/csv; charset=gbk")
    att.add_header("Content-Disposition", "attachment", filename=("gbk", "", "员工名单.csv"))
    msg.attach(att)
    doc = MIMEApplication(docx_bytes("身份证 %s" % v["id3"]),
                          "vnd.openxmlformats-officedocument.wordprocessingml.document")
    doc.add_header("Content-Disposition", "attachment", filename="report.docx")
    msg.attach(doc)
    return msg


def qp_text(text, sub):
    """A quoted-printable UTF-8 text part."""
    import quopri
    from email.mime.nonmultipart import MIMENonMultipart
    part = MIMENonMultipart("text", sub, charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(quopri.encodestring(text.encode()).decode())
    return part


def smtp_server(tmp):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=mx.example.cn", "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(crt, key)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK queued"

    def auth(server, session, envelope, mechanism, data):
        return AuthResult(success=True)

    c = Controller(Handler(), hostname=SERVER, port=SMTP_PORT, server_hostname="mx.example.cn",
                   authenticator=auth, auth_require_tls=False, tls_context=ctx,
                   require_starttls=False)
    c.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(1)
    finally:
        c.stop()


def smtp_client(tmp):
    import smtplib
    v = values()
    s = smtplib.SMTP(SERVER, SMTP_PORT, source_address=(CLIENT, 42001), local_hostname="pc15.example.org")
    s.ehlo()
    s.user, s.password = "zhangwei", v["m4"]
    s.auth("LOGIN", s.auth_login)
    s.send_message(smtp_message(v))
    s.quit()
    time.sleep(0.2)
    s = smtplib.SMTP(SERVER, SMTP_PORT, source_address=(CLIENT, 42002), local_hostname="pc15.example.org")
    s.starttls(context=ssl._create_unverified_context())
    s.ehlo()
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "secret@example.cn", "boss@example.cn", "encrypted"
    m.set_content("only over TLS: %s %s\n" % (v["id5"], v["m8"]))
    s.send_message(m)
    s.quit()


def stored_message(v):
    msg = MIMEMultipart("mixed")
    msg["From"] = v["from2"]
    msg["To"] = v["rcpt2"]
    msg["Subject"] = Header("工资单 %s" % v["m5"], "gbk")
    msg.attach(qp_text("身份证 %s 卡号 %s\n" % (v["id6"], v["card2"]), "plain"))
    att = MIMEApplication(("姓名,手机\n李四,%s\n" % v["m6"]).encode(), "octet-stream")
    att.add_header("Content-Disposition", "attachment", filename="salary.csv")
    msg.attach(att)
    return msg.as_bytes().replace(b"\r\n", b"\n")


def maildir(tmp):
    v = values()
    d = os.path.join(tmp, "mail", "lisi", "new")
    os.makedirs(d, exist_ok=True)
    for sub in ("cur", "tmp"):
        os.makedirs(os.path.join(tmp, "mail", "lisi", sub), exist_ok=True)
    with open(os.path.join(d, "1700000000.M1P1.lw"), "wb") as f:
        f.write(stored_message(v))
    with open(os.path.join(tmp, "passwd"), "w") as f:
        f.write("lisi:{PLAIN}%s::::::\n" % v["m7"])


def pop3_client():
    import poplib
    v = values()

    class P(poplib.POP3):
        def _create_socket(self, timeout):
            return socket.create_connection((self.host, self.port), timeout,
                                            source_address=(CLIENT, 42101))

    p = P(SERVER, 110)
    p.user("lisi")
    p.pass_(v["m7"])
    p.retr(1)
    p.quit()


def imap_client():
    import imaplib
    v = values()

    class I(imaplib.IMAP4):
        def _create_socket(self, timeout):
            return socket.create_connection((self.host, self.port), timeout,
                                            source_address=(CLIENT, 42201))

    m = I(SERVER, 143)
    m.login("lisi", v["m7"])
    m.select("INBOX", readonly=True)
    m.fetch("1", "(BODY.PEEK[])")
    m.logout()


def f(t, value, direction, where, sport, dport):
    return {"type": t, "value": value, "direction": direction, "where": where,
            "src_port": sport, "dest_port": dport}


def truth(name, pcap, origin, out):
    v = values()
    findings, pending = [], []
    if name == "mail_smtp":
        up = lambda t, val, w: findings.append(f(t, val, "to_server", w, 42001, SMTP_PORT))
        up("cn_mobile", v["m4"], "smtp.auth")
        for a in (v["from"], v["rcpt"]):
            up("email", a, "smtp.envelope")
            up("email", a, "mail.headers")
        up("cn_mobile", v["m1"], "mail.headers")
        up("cn_resident_id", v["id1"], "mail.body")
        up("cn_mobile", v["m2"], "mail.body")
        up("bank_card", v["card1"], "mail.body")
        up("cn_resident_id", v["id2"], "mail.attachment")
        up("cn_mobile", v["m3"], "mail.attachment")
        # 姓名：张伟 in the GBK text part (the name field's first word).
        up("cn_name", "张伟", "mail.body")
        # The CSV attachment's 姓名 column (column mapping).
        up("cn_name", "张伟", "mail.attachment")
        # Inside the deflated docx: found once files (docx unpacking) is merged.
        pending.append(f("cn_resident_id", v["id3"], "to_server", "mail.attachment", 42001, SMTP_PORT))
        unseen = [v["id5"], v["m8"]]
    else:
        port, auth, sport = {"mail_pop3": (110, "pop3.auth", 42101),
                             "mail_imap": (143, "imap.auth", 42201)}[name]
        if True:
            findings.append(f("cn_mobile", v["m7"], "to_server", auth, sport, port))
            down = lambda t, val, w: findings.append(f(t, val, "to_client", w, sport, port))
            down("email", v["from2"], "mail.headers")
            down("email", v["rcpt2"], "mail.headers")
            down("cn_mobile", v["m5"], "mail.headers")
            down("cn_resident_id", v["id6"], "mail.body")
            down("bank_card", v["card2"], "mail.body")
            down("cn_mobile", v["m6"], "mail.attachment")
            down("cn_name", "李四", "mail.attachment")
        unseen = []
    t = {"pcap": pcap, "origin": origin, "client_ip": "10.20.1.15", "server_ip": "198.51.100.80",
         "flow_ports": "src_port = client port, dest_port = server port (flow orientation; "
                       "direction says which side sent the value)",
         "findings": findings,
         "pending_files": pending,
         "decoys": unseen,
         "note": "credential findings (smtp/pop3/imap auth) are not listed: the credential "
                 "detector is separate; decoys here are values sent only after STARTTLS"}
    with open(out, "w") as fh:
        json.dump(t, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "smtp-server":
        smtp_server(sys.argv[2])
    elif cmd == "smtp-client":
        smtp_client(sys.argv[2])
    elif cmd == "maildir":
        maildir(sys.argv[2])
    elif cmd == "pop3-client":
        pop3_client()
    elif cmd == "imap-client":
        imap_client()
    elif cmd == "truth":
        truth(*sys.argv[2:6])
    else:
        sys.exit("unknown command " + cmd)
