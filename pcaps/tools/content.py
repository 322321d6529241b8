"""Deterministic payloads and ground truth for every scenario.

Both the traffic programs (scenarios.py) and the truth writer import this
module, so the bytes on the wire and the truth files cannot drift apart.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import synth_pi as sp  # noqa: E402

SERVER_PORT_HTTP = 8080
SERVER_PORT_TINY = 9000
SERVER_PORT_BULK = 9100
SERVER_PORT_UDP = 5514
# Fixed client source ports so the truth can name whole flows.
PORT_FORM, PORT_JSON = 41001, 41002
PORT_DECOY = (41301, 41302, 41303)
PORT_TINY, PORT_BULK, PORT_UDP = 41101, 41201, 41401
PORT_MIX_TCP, PORT_MIX_UDP = 41501, 41502


def finding(typ, value, direction, where, src_port, dest_port):
    return {"type": typ, "value": value, "direction": direction, "where": where,
            "src_port": src_port, "dest_port": dest_port}


def _f(values, direction, where, src_port, dest_port):
    return [finding(t, v, direction, where, src_port, dest_port) for t, v in values]


# ---------------------------------------------------------------- HTTP demo
def http_form_json():
    s = sp.Synth(101)
    id1, id2, id3, id4 = s.resident_id(want_x=True), s.resident_id(), s.resident_id(), s.resident_id(want_x=True)
    m1, m2, m3, m4, m5 = (s.mobile() for _ in range(5))
    c1, c2, c3 = s.card("unionpay19"), s.card("visa"), s.card("mastercard")
    c4 = s.card("unionpay16")
    e1, e2, e3 = s.email(), s.email(), s.email()
    form = "name=Li Na&idcard=%s&mobile=%s&card=%s&email=%s&agree=1" % (id1, m1, sp.card_spaced(c1), e1)
    js = json.dumps({"user": {"name": "Wang Fang", "id_no": id2, "phone": sp.mobile_intl(m2),
                              "alt_phone": sp.mobile_spaced(m3), "bank_card": sp.card_spaced(c2),
                              "email": e2, "order_ts": s.decoy_timestamp_ms()}}, ensure_ascii=False)
    resp_form = json.dumps({"status": "ok", "request_id": s.decoy_trace_id(),
                            "customer": {"id_no": id3, "mobile": m4, "card": c3, "email": e3.upper()}})
    resp_json = json.dumps({"status": "ok", "profile": {"id_no": id4, "mobile": sp.mobile_intl(m5),
                                                        "payout_card": c4}})
    truth = (_f([("cn_resident_id", id1), ("cn_mobile", m1), ("bank_card", c1), ("email", e1)],
                "to_server", "tcp.stream", PORT_FORM, SERVER_PORT_HTTP)
             + _f([("cn_resident_id", id3), ("cn_mobile", m4), ("bank_card", c3), ("email", e3.lower())],
                  "to_client", "tcp.stream", PORT_FORM, SERVER_PORT_HTTP)
             + _f([("cn_resident_id", id2), ("cn_mobile", m2), ("cn_mobile", m3), ("bank_card", c2),
                   ("email", e2)], "to_server", "tcp.stream", PORT_JSON, SERVER_PORT_HTTP)
             + _f([("cn_resident_id", id4), ("cn_mobile", m5), ("bank_card", c4)],
                  "to_client", "tcp.stream", PORT_JSON, SERVER_PORT_HTTP))
    return {"form": form, "json": js, "responses": {"/api/register": resp_form, "/api/profile": resp_json},
            "findings": truth, "decoys": []}


# ---------------------------------------------------------------- decoys
def benign_decoys():
    s = sp.Synth(404)
    d = s.decoys(3)
    rows = []
    for i in range(6):
        rows.append({"order_no": s.decoy_order_with_id(), "created_ms": int(s.decoy_timestamp_ms()),
                     "trace_id": s.decoy_trace_id(), "price": s.decoy_price(),
                     "sku": "SKU-%05d" % s.r.randint(0, 99999), "batch": s.decoy_bad_id(),
                     "voucher": s.decoy_bad_luhn(), "hotline_ext": s.decoy_bad_mobile()})
    decoys = sorted(set(d + [v for r in rows for k, v in r.items() if k not in ("sku",)
                             for v in [str(v)]]))
    html = ("<html><head><title>Orders</title></head><body><img src=\"/static/logo@2x.png\">\n"
            + "".join("<p>ref %s batch %s total %s</p>\n" % (x, y, z)
                      for x, y, z in zip(d[0::3], d[1::3], d[2::3]))
            + "<p>build abc%s</p></body></html>\n" % s.resident_id())
    decoys.append("abc" + html.split("build abc")[1].split("<")[0])
    js = json.dumps({"orders": rows, "page": 1, "server_time_ms": int(s.decoy_timestamp_ms())})
    log = "\n".join("%s INFO trace=%s order=%s amount=%s" % (s.decoy_timestamp_ms(), s.decoy_trace_id(),
                                                              s.decoy_order_with_id(), s.decoy_price())
                    for _ in range(8)) + "\n"
    for line in log.split("\n"):
        decoys += [w.split("=", 1)[-1] for w in line.split()[1:] if "=" in w]
    return {"responses": {"/page.html": html, "/orders.json": js, "/app.log": log},
            "findings": [], "decoys": sorted(set(x for x in decoys if x))}


# ---------------------------------------------------------------- tiny segments
def raw_tcp_segments(seed=202, cport=PORT_TINY, sport_=SERVER_PORT_TINY):
    s = sp.Synth(seed)
    idc, m, c, e = s.resident_id(), s.mobile(), s.card("unionpay16"), s.email()
    idx, m2, c2 = s.resident_id(want_x=True), s.mobile(), s.card("visa")
    req = ("REGISTER name=Chen Jing id=%s mobile=%s card=%s email=%s\n" % (idc, sp.mobile_intl(m), sp.card_spaced(c), e))
    resp = "OK ref_id=%s contact=%s card=%s\n" % (idx.lower(), m2, c2)
    truth = (_f([("cn_resident_id", idc), ("cn_mobile", m), ("bank_card", c), ("email", e)],
                "to_server", "tcp.stream", cport, sport_)
             + _f([("cn_resident_id", idx), ("cn_mobile", m2), ("bank_card", c2)],
                  "to_client", "tcp.stream", cport, sport_))
    return {"request": req, "response": resp, "findings": truth, "decoys": [],
            "extra": {"values_split_across_segments": True}}


# ---------------------------------------------------------------- bulk
def _bulk_doc(s, n_bytes, n_pi, decoys):
    """Log-like text of ~n_bytes with n_pi PI values spread evenly."""
    words = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
             "incididunt ut labore et dolore magna aliqua warehouse shipment status pending").split()
    kinds = ["id", "mobile", "card", "email"]
    values = []
    lines = []
    size = 0
    every = max(1, n_bytes // n_pi)
    next_pi = every // 2
    while size < n_bytes:
        line = "2026-11-22T10:%02d:%02d.%03dZ INFO %s trace=%s qty=%d price=%s" % (
            s.r.randint(0, 59), s.r.randint(0, 59), s.r.randint(0, 999),
            " ".join(s.r.choice(words) for _ in range(s.r.randint(4, 12))),
            s.decoy_trace_id(), s.r.randint(1, 99), s.decoy_price())
        if s.r.random() < 0.05:
            d = s.r.choice([s.decoy_order_with_id, s.decoy_bad_id, s.decoy_timestamp_ms, s.decoy_bad_mobile])()
            decoys.append(d)
            line += " order=%s" % d
        if size >= next_pi and len(values) < n_pi:
            k = kinds[len(values) % 4]
            if k == "id":
                v = s.resident_id(want_x=(len(values) % 8 == 0))
                line += " customer_id=%s" % v
                values.append(("cn_resident_id", v))
            elif k == "mobile":
                v = s.mobile()
                line += " phone=%s" % (sp.mobile_spaced(v) if len(values) % 3 else v)
                values.append(("cn_mobile", v))
            elif k == "card":
                v = s.card(s.r.choice(["unionpay16", "unionpay19", "visa", "mastercard"]))
                line += " card=%s" % v
                values.append(("bank_card", v))
            else:
                v = s.email()
                line += " mail=%s" % v
                values.append(("email", v))
            next_pi += every
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n", values


def reorder_loss_dup():
    s = sp.Synth(303)
    decoys = []
    up, up_vals = _bulk_doc(s, 170_000, 24, decoys)
    down, down_vals = _bulk_doc(s, 120_000, 18, decoys)
    truth = (_f(up_vals, "to_server", "tcp.stream", PORT_BULK, SERVER_PORT_BULK)
             + _f(down_vals, "to_client", "tcp.stream", PORT_BULK, SERVER_PORT_BULK))
    return {"request": up, "response": down, "findings": truth, "decoys": sorted(set(decoys))}


# ---------------------------------------------------------------- UDP
def udp_payload(seed=505, cport=PORT_UDP):
    s = sp.Synth(seed)
    dgrams, vals = [], []
    for i in range(10):
        ts = "Nov 22 10:%02d:%02d" % (i, s.r.randint(0, 59))
        k = i % 4
        if k == 0:
            v = s.resident_id(want_x=(i == 4))
            msg = "kyc-svc[311]: verify ok idcard=%s" % v
            vals.append(("cn_resident_id", v))
        elif k == 1:
            v = s.mobile()
            msg = "sms-gw[88]: sent otp to %s" % (sp.mobile_intl(v) if i == 5 else v)
            vals.append(("cn_mobile", v))
        elif k == 2:
            v = s.card(["unionpay19", "mastercard", "visa"][i % 3])
            msg = "pay[902]: charge card=%s amount=%s" % (sp.card_spaced(v), s.decoy_price())
            vals.append(("bank_card", v))
        else:
            v = s.email()
            msg = "mailer[77]: queued to=<%s>" % v
            vals.append(("email", v))
        dgrams.append("<134>%s app01 %s" % (ts, msg))
    d1, d2, d3 = s.decoy_order_with_id(), s.decoy_bad_mobile(), s.decoy_bad_luhn()
    dgrams.insert(3, "<134>Nov 22 10:30:00 app01 order-svc[5]: order %s created sku ref %s" % (d1, d2))
    dgrams.insert(8, "<134>Nov 22 10:31:00 app01 pay[902]: rejected voucher %s" % d3)
    return {"datagrams": dgrams, "findings": _f(vals, "to_server", "udp.payload", cport, SERVER_PORT_UDP),
            "decoys": [d1, d2, d3]}


# ---------------------------------------------------------------- UDP fragments
SERVER_PORT_FRAG4, SERVER_PORT_FRAG6 = 5515, 5516
PORT_FRAG4, PORT_FRAG6 = 41601, 41602


def _big_datagram(s, vals, n_values):
    """~4000-byte syslog batch: filler lines with PI lines spread through it,
    so values land in later fragments and across fragment boundaries."""
    lines = []
    kinds = ["cn_resident_id", "cn_mobile", "bank_card", "email"]
    for i in range(n_values):
        k = kinds[(len(vals)) % 4]
        v = {"cn_resident_id": s.resident_id, "cn_mobile": s.mobile,
             "bank_card": lambda: s.card(["unionpay19", "visa", "mastercard"][len(vals) % 3]),
             "email": s.email}[k]()
        vals.append((k, v))
        for j in range(7 + i % 3):
            lines.append("<134>Nov 22 11:%02d:%02d app02 cache[12]: hit ratio 0.9%d key=blob/%05d"
                         % (i, j, j, s.r.randint(0, 99999)))
        lines.append("<134>Nov 22 11:%02d:59 app02 kyc-svc[311]: record %s=%s" % (i, k, v))
    body = "\n".join(lines)
    return body + " " * max(0, 4000 - len(body))


def udp_fragments(seed=909):
    s = sp.Synth(seed)
    v4_vals, v6_vals = [], []
    v4 = [_big_datagram(s, v4_vals, 4) for _ in range(3)]
    v6 = [_big_datagram(s, v6_vals, 4) for _ in range(2)]
    d1 = s.decoy_bad_luhn()
    v4.append("<134>Nov 22 11:59:00 app02 pay[902]: rejected voucher %s " % d1 + "." * 3000)
    return {"v4": v4, "v6": v6,
            "findings": _f(v4_vals, "to_server", "udp.payload", PORT_FRAG4, SERVER_PORT_FRAG4)
            + _f(v6_vals, "to_server", "udp.payload", PORT_FRAG6, SERVER_PORT_FRAG6),
            "decoys": [d1]}


def split_mixed():
    tcp = raw_tcp_segments(seed=606, cport=PORT_MIX_TCP)
    udp = udp_payload(seed=707, cport=PORT_MIX_UDP)
    return {"tcp": tcp, "udp": udp, "findings": tcp["findings"] + udp["findings"],
            "decoys": tcp["decoys"] + udp["decoys"]}


SCENARIOS = {
    "http_form_json": http_form_json,
    "benign_decoys": benign_decoys,
    "raw_tcp_segments": raw_tcp_segments,
    "reorder_loss_dup": reorder_loss_dup,
    "udp_payload": udp_payload,
    "udp_fragments": udp_fragments,
    "split": split_mixed,
}


def self_check():
    """Each scenario's planted values are exactly what the reference finds."""
    for name, fn in SCENARIOS.items():
        c = fn()
        want = {(f["type"], f["value"]) for f in c["findings"]}
        for d in c["decoys"]:
            assert not sp.ref_scan(d.encode()), (name, "decoy detected")
        assert len(set((f["type"], f["value"], f["direction"], f["src_port"]) for f in c["findings"])) \
            == len(c["findings"]), (name, "duplicate finding")
        print(name, len(want), "values,", len(c["decoys"]), "decoys")


if __name__ == "__main__":
    self_check()
