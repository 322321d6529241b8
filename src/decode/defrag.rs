//! IPv4 and IPv6 fragment reassembly, bounded and target-policy aware.
//!
//! Lives in the reader thread, before flow hashing: only the first fragment
//! has ports. Fragments are kept per datagram, keyed by addresses, id,
//! protocol, VLAN and tunnel, until the datagram is whole; then it is built
//! in one reused buffer and handed back to be decoded as a raw IP packet.
//!
//! Bounds: fragments per datagram, datagram size (65535), total memory
//! (memcap; the oldest datagrams are evicted to make room) and a timeout in
//! packet time. Overlapping fragments are resolved per [`OverlapPolicy`]
//! at assembly, and anomalies are counted in [`DefragStats`].

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ahash::AHashMap;
use serde::Deserialize;
use serde_json::{json, Value};

use super::bytes::{array, be16, be32, u8_at};
use super::checksum::ipv4_header_checksum;
use super::{decode_frame, proto, FragmentRef, Frame, TunnelInfo, L3};
use crate::capture::{LinkType, Timestamp};

/// Largest IP datagram (IPv4 total length, IPv6 payload length).
const MAX_DATAGRAM: usize = 65535;
/// Memory charged per datagram besides its bytes (key, map slot, queue).
const DATAGRAM_OVERHEAD: usize = 256;
/// Memory charged per fragment besides its bytes.
const FRAGMENT_OVERHEAD: usize = 48;
/// No owner yet, in the assembly map.
const NO_OWNER: u16 = u16::MAX;

/// Which fragment's bytes win where fragments overlap. The per-OS policies
/// follow Novak's target-based reassembly work as Suricata and Snort
/// describe it (approximated per byte: a later fragment's byte replaces an
/// earlier one's when the rule says so).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverlapPolicy {
    /// The first fragment received wins (default).
    #[default]
    First,
    /// The last fragment received wins.
    Last,
    /// BSD: the original wins unless the new fragment starts before it.
    Bsd,
    /// Linux: as BSD, and a new fragment at the same offset that is longer
    /// also wins.
    Linux,
    /// Windows: the original wins unless the new fragment starts before it
    /// and ends after it.
    Windows,
}

impl OverlapPolicy {
    /// True when `new` (received later) replaces `old` where they overlap.
    fn new_wins(self, old: &Frag, new: &Frag) -> bool {
        match self {
            OverlapPolicy::First => false,
            OverlapPolicy::Last => true,
            OverlapPolicy::Bsd => new.off < old.off,
            OverlapPolicy::Linux => new.off < old.off || (new.off == old.off && new.end > old.end),
            OverlapPolicy::Windows => new.off < old.off && new.end > old.end,
        }
    }
}

/// Bounds and policy of the [`Defragmenter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefragConfig {
    /// Fragments kept per datagram; more drops the datagram.
    pub max_fragments: usize,
    /// Bytes of fragments held over all datagrams (plus fixed overheads).
    pub memcap: usize,
    /// Packet time after which an incomplete datagram is dropped.
    pub timeout: Timestamp,
    /// Overlap resolution.
    pub policy: OverlapPolicy,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_fragments: 256,
            memcap: 32 << 20,
            timeout: 30_000_000_000,
            policy: OverlapPolicy::First,
        }
    }
}

/// What the defragmenter counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments pushed.
    pub fragments_total: u64,
    /// Datagrams reassembled.
    pub reassembled_total: u64,
    /// Fragments that could not be used (snapped, bad length, bad
    /// offset alignment, inconsistent end).
    pub invalid_total: u64,
    /// First fragments too short to hold the transport header (RFC 1858).
    pub tiny_fragment_total: u64,
    /// Fragments overlapping an earlier one.
    pub overlap_total: u64,
    /// Overlaps where the bytes differ (an evasion attempt or corruption).
    pub overlap_diff_total: u64,
    /// Datagrams that would exceed 65535 bytes.
    pub oversize_total: u64,
    /// Datagrams dropped for having too many fragments.
    pub too_many_fragments_total: u64,
    /// Datagrams evicted, or fragments refused, because memory was full.
    pub memcap_total: u64,
    /// Incomplete datagrams dropped at the timeout.
    pub timeout_total: u64,
}

impl DefragStats {
    /// The counts added since `before` (an earlier reading of the same
    /// counters).
    pub fn since(&self, before: &DefragStats) -> DefragStats {
        let mut d = *self;
        for (a, b) in d.fields_mut().into_iter().zip(before.fields()) {
            *a = a.saturating_sub(b);
        }
        d
    }

    /// Adds another set of counters.
    pub fn add(&mut self, o: &DefragStats) {
        for (a, b) in self.fields_mut().into_iter().zip(o.fields()) {
            *a += b;
        }
    }

