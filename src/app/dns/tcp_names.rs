//! DNS over TCP answers for the IP -> name cache, read in the reader
//! thread (capture order) so that names stay independent of the worker
//! count.
//!
//! Only the server -> client direction of TCP port 53 is followed. It is
//! read strictly in order: a segment must start where the previous one
//! ended (the SYN-ACK fixes the start when it was captured; otherwise the
//! first data segment is taken as the start of a message). Retransmitted
//! bytes are ignored; a segment beyond the expected sequence number means
//! lost or reordered bytes, and the stream is abandoned (counted): framing
//! cannot be recovered without full reassembly, which stays in the
//! workers. Complete 2-byte length-prefixed messages are parsed straight
//! from the segment when nothing is held (the common case: one answer per
//! segment, no copy); a message split over segments is held until it is
//! complete.
//!
//! Bounds: [`MAX_STREAMS`] streams (the oldest is dropped), [`MAX_HELD`]
//! bytes held over all streams (a stream that would pass it is
//! abandoned).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::decode::{tcp_flags, TcpMeta};

/// TCP/53 server -> client streams followed at once.
pub const MAX_STREAMS: usize = 1024;
/// Bytes of incomplete messages held over all streams.
pub const MAX_HELD: usize = 1 << 20;

/// Counters of the TCP side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpNameStats {
    /// Length-prefixed messages read from TCP/53 answers.
    pub messages_total: u64,
    /// Streams abandoned: bytes lost or out of order, or `MAX_HELD`.
    pub abandoned_total: u64,
    /// Streams dropped to stay within `MAX_STREAMS`.
    pub evicted_total: u64,
}

type Key = (IpAddr, u16, IpAddr, u16);

struct Stream {
    /// Next expected sequence number.
    next: u32,
    /// Bytes of an incomplete message.
    held: Vec<u8>,
    /// Framing lost: nothing more is read.
    lost: bool,
    /// Creation order (eviction).
    born: u64,
}

/// The streams followed (owned by the name cache).
#[derive(Default)]
pub struct TcpAnswers {
    streams: HashMap<Key, Stream, ahash::RandomState>,
    order: VecDeque<(u64, Key)>,
    born: u64,
    held: usize,
    /// Counters.
    pub stats: TcpNameStats,
}

/// One TCP segment as the reader decoded it.
pub struct Segment<'a> {
    /// Source address and port.
    pub src: (IpAddr, u16),
    /// Destination address and port.
    pub dst: (IpAddr, u16),
    /// TCP header fields.
    pub tcp: &'a TcpMeta,
    /// Payload.
    pub payload: &'a [u8],
}

impl TcpAnswers {
    /// Streams followed now.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// True when no stream is followed.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Reads one segment; every complete DNS message goes to `msg`.
    pub fn observe(&mut self, seg: &Segment<'_>, msg: &mut dyn FnMut(&[u8])) {
        if seg.src.1 != 53 {
            return;
        }
        let key = (seg.src.0, seg.src.1, seg.dst.0, seg.dst.1);
        let flags = seg.tcp.flags;
        if flags & tcp_flags::RST != 0 {
            self.remove(&key);
            return;
        }
        if flags & tcp_flags::SYN != 0 {
            self.remove(&key);
            self.insert(key, seg.tcp.seq.wrapping_add(1));
            return;
        }
        if !seg.payload.is_empty() {
            if !self.streams.contains_key(&key) {
                self.insert(key, seg.tcp.seq);
            }
            self.data(&key, seg.tcp.seq, seg.payload, msg);
        }
        if flags & tcp_flags::FIN != 0 {
            self.remove(&key);
        }
    }

