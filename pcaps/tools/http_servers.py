#!/usr/bin/env python3
"""Real-server HTTP captures for pcaps/make_http_evasion.sh (synthetic PI only).

nginx (gzip and brotli on static files, chunked; reverse proxy for /api/ and
/upload) in front of an aiohttp app (form, JSON and multipart receivers, a
gzip-compressed JSON lookup and a chunked export). curl and python
requests/http.client talk to both with keep-alive. Every planted value is
recorded with the place leakwatch must report it.

CLI (run by make_http_evasion.sh inside a netns):
  http_servers.py prepare DIR           plan.json, nginx.conf, static files, upload file
  http_servers.py backend DIR           aiohttp app on 127.0.0.2:8091
  http_servers.py clients DIR           curl + python traffic (client ports 44001..)
  http_servers.py truth DIR OUT ORIGIN  ground truth from plan.json
"""
import hashlib
import http.client
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from synth_pi import Synth, card_spaced, mobile_intl  # noqa: E402

SERVER = "127.0.0.2"
NGINX, BACKEND = 8088, 8091
HOST = "shop.example.cn"


def plan_values():
    """Every planted value: key -> (type, value, direction, where, server ports)."""
    s = Synth(7070)
    v = {}

    def put(key, kind, value, direction, where, ports):
        v[key] = {"type": kind, "value": value, "direction": direction, "where": where, "ports": ports}

    put("static_mobile", "cn_mobile", s.mobile(), "to_client", "http.response_body", [NGINX])
    put("static_email", "email", s.email(), "to_client", "http.response_body", [NGINX])
    put("br_card", "bank_card", s.card(), "to_client", "http.response_body", [NGINX])
    put("query_id", "cn_resident_id", s.resident_id(), "to_server", "http.uri", [NGINX, BACKEND])
    put("lookup_mobile", "cn_mobile", s.mobile(), "to_client", "http.response_body", [NGINX, BACKEND])
    put("lookup_id", "cn_resident_id", s.resident_id(want_x=True), "to_client", "http.response_body",
        [NGINX, BACKEND])
    put("export_card", "bank_card", s.card(), "to_client", "http.response_body", [BACKEND])
    put("form_id", "cn_resident_id", s.resident_id(), "to_server", "http.request_body", [NGINX])
    put("form_mobile", "cn_mobile", s.mobile(), "to_server", "http.request_body", [NGINX])
    put("json_email", "email", s.email(), "to_server", "http.request_body", [NGINX, BACKEND])
    put("json_card", "bank_card", s.card(), "to_server", "http.request_body", [NGINX, BACKEND])
    put("upload_id", "cn_resident_id", s.resident_id(), "to_server", "http.request_body", [NGINX, BACKEND])
    put("upload_card", "bank_card", s.card(), "to_server", "http.request_body", [NGINX, BACKEND])
    put("note_mobile", "cn_mobile", s.mobile(), "to_server", "http.request_body", [NGINX, BACKEND])
    return v


def prepare(d):
    v = plan_values()
    p = {k: x["value"] for k, x in v.items()}
    www = os.path.join(d, "www")
    os.makedirs(os.path.join(www, "static"), exist_ok=True)
    os.makedirs(os.path.join(www, "br"), exist_ok=True)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    members = {"members": [{"name": "Li Na", "mobile": mobile_intl(p["static_mobile"]), "level": "gold"},
                           {"name": "Zhou Min", "email": p["static_email"].upper(), "level": "silver"}],
               "filler": ["record %03d active" % i for i in range(60)]}
    with open(os.path.join(www, "static", "members.json"), "w") as f:
        json.dump(members, f, indent=1)
    page = "<html><body><h1>Statement</h1><p>Card: %s</p>%s</body></html>\n" % (
        card_spaced(p["br_card"]), "".join("<p>line %d of the statement</p>" % i for i in range(80)))
    with open(os.path.join(www, "br", "statement.html"), "w") as f:
        f.write(page)
    csv = "name,id,card\nWang Fang,%s,%s\n" % (p["upload_id"], p["upload_card"])
    csv += "".join("row%02d,n/a,n/a\n" % i for i in range(20))
    with open(os.path.join(d, "contacts.csv"), "w") as f:
        f.write(csv)
    conf = NGINX_CONF.replace("@D@", d)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf)
    files = {"contacts.csv": {"size": len(csv), "sha256": hashlib.sha256(csv.encode()).hexdigest()}}
    with open(os.path.join(d, "plan.json"), "w") as f:
        json.dump({"values": v, "files": files}, f, indent=1)


NGINX_CONF = """
daemon off;
user root;
worker_processes 1;
pid @D@/nginx.pid;
error_log @D@/nginx.err;
load_module /usr/lib/nginx/modules/ngx_http_brotli_filter_module.so;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path @D@/tmp/body;
    proxy_temp_path @D@/tmp/proxy;
    fastcgi_temp_path @D@/tmp/fcgi;
    uwsgi_temp_path @D@/tmp/uwsgi;
    scgi_temp_path @D@/tmp/scgi;
    types { application/json json; text/html html; }
    keepalive_requests 100;
    server {
        listen 127.0.0.2:8088;
        server_name shop.example.cn;
        root @D@/www;
        gzip on;
        gzip_min_length 0;
        gzip_proxied any;
        gzip_types application/json text/html;
        location /br/ {
            gzip off;
            brotli on;
            brotli_min_length 0;
            brotli_types text/html application/json;
        }
        location /api/ {
            proxy_pass http://127.0.0.2:8091;
            proxy_bind 127.0.0.2;
            proxy_http_version 1.1;
        }
        location /upload {
            proxy_pass http://127.0.0.2:8091;
            proxy_bind 127.0.0.2;
            client_max_body_size 1m;
        }
    }
}
"""


