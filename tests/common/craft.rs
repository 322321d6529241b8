//! Crafted TCP segments written to a pcap: scripted evasions and floods.
//!
//! Ethernet / IPv4 / TCP frames with correct IP and TCP checksums (or a
//! deliberately wrong TCP checksum), classic pcap, microsecond stamps; and
//! the replay of such a capture with the helpers the scripts assert with.

use std::collections::BTreeSet;
use std::path::Path;

use leakwatch::config::Config;
use leakwatch::flow::OverlapPolicy;
use serde_json::Value;

/// TCP flag bits.
pub const FIN: u8 = 0x01;
/// SYN.
pub const SYN: u8 = 0x02;
/// RST.
pub const RST: u8 = 0x04;
/// PSH.
pub const PSH: u8 = 0x08;
/// ACK.
pub const ACK: u8 = 0x10;

/// One segment's header fields.
#[derive(Clone, Copy, Debug)]
pub struct Seg {
    pub src: ([u8; 4], u16),
    pub dst: ([u8; 4], u16),
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub ttl: u8,
    /// Write a wrong TCP checksum.
    pub bad_checksum: bool,
}

/// One's-complement sum of 16-bit big-endian words (odd tail padded).
pub fn sum16(data: &[u8]) -> u32 {
    data.chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

/// Folds a [`sum16`] sum into an Internet checksum.
pub fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An Ethernet frame carrying `seg` and `payload`.
pub fn frame(seg: &Seg, payload: &[u8]) -> Vec<u8> {
    let tcp_len = 20 + payload.len();
    let mut tcp = Vec::with_capacity(tcp_len);
    tcp.extend_from_slice(&seg.src.1.to_be_bytes());
    tcp.extend_from_slice(&seg.dst.1.to_be_bytes());
    tcp.extend_from_slice(&seg.seq.to_be_bytes());
    tcp.extend_from_slice(&seg.ack.to_be_bytes());
    tcp.extend_from_slice(&[0x50, seg.flags]);
    tcp.extend_from_slice(&seg.window.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&seg.src.0);
    pseudo.extend_from_slice(&seg.dst.0);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
    let mut c = fold(sum16(&pseudo) + sum16(&tcp));
    if seg.bad_checksum {
        c ^= 0x5a5a;
    }
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0x40, 0, seg.ttl, 6, 0, 0]);
    ip.extend_from_slice(&seg.src.0);
    ip.extend_from_slice(&seg.dst.0);
    let ic = fold(sum16(&ip));
    ip[10..12].copy_from_slice(&ic.to_be_bytes());
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&ip);
    f.extend_from_slice(&tcp);
    f
}

/// Frames in capture order with their timestamps (µs).
#[derive(Default)]
pub struct Capture {
    pub frames: Vec<(u64, Vec<u8>)>,
    /// Timestamp of the next frame (µs); each frame adds 100 µs.
    pub now: u64,
}

impl Capture {
    pub fn new() -> Capture {
        Capture {
            frames: Vec::new(),
            now: 1_700_000_000_000_000,
        }
    }

    pub fn push(&mut self, seg: &Seg, payload: &[u8]) {
        self.push_frame(frame(seg, payload));
    }

    /// Appends a ready frame `f`.
    pub fn push_frame(&mut self, f: Vec<u8>) {
        self.frames.push((self.now, f));
        self.now += 100;
    }

    /// Writes a classic pcap (linktype Ethernet).
    pub fn write(&self, path: &Path) {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (ts, f) in &self.frames {
            out.extend_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f);
        }
        std::fs::write(path, out).expect("write pcap");
    }
}

/// A scripted TCP connection: offsets are stream offsets (0 = first data
/// byte) of each side, so scripts read like the stream they build.
#[derive(Clone, Copy, Debug)]
pub struct Conn {
    pub client: ([u8; 4], u16),
    pub server: ([u8; 4], u16),
    pub cisn: u32,
    pub sisn: u32,
    /// Client bytes the server acknowledges in server segments.
    pub acked: u32,
}