    /// Counters as a JSON object for the `stats` event.
    pub fn to_json(&self) -> Value {
        let names = [
            "fragments_total",
            "reassembled_total",
            "invalid_total",
            "tiny_fragment_total",
            "overlap_total",
            "overlap_diff_total",
            "oversize_total",
            "too_many_fragments_total",
            "memcap_total",
            "timeout_total",
        ];
        let map: serde_json::Map<String, Value> = names
            .iter()
            .zip(self.fields())
            .map(|(n, v)| (n.to_string(), json!(v)))
            .collect();
        Value::Object(map)
    }

    fn fields(&self) -> [u64; 10] {
        [
            self.fragments_total,
            self.reassembled_total,
            self.invalid_total,
            self.tiny_fragment_total,
            self.overlap_total,
            self.overlap_diff_total,
            self.oversize_total,
            self.too_many_fragments_total,
            self.memcap_total,
            self.timeout_total,
        ]
    }

    fn fields_mut(&mut self) -> [&mut u64; 10] {
        [
            &mut self.fragments_total,
            &mut self.reassembled_total,
            &mut self.invalid_total,
            &mut self.tiny_fragment_total,
            &mut self.overlap_total,
            &mut self.overlap_diff_total,
            &mut self.oversize_total,
            &mut self.too_many_fragments_total,
            &mut self.memcap_total,
            &mut self.timeout_total,
        ]
    }
}

/// Outcome of pushing a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum DefragResult<'a> {
    /// Not a fragment: decode the frame as usual.
    NotFragment,
    /// Kept until the datagram is whole.
    Held,
    /// Unusable or over a bound (counted).
    Dropped,
    /// The whole datagram, an IP packet to decode as [`LinkType::RAW`];
    /// valid until the next push.
    Complete(&'a [u8]),
}

/// Reassembly key: the datagram's identity plus the link/tunnel context,
/// so the same id on two mirrored segments never mixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
    vlan: [u16; 2],
    tunnel: Option<TunnelInfo>,
}

/// One stored fragment: its byte range in the datagram's payload.
#[derive(Debug)]
struct Frag {
    off: usize,
    end: usize,
    data: Box<[u8]>,
}

/// A datagram being reassembled.
#[derive(Debug, Default)]
struct Datagram {
    generation: u64,
    /// Header of the offset-0 fragment (IPv6: with the unfragmentable
    /// extension headers), empty until seen.
    header: Vec<u8>,
    /// IPv6: offset in `header` of the next-header byte that named the
    /// fragment header.
    next_hdr_at: usize,
    /// IPv6: the protocol after the fragment header.
    next_proto: u8,
    frags: Vec<Frag>,
    /// End of the last fragment (MF clear), once seen.
    total: Option<usize>,
    /// Memory charged.
    mem: usize,
    /// Over a bound: swallows its remaining fragments until the timeout.
    dead: bool,
}

/// A parsed fragment, borrowing the frame.
struct Parsed<'f> {
    key: Key,
    l3: L3,
    off: usize,
    data: &'f [u8],
    more: bool,
    /// The IP header (and unfragmentable extension headers).
    header: &'f [u8],
    next_hdr_at: usize,
    next_proto: u8,
}

/// Reassembles IP fragments; single-threaded, bounded.
#[derive(Debug)]
pub struct Defragmenter {
    cfg: DefragConfig,
    table: AHashMap<Key, Datagram>,
    /// Datagrams in creation order (stale entries skipped), for timeouts
    /// and memcap eviction.
    order: VecDeque<(Key, u64, Timestamp)>,
    generation: u64,
    mem: usize,
    out: Vec<u8>,
    owner: Vec<u16>,
    /// Scratch for the coverage check.
    ranges: Vec<(usize, usize)>,
    stats: DefragStats,
}

impl Defragmenter {
    /// An empty defragmenter.
    pub fn new(cfg: DefragConfig) -> Defragmenter {
        Defragmenter {
            cfg,
            table: AHashMap::default(),
            order: VecDeque::new(),
            generation: 0,
            mem: 0,
            out: Vec::new(),
            owner: Vec::new(),
            ranges: Vec::new(),
            stats: DefragStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &DefragStats {
        &self.stats
    }

    /// Memory held now (fragment bytes plus overheads); never above the
    /// memcap.
    pub fn memory_used(&self) -> usize {
        self.mem
    }

    /// Datagrams being reassembled.
    pub fn pending(&self) -> usize {
        self.table.len()
    }

    /// Decodes `frame` and pushes it if it is a fragment.
    pub fn push_frame(
        &mut self,
        ts: Timestamp,
        linktype: LinkType,
        frame: &[u8],
    ) -> DefragResult<'_> {
        match decode_frame(linktype, frame) {
            Ok(Frame::Fragment(at)) => self.push(ts, frame, &at),
            _ => DefragResult::NotFragment,
        }
    }

    /// Pushes the fragment whose IP header `at` locates in `frame`.
    pub fn push(&mut self, ts: Timestamp, frame: &[u8], at: &FragmentRef) -> DefragResult<'_> {
        self.expire(ts);
        self.stats.fragments_total += 1;
        let Some(p) = parse(frame, at) else {
            self.stats.invalid_total += 1;
            return DefragResult::Dropped;
        };
        if p.off + p.data.len() > MAX_DATAGRAM {
            self.stats.oversize_total += 1;
            self.kill(&p.key);
            return DefragResult::Dropped;
        }
        if p.off == 0 && p.more && p.data.len() < min_transport_len(p.next_proto) {
            self.stats.tiny_fragment_total += 1;
        }
        if !self.store(ts, &p) {
            return DefragResult::Dropped;
        }
        self.try_complete(&p.key, p.l3)
    }

