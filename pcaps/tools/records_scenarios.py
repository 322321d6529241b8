#!/usr/bin/env python3
"""Bulk-record captures for the records estimate (pcaps/make_records.sh).

  gen DIR            write orders.csv.gz (600 order rows of 45 repeat
                     customers: mobile + free-text address) and export.json
                     (120 distinct user objects under {"data":[...]}), and
                     DIR/expect.json with what each event must report;
                     profile.html (HTML label layouts: th/td, dt/dd,
                     colon labels, two-column rows, Bootstrap read-only
                     form groups, Element description lists, with
                     header-row and form decoys) and
                     DIR/labels.json; edit.html (pre-filled
                     form controls: Django, Rails and PHP styles), save.form
                     (the body of a PHP-style form post) and DIR/controls.json
  http-server DIR    serve GET /export.json (gzip), /profile.html and
                     /edit.html, and accept POSTs on 127.0.0.2:8080; prints
                     "ready"
  truth DIR PCAP ORIGIN OUT [EXPECT]   ground truth next to the pcap
                     (EXPECT: expect.json, labels.json or controls.json)

All PI is synthetic (valid checksums from pcaps/synth_pi.py).
"""
import gzip
import http.server
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from synth_pi import Synth  # noqa: E402

SRV, PORT = "127.0.0.2", 8080
ROWS, CUSTOMERS, USERS = 600, 45, 120
PLACES = ["北京市海淀区", "上海市浦东新区", "广州市天河区", "深圳市南山区",
          "杭州市西湖区", "成都市武侯区", "南京市鼓楼区", "武汉市洪山区"]
ROADS = ["中关村大街", "文三路", "体育西路", "科技园路", "人民南路", "中山北路", "珞喻路"]
SURNAMES = "张王李赵刘陈杨黄周吴"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰"]


def customers(s):
    out, seen = [], set()
    while len(out) < CUSTOMERS:
        m = s.mobile()
        addr = "%s%s%d号" % (s.r.choice(PLACES), s.r.choice(ROADS), s.r.randint(1, 999))
        if m in seen or addr in {c[2] for c in out}:
            continue
        seen.add(m)
        out.append((s.r.choice(SURNAMES) + s.r.choice(GIVEN), m, addr))
    return out


def gen(d):
    s = Synth(20261122)
    cs = customers(s)
    lines = ["订单号,姓名,手机,住址,金额"]
    for i in range(ROWS):
        name, mobile, addr = cs[i % CUSTOMERS]
        # Every fifth address is quoted with a comma and a newline inside
        # (one CSV record over two lines).
        cell = '"%s,\n%d单元"' % (addr, i % 6 + 1) if i % 5 == 0 else addr
        lines.append("DD2026%08d,%s,%s,%s,%d.%02d" % (i, name, mobile, cell, 10 + i % 90, i % 100))
    csv = ("\r\n".join(lines) + "\r\n").encode()
    with open(os.path.join(d, "orders.csv.gz"), "wb") as f:
        f.write(gzip.compress(csv, 9, mtime=0))
    users, ids, mails, mobiles = [], set(), set(), set()
    while len(users) < USERS:
        u = {"uid": 100000 + len(users), "mobile": s.mobile(), "email": s.email(),
             "idCard": s.resident_id(), "vip": len(users) % 3 == 0}
        if u["mobile"] in mobiles or u["email"] in mails or u["idCard"] in ids:
            continue
        mobiles.add(u["mobile"]), mails.add(u["email"]), ids.add(u["idCard"])
        users.append(u)
    body = json.dumps({"code": 0, "total": USERS, "data": users}, separators=(",", ":"))
    with open(os.path.join(d, "export.json"), "wb") as f:
        f.write(body.encode())
    expect = {
        "events": [
            {"direction": "to_server", "where": "http.request_body", "records": ROWS,
             "distinct": {"cn_mobile": CUSTOMERS, "cn_address": CUSTOMERS,
                          "cn_name": len({c[0] for c in cs})},
             "severity": "high",
             "why": "600 CSV rows (5 header columns, every fifth row with a quoted "
                    "two-line address) of 45 repeat customers (36 distinct names, "
                    "found through the 姓名 column): 126 distinct values alone "
                    "would be medium, 600 records reach tier 500"},
            {"direction": "to_client", "where": "http.response_body", "records": USERS,
             "distinct": {"cn_mobile": USERS, "email": USERS, "cn_resident_id": USERS},
             "severity": "medium",
             "why": "JSON export {\"data\":[120 objects]}: 360 distinct values (medium "
                    "tier 50; a download from a server located in CN: no raise) in 120 records"},
        ],
        "values": sorted([c[1] for c in cs] + [c[2] for c in cs] + list(mobiles) + list(mails)
                         + list(ids)),
    }
    with open(os.path.join(d, "expect.json"), "w") as f:
        json.dump(expect, f, ensure_ascii=False, indent=1)
    gen_profiles(d, s)
    gen_controls(d, s)


