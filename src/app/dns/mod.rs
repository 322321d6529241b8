//! DNS over UDP (one message per datagram) and TCP (2-byte length prefix):
//! query names are scanned as [`location::DNS_QUERY`], labels that look
//! base32- or hex-encoded also decoded ([`location::DNS_QUERY_BASE32`],
//! [`location::DNS_QUERY_HEX`]), TXT answers as [`location::DNS_TXT`].
//! Each message ends a transaction ([`TxMeta::Dns`]) for the `dns` object.
//!
//! Questions are scanned only in queries (a response repeats them: the PI
//! went from the asker to the resolver). Answers (A/AAAA behind CNAME
//! chains) feed the IP -> name cache ([`cache`]) in the reader thread.

pub mod cache;
pub mod labels;
pub mod parser;
pub mod tcp_names;

use self::labels::Encoding;
use self::parser::{walk, Header, Name, RData, Record, Visitor, HEADER_LEN};
use super::{location, AppParser, ContentSink, TxMeta};
use crate::flow::Direction;

/// TXT bytes scanned per message.
const MAX_TXT: usize = 64 * 1024;

/// Metadata of one DNS message, for the `dns` object of events. The query
/// name may hold PI: the alert stage masks it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsTx {
    /// Transaction id.
    pub id: u16,
    /// A response (else a query).
    pub response: bool,
    /// First question's name (raw; masked before output).
    pub rrname: Option<Vec<u8>>,
    /// First question's type.
    pub rrtype: Option<u16>,
    /// Response code (responses only).
    pub rcode: Option<u8>,
    /// Answer records read.
    pub answers: u16,
    /// Limits hit (`txt_size`).
    pub limits_hit: Vec<&'static str>,
}

/// Outcome of the DNS probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsProbe {
    /// A plausible DNS message.
    Dns,
    /// Consistent so far: more bytes needed (TCP only).
    NeedMore,
    /// Not DNS.
    No,
}

/// Whether `msg` is a plausible DNS message: sane header (opcode 0-5, Z
/// clear, 1 question, bounded counts, a query has no answers) and a
/// question that parses with class IN, CH or ANY.
pub fn plausible(msg: &[u8]) -> bool {
    let Some(h) = Header::parse(msg) else {
        return false;
    };
    let counts_ok = h.qdcount == 1
        && h.ancount <= 256
        && h.nscount <= 256
        && h.arcount <= 256
        && (h.is_response() || (h.ancount == 0 && h.nscount == 0));
    if h.opcode() > 5 || h.flags & 0x0040 != 0 || !counts_ok {
        return false;
    }
    let mut name = Name::default();
    let Some(next) = parser::read_name(msg, HEADER_LEN, &mut name) else {
        return false;
    };
    let class = msg.get(next + 2..next + 4).map(|c| {
        u16::from_be_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ])
    });
    matches!(class, Some(1 | 3 | 255))
}

/// A UDP flow is DNS when it uses port 53 or 5353 on either side, or its
/// first datagram is a plausible DNS message.
pub fn probe_udp(sport: u16, dport: u16, payload: &[u8]) -> DnsProbe {
    let port = |p| p == 53 || p == 5353;
    if ((port(sport) || port(dport)) && Header::parse(payload).is_some()) || plausible(payload) {
        DnsProbe::Dns
    } else {
        DnsProbe::No
    }
}

/// A TCP stream is DNS when its first bytes are a 2-byte length and a
/// plausible DNS message of that length.
pub fn probe_tcp(data: &[u8]) -> DnsProbe {
    let Some((len, msg)) = data.split_first_chunk::<2>() else {
        return DnsProbe::NeedMore;
    };
    let len = usize::from(u16::from_be_bytes(*len));
    if len < HEADER_LEN + 5 {
        return DnsProbe::No;
    }
    match msg.get(..len) {
        Some(m) if plausible(m) => DnsProbe::Dns,
        Some(_) => DnsProbe::No,
        None if !header_prefix_ok(msg) => DnsProbe::No,
        // The question is within the first 12 + 255 + 4 bytes.
        None if msg.len() >= HEADER_LEN + 259 => {
            if plausible(msg) {
                DnsProbe::Dns
            } else {
                DnsProbe::No
            }
        }
        None => DnsProbe::NeedMore,
    }
}

/// Whether the header bytes present so far can start a plausible message
/// (opcode 0-5, Z clear, exactly one question).
fn header_prefix_ok(msg: &[u8]) -> bool {
    let at = |i: usize, ok: &dyn Fn(u8) -> bool| msg.get(i).is_none_or(|&b| ok(b));
    at(2, &|b| (b >> 3) & 0xf <= 5)
        && at(3, &|b| b & 0x40 == 0)
        && at(4, &|b| b == 0)
        && at(5, &|b| b == 1)
}