    /// Adds the fragment to its datagram; false when dropped.
    fn store(&mut self, ts: Timestamp, p: &Parsed<'_>) -> bool {
        let need = p.data.len()
            + FRAGMENT_OVERHEAD
            + if p.off == 0 { p.header.len() } else { 0 }
            + if self.table.contains_key(&p.key) {
                0
            } else {
                DATAGRAM_OVERHEAD
            };
        if !self.make_room(need, &p.key) {
            self.stats.memcap_total += 1;
            return false;
        }
        let gen = self.generation;
        let d = self.table.entry(p.key).or_insert_with(|| Datagram {
            generation: gen,
            mem: DATAGRAM_OVERHEAD,
            ..Datagram::default()
        });
        if d.generation == gen {
            self.generation += 1;
            self.order.push_back((p.key, gen, ts));
            self.mem += DATAGRAM_OVERHEAD;
        }
        if d.dead {
            return false;
        }
        let end = p.off + p.data.len();
        if d.frags.len() >= self.cfg.max_fragments {
            self.stats.too_many_fragments_total += 1;
            self.kill(&p.key);
            return false;
        }
        // The end is fixed by the last fragment; nothing may lie past it.
        let bad_end = match d.total {
            Some(t) => end > t || (!p.more && end != t),
            None => !p.more && d.frags.iter().any(|f| f.end > end),
        };
        if bad_end {
            self.stats.invalid_total += 1;
            return false;
        }
        if !p.more {
            d.total = Some(end);
        }
        count_overlap(&mut self.stats, &d.frags, p.off, p.data);
        if p.off == 0 && d.header.is_empty() {
            d.header.extend_from_slice(p.header);
            d.next_hdr_at = p.next_hdr_at;
            d.next_proto = p.next_proto;
        }
        d.frags.push(Frag {
            off: p.off,
            end,
            data: p.data.into(),
        });
        let mem = DATAGRAM_OVERHEAD
            + d.header.len()
            + d.frags
                .iter()
                .map(|f| f.data.len() + FRAGMENT_OVERHEAD)
                .sum::<usize>();
        self.mem = self.mem + mem - d.mem;
        d.mem = mem;
        true
    }

    /// Evicts the oldest datagrams (never `keep`) until `need` more bytes
    /// fit; false if they cannot.
    fn make_room(&mut self, need: usize, keep: &Key) -> bool {
        let mut evicted = false;
        let mut kept = None;
        while self.mem + need > self.cfg.memcap {
            let Some((key, gen, ts)) = self.order.pop_front() else {
                break;
            };
            if self.table.get(&key).is_none_or(|d| d.generation != gen) {
                continue; // stale
            }
            if key == *keep {
                kept = Some((key, gen, ts));
                continue;
            }
            self.remove(&key);
            evicted = true;
        }
        if let Some(k) = kept {
            self.order.push_front(k);
        }
        if evicted {
            self.stats.memcap_total += 1;
        }
        self.mem + need <= self.cfg.memcap
    }

    /// Drops the datagram's fragments but remembers it as dead so the rest
    /// of its fragments are swallowed.
    fn kill(&mut self, key: &Key) {
        if let Some(d) = self.table.get_mut(key) {
            self.mem -= d.mem - DATAGRAM_OVERHEAD;
            d.mem = DATAGRAM_OVERHEAD;
            d.frags = Vec::new();
            d.header = Vec::new();
            d.dead = true;
        }
    }

    fn remove(&mut self, key: &Key) -> Option<Datagram> {
        let d = self.table.remove(key)?;
        self.mem -= d.mem;
        Some(d)
    }

    /// Drops datagrams older than the timeout; compacts the order queue.
    fn expire(&mut self, now: Timestamp) {
        while let Some(&(key, gen, ts)) = self.order.front() {
            if ts.saturating_add(self.cfg.timeout) > now {
                break;
            }
            self.order.pop_front();
            if self.table.get(&key).is_some_and(|d| d.generation == gen) {
                if let Some(d) = self.remove(&key) {
                    self.stats.timeout_total += u64::from(!d.dead);
                }
            }
        }
        if self.order.len() > 2 * self.table.len() + 64 {
            let table = &self.table;
            self.order
                .retain(|(k, g, _)| table.get(k).is_some_and(|d| d.generation == *g));
        }
    }

