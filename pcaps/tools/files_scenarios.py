#!/usr/bin/env python3
"""Files and FTP scenarios for pcaps/make_files.sh (synthetic PI only).

Builds a docx, an xlsx, a PDF (FlateDecode content stream) and a zip by
hand with the standard library, serves uploads/downloads over HTTP
(http.server) and transfers files over FTP (pyftpdlib server, ftplib
client, passive and active mode). Every planted value is recorded with the
place leakwatch must report it; `truth` writes the ground truth.

CLI (run by make_files.sh inside a netns):
  files_scenarios.py make-files DIR          write the documents + plan.json
  files_scenarios.py http-server DIR         upload/download server on 127.0.0.2:8080
  files_scenarios.py ftp-server DIR          pyftpdlib on 127.0.0.2:21
  files_scenarios.py ftp-client DIR          STOR/RETR passive, STOR active
  files_scenarios.py truth DIR OUT ORIGIN    ground truth from plan.json + ports.json
"""
import hashlib
import http.server
import io
import json
import os
import sys
import zipfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from synth_pi import Synth  # noqa: E402

CLIENT, SERVER = "10.20.1.15", "198.51.100.80"


def ooxml(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="officeDocument" Target="%s"/></Relationships>')


def docx(paragraphs):
    body = ""
    for p in paragraphs:
        half = len(p) // 2  # one value split over two runs, as Word does
        body += ('<w:p><w:r><w:t>%s</w:t></w:r><w:r><w:t xml:space="preserve">%s</w:t></w:r></w:p>'
                 % (p[:half], p[half:]))
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document '
           'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>%s'
           '</w:body></w:document>' % body)
    return ooxml([("[Content_Types].xml", CT), ("_rels/.rels", RELS % "word/document.xml"),
                  ("word/document.xml", doc)])


def xlsx(rows):
    strings, sheet = [], ""
    for r, row in enumerate(rows, 1):
        cells = ""
        for c, v in enumerate(row):
            ref = "%s%d" % ("ABCDEFGH"[c], r)
            if v.isdigit() and len(v) <= 15:
                cells += '<c r="%s"><v>%s</v></c>' % (ref, v)
            else:
                strings.append(v)
                cells += '<c r="%s" t="s"><v>%d</v></c>' % (ref, len(strings) - 1)
        sheet += '<row r="%d">%s</row>' % (r, cells)
    sst = "<sst>%s</sst>" % "".join("<si><t>%s</t></si>" % s for s in strings)
    ws = "<worksheet><sheetData>%s</sheetData></worksheet>" % sheet
    return ooxml([("[Content_Types].xml", CT), ("_rels/.rels", RELS % "xl/workbook.xml"),
                  ("xl/workbook.xml", "<workbook><sheets><sheet name=\"s\" sheetId=\"1\"/></sheets></workbook>"),
                  ("xl/sharedStrings.xml", sst), ("xl/worksheets/sheet1.xml", ws)])


