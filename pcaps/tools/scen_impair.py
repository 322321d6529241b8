#!/usr/bin/env python3
"""NFQUEUE impairer for make_scen.sh: before the capture point (OUTPUT),
holds TCP data segments for a random 1-10 ms (reordering and jitter) and
corrupts others: one payload byte flipped, the checksum left as it was,
so the capture shows a bad checksum and the receiver's stack drops the
segment (the sender retransmits).

Usage: scen_impair.py QUEUE_NUM PERCENT SEED
Holds PERCENT % of data segments and corrupts PERCENT/4 %. Runs until
SIGTERM; releases everything held on exit and prints its counts.
"""
import random
import select
import signal
import sys
import time

from netfilterqueue import NetfilterQueue

QNUM, PERCENT, SEED = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rng = random.Random(SEED)
held = []  # (deadline, packet)
stats = {"held": 0, "corrupted": 0, "passed": 0}
running = True


def payload_offset(raw: bytes) -> int:
    ihl = (raw[0] & 0x0F) * 4
    return ihl + (raw[ihl + 12] >> 4) * 4


def release(force=False):
    now = time.monotonic()
    keep = []
    for deadline, pkt in held:
        if force or now >= deadline:
            pkt.accept()
        else:
            keep.append((deadline, pkt))
    held[:] = keep


def on_packet(pkt):
    raw = pkt.get_payload()
    off = payload_offset(raw)
    r = rng.random() * 100
    if len(raw) <= off:
        pkt.accept()
        stats["passed"] += 1
    elif r < PERCENT / 4:
        b = bytearray(raw)
        i = off + rng.randrange(len(raw) - off)
        b[i] ^= 0x20
        pkt.set_payload(bytes(b))  # checksum deliberately not fixed
        pkt.accept()
        stats["corrupted"] += 1
    elif r < PERCENT / 4 + PERCENT and len(held) < 8:
        pkt.retain()
        held.append((time.monotonic() + rng.uniform(0.001, 0.010), pkt))
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
print("scen_impair", stats, file=sys.stderr, flush=True)