    /// Builds the datagram if all of it is here.
    fn try_complete(&mut self, key: &Key, l3: L3) -> DefragResult<'_> {
        let whole = match self.table.get(key) {
            Some(d) => d
                .total
                .is_some_and(|t| !d.header.is_empty() && covered(&mut self.ranges, &d.frags, t)),
            None => false,
        };
        if !whole {
            return DefragResult::Held;
        }
        let Some(d) = self.remove(key) else {
            return DefragResult::Held;
        };
        let total = d.total.unwrap_or(0);
        let hdr_extra = if l3 == L3::V4 {
            d.header.len()
        } else {
            d.header.len().saturating_sub(40)
        };
        if total + hdr_extra > MAX_DATAGRAM {
            self.stats.oversize_total += 1;
            return DefragResult::Dropped;
        }
        self.assemble(&d, total);
        patch_header(&mut self.out, l3, &d, total);
        self.stats.reassembled_total += 1;
        DefragResult::Complete(&self.out)
    }

    /// Writes header + payload into `out`, resolving overlaps by policy.
    fn assemble(&mut self, d: &Datagram, total: usize) {
        self.out.clear();
        self.out.extend_from_slice(&d.header);
        // Common case: no overlap, so the fragments sorted by offset are
        // the payload.
        self.ranges.clear();
        self.ranges
            .extend(d.frags.iter().enumerate().map(|(i, f)| (f.off, i)));
        self.ranges.sort_unstable();
        let frag = |i: usize| d.frags.get(i);
        let disjoint = self.ranges.windows(2).all(|w| {
            let (a, b) = (frag(w[0].1), frag(w[1].1));
            a.zip(b).is_some_and(|(a, b)| a.end <= b.off)
        });
        if disjoint {
            for &(_, i) in &self.ranges {
                self.out
                    .extend_from_slice(frag(i).map_or(&[][..], |f| &f.data));
            }
            return;
        }
        self.assemble_overlapping(d, total);
    }

    /// Resolves overlaps byte by byte: each byte goes to the fragment the
    /// policy prefers among those covering it.
    fn assemble_overlapping(&mut self, d: &Datagram, total: usize) {
        self.owner.clear();
        self.owner.resize(total, NO_OWNER);
        for (i, f) in d.frags.iter().enumerate() {
            for o in self.owner.get_mut(f.off..f.end).unwrap_or_default() {
                let wins = match d.frags.get(usize::from(*o)) {
                    None => true,
                    Some(old) => self.cfg.policy.new_wins(old, f),
                };
                if wins {
                    *o = i as u16;
                }
            }
        }
        for (pos, &o) in self.owner.iter().enumerate() {
            let b = d
                .frags
                .get(usize::from(o))
                .and_then(|f| f.data.get(pos - f.off))
                .copied()
                .unwrap_or(0);
            self.out.push(b);
        }
    }
}

/// Counts an overlap of `data` at `off` with stored fragments, and whether
/// the overlapping bytes differ.
fn count_overlap(stats: &mut DefragStats, frags: &[Frag], off: usize, data: &[u8]) {
    let end = off + data.len();
    let mut overlap = false;
    let mut differ = false;
    for f in frags {
        let (s, e) = (off.max(f.off), end.min(f.end));
        if s < e {
            overlap = true;
            let new = data.get(s - off..e - off);
            let old = f.data.get(s - f.off..e - f.off);
            differ |= new != old;
        }
    }
    stats.overlap_total += u64::from(overlap);
    stats.overlap_diff_total += u64::from(differ);
}

/// True when the fragments cover `0..total` without a hole.
fn covered(ranges: &mut Vec<(usize, usize)>, frags: &[Frag], total: usize) -> bool {
    ranges.clear();
    ranges.extend(frags.iter().map(|f| (f.off, f.end)));
    ranges.sort_unstable();
    let mut reach = 0;
    for &(s, e) in ranges.iter() {
        if s > reach {
            return false;
        }
        reach = reach.max(e);
    }
    reach >= total
}

/// Fixes the reassembled header: lengths, no fragment bits, checksum.
fn patch_header(out: &mut [u8], l3: L3, d: &Datagram, total: usize) {
    let hlen = d.header.len();
    match l3 {
        L3::V4 => {
            let len = (hlen + total) as u16;
            put(out, 2, &len.to_be_bytes());
            put(out, 6, &[0, 0]);
            put(out, 10, &[0, 0]);
            let c = ipv4_header_checksum(out.get(..hlen).unwrap_or_default());
            put(out, 10, &c.to_be_bytes());
        }
        L3::V6 => {
            let len = (hlen.saturating_sub(40) + total) as u16;
            put(out, 4, &len.to_be_bytes());
            put(out, d.next_hdr_at, &[d.next_proto]);
        }
    }
}

