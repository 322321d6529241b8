#!/usr/bin/env python3
"""Scenarios of pcaps/make_filesdns.sh (synthetic PI only).

  filesdns_scenarios.py make-files DIR     legacy .xls (xlwt), GBK text file,
                                           .doc (LibreOffice from .odt, if present)
  filesdns_scenarios.py http-server ADDR PORT   accepts uploads (200 "stored")
  filesdns_scenarios.py truth KIND DIR OUT ORIGIN
                                           ground truth of filesdns_files / filesdns_dns_tcp
"""
import hashlib
import http.server
import json
import os
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from synth_pi import Synth  # noqa: E402


def make_odt(path, lines):
    """A minimal OpenDocument text for LibreOffice to convert to .doc."""
    paras = "".join("<text:p>%s</text:p>" % ln for ln in lines)
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               '<office:body><office:text>%s</office:text></office:body></office:document-content>' % paras)
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)


def make_files(d):
    import xlwt
    s = Synth(5252)
    plan = {"values": [], "files": {}}

    def plant(kind, value, file, where):
        plan["values"].append({"type": kind, "value": value, "file": file, "where": where})
        return value

    # .xls: a Chinese header row, a name, a mobile as a number cell, an ID
    # as a string (SST, UTF-16 and compressed strings).
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("员工")
    for c, h in enumerate(["姓名", "手机号码", "身份证号", "email"]):
        ws.write(0, c, h)
    ws.write(1, 0, plant("cn_name", "王芳", "staff.xls", "http.request_body|xls"))
    ws.write(1, 1, int(plant("cn_mobile", s.mobile(), "staff.xls", "http.request_body|xls")))
    ws.write(1, 2, plant("cn_resident_id", s.resident_id(), "staff.xls", "http.request_body|xls"))
    ws.write(1, 3, plant("email", s.email(), "staff.xls", "http.request_body|xls"))
    wb.save(os.path.join(d, "staff.xls"))
    # GBK text file, no charset label: a name field and a landline whose
    # only context word is Chinese.
    landline = "010-6%07d" % s.r.randrange(10 ** 7)
    gbk = ("员工信息\n姓名：%s\n联系电话：%s\n备注：无\n" % (
        plant("cn_name", "李小龙", "contacts.txt", "http.request_body|gbk"),
        landline)).encode("gbk")
    # Reported in national form (no separator); the digits are ASCII, so
    # their own `where` names no decoding step.
    plant("cn_landline", landline.replace("-", ""), "contacts.txt", "http.request_body")
    with open(os.path.join(d, "contacts.txt"), "wb") as f:
        f.write(gbk)
    # .doc through LibreOffice (skipped when soffice is missing).
    doc_id, doc_mobile = s.resident_id(), s.mobile()
    make_odt(os.path.join(d, "record.odt"), ["员工档案", "身份证号 %s" % doc_id, "联系电话 %s" % doc_mobile])
    try:
        subprocess.run(["soffice", "--headless", "--convert-to", "doc:MS Word 97", "--outdir", d,
                        os.path.join(d, "record.odt")], check=True, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        pass
    if os.path.exists(os.path.join(d, "record.doc")):
        plant("cn_resident_id", doc_id, "record.doc", "http.request_body|doc")
        plant("cn_mobile", doc_mobile, "record.doc", "http.request_body|doc")
    for name in ["staff.xls", "contacts.txt", "record.doc"]:
        p = os.path.join(d, name)
        if os.path.exists(p):
            data = open(p, "rb").read()
            plan["files"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    with open(os.path.join(d, "plan.json"), "w") as f:
        json.dump(plan, f, indent=1)


class Up(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "7")
        self.end_headers()
        self.wfile.write(b"stored\n")

    def log_message(self, *a):
        pass


def http_server(addr, port):
    srv = http.server.HTTPServer((addr, int(port)), Up)
    print("ready", flush=True)
    srv.serve_forever()


MAGIC = {"staff.xls": "xls", "contacts.txt": "text", "record.doc": "doc"}


def truth(kind, d, out, origin):
    if kind == "filesdns_files":
        plan = json.load(open(os.path.join(d, "plan.json")))
        ports = json.load(open(os.path.join(d, "ports.json")))
        fs = [{"type": v["type"], "value": v["value"], "direction": "to_server", "where": v["where"],
               "dest_port": 8080} for v in plan["values"] if v["file"] in plan["files"]]
        files = [{"name": n, "magic": MAGIC[n], "client_port": ports[n], "size": m["size"],
                  "sha256": m["sha256"],
                  "findings": len({v["value"] for v in plan["values"] if v["file"] == n})}
                 for n, m in plan["files"].items()]
        t = {"pcap": kind + ".pcap", "origin": origin, "client_ip": "127.0.0.1",
             "flow_ports": "dest_port = server port", "findings": fs, "files": files}
    else:
        v = json.load(open(os.path.join(d, "values.json")))
        fs = [{"type": "cn_mobile", "value": v["mobile"], "direction": "to_server",
               "where": "http.request_body", "dest_port": 8086, "dest_name": "tcp.example.cn"}]
        t = {"pcap": kind + ".pcap", "origin": origin, "client_ip": "127.0.0.1",
             "flow_ports": "dest_port = server port", "findings": fs,
             "note": "tcp.example.cn is resolved over TCP only (dig +tcp); the POST has no Host header"}
    with open(out, "w") as f:
        json.dump(t, f, indent=1)
        f.write("\n")


def values(d):
    s = Synth(5253)
    v = {"mobile": s.mobile()}
    json.dump(v, open(os.path.join(d, "values.json"), "w"))
    with open(os.path.join(d, "form.txt"), "w") as f:
        f.write("phone=%s" % v["mobile"])


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"make-files": make_files, "http-server": http_server, "truth": truth,
     "values": values}[cmd](*args)