# Label layouts of a profile page: (name label, address label, ethnicity
# label) per layout, and how a value follows its label.
def profile_card(k, name, addr, nation, mobile):
    if k == 0:  # a key/value table with <th> labels, four cells a row
        return ("<table class=\"info\">\n<tr><th>姓名</th><td>%s</td><th>民族</th><td>%s</td></tr>\n"
                "<tr><th>家庭住址</th><td colspan=\"3\">%s</td></tr>\n"
                "<tr><th>手机</th><td>%s</td></tr>\n</table>\n" % (name, nation, addr, mobile))
    if k == 1:  # a definition list, labels padded with ideographic spaces
        return ("<dl>\n  <dt>姓　　名</dt>\n  <dd>%s</dd>\n  <dt>民　　族</dt><dd>%s</dd>\n"
                "  <dt>住　　址</dt><dd><span>%s</span></dd>\n  <dt>手机号码</dt><dd>%s</dd>\n</dl>\n"
                % (name, nation, addr, mobile))
    if k == 2:  # div rows with colon labels
        return ("<div class=\"row\"><div class=\"label\">姓名：</div>\n"
                "  <div class=\"value\">%s</div></div>\n"
                "<div class=\"row\"><span>民族:</span> <span>%s</span></div>\n"
                "<div class=\"row\"><label>联系地址：</label><em>%s</em></div>\n"
                "<div class=\"row\"><label>联系电话：</label><em>%s</em></div>\n" % (name, nation, addr, mobile))
    if k == 3:  # a four-column key/value table with <td> labels (label, value, label, value)
        return ("<table class=\"profile\">\n  <tr>\n    <td class=\"k\">姓名</td><td>%s</td>\n"
                "    <td class=\"k\">性别</td><td>男</td>\n  </tr>\n  <tr>\n"
                "    <td class=\"k\">民族</td><td>%s</td>\n    <td class=\"k\">手机</td><td>%s</td>\n"
                "  </tr>\n  <tr>\n    <td class=\"k\">家庭住址</td><td colspan=\"3\">%s</td>\n  </tr>\n"
                "</table>\n" % (name, nation, mobile, addr))
    if k == 5:  # Bootstrap read-only form groups: the value's element is
        # indented ~75 bytes of markup after the label
        group = ("  <div class=\"form-group\">\n    <label class=\"col-sm-2 control-label\">%s</label>\n"
                 "    <div class=\"col-sm-10\">\n      <p class=\"form-control-static\">%s</p>\n"
                 "    </div>\n  </div>\n")
        return ("<div class=\"form-horizontal\">\n%s%s%s%s</div>\n"
                % (group % ("姓名", name), group % ("民族", nation), group % ("家庭住址", addr),
                   group % ("手机号码", mobile)))
    if k == 6:  # Element's description list: classes say which span is the label
        item = ("<td colspan=\"1\" class=\"el-descriptions-item el-descriptions-item__cell\">"
                "<div class=\"el-descriptions-item__container\">"
                "<span class=\"el-descriptions-item__label has-colon\">%s</span>"
                "<span class=\"el-descriptions-item__content\">%s</span></div></td>")
        return ("<div class=\"el-descriptions\"><div class=\"el-descriptions__body\"><table "
                "class=\"el-descriptions__table\"><tbody>\n<tr class=\"el-descriptions-row\">%s%s</tr>\n"
                "<tr class=\"el-descriptions-row\">%s%s</tr>\n</tbody></table></div></div>\n"
                % (item % ("姓名", name), item % ("民族", nation), item % ("联系地址", addr),
                   item % ("手机号码", mobile)))
    # a two-column key/value table with <td> labels
    return ("<table border=\"1\">\n<tr><td>姓名</td><td>%s</td></tr>\n<tr><td>民族</td><td>%s</td></tr>\n"
            "<tr><td>通讯地址</td><td>%s</td></tr>\n<tr><td>手机</td><td>%s</td></tr>\n</table>\n"
            % (name, nation, addr, mobile))


