//! IP -> name cache built from DNS answers seen in the traffic, to name the
//! far end of later flows (`dest_name`) when no SNI, Host or mail domain
//! names it.
//!
//! # Determinism
//!
//! The cache lives in the reader thread, which sees packets in capture
//! order before routing them. For every packet the reader looks up the
//! packet's destination address and hands the name (if any) to the worker
//! with the packet. What a worker learns is therefore a function of the
//! capture order alone: the same with 1 worker or 16, however far the
//! workers lag behind the reader, and eviction cannot race with lookups.
//!
//! # Bounds
//!
//! At most `max_entries` addresses; inserting past that evicts the entry
//! with the oldest packet time (counted). Entries older than `max_age`
//! (packet time) are not used: DNS TTLs are ignored on purpose, as a
//! capture may be replayed long after it was taken. Only UDP datagrams
//! from port 53 or 5353 and TCP segments from port 53 (in-order answers,
//! bounded: [`super::tcp_names`]) are parsed, allocation-free; a name is
//! allocated only when an answer brings a new address.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use super::parser::{walk, Header, Name, RData, Record, Visitor};
use super::tcp_names::{Segment, TcpAnswers, TcpNameStats};
use crate::capture::Timestamp;

/// Bounds of the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameCacheConfig {
    /// Addresses remembered (0 disables the cache).
    pub max_entries: usize,
    /// Answers older than this (ns of packet time) are not used.
    pub max_age: u64,
}

impl Default for NameCacheConfig {
    fn default() -> Self {
        NameCacheConfig {
            max_entries: 65_536,
            max_age: 24 * 3600 * 1_000_000_000,
        }
    }
}

/// What the cache counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NameCacheStats {
    /// DNS responses parsed.
    pub responses_total: u64,
    /// Datagrams from port 53/5353 that did not parse.
    pub malformed_total: u64,
    /// Address -> name entries added or refreshed.
    pub inserted_total: u64,
    /// Entries evicted to stay within `max_entries`.
    pub evicted_total: u64,
    /// Packets given a name.
    pub named_packets_total: u64,
    /// DNS over TCP answers (see [`super::tcp_names`]).
    pub tcp: TcpNameStats,
}

struct Entry {
    ts: Timestamp,
    name: Arc<str>,
}

/// The cache (owned by the reader thread).
pub struct NameCache {
    cfg: NameCacheConfig,
    map: HashMap<IpAddr, Entry, ahash::RandomState>,
    /// Insertion order (packet time, address) for eviction; entries
    /// refreshed since are re-queued when they reach the front.
    order: VecDeque<(Timestamp, IpAddr)>,
    stats: NameCacheStats,
    /// Answers of the datagram being read (reused: no allocation).
    scratch: Vec<(IpAddr, Arc<str>)>,
    /// DNS over TCP streams followed.
    tcp: TcpAnswers,
}

/// Most CNAME hops followed from the question to an address.
const MAX_CHAIN: usize = 8;

/// Collects the question and the CNAME chain of one response, then the
/// addresses that belong to the chain.
struct Answers<'a> {
    qname: Option<Name>,
    chain: [Option<Name>; MAX_CHAIN],
    found: &'a mut dyn FnMut(&Name, IpAddr),
}

impl Answers<'_> {
    fn in_chain(&self, n: &Name) -> bool {
        self.qname.as_ref().is_some_and(|q| q.eq_ignore_case(n))
            || self.chain.iter().flatten().any(|c| c.eq_ignore_case(n))
    }
}

impl Visitor for Answers<'_> {
    fn question(&mut self, name: &Name, _qtype: u16) {
        if self.qname.is_none() {
            self.qname = Some(name.clone());
        }
    }

    fn record(&mut self, rec: &Record<'_>) {
        if rec.section != 0 || !self.in_chain(&rec.name) {
            return;
        }
        match &rec.data {
            RData::Cname(target) => {
                if let Some(slot) = self.chain.iter_mut().find(|c| c.is_none()) {
                    *slot = Some(target.clone());
                }
            }
            RData::Addr(ip) => {
                if let Some(q) = &self.qname {
                    (self.found)(q, *ip);
                }
            }
            _ => {}
        }
    }
}