    fn insert(&mut self, key: Key, next: u32) {
        while self.streams.len() >= MAX_STREAMS {
            let Some((born, k)) = self.order.pop_front() else {
                break;
            };
            if self.streams.get(&k).is_some_and(|s| s.born == born) {
                self.remove(&k);
                self.stats.evicted_total += 1;
            }
        }
        self.born += 1;
        let s = Stream {
            next,
            held: Vec::new(),
            lost: false,
            born: self.born,
        };
        self.streams.insert(key, s);
        self.order.push_back((self.born, key));
        // Entries of removed streams are dropped as they reach the front;
        // keep the queue from growing without bound in the meantime.
        if self.order.len() > 4 * MAX_STREAMS {
            let streams = &self.streams;
            self.order
                .retain(|(b, k)| streams.get(k).is_some_and(|s| s.born == *b));
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(s) = self.streams.remove(key) {
            self.held = self.held.saturating_sub(s.held.len());
        }
    }

    /// In-order bytes of a stream.
    fn data(&mut self, key: &Key, seq: u32, payload: &[u8], msg: &mut dyn FnMut(&[u8])) {
        let Some(s) = self.streams.get_mut(key) else {
            return;
        };
        if s.lost {
            return;
        }
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        // Signed distance: negative = already seen (a retransmission).
        let ahead = seq.wrapping_sub(s.next) as i32;
        if ahead < 0 && seq.wrapping_add(len).wrapping_sub(s.next) as i32 <= 0 {
            return;
        }
        if ahead != 0 || self.held.saturating_add(payload.len()) > MAX_HELD {
            self.held = self.held.saturating_sub(s.held.len());
            s.held = Vec::new();
            s.lost = true;
            self.stats.abandoned_total += 1;
            return;
        }
        s.next = seq.wrapping_add(len);
        let before = s.held.len();
        let read = if s.held.is_empty() {
            let used = frames(payload, msg);
            s.held
                .extend_from_slice(payload.get(used..).unwrap_or_default());
            count(payload.get(..used).unwrap_or_default())
        } else {
            s.held.extend_from_slice(payload);
            let used = frames(&s.held, msg);
            let n = count(s.held.get(..used).unwrap_or_default());
            s.held.drain(..used.min(s.held.len()));
            n
        };
        self.held = (self.held + s.held.len()).saturating_sub(before);
        self.stats.messages_total += read;
    }
}

/// Hands every complete length-prefixed message at the start of `buf` to
/// `msg`; returns the bytes they took.
fn frames(buf: &[u8], msg: &mut dyn FnMut(&[u8])) -> usize {
    let mut at = 0usize;
    while let Some(len) = buf.get(at..).and_then(|b| b.first_chunk::<2>()) {
        let len = usize::from(u16::from_be_bytes(*len));
        let Some(m) = buf.get(at + 2..at + 2 + len) else {
            break;
        };
        msg(m);
        at += 2 + len;
    }
    at
}

/// Messages in `buf`, a run of complete length-prefixed messages.
fn count(buf: &[u8]) -> u64 {
    let mut n = 0;
    frames(buf, &mut |_| n += 1);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn seg<'a>(tcp: &'a TcpMeta, payload: &'a [u8]) -> Segment<'a> {
        Segment {
            src: (ip(53), 53),
            dst: (ip(1), 40000),
            tcp,
            payload,
        }
    }

    fn meta(seq: u32, flags: u8) -> TcpMeta {
        TcpMeta {
            seq,
            flags,
            ..TcpMeta::default()
        }
    }

    fn framed(msgs: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for m in msgs {
            v.extend_from_slice(&(m.len() as u16).to_be_bytes());
            v.extend_from_slice(m);
        }
        v
    }

    /// Feeds (seq, flags, payload) segments; returns the messages read.
    fn run(t: &mut TcpAnswers, segs: &[(u32, u8, Vec<u8>)]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (seq, flags, p) in segs {
            let m = meta(*seq, *flags);
            t.observe(&seg(&m, p), &mut |b| out.push(b.to_vec()));
        }
        out
    }

    #[test]
    fn split_messages_are_joined_in_order() {
        let data = framed(&[b"first-answer", b"second"]);
        let (a, b) = data.split_at(5);
        let mut t = TcpAnswers::default();
        let got = run(
            &mut t,
            &[
                (99, tcp_flags::SYN | tcp_flags::ACK, vec![]),
                (100, tcp_flags::ACK, a.to_vec()),
                (100, tcp_flags::ACK, a.to_vec()), // retransmission
                (105, tcp_flags::ACK, b.to_vec()),
            ],
        );
        assert_eq!(got, vec![b"first-answer".to_vec(), b"second".to_vec()]);
        assert_eq!(t.stats.messages_total, 2);
        assert_eq!(t.held(), 0);
        run(&mut t, &[(105 + b.len() as u32, tcp_flags::FIN, vec![])]);
        assert!(t.is_empty());
    }

    #[test]
    fn a_hole_abandons_the_stream() {
        let data = framed(&[b"one", b"two"]);
        let mut t = TcpAnswers::default();
        let got = run(
            &mut t,
            &[
                (99, tcp_flags::SYN | tcp_flags::ACK, vec![]),
                (103, tcp_flags::ACK, data.get(3..).unwrap().to_vec()),
                (100, tcp_flags::ACK, data.get(..3).unwrap().to_vec()),
            ],
        );
        assert!(got.is_empty());
        assert_eq!(t.stats.abandoned_total, 1);
        assert_eq!(t.held(), 0);
    }

    #[test]
    fn other_ports_are_ignored_and_streams_bounded() {
        let mut t = TcpAnswers::default();
        let m = meta(1, tcp_flags::ACK);
        let p = framed(&[b"x"]);
        let mut s = seg(&m, &p);
        s.src.1 = 80;
        t.observe(&s, &mut |_| panic!("not DNS"));
        assert!(t.is_empty());
        for port in 0..(MAX_STREAMS as u16 + 10) {
            let mut s = seg(&m, b"\x00");
            s.dst.1 = port;
            t.observe(&s, &mut |_| {});
        }
        assert_eq!(t.len(), MAX_STREAMS);
        assert_eq!(t.stats.evicted_total, 10);
        assert_eq!(t.held(), MAX_STREAMS);
    }

    proptest! {
        #[test]
        fn any_split_reads_the_same_messages(
            msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..5),
            cuts in proptest::collection::vec(1usize..400, 0..6),
        ) {
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            let data = framed(&refs);
            let mut segs = vec![(u32::MAX, tcp_flags::SYN | tcp_flags::ACK, vec![])];
            let mut at = 0usize;
            for c in cuts.iter().chain(std::iter::once(&usize::MAX)) {
                let end = at.saturating_add(*c).min(data.len());
                segs.push((at as u32, tcp_flags::ACK, data.get(at..end).unwrap_or_default().to_vec()));
                at = end;
            }
            let mut t = TcpAnswers::default();
            let got = run(&mut t, &segs);
            prop_assert_eq!(got, msgs);
            prop_assert_eq!(t.held(), 0);
        }
    }
}
