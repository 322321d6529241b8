#!/usr/bin/env python3
"""NFQUEUE reorderer: holds some TCP data segments and releases them after
later ones (real reordering before the capture point on lo).

Usage: nfq_reorder.py QUEUE_NUM PERCENT SEED
Runs until killed (SIGTERM); releases every held packet on exit.
"""
import random
import select
import signal
import sys
import time

from netfilterqueue import NetfilterQueue

QNUM, PERCENT, SEED = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rng = random.Random(SEED)
held = []  # [packet, packets_seen_at_hold, deadline]
seen = 0
stats = {"held": 0, "passed": 0}
running = True


def tcp_payload_len(raw: bytes) -> int:
    ihl = (raw[0] & 0x0F) * 4
    doff = (raw[ihl + 12] >> 4) * 4
    return len(raw) - ihl - doff


def release(force: bool = False):
    now = time.monotonic()
    keep = []
    for item in held:
        pkt, at, deadline = item
        if force or seen - at >= 2 or now >= deadline:
            pkt.accept()
        else:
            keep.append(item)
    held[:] = keep


def on_packet(pkt):
    global seen
    seen += 1
    raw = pkt.get_payload()
    if len(held) < 4 and tcp_payload_len(raw) > 0 and rng.random() * 100 < PERCENT:
        pkt.retain()
        held.append([pkt, seen, time.monotonic() + rng.uniform(0.003, 0.008)])
        stats["held"] += 1
    else:
        pkt.accept()
        stats["passed"] += 1
    release()


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
q = NetfilterQueue()
q.bind(QNUM, on_packet)
fd = q.get_fd()
print("ready", flush=True)
while running:
    r, _, _ = select.select([fd], [], [], 0.001)
    if r:
        q.run(block=False)
    release()
release(force=True)
q.unbind()
print("nfq_reorder", stats, file=sys.stderr, flush=True)