/// Calls `found(question name, address)` for every A/AAAA answer of a DNS
/// response that belongs to the question (directly or through CNAMEs, in
/// answer order). Returns the header, `None` if the message is malformed.
pub fn response_addresses(msg: &[u8], found: &mut dyn FnMut(&Name, IpAddr)) -> Option<Header> {
    let h = Header::parse(msg)?;
    if !h.is_response() || h.rcode() != 0 || h.ancount == 0 {
        return Some(h);
    }
    let mut a = Answers {
        qname: None,
        chain: Default::default(),
        found,
    };
    walk(msg, &mut a)
}

impl NameCache {
    /// An empty cache.
    pub fn new(cfg: NameCacheConfig) -> NameCache {
        NameCache {
            cfg,
            map: HashMap::default(),
            order: VecDeque::new(),
            stats: NameCacheStats::default(),
            scratch: Vec::new(),
            tcp: TcpAnswers::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> NameCacheStats {
        NameCacheStats {
            tcp: self.tcp.stats,
            ..self.stats
        }
    }

    /// Addresses currently remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Learns from a UDP datagram if it comes from a DNS port.
    pub fn observe_udp(&mut self, ts: Timestamp, sport: u16, payload: &[u8]) {
        if self.cfg.max_entries == 0 || (sport != 53 && sport != 5353) {
            return;
        }
        self.observe_message(ts, payload);
    }

    /// Learns from the answers of a TCP segment from port 53 (read in
    /// order, see [`super::tcp_names`]).
    pub fn observe_tcp(&mut self, ts: Timestamp, seg: &Segment<'_>) {
        if self.cfg.max_entries == 0 || seg.src.1 != 53 {
            return;
        }
        let mut tcp = std::mem::take(&mut self.tcp);
        tcp.observe(seg, &mut |msg| self.observe_message(ts, msg));
        self.tcp = tcp;
    }

    /// Learns from one DNS message (a response names addresses).
    fn observe_message(&mut self, ts: Timestamp, payload: &[u8]) {
        let mut pending = std::mem::take(&mut self.scratch);
        let mut last: Option<Arc<str>> = None;
        let map = &self.map;
        let res = response_addresses(payload, &mut |name, ip| {
            let text = name.as_bytes();
            // Reuse the name of the previous answer or of the entry.
            let same = |n: &Arc<str>| n.as_bytes().eq_ignore_ascii_case(text);
            let arc = match (&last, map.get(&ip)) {
                (Some(l), _) if same(l) => Arc::clone(l),
                (_, Some(e)) if same(&e.name) => Arc::clone(&e.name),
                _ => Arc::from(String::from_utf8_lossy(text).to_ascii_lowercase()),
            };
            last = Some(Arc::clone(&arc));
            if pending.len() < super::parser::MAX_RECORDS {
                pending.push((ip, arc));
            }
        });
        match res {
            Some(_) => self.stats.responses_total += 1,
            None => self.stats.malformed_total += 1,
        }
        for (ip, name) in pending.drain(..) {
            self.insert(ts, ip, name);
        }
        self.scratch = pending;
    }

    /// Remembers `ip -> name` at packet time `ts`.
    pub fn insert(&mut self, ts: Timestamp, ip: IpAddr, name: Arc<str>) {
        if self.cfg.max_entries == 0 {
            return;
        }
        self.stats.inserted_total += 1;
        if let Some(e) = self.map.get_mut(&ip) {
            e.ts = e.ts.max(ts);
            e.name = name;
            return;
        }
        self.map.insert(ip, Entry { ts, name });
        self.order.push_back((ts, ip));
        while self.map.len() > self.cfg.max_entries {
            self.evict_one();
        }
    }

    fn evict_one(&mut self) {
        while let Some((ts, ip)) = self.order.pop_front() {
            match self.map.get(&ip) {
                Some(e) if e.ts == ts => {
                    self.map.remove(&ip);
                    self.stats.evicted_total += 1;
                    return;
                }
                // Refreshed since queued: queue again at its new time.
                Some(e) => self.order.push_back((e.ts, ip)),
                None => {}
            }
        }
    }

    /// The name `ip` resolved to at or before `ts`, if not older than
    /// `max_age`.
    pub fn lookup(&mut self, ip: IpAddr, ts: Timestamp) -> Option<Arc<str>> {
        if self.map.is_empty() {
            return None;
        }
        let e = self.map.get(&ip)?;
        if e.ts > ts || ts - e.ts > self.cfg.max_age {
            return None;
        }
        self.stats.named_packets_total += 1;
        Some(Arc::clone(&e.name))
    }
}