def pdf(lines):
    content = "BT /F1 11 Tf 72 760 Td\n"
    for ln in lines:
        content += "(%s) Tj 0 -16 Td\n" % ln
    content += "ET\n"
    data = zlib.compress(content.encode())
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def make_files(d):
    s = Synth(5151)
    plan = {"files": {}, "values": []}

    def plant(kind, value, file, where, direction, port_key):
        plan["values"].append({"type": kind, "value": value, "file": file, "where": where,
                               "direction": direction, "port": port_key})
        return value

    # HTTP uploads (multipart, client -> server) and a download.
    ids = [s.resident_id() for _ in range(2)]
    mob = s.mobile()
    paras = ["Employee record", "ID %s" % plant("cn_resident_id", ids[0], "record.docx",
             "http.request_body|docx", "to_server", "up_docx"),
             "Mobile %s" % plant("cn_mobile", mob, "record.docx", "http.request_body|docx",
                                 "to_server", "up_docx")]
    files = {"record.docx": docx(paras)}
    card = s.card("unionpay19")
    mail = s.email()
    rows = [["name", "phone", "card", "email"],
            ["Li Na", plant("cn_mobile", s.mobile(), "staff.xlsx", "http.request_body|xlsx", "to_server", "up_xlsx"),
             plant("bank_card", card, "staff.xlsx", "http.request_body|xlsx", "to_server", "up_xlsx"),
             plant("email", mail, "staff.xlsx", "http.request_body|xlsx", "to_server", "up_xlsx")]]
    files["staff.xlsx"] = xlsx(rows)
    files["statement.pdf"] = pdf(["Account statement", "Holder ID %s" % plant(
        "cn_resident_id", ids[1], "statement.pdf", "http.request_body|pdf", "to_server", "up_pdf")])
    csv = "name,id,phone\nWang Fang,%s,%s\n" % (
        plant("cn_resident_id", s.resident_id(), "export.zip", "http.response_body|zip", "to_client", "down_zip"),
        plant("cn_mobile", s.mobile(), "export.zip", "http.response_body|zip", "to_client", "down_zip"))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export/customers.csv", csv)
    files["export.zip"] = zbuf.getvalue()
    # FTP: login, STOR docx (passive), RETR xlsx (passive), STOR csv (active).
    plan["ftp_user"] = plant("cn_mobile", s.mobile(), None, "ftp.auth", "to_server", "ftp_ctl")
    files["contract.docx"] = docx(["Contract", "Party ID %s" % plant(
        "cn_resident_id", s.resident_id(), "contract.docx", "ftp.data|docx", "to_server", "ftp_stor_pasv")])
    files["payroll.xlsx"] = xlsx([["name", "card"], ["Chen Jing", plant(
        "bank_card", s.card("unionpay16"), "payroll.xlsx", "ftp.data|xlsx", "to_client", "ftp_retr_pasv")]])
    files["leads.csv"] = ("name,phone\nZhao Lei,%s\n" % plant(
        "cn_mobile", s.mobile(), "leads.csv", "ftp.data", "to_client", "ftp_stor_port")).encode()
    os.makedirs(os.path.join(d, "srv"), exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        plan["files"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    # The FTP server holds the file the client retrieves.
    with open(os.path.join(d, "srv", "payroll.xlsx"), "wb") as f:
        f.write(files["payroll.xlsx"])
    with open(os.path.join(d, "plan.json"), "w") as f:
        json.dump(plan, f, indent=1)


def http_server(d):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(n)
            self.reply(b"stored\n", "text/plain")

        def do_GET(self):
            with open(os.path.join(d, "export.zip"), "rb") as f:
                body = f.read()
            self.reply(body, "application/zip", 'attachment; filename="export.zip"')

        def reply(self, body, ctype, disp=None):
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            if disp:
                self.send_header("Content-Disposition", disp)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.HTTPServer(("127.0.0.2", 8080), H)
    print("ready", flush=True)
    srv.serve_forever()


def ftp_server(d):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer
    with open(os.path.join(d, "plan.json")) as f:
        plan = json.load(f)
    auth = DummyAuthorizer()
    auth.add_user(plan["ftp_user"], "pw-not-pi", os.path.join(d, "srv"), perm="elradfmw")
    handler = FTPHandler
    handler.authorizer = auth
    handler.passive_ports = range(50000, 50010)
    handler.permit_foreign_addresses = False
    srv = FTPServer(("127.0.0.2", 21), handler)
    print("ready", flush=True)
    srv.serve_forever()


def ftp_client(d):
    import ftplib
    with open(os.path.join(d, "plan.json")) as f:
        plan = json.load(f)
    ports = {}
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.2", 21, source_address=("127.0.0.1", 42101))
    ports["ftp_ctl"] = 21
    ftp.source_address = ("127.0.0.1", 0)  # data connections: any port
    ftp.login(plan["ftp_user"], "pw-not-pi")
    ftp.voidcmd("TYPE I")  # binary: the wire carries the files as they are

    def transfer(cmd, key, data=None, passive=True):
        ftp.set_pasv(passive)
        conn = ftp.transfercmd(cmd)
        # Flow orientation: passive = client connects (server port = peer);
        # active = FTP server connects (server port = our listening port).
        ports[key] = conn.getpeername()[1] if passive else conn.getsockname()[1]
        if data is None:
            while conn.recv(8192):
                pass
        else:
            conn.sendall(data)
        conn.close()
        ftp.voidresp()

    with open(os.path.join(d, "contract.docx"), "rb") as f:
        transfer("STOR contract.docx", "ftp_stor_pasv", f.read())
    transfer("RETR payroll.xlsx", "ftp_retr_pasv")
    with open(os.path.join(d, "leads.csv"), "rb") as f:
        transfer("STOR leads.csv", "ftp_stor_port", f.read(), passive=False)
    ftp.quit()
    with open(os.path.join(d, "ports.json"), "w") as f:
        json.dump(ports, f)


FILE_EVENTS = [  # (file, direction, app_proto, port key, magic)
    ("record.docx", "to_server", "http", "up_docx", "docx"),
    ("staff.xlsx", "to_server", "http", "up_xlsx", "xlsx"),
    ("statement.pdf", "to_server", "http", "up_pdf", "pdf"),
    ("export.zip", "to_client", "http", "down_zip", "zip"),
    ("contract.docx", "to_server", "ftp-data", "ftp_stor_pasv", "docx"),
    ("payroll.xlsx", "to_client", "ftp-data", "ftp_retr_pasv", "xlsx"),
    ("leads.csv", "to_client", "ftp-data", "ftp_stor_port", "csv"),
]


def truth(d, out, origin):
    with open(os.path.join(d, "plan.json")) as f:
        plan = json.load(f)
    with open(os.path.join(d, "ports.json")) as f:
        ports = json.load(f)
    findings = [{"type": v["type"], "value": v["value"], "direction": v["direction"],
                 "where": v["where"], "dest_port": ports[v["port"]]}
                for v in plan["values"] if v["port"] in ports]
    files = [{"name": n, "direction": di, "app_proto": ap, "dest_port": ports[k], "magic": m,
              "size": plan["files"][n]["size"], "sha256": plan["files"][n]["sha256"],
              "findings": sorted({v["value"] for v in plan["values"] if v["file"] == n})}
             for n, di, ap, k, m in FILE_EVENTS if k in ports]
    for f in files:
        f["findings"] = len(f["findings"])
    doc = {"pcap": os.path.basename(out).replace(".truth.json", ".pcap"), "origin": origin,
           "client_ip": CLIENT, "server_ip": SERVER,
           "flow_ports": "dest_port = server port of the flow (for FTP data: the listening side)",
           "findings": findings, "files": files, "decoys": []}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"make-files": make_files, "http-server": http_server, "ftp-server": ftp_server,
     "ftp-client": ftp_client, "truth": truth}[cmd](*args)