# Decoys: a results table whose header row is 姓名 | 单位 / 成绩 (单 and 成
# are surnames), a four-column header row of td cells, an empty
# registration form, and a name in running text.
DECOYS = (
    "<table><tr><td>姓名</td><td>单位</td></tr></table>\n"
    "<table><tr><td>姓名</td><td>民族</td><td>诊断</td><td>备注</td><td>密码</td><td>状态</td></tr></table>\n"
    "<table><tr><th>姓名</th><th>成绩</th></tr></table>\n"
    "<form><table><tr><th>姓名</th><td><input type=\"text\" name=\"xm\"></td></tr>\n"
    "<tr><th>住址</th><td><textarea name=\"dz\"></textarea></td></tr></table></form>\n"
    "<p>联系人张伟已离职，请勿联系。</p>\n"
)
PROFILES = 12
NATIONS = ["汉族", "回族", "满族", "蒙古族", "壮族", "苗族"]


def distinct_people(s, n):
    """n people (name, address, ethnicity, mobile) with distinct names,
    addresses and mobiles; also the sets of each."""
    people, names, addrs, mobiles = [], set(), set(), set()
    while len(people) < n:
        name = s.r.choice(SURNAMES) + s.r.choice(GIVEN) + s.r.choice(["", s.r.choice(GIVEN)])
        addr = "%s%s%d号" % (s.r.choice(PLACES), s.r.choice(ROADS), s.r.randint(1, 999))
        m = s.mobile()
        if name in names or addr in addrs or m in mobiles:
            continue
        names.add(name), addrs.add(addr), mobiles.add(m)
        people.append((name, addr, s.r.choice(NATIONS), m))
    return people, names, addrs, mobiles


def gen_profiles(d, s):
    people, names, addrs, mobiles = distinct_people(s, PROFILES)
    cards = "".join('<section id="p%d">\n%s</section>\n' % (i, profile_card(i % 7, *p))
                    for i, p in enumerate(people))
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>员工档案</title></head>\n"
            "<body>\n<h1>员工档案</h1>\n%s%s</body></html>\n" % (DECOYS, cards))
    with open(os.path.join(d, "profile.html"), "wb") as f:
        f.write(page.encode())
    nations = {p[2] for p in people}
    expect = {
        "events": [
            {"direction": "to_client", "where": "http.response_body",
             "distinct": {"cn_name": PROFILES, "cn_address": PROFILES, "cn_mobile": PROFILES,
                          "sensitive_attr": len(nations)},
             "detectors": {"cn_name": PROFILES, "cn_address": PROFILES,
                           "sensitive_attr": len(nations)},
             "why": "12 profiles in seven label layouts (th/td rows, dt/dd with padded labels, "
                    "colon labels in divs, four-column and two-column td rows, Bootstrap "
                    "read-only form groups with indented markup, Element description lists "
                    "whose classes name the labels): every name, "
                    "address and ethnicity through its label at high confidence; the header "
                    "rows (姓名 | 单位, 姓名 | 成绩, 姓名 | 民族 | 诊断 | 备注 | 密码 | 状态), the "
                    "empty form and the name in running text are no values"},
        ],
        "values": sorted(list(names) + list(addrs) + list(mobiles) + list(nations)),
    }
    with open(os.path.join(d, "labels.json"), "w") as f:
        json.dump(expect, f, ensure_ascii=False, indent=1)


# Pre-filled edit forms as four frameworks write them: Django (name
# before value, textarea), Rails (value before name, bracketed names), PHP
# (bracketed names, single quotes), JSP/Bootstrap (ethnicity and political
# status as selects whose selected option lies many options after the name;
# the political-status select has a form builder's name, `field_7`, so only
# its label names it).
SELECT_NATIONS = NATIONS + ["维吾尔族", "土家族", "彝族", "藏族", "布依族", "侗族", "瑶族", "朝鲜族",
                            "白族", "哈尼族", "黎族", "哈萨克族", "傣族"]
PARTIES = ["中共党员", "共青团员", "群众"]


def select(name, options, chosen, selected_attr):
    opts = "".join('  <option value="%02d"%s>%s</option>\n'
                   % (i + 1, selected_attr if o == chosen else "", o)
                   for i, o in enumerate(options))
    return ('<select class="form-control" name="%s" id="%s">\n  <option value="">请选择</option>\n'
            '%s</select>' % (name, name, opts))