fn put(out: &mut [u8], at: usize, b: &[u8]) {
    if let Some(dst) = out.get_mut(at..at + b.len()) {
        dst.copy_from_slice(b);
    }
}

/// Smallest first fragment that holds the transport header.
fn min_transport_len(p: u8) -> usize {
    match p {
        proto::TCP => 20,
        _ => 8,
    }
}

/// Parses the fragment's IP header.
fn parse<'f>(frame: &'f [u8], at: &FragmentRef) -> Option<Parsed<'f>> {
    let frame = frame.get(..at.end.min(frame.len()))?;
    let ip = frame.get(at.ip_offset..)?;
    match at.l3 {
        L3::V4 => parse_v4(ip, at),
        L3::V6 => parse_v6(ip, at),
    }
}

fn parse_v4<'f>(ip: &'f [u8], at: &FragmentRef) -> Option<Parsed<'f>> {
    const MF: u16 = 0x2000;
    let ihl = usize::from(u8_at(ip, 0) & 0x0F) * 4;
    let total = usize::from(be16(ip, 2));
    // A snapped fragment cannot be reassembled faithfully.
    let header = ip.get(..ihl)?;
    let data = ip.get(ihl..total)?;
    let flags = be16(ip, 6);
    let off = usize::from(flags & 0x1FFF) * 8;
    let more = flags & MF != 0;
    if more && (data.is_empty() || data.len() % 8 != 0) {
        return None;
    }
    let proto = u8_at(ip, 9);
    Some(Parsed {
        key: Key {
            src: Ipv4Addr::from(array::<4>(ip, 12)?).into(),
            dst: Ipv4Addr::from(array::<4>(ip, 16)?).into(),
            id: u32::from(be16(ip, 4)),
            proto,
            vlan: at.vlan,
            tunnel: at.tunnel,
        },
        l3: L3::V4,
        off,
        data,
        more,
        header,
        next_hdr_at: 0,
        next_proto: proto,
    })
}

fn parse_v6<'f>(ip: &'f [u8], at: &FragmentRef) -> Option<Parsed<'f>> {
    let end = 40 + usize::from(be16(ip, 4));
    let ip = ip.get(..end)?;
    let (frag_at, next_hdr_at) = find_fragment_header(ip)?;
    let fh = ip.get(frag_at..frag_at + 8)?;
    let offm = be16(fh, 2);
    let more = offm & 1 != 0;
    let data = ip.get(frag_at + 8..)?;
    if more && (data.is_empty() || data.len() % 8 != 0) {
        return None;
    }
    let next_proto = u8_at(fh, 0);
    Some(Parsed {
        key: Key {
            src: Ipv6Addr::from(array::<16>(ip, 8)?).into(),
            dst: Ipv6Addr::from(array::<16>(ip, 24)?).into(),
            id: be32(fh, 4),
            proto: next_proto,
            vlan: at.vlan,
            tunnel: at.tunnel,
        },
        l3: L3::V6,
        off: usize::from(offm & 0xFFF8),
        data,
        more,
        header: ip.get(..frag_at)?,
        next_hdr_at,
        next_proto,
    })
}