/// Collects what a message holds for scanning.
struct Scan<'a> {
    dir: Direction,
    sink: &'a mut dyn ContentSink,
    query: bool,
    tx: DnsTx,
    txt_bytes: usize,
}

impl Visitor for Scan<'_> {
    fn question(&mut self, name: &Name, qtype: u16) {
        if self.tx.rrname.is_none() {
            self.tx.rrname = Some(name.as_bytes().to_vec());
            self.tx.rrtype = Some(qtype);
        }
        if !self.query {
            return;
        }
        let text = name.as_bytes();
        self.sink.on_content(self.dir, location::DNS_QUERY, text);
        self.sink.end_content(self.dir);
        for (enc, bytes) in labels::decoded_runs(text) {
            let loc = match enc {
                Encoding::Base32 => location::DNS_QUERY_BASE32,
                Encoding::Hex => location::DNS_QUERY_HEX,
            };
            self.sink.on_content(self.dir, loc, &bytes);
            self.sink.end_content(self.dir);
        }
    }

    fn record(&mut self, rec: &Record<'_>) {
        if rec.section == 0 {
            self.tx.answers = self.tx.answers.saturating_add(1);
        }
        let RData::Txt(data) = rec.data else {
            return;
        };
        let (sink, dir) = (&mut *self.sink, self.dir);
        let mut room = MAX_TXT.saturating_sub(self.txt_bytes);
        let mut cut = false;
        parser::txt_strings(data, |s| {
            let n = s.len().min(room);
            cut |= n < s.len();
            room -= n;
            sink.on_content(dir, location::DNS_TXT, s.get(..n).unwrap_or_default());
        });
        self.txt_bytes = MAX_TXT - room;
        sink.end_content(dir);
        if cut && !self.tx.limits_hit.contains(&"txt_size") {
            self.tx.limits_hit.push("txt_size");
        }
    }
}

/// TCP framing state of one direction.
#[derive(Default)]
struct Framing {
    buf: Vec<u8>,
    /// Lost bytes broke the framing: ignore the rest of the direction.
    lost: bool,
}

/// The DNS decoder of one flow (UDP: one message per `on_data`; TCP:
/// length-prefixed messages reassembled, each at most 64 KiB).
pub struct DnsParser {
    tcp: bool,
    framing: [Framing; 2],
    malformed: u64,
}

impl DnsParser {
    /// A decoder for DNS over UDP.
    pub fn udp() -> DnsParser {
        DnsParser {
            tcp: false,
            framing: Default::default(),
            malformed: 0,
        }
    }

    /// A decoder for DNS over TCP.
    pub fn tcp() -> DnsParser {
        DnsParser {
            tcp: true,
            ..DnsParser::udp()
        }
    }

    /// Messages that did not parse.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    fn message(&mut self, dir: Direction, msg: &[u8], sink: &mut dyn ContentSink) {
        let query = Header::parse(msg).is_some_and(|h| !h.is_response());
        let mut scan = Scan {
            dir,
            sink,
            query,
            tx: DnsTx::default(),
            txt_bytes: 0,
        };
        let Some(h) = walk(msg, &mut scan) else {
            self.malformed += 1;
            return;
        };
        let Scan { sink, mut tx, .. } = scan;
        tx.id = h.id;
        tx.response = h.is_response();
        tx.rcode = h.is_response().then(|| h.rcode());
        sink.end_transaction(dir, &TxMeta::Dns(tx));
    }

    fn tcp_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        let Some(f) = self.framing.get_mut(dir.index()) else {
            return;
        };
        if f.lost {
            return;
        }
        f.buf.extend_from_slice(data);
        let mut buf = std::mem::take(&mut f.buf);
        let mut at = 0;
        while let Some(len) = buf.get(at..at + 2).and_then(|b| b.first_chunk::<2>()) {
            let len = usize::from(u16::from_be_bytes(*len));
            let Some(msg) = buf.get(at + 2..at + 2 + len) else {
                break;
            };
            self.message(dir, msg, sink);
            at += 2 + len;
        }
        buf.drain(..at.min(buf.len()));
        if let Some(f) = self.framing.get_mut(dir.index()) {
            f.buf = buf;
        }
    }
}

impl AppParser for DnsParser {
    fn name(&self) -> &'static str {
        super::proto_name::DNS
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        if self.tcp {
            self.tcp_data(dir, data, sink);
        } else {
            self.message(dir, data, sink);
        }
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, _sink: &mut dyn ContentSink) {
        if let Some(f) = self.framing.get_mut(dir.index()) {
            f.lost = true;
            f.buf = Vec::new();
        }
    }

    fn on_close(&mut self, dir: Direction, _sink: &mut dyn ContentSink) {
        if let Some(f) = self.framing.get_mut(dir.index()) {
            f.buf = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests;