def load_plan(d):
    with open(os.path.join(d, "plan.json")) as f:
        return json.load(f)


def backend(d):
    from aiohttp import web
    p = {k: x["value"] for k, x in load_plan(d)["values"].items()}

    async def lookup(req):
        resp = web.json_response({"member": {"name": "Wang Fang", "mobile": p["lookup_mobile"],
                                             "id": p["lookup_id"]},
                                  "history": ["visit %02d" % i for i in range(40)]})
        resp.enable_compression()
        return resp

    async def export(req):
        resp = web.StreamResponse(headers={"Content-Type": "text/csv"})
        resp.enable_chunked_encoding()
        await resp.prepare(req)
        card = p["export_card"]
        for piece in ("name,card\nWang Fang,", card[:7], card[7:13], card[13:], "\n"):
            await resp.write(piece.encode())
        await resp.write_eof()
        return resp

    async def form(req):
        data = await req.post()
        return web.json_response({"ok": True, "fields": len(data)})

    async def js(req):
        data = await req.json()
        return web.json_response({"ok": True, "keys": len(data)})

    async def upload(req):
        data = await req.post()
        f = data.get("file")
        size = len(f.file.read()) if f is not None else 0
        return web.json_response({"ok": True, "size": size})

    app = web.Application()
    app.router.add_get("/api/lookup", lookup)
    app.router.add_get("/api/export", export)
    app.router.add_post("/api/form", form)
    app.router.add_post("/api/json", js)
    app.router.add_post("/upload", upload)
    print("ready", flush=True)
    web.run_app(app, host=SERVER, port=BACKEND, print=None, access_log=None)


def curl(port, *args):
    subprocess.run(["curl", "-sS", "--compressed", "--interface", "127.0.0.1", "--local-port", str(port),
                    "--resolve", "%s:%d:%s" % (HOST, NGINX, SERVER)] + list(args),
                   check=True, stdout=subprocess.DEVNULL, timeout=20)


def clients(d):
    import requests
    p = {k: x["value"] for k, x in load_plan(d)["values"].items()}
    base = "http://%s:%d" % (HOST, NGINX)
    csv = os.path.join(d, "contacts.csv")
    # 44001: curl keep-alive, three GETs on one connection (gzip, br, proxied query).
    curl(44001, base + "/static/members.json", "-o", "/dev/null", base + "/br/statement.html", "-o", "/dev/null",
         base + "/api/lookup?id=%s&src=app" % p["query_id"], "-o", "/dev/null")
    curl(44002, "-o", "/dev/null", "-d", "name=Li+Na&id=%s&mobile=%s" % (p["form_id"], p["form_mobile"]),
         base + "/api/form")
    curl(44003, "-o", "/dev/null", "-H", "Content-Type: application/json",
         "-d", json.dumps({"email": p["json_email"], "card": p["json_card"]}), base + "/api/json")
    curl(44004, "-o", "/dev/null", "-F", "file=@%s;type=text/csv" % csv, "-F", "note=call %s" % p["note_mobile"],
         base + "/upload")
    # 44005: python requests, one keep-alive session straight to aiohttp.
    direct = "http://%s:%d" % (SERVER, BACKEND)
    s = requests.Session()
    s.headers["Host"] = "api.example.cn:%d" % BACKEND
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=1)
    s.mount("http://", adapter)
    src = ("127.0.0.1", 44005)
    adapter.init_poolmanager(1, 1, source_address=src)
    s.get(direct + "/api/lookup", params={"id": p["query_id"]}).raise_for_status()
    s.get(direct + "/api/export").raise_for_status()
    s.post(direct + "/api/json", json={"email": p["json_email"], "card": p["json_card"]}).raise_for_status()
    with open(csv, "rb") as f:
        s.post(direct + "/upload", files={"file": ("contacts.csv", f, "text/csv")},
               data={"note": "call %s" % p["note_mobile"]}).raise_for_status()
    s.close()
    # 44006: http.client, gzip lookup through nginx without decoding (raw bytes on the wire are the same).
    c = http.client.HTTPConnection(SERVER, NGINX, source_address=("127.0.0.1", 44006), timeout=10)
    c.request("GET", "/api/lookup?id=%s" % p["query_id"], headers={"Host": HOST, "Accept-Encoding": "gzip"})
    c.getresponse().read()
    c.close()


def truth(d, out, origin):
    plan = load_plan(d)
    findings = []
    for x in plan["values"].values():
        for port in x["ports"]:
            findings.append({"type": x["type"], "value": x["value"], "direction": x["direction"],
                             "where": x["where"], "dest_port": port})
    files = [{"name": n, "size": f["size"], "sha256": f["sha256"], "direction": "to_server", "dest_ports": [NGINX, BACKEND]}
             for n, f in plan["files"].items()]
    t = {"pcap": "http_servers.pcap", "origin": origin, "client_ip": "10.20.1.15", "server_ip": "198.51.100.80",
         "hostnames": {"8088": HOST, "8091": "api.example.cn"},
         "findings": findings, "files": files, "decoys": []}
    with open(out, "w") as f:
        json.dump(t, f, indent=1)
        f.write("\n")


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "prepare":
        prepare(d)
    elif cmd == "backend":
        backend(d)
    elif cmd == "clients":
        clients(d)
    elif cmd == "truth":
        truth(d, sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
