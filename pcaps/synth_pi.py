#!/usr/bin/env python3
"""Deterministic generator of SYNTHETIC personal information and decoys.

Every value is made up from a seeded RNG; none belongs to a real person.
Valid values pass the same checks a DLP detector applies (region prefix,
real birth date, ISO 7064 MOD 11-2, allocated mobile segment, IIN + Luhn).
Decoys are strings that look like PI but must NOT be reported.

Also holds `ref_scan`, a small reference detector used by make.sh to check
that the ground truth of each pcap is exactly what a correct detector finds.

CLI:  python3 synth_pi.py [--seed N] [--count N]   (prints a sample)
"""
import argparse
import datetime
import json
import random
import re

# County-level address codes (GB/T 2260). No `62` (Gansu) prefix on purpose:
# an 18-digit ID starting 62 could also be a Luhn-valid UnionPay number.
REGIONS = ["110105", "110108", "310104", "310115", "440305", "440106",
           "510107", "320102", "330106", "420102", "370102", "500103"]
PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
             41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65}
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"
MOBILE_SEGMENTS = ["138", "139", "135", "150", "151", "158", "186", "188",
                   "177", "199", "166", "130"]
# Segments that are NOT allocated (pi-formats.md section 3).
BAD_SEGMENTS = ["154", "194", "160", "161", "164", "169", "179"]
EMAIL_DOMAINS = ["example.com", "example.cn", "mail.example.com", "test.example.cn", "corp.test"]
FILE_TLDS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ico"}


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits."""
    s = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK[s % 11]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(body: str) -> str:
    """Append the Luhn check digit to `body`."""
    for d in "0123456789":
        if luhn_ok(body + d):
            return body + d
    raise AssertionError("unreachable")


class Synth:
    """Seeded source of valid PI values and decoys."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)

    # ---- valid values -------------------------------------------------
    def birth_date(self) -> str:
        start = datetime.date(1950, 1, 1).toordinal()
        end = datetime.date(2005, 12, 31).toordinal()
        return datetime.date.fromordinal(self.r.randint(start, end)).strftime("%Y%m%d")

    def resident_id(self, want_x: bool = False) -> str:
        """18-char resident ID; `want_x` forces a check character X."""
        while True:
            first17 = (self.r.choice(REGIONS) + self.birth_date()
                       + "%03d" % self.r.randint(1, 999))
            chk = id_check_char(first17)
            if (chk == "X") == want_x:
                return first17 + chk

    def mobile(self) -> str:
        return self.r.choice(MOBILE_SEGMENTS) + "%08d" % self.r.randint(0, 99999999)

    def card(self, kind: str = "unionpay16") -> str:
        r = self.r
        if kind == "unionpay16":
            body = "62" + "".join(r.choice("0123456789") for _ in range(13))
        elif kind == "unionpay19":
            body = "62" + "".join(r.choice("0123456789") for _ in range(16))
        elif kind == "visa":
            body = "4" + "".join(r.choice("0123456789") for _ in range(14))
        elif kind == "mastercard":
            body = "5" + str(r.randint(1, 5)) + "".join(r.choice("0123456789") for _ in range(13))
        else:
            raise ValueError(kind)
        return luhn_complete(body)

    def email(self) -> str:
        r = self.r
        user = r.choice(["zhang.wei", "li.na", "wang.fang", "liu.yang", "chen.jing",
                         "yang.min", "zhao.lei", "huang.xin", "zhou.tao", "wu.hui"])
        return "%s%d@%s" % (user, r.randint(1, 999), r.choice(EMAIL_DOMAINS))

    def name(self) -> str:
        return self.r.choice(["Zhang Wei", "Li Na", "Wang Fang", "Liu Yang", "Chen Jing"])

    # ---- decoys -------------------------------------------------------
    def decoy_order_with_id(self) -> str:
        """24 digits that contain a valid resident ID as a substring."""
        while True:
            core = self.resident_id()
            if core[-1] == "X":
                continue
            pre = "%03d" % self.r.randint(100, 999)
            return pre + core + "%03d" % self.r.randint(0, 999)

    def decoy_bad_id(self) -> str:
        """18 digits with a valid-looking region/date but a wrong check digit."""
        first17 = self.r.choice(REGIONS) + self.birth_date() + "%03d" % self.r.randint(1, 999)
        good = id_check_char(first17)
        bad = self.r.choice([c for c in "0123456789" if c != good])
        return first17 + bad

    def decoy_bad_luhn(self) -> str:
        """16 digits with a card-like IIN but a failing Luhn check."""
        good = self.card(self.r.choice(["unionpay16", "visa", "mastercard"]))
        last = int(good[-1])
        return good[:-1] + str((last + self.r.randint(1, 9)) % 10)

    def decoy_bad_mobile(self) -> str:
        return self.r.choice(BAD_SEGMENTS) + "%08d" % self.r.randint(0, 99999999)

    def decoy_timestamp_ms(self) -> str:
        return str(self.r.randint(1_600_000_000_000, 1_800_000_000_000))

    def decoy_trace_id(self) -> str:
        """32 hex chars with no digit run longer than 4 (so no digit-run PI)."""
        while True:
            h = "%032x" % self.r.getrandbits(128)
            if not re.search(r"\d{5}", h):
                return h

    def decoy_price(self) -> str:
        return self.r.choice(["%d.%02d" % (self.r.randint(1, 99999), self.r.randint(0, 99)),
                              "%d,%03d.00" % (self.r.randint(1, 99), self.r.randint(0, 999))])

    def decoy_glued_id(self) -> str:
        return self.r.choice(["abc", "id", "x", "ref"]) + self.resident_id()

    def decoys(self, n_each: int = 2) -> list:
        out = []
        for _ in range(n_each):
            out += [self.decoy_order_with_id(), self.decoy_bad_id(), self.decoy_bad_luhn(),
                    self.decoy_bad_mobile(), self.decoy_timestamp_ms(), self.decoy_trace_id(),
                    self.decoy_price(), self.decoy_glued_id()]
        out.append("logo@2x.png")
        return out