def control_card(k, name, addr, nation, mobile, party):
    if k == 0:
        return ('<p><label for="id_real_name">姓名</label> <input type="text" name="real_name" '
                'value="%s" maxlength="50" required id="id_real_name"></p>\n'
                '<p><textarea name="address" cols="40" rows="3" id="id_address">\n%s</textarea></p>\n'
                '<p><input type="text" name="nation" value="%s" id="id_nation"></p>\n'
                '<p><input type="tel" name="mobile" value="%s" id="id_mobile"></p>\n'
                % (name, addr, nation, mobile))
    if k == 1:
        return ('<input type="text" value="%s" name="user[name]" id="user_name" />\n'
                '<input type="text" value="%s" name="user[home_address]" id="user_home_address" />\n'
                '<input value="%s" name="user[ethnicity]" type="text" />\n'
                '<input type="tel" value="%s" name="user[mobile]" id="user_mobile" />\n'
                % (name, addr, nation, mobile))
    if k == 2:
        return ("<td><input type='text' name='info[xm]' value='%s' class='input-text'></td>\n"
                "<td><textarea name='info[jtzz]' class='textarea'>%s</textarea></td>\n"
                "<td><input name='info[mz]' value='%s' type='text'></td>\n"
                "<td><input name='info[sjhm]' value='%s' type='text'></td>\n"
                % (name, addr, nation, mobile))
    return ('<div class="form-group"><label>姓名</label><input id="xm" class="form-control" '
            'value="%s" readonly></div>\n'
            '<div class="form-group"><label>民族</label>%s</div>\n'
            '<div class="form-group"><label>政治面貌</label>%s</div>\n'
            '<div class="form-group"><label>现住址</label><textarea class="form-control" '
            'name="jtzz">%s</textarea></div>\n'
            '<div class="form-group"><label>手机号码</label><input class="form-control" '
            'name="sjhm" value="%s"></div>\n'
            % (name, select("nation", SELECT_NATIONS, nation, ' selected="selected"'),
               select("field_7", PARTIES, party, " selected"), addr, mobile))


# Decoys: a search box holding a name, a meta author, an empty control, an
# option, a remark textarea naming someone, an address placeholder.
CONTROL_DECOYS = (
    '<form action="/search"><input type="search" name="keyword" value="张伟"></form>\n'
    '<meta name="author" content="李娜">\n'
    '<input type="text" name="xm" value="">\n'
    '<select name="owner"><option value="王芳">王芳</option></select>\n'
    '<select class="picker"><option value="1" selected>佛教</option></select>\n'
    '<span id="pageTitle">王芳的档案</span>\n'
    '<select name="club"><option value="2" selected="selected">回族</option></select>\n'
    '<textarea name="remark">联系人赵敏已离职，请勿联系。</textarea>\n'
    '<input type="text" name="address" placeholder="请输入详细地址">\n'
)
# Radio buttons: only the checked one is the field's value; the unchecked
# ones offer other valid religions. In the second group the values are
# codes, and the checked button's label text is the value.
RADIOS = (
    '<p>宗教信仰：<input type="radio" name="religion" value="佛教">佛教\n'
    '<input type="radio" name="religion" value="伊斯兰教">伊斯兰教\n'
    '<input type="radio" name="religion" value="基督教">基督教\n'
    '<input type="radio" name="religion" value="道教" checked>道教</p>\n'
    '<p><label><input type="radio" name="zjxy" value="1">佛教</label>\n'
    '<label><input type="radio" name="zjxy" value="5" checked>天主教</label></p>\n'
)
RADIO_CHECKED = ["道教", "天主教"]
# A Bootstrap grid row: the label in a column of its own (its div closes
# before the select's opens), the select indented past 48 bytes of markup
# and named by a form builder, so only the wrapped label names it. Its
# selected religion is an unchecked radio button's value above.
GRID_SELECT = (
    '<div class="row">\n'
    '    <div class="col-md-2"><label>宗教信仰</label></div>\n'
    '    <div class="col-md-4">\n'
    '        <select name="field_9" class="form-control">\n'
    '            <option value="01">佛教</option>\n'
    '            <option value="03" selected>基督教</option>\n'
    '        </select>\n'
    '    </div>\n'
    '</div>\n'
)
GRID_SELECTED = ["基督教"]
EDITS, POSTS = 9, 2
PASSWORD = "Qz7!mK2#vB9p"