/// Offset of the IPv6 fragment header and of the next-header byte naming
/// it, walking the unfragmentable extension headers.
fn find_fragment_header(ip: &[u8]) -> Option<(usize, usize)> {
    let (mut next, mut nh_at, mut at) = (u8_at(ip, 6), 6, 40);
    for _ in 0..8 {
        let len = match next {
            44 => return Some((at, nh_at)),
            0 | 43 | 60 => (usize::from(*ip.get(at + 1)?) + 1) * 8,
            51 => (usize::from(*ip.get(at + 1)?) + 2) * 4,
            _ => return None,
        };
        next = *ip.get(at)?;
        nh_at = at;
        at += len;
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::decode::testutil::{eth, ipv6, udp};
    use crate::decode::{decode, Decoded};

    const NS: u64 = 1_000_000_000;
    /// An IP protocol with no header of its own: the payload is the data.
    const EXP: u8 = 253;

    /// IPv4 fragment 10.0.0.1 -> 10.0.0.2 of datagram `id`.
    fn v4(id: u16, off: usize, more: bool, proto: u8, data: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&((20 + data.len()) as u16).to_be_bytes());
        p.extend_from_slice(&id.to_be_bytes());
        let flags = (off / 8) as u16 | if more { 0x2000 } else { 0 };
        p.extend_from_slice(&flags.to_be_bytes());
        p.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(data);
        p
    }

    /// IPv6 fragment (after a hop-by-hop header) of datagram `id`.
    fn v6(id: u32, off: usize, more: bool, next: u8, data: &[u8]) -> Vec<u8> {
        let mut pl = vec![44, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop: next fragment, PadN
        pl.push(next);
        pl.push(0);
        pl.extend_from_slice(&((off as u16) | u16::from(more)).to_be_bytes());
        pl.extend_from_slice(&id.to_be_bytes());
        pl.extend_from_slice(data);
        ipv6(0, &pl)
    }

    /// Splits `payload` at `cuts` (multiples of 8) into IPv4 fragments.
    fn split_v4(id: u16, proto: u8, payload: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut bounds = vec![0];
        bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < payload.len()));
        bounds.push(payload.len());
        bounds.dedup();
        bounds
            .windows(2)
            .map(|w| v4(id, w[0], w[1] < payload.len(), proto, &payload[w[0]..w[1]]))
            .collect()
    }

    /// Pushes frames in order; the reassembled packet, if any, decoded
    /// with its payload.
    fn run(d: &mut Defragmenter, frames: &[Vec<u8>]) -> Option<(Decoded, Vec<u8>)> {
        let mut done = None;
        for f in frames {
            if let DefragResult::Complete(buf) = d.push_frame(NS, LinkType::RAW, f) {
                let dec = decode(LinkType::RAW, buf).expect("reassembled decodes");
                done = Some((dec.clone(), buf[dec.payload].to_vec()));
            }
        }
        done
    }

    fn policy(p: OverlapPolicy) -> Defragmenter {
        Defragmenter::new(DefragConfig {
            policy: p,
            ..DefragConfig::default()
        })
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n).map(|i| b'a' + (i % 26) as u8).collect()
    }

    #[test]
    fn in_order_and_reverse_udp() {
        let dgram = udp((4000, 5514), &text(3000));
        let frags = split_v4(7, proto::UDP, &dgram, &[1480, 2960]);
        assert_eq!(frags.len(), 3);
        for order in [frags.clone(), frags.iter().rev().cloned().collect()] {
            let mut d = policy(OverlapPolicy::First);
            let (dec, payload) = run(&mut d, &order).unwrap();
            assert_eq!((dec.sport, dec.dport), (4000, 5514));
            assert_eq!(payload, text(3000));
            assert_eq!(d.stats().reassembled_total, 1);
            assert_eq!((d.pending(), d.memory_used()), (0, 0));
        }
    }

    #[test]
    fn non_fragments_pass_through() {
        let mut d = policy(OverlapPolicy::First);
        let whole = v4(1, 0, false, proto::UDP, &udp((1, 2), b"x"));
        assert_eq!(
            d.push_frame(0, LinkType::RAW, &whole),
            DefragResult::NotFragment
        );
        assert_eq!(d.stats().fragments_total, 0);
    }

    #[test]
    fn duplicates_are_overlaps_without_difference() {
        let frags = split_v4(9, EXP, &text(64), &[16, 32]);
        let mut d = policy(OverlapPolicy::First);
        let dup = [
            frags[0].clone(),
            frags[1].clone(),
            frags[0].clone(),
            frags[2].clone(),
        ];
        let (_, payload) = run(&mut d, &dup).unwrap();
        assert_eq!(payload, text(64));
        assert_eq!(
            (d.stats().overlap_total, d.stats().overlap_diff_total),
            (1, 0)
        );
    }

    /// Two overlapping fragments: `a` (offset 0, 16 bytes of 'a', more)
    /// and `b` (offset 8, 16 bytes of 'b', last), in the order given.
    fn overlap(p: OverlapPolicy, a_first: bool) -> (Vec<u8>, DefragStats) {
        let a = v4(3, 0, true, EXP, &[b'a'; 16]);
        let b = v4(3, 8, false, EXP, &[b'b'; 16]);
        let order = if a_first { [a, b] } else { [b, a] };
        let mut d = policy(p);
        let (_, payload) = run(&mut d, &order).unwrap();
        (payload, *d.stats())
    }

    #[test]
    fn overlap_policies() {
        let (a8, a16, b8, b16) = ([b'a'; 8], [b'a'; 16], [b'b'; 8], [b'b'; 16]);
        let first = [&a16[..], &b8].concat();
        let last = [&a8[..], &b16].concat();
        // `a` arrives first: only last-wins lets `b` (starting later) win.
        for (p, want) in [
            (OverlapPolicy::First, &first),
            (OverlapPolicy::Last, &last),
            (OverlapPolicy::Bsd, &first),
            (OverlapPolicy::Linux, &first),
            (OverlapPolicy::Windows, &first),
        ] {
            let (got, stats) = overlap(p, true);
            assert_eq!(&got, want, "{p:?}");
            assert_eq!((stats.overlap_total, stats.overlap_diff_total), (1, 1));
        }
        // `b` first, then `a` starting before it: BSD and Linux take `a`.
        for (p, want) in [
            (OverlapPolicy::First, &last),
            (OverlapPolicy::Last, &first),
            (OverlapPolicy::Bsd, &first),
            (OverlapPolicy::Linux, &first),
            (OverlapPolicy::Windows, &last),
        ] {
            assert_eq!(&overlap(p, false).0, want, "{p:?}");
        }
    }

    #[test]
    fn missing_fragment_times_out() {
        let frags = split_v4(5, EXP, &text(48), &[16, 32]);
        let mut d = policy(OverlapPolicy::First);
        assert_eq!(
            d.push_frame(0, LinkType::RAW, &frags[0]),
            DefragResult::Held
        );
        assert_eq!(
            d.push_frame(NS, LinkType::RAW, &frags[2]),
            DefragResult::Held
        );
        assert_eq!(d.pending(), 1);
        // 30 s later another datagram arrives: the first is dropped.
        let other = v4(6, 0, true, EXP, &[0; 8]);
        assert_eq!(
            d.push_frame(31 * NS, LinkType::RAW, &other),
            DefragResult::Held
        );
        assert_eq!(d.stats().timeout_total, 1);
        assert_eq!(d.pending(), 1);
        // The late middle fragment starts a new, incomplete datagram.
        assert_eq!(
            d.push_frame(31 * NS, LinkType::RAW, &frags[1]),
            DefragResult::Held
        );
    }

    #[test]
    fn too_many_fragments() {
        let mut d = Defragmenter::new(DefragConfig {
            max_fragments: 4,
            ..DefragConfig::default()
        });
        let cuts: Vec<usize> = (1..6).map(|i| i * 8).collect();
        let frags = split_v4(1, EXP, &text(48), &cuts);
        assert!(run(&mut d, &frags).is_none());
        assert_eq!(d.stats().too_many_fragments_total, 1);
        assert_eq!(d.memory_used(), DATAGRAM_OVERHEAD); // dead entry only
    }

    #[test]
    fn memcap_evicts_oldest_and_bounds_memory() {
        let memcap = 3 * (DATAGRAM_OVERHEAD + FRAGMENT_OVERHEAD + 20 + 1000);
        let mut d = Defragmenter::new(DefragConfig {
            memcap,
            ..DefragConfig::default()
        });
        for id in 0..10u16 {
            let f = v4(id, 0, true, EXP, &[1; 1000]);
            assert_eq!(d.push_frame(NS, LinkType::RAW, &f), DefragResult::Held);
            assert!(d.memory_used() <= memcap);
        }
        assert_eq!(d.pending(), 3);
        assert_eq!(d.stats().memcap_total, 7);
        // The newest datagrams survive and complete.
        let last = v4(9, 1000, false, EXP, &[2; 8]);
        assert!(matches!(
            d.push_frame(NS, LinkType::RAW, &last),
            DefragResult::Complete(_)
        ));
        // A fragment bigger than the memcap is refused.
        let big = v4(99, 0, true, EXP, &[0; 4000]);
        assert_eq!(d.push_frame(NS, LinkType::RAW, &big), DefragResult::Dropped);
    }

    #[test]
    fn tiny_first_fragment_counted_and_reassembled() {
        let seg = crate::decode::testutil::tcp((1, 80), 1, 0x18, &[], b"GET / HTTP/1.1\r\n");
        let frags = split_v4(2, proto::TCP, &seg, &[8, 16]);
        let mut d = policy(OverlapPolicy::First);
        let (dec, payload) = run(&mut d, &frags).unwrap();
        assert_eq!(
            (dec.dport, payload.as_slice()),
            (80, &b"GET / HTTP/1.1\r\n"[..])
        );
        assert_eq!(d.stats().tiny_fragment_total, 1);
    }

    #[test]
    fn oversize_and_invalid() {
        let mut d = policy(OverlapPolicy::First);
        let f = v4(1, 65528, false, EXP, &[0; 16]);
        assert_eq!(d.push_frame(0, LinkType::RAW, &f), DefragResult::Dropped);
        assert_eq!(d.stats().oversize_total, 1);
        let odd = v4(2, 0, true, EXP, &[0; 12]); // not a multiple of 8
        assert_eq!(d.push_frame(0, LinkType::RAW, &odd), DefragResult::Dropped);
        let snapped = v4(3, 0, true, EXP, &[0; 16]);
        let r = d.push_frame(0, LinkType::RAW, &snapped[..30]);
        assert_eq!(r, DefragResult::Dropped);
        // A second "last" fragment with another end is inconsistent.
        assert_eq!(
            d.push_frame(0, LinkType::RAW, &v4(4, 8, false, EXP, &[0; 8])),
            DefragResult::Held
        );
        assert_eq!(
            d.push_frame(0, LinkType::RAW, &v4(4, 8, false, EXP, &[0; 16])),
            DefragResult::Dropped
        );
        assert_eq!(d.stats().invalid_total, 3);
    }

    #[test]
    fn ipv6_with_hop_by_hop() {
        let dgram = udp((5353, 9), &text(2000));
        let a = v6(0xabcd, 0, true, proto::UDP, &dgram[..1232]);
        let b = v6(0xabcd, 1232, false, proto::UDP, &dgram[1232..]);
        let mut d = policy(OverlapPolicy::First);
        let (dec, payload) = run(&mut d, &[b, a]).unwrap();
        assert_eq!((dec.proto, dec.sport, dec.dport), (proto::UDP, 5353, 9));
        assert_eq!(payload, text(2000));
    }

    #[test]
    fn vlan_and_tunnel_are_part_of_the_key() {
        let a = v4(8, 0, true, EXP, &[1; 8]);
        let b = v4(8, 8, false, EXP, &[2; 8]);
        let mut d = policy(OverlapPolicy::First);
        let tagged = |ip: &[u8]| {
            let mut t = vec![0x00, 0x05, 0x08, 0x00];
            t.extend_from_slice(ip);
            eth(0x8100, &t)
        };
        assert_eq!(
            d.push_frame(0, LinkType::ETHERNET, &tagged(&a)),
            DefragResult::Held
        );
        assert_eq!(d.push_frame(0, LinkType::RAW, &b), DefragResult::Held);
        assert_eq!(d.pending(), 2);
        assert!(matches!(
            d.push_frame(0, LinkType::ETHERNET, &tagged(&b)),
            DefragResult::Complete(_)
        ));
    }

    #[test]
    #[ignore = "measurement, not a check"]
    fn throughput() {
        let dgram = udp((4000, 5514), &text(3000));
        let n = 60_000u16;
        let frames: Vec<Vec<u8>> = (0..n)
            .flat_map(|id| split_v4(id, proto::UDP, &dgram, &[1480, 2960]))
            .collect();
        let mut d = policy(OverlapPolicy::First);
        let start = std::time::Instant::now();
        let mut done = 0u32;
        for f in &frames {
            done += u32::from(matches!(
                d.push_frame(NS, LinkType::RAW, f),
                DefragResult::Complete(_)
            ));
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(done, u32::from(n));
        let mb = frames.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
        println!(
            "defrag {} fragments, {mb:.0} MB in {secs:.3} s: {:.0} MB/s, {:.2} M fragments/s",
            frames.len(),
            mb / secs,
            frames.len() as f64 / secs / 1e6
        );
    }

    proptest! {
        #[test]
        fn random_fragmentation_reassembles_exactly(
            payload in proptest::collection::vec(any::<u8>(), 9..4000),
            cuts in proptest::collection::vec(1usize..500, 0..12),
            order in any::<prop::sample::Index>(),
            dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        ) {
            // At least one cut: a single "fragment" is a whole packet.
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c * 8).chain([8]).collect();
            cuts.sort_unstable();
            let mut frags = split_v4(77, EXP, &payload, &cuts);
            for i in dups {
                frags.push(frags[i.index(frags.len())].clone());
            }
            // Rotate the order, then reverse half: a cheap shuffle.
            let n = frags.len();
            frags.rotate_left(order.index(n));
            frags[..n / 2].reverse();
            let mut d = policy(OverlapPolicy::First);
            // Duplicates arriving after completion may complete it again
            // (as a retransmitted datagram would): each time identical.
            let mut got = Vec::new();
            for f in &frags {
                if let DefragResult::Complete(buf) = d.push_frame(NS, LinkType::RAW, f) {
                    let dec = decode(LinkType::RAW, buf).unwrap();
                    got.push(buf[dec.payload].to_vec());
                }
            }
            prop_assert!(!got.is_empty());
            for g in got {
                prop_assert_eq!(&g, &payload);
            }
            prop_assert_eq!(d.stats().overlap_diff_total, 0);
        }

        #[test]
        fn arbitrary_fragments_never_panic_within_memcap(
            frags in proptest::collection::vec(
                (0u16..4, 0usize..70000, any::<bool>(), 0usize..300, any::<u8>(), 0u64..5),
                0..60),
            v6_share in any::<bool>(),
        ) {
            let memcap = 4000;
            let mut d = Defragmenter::new(DefragConfig {
                memcap,
                max_fragments: 8,
                timeout: 2 * NS,
                policy: OverlapPolicy::Linux,
            });
            let mut ts = 0;
            for (id, off, more, len, byte, dt) in frags {
                ts += dt * NS / 2;
                let data = vec![byte; len];
                let f = if v6_share && id % 2 == 0 {
                    v6(u32::from(id), off & 0xFFF8, more, EXP, &data)
                } else {
                    v4(id, off & 0xFFF8, more, EXP, &data)
                };
                if let DefragResult::Complete(buf) = d.push_frame(ts, LinkType::RAW, &f) {
                    prop_assert!(buf.len() <= MAX_DATAGRAM + 40);
                }
                prop_assert!(d.memory_used() <= memcap);
            }
        }
    }
}
