#!/usr/bin/env python3
"""Writes test-country.mmdb, a tiny MaxMind-format country database for the
policy tests (src/policy/tests.rs). Its countries are deliberately WRONG for
the real addresses (8.8.8.0/24 = JP, 114.114.114.0/24 = SG) so the tests can
tell an mmdb answer from the embedded table's.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install mmdb-writer
    /tmp/venv/bin/python tests/data/geo/make-test-mmdb.py
"""
import os

from mmdb_writer import MMDBWriter
from netaddr import IPSet

HERE = os.path.dirname(os.path.abspath(__file__))

w = MMDBWriter(
    ip_version=6,
    ipv4_compatible=True,
    database_type="leakwatch-test-country",
    description="leakwatch policy test data (synthetic)",
)
# GeoIP2/GeoLite2/DB-IP shape: country.iso_code.
w.insert_network(IPSet(["8.8.8.0/24"]), {"country": {"iso_code": "JP"}})
w.insert_network(IPSet(["114.114.114.0/24"]), {"country": {"iso_code": "SG"}})
w.insert_network(IPSet(["2001:4860::/32"]), {"country": {"iso_code": "US"}})
# IPinfo lite shape: country_code.
w.insert_network(IPSet(["1.1.1.0/24"]), {"country_code": "AU"})
w.to_db_file(os.path.join(HERE, "test-country.mmdb"))