impl Conn {
    pub fn new(client_port: u16, cisn: u32) -> Conn {
        Conn {
            client: ([10, 1, 0, 2], client_port),
            server: ([10, 9, 0, 1], 9000),
            cisn,
            sisn: 0x5000_0000,
            acked: 0,
        }
    }

    fn seg(&self, to_server: bool, seq: u32, ack: u32, flags: u8) -> Seg {
        let (src, dst) = if to_server {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        Seg {
            src,
            dst,
            seq,
            ack,
            flags,
            window: 65535,
            ttl: 64,
            bad_checksum: false,
        }
    }

    /// Client segment at client offset `off`.
    pub fn c_seg(&self, off: u32, flags: u8) -> Seg {
        self.seg(
            true,
            self.cisn.wrapping_add(1).wrapping_add(off),
            self.sisn.wrapping_add(1),
            flags,
        )
    }

    /// Server segment at server offset `off`, acking `self.acked`.
    pub fn s_seg(&self, off: u32, flags: u8) -> Seg {
        let ack = self.cisn.wrapping_add(1).wrapping_add(self.acked);
        self.seg(
            false,
            self.sisn.wrapping_add(1).wrapping_add(off),
            ack,
            flags,
        )
    }

    pub fn handshake(&self, cap: &mut Capture) {
        let syn = self.seg(true, self.cisn, 0, SYN);
        cap.push(&syn, b"");
        let synack = self.seg(false, self.sisn, self.cisn.wrapping_add(1), SYN | ACK);
        cap.push(&synack, b"");
        cap.push(&self.c_seg(0, ACK), b"");
    }

    /// Client data at offset `off`.
    pub fn c(&self, cap: &mut Capture, off: u32, data: &[u8]) {
        cap.push(&self.c_seg(off, ACK | PSH), data);
    }

    /// Server ACK of client offset `off`.
    pub fn s_ack(&mut self, cap: &mut Capture, off: u32) {
        self.acked = off;
        cap.push(&self.s_seg(0, ACK), b"");
    }

    /// FIN both ways after `c_len` client bytes and no server bytes.
    pub fn close(&mut self, cap: &mut Capture, c_len: u32) {
        cap.push(&self.c_seg(c_len, ACK | FIN), b"");
        self.acked = c_len + 1;
        cap.push(&self.s_seg(0, ACK | FIN), b"");
        let mut last = self.c_seg(c_len + 1, ACK);
        last.ack = self.sisn.wrapping_add(2);
        cap.push(&last, b"");
    }
}

/// A valid 18-character resident ID from 17 digits (GB 11643 check).
pub fn resident_id(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = first17
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(s % 11) as usize] as char;
    format!("{first17}{check}")
}

/// Synthetic mobile numbers of the crafted scripts.
pub const PHONE_A: &str = "13800138000";
/// A second one.
pub const PHONE_B: &str = "13912345678";

/// One JSON line holding `phone`.
pub fn line(phone: &str) -> Vec<u8> {
    format!("{{\"phone\":\"{phone}\"}}\n").into_bytes()
}

/// Writes `cap` to a temporary pcap and replays it under `cfg` with
/// `workers` workers; returns the output lines.
pub fn replay_lines(cap: &Capture, cfg: &Config, workers: usize) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crafted.pcap");
    cap.write(&path);
    let (lines, res) = super::replay_with(cfg, &[path], workers);
    res.expect("replay");
    lines
}

/// The events of a one-worker replay of `cap`.
pub fn replay_events(cap: &Capture, cfg: &Config) -> Vec<Value> {
    super::parse(&replay_lines(cap, cfg, 1))
}

/// The `stats` member of the `stats` event.
pub fn stats_of(events: &[Value]) -> Value {
    events
        .iter()
        .find(|e| e["event_type"] == "stats")
        .expect("stats event")["stats"]
        .clone()
}

/// Hashes of every reported value.
pub fn hashes(events: &[Value]) -> BTreeSet<String> {
    super::reported(events).into_iter().map(|r| r.3).collect()
}

/// The default configuration with overlap policy `p`.
pub fn with_policy(p: OverlapPolicy) -> Config {
    let mut cfg = Config::default();
    cfg.reassembly.overlap_policy = p;
    cfg
}