# ---- formatting helpers ------------------------------------------------
def mobile_spaced(m: str) -> str:
    return "%s %s %s" % (m[:3], m[3:7], m[7:])


def mobile_intl(m: str) -> str:
    return "+86 %s-%s-%s" % (m[:3], m[3:7], m[7:])


def card_spaced(c: str) -> str:
    return " ".join(c[i:i + 4] for i in range(0, len(c), 4))


# ---- reference detector -------------------------------------------------
RE_ID = re.compile(rb"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
RE_MOBILE = re.compile(
    rb"(?<![0-9A-Za-z+])(?:(?:\+|00)?86[ -]?)?(1\d{2})[ -]?(\d{4})[ -]?(\d{4})(?![0-9A-Za-z])")
RE_CARD = re.compile(rb"(?<![0-9A-Za-z])(\d{4}(?:[ -]?\d{4}){2}[ -]?\d{4}(?:[ -]?\d{1,3})?)(?![0-9A-Za-z])")
RE_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.([A-Za-z]{2,24})\b")


def valid_id(v: str) -> bool:
    v = v.upper()
    if int(v[:2]) not in PROVINCES:
        return False
    try:
        d = datetime.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    if not (1900 <= d.year <= 2026):
        return False
    return id_check_char(v[:17]) == v[17]


def valid_mobile(v: str) -> bool:
    return bool(re.fullmatch(r"1740[0-5]\d{6}|1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8}", v))


def valid_card(v: str) -> bool:
    n = len(v)
    if v.startswith("62"):
        ok = 16 <= n <= 19
    elif v.startswith("4"):
        ok = n in (13, 16, 19)
    elif v[:2] in ("51", "52", "53", "54", "55"):
        ok = n == 16
    else:
        ok = False
    return ok and luhn_ok(v)


def ref_scan(data: bytes) -> set:
    """Return {(type, normalised value)} a correct detector should report."""
    found = set()
    for m in RE_ID.finditer(data):
        v = m.group(1).decode().upper()
        if valid_id(v):
            found.add(("cn_resident_id", v))
    for m in RE_MOBILE.finditer(data):
        v = b"".join(m.groups()).decode()
        if valid_mobile(v):
            found.add(("cn_mobile", v))
    for m in RE_CARD.finditer(data):
        v = re.sub(rb"[ -]", b"", m.group(1)).decode()
        if valid_card(v):
            found.add(("bank_card", v))
    for m in RE_EMAIL.finditer(data):
        if m.group(1).decode().lower() not in FILE_TLDS:
            found.add(("email", m.group(0).decode().lower()))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=3)
    a = ap.parse_args()
    s = Synth(a.seed)
    out = {
        "cn_resident_id": [s.resident_id(want_x=(i == 0)) for i in range(a.count)],
        "cn_mobile": [s.mobile() for _ in range(a.count)],
        "bank_card": [s.card(k) for k in ("unionpay16", "unionpay19", "visa", "mastercard")],
        "email": [s.email() for _ in range(a.count)],
        "decoys": s.decoys(1),
    }
    for d in out["decoys"]:
        assert not ref_scan(d.encode()), d
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