def gen_controls(d, s):
    people, names, addrs, mobiles = distinct_people(s, EDITS + POSTS)
    edits, posts = people[:EDITS], people[EDITS:]
    parties = [s.r.choice(PARTIES) for _ in edits]
    cards = "".join('<form method="post" action="/profile/%d">\n%s</form>\n'
                    % (i, control_card(i % 4, *p, parties[i])) for i, p in enumerate(edits))
    selected_parties = {parties[i] for i in range(len(edits)) if i % 4 == 3}
    pw = ('<form action="/account"><input type="text" name="username" value="ops01">\n'
          '<input type="password" name="password" value="%s" autocomplete="off"></form>\n' % PASSWORD)
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>编辑档案</title></head>\n"
            "<body>\n%s%s%s%s%s</body></html>\n" % (CONTROL_DECOYS, RADIOS, GRID_SELECT, cards, pw))
    with open(os.path.join(d, "edit.html"), "wb") as f:
        f.write(page.encode())
    # PHP form arrays, percent-encoded as a browser posts them
    # (info%5B0%5D%5Brealname%5D=%E8%B5%B5...).
    fields = [("info[%d][%s]" % (i, k), v)
              for i, (name, addr, nation, mobile) in enumerate(posts)
              for k, v in (("realname", name), ("address", addr), ("mz", nation), ("mobile", mobile))]
    with open(os.path.join(d, "save.form"), "w") as f:
        f.write(urllib.parse.urlencode(fields + [("submit", "保存")]))

    def distinct(ps):
        return {"cn_name": len(ps), "cn_address": len(ps), "cn_mobile": len(ps),
                "sensitive_attr": len({p[2] for p in ps})}
    get_d = distinct(edits)
    get_d["sensitive_attr"] += len(selected_parties) + len(RADIO_CHECKED) + len(GRID_SELECTED)
    get_d["credential"] = 1
    expect = {
        "events": [
            {"direction": "to_server", "where": "http.request_body",
             "distinct": distinct(posts),
             "detectors": {"cn_name": len(posts), "cn_address": len(posts)},
             "why": "a PHP-style form post (info[0][realname]=..., percent-encoded) of two "
                    "people: names, addresses and ethnicities through their bracketed keys"},
            {"direction": "to_client", "where": "http.response_body",
             "distinct": get_d,
             "detectors": {"cn_name": len(edits), "cn_address": len(edits), "credential": 1},
             "why": "9 pre-filled edit forms (Django: name before value and a textarea; Rails: "
                    "value before a bracketed name; PHP: bracketed names in single quotes; "
                    "JSP/Bootstrap: a read-only name named by its id alone, ethnicity and "
                    "political status as selects, the selected option up to 20 options after "
                    "the name, the political-status select named field_7 and so named only by "
                    "the label before it), two religion radio groups with one checked button "
                    "each (the second with code values, its label text the value), a "
                    "religion select named field_9 in a grid column, named only by the label "
                    "in the column before it (its div closed first, 51 bytes of markup), "
                    "and a pre-filled password control; the search box, meta author, "
                    "empty control, unselected option, unchecked radio buttons, unnamed and "
                    "non-field selects, page "
                    "title span, remark textarea and address placeholder are no values"},
        ],
        "values": sorted(list(names) + list(addrs) + list(mobiles)
                         + list({p[2] for p in people}) + sorted(selected_parties)
                         + RADIO_CHECKED + GRID_SELECTED + [PASSWORD]),
    }
    with open(os.path.join(d, "controls.json"), "w") as f:
        json.dump(expect, f, ensure_ascii=False, indent=1)


def http_server(d):
    with open(os.path.join(d, "export.json"), "rb") as f:
        export = gzip.compress(f.read(), 9, mtime=0)
    with open(os.path.join(d, "profile.html"), "rb") as f:
        profile = f.read()
    with open(os.path.join(d, "edit.html"), "rb") as f:
        edit = f.read()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, body, ctype, enc=None):
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            if enc:
                self.send_header("Content-Encoding", enc)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path in ("/profile.html", "/edit.html"):
                page = profile if self.path == "/profile.html" else edit
                self._send(page, "text/html; charset=utf-8")
                return
            if self.path != "/export.json":
                self.send_error(404)
                return
            self._send(export, "application/json; charset=utf-8", "gzip")

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._send(b'{"ok":true}', "application/json")

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer((SRV, PORT), H)
    print("ready", flush=True)
    httpd.serve_forever()


def truth(d, pcap, origin, out, expect="expect.json"):
    with open(os.path.join(d, expect)) as f:
        e = json.load(f)
    t = {"pcap": pcap, "origin": origin, "client_ip": "10.20.1.15",
         "server_ip": "198.51.100.80", "events": e["events"],
         "value_count": len(e["values"])}
    with open(out, "w") as f:
        json.dump(t, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2])
    elif cmd == "http-server":
        http_server(sys.argv[2])
    elif cmd == "truth":
        truth(*sys.argv[2:7])
    else:
        sys.exit("unknown command " + cmd)
