//! The flow table of one worker: flows by key, packet-time timeouts, and a
//! size bound with eviction.
//!
//! Timeouts are checked lazily when a flow's next packet arrives and by a
//! sweep once per second of packet time; both use the same rule
//! (`now - last_seen > timeout`), so a flow ends at the same point whatever
//! the number of workers. Only eviction under pressure depends on what
//! else shares the worker.

use std::collections::HashMap;

use super::key::FlowKey;
use crate::capture::Timestamp;

const NANOS: u64 = 1_000_000_000;

/// Which timeout applies to a flow right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutClass {
    /// TCP without a completed handshake and without data.
    Embryonic,
    /// TCP carrying data.
    Established,
    /// TCP closed by FIN both ways or RST.
    Closed,
    /// UDP and other protocols.
    Datagram,
}

/// Timeouts in nanoseconds of packet time.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// For [`TimeoutClass::Embryonic`].
    pub embryonic: u64,
    /// For [`TimeoutClass::Established`].
    pub established: u64,
    /// For [`TimeoutClass::Closed`].
    pub closed: u64,
    /// For [`TimeoutClass::Datagram`].
    pub datagram: u64,
}

impl Timeouts {
    /// From seconds.
    pub fn from_secs(embryonic: u64, established: u64, closed: u64, datagram: u64) -> Timeouts {
        Timeouts {
            embryonic: embryonic.saturating_mul(NANOS),
            established: established.saturating_mul(NANOS),
            closed: closed.saturating_mul(NANOS),
            datagram: datagram.saturating_mul(NANOS),
        }
    }

    fn of(&self, class: TimeoutClass) -> u64 {
        match class {
            TimeoutClass::Embryonic => self.embryonic,
            TimeoutClass::Established => self.established,
            TimeoutClass::Closed => self.closed,
            TimeoutClass::Datagram => self.datagram,
        }
    }
}

/// Per-flow state the table's user keeps; it tells the table which timeout
/// applies.
pub trait FlowState {
    /// Current timeout class.
    fn timeout_class(&self) -> TimeoutClass;
}

/// Why a flow ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// No packet for longer than its timeout.
    Timeout,
    /// Evicted because the table was full.
    Evicted,
    /// A new connection reused the 5-tuple.
    Reused,
    /// End of input (or shutdown).
    Shutdown,
}

impl EndReason {
    /// Name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Evicted => "evicted",
            EndReason::Reused => "reused",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// One flow.
#[derive(Debug)]
pub struct Flow<S> {
    /// Canonical key.
    pub key: FlowKey,
    /// Flow id for events (stable hash of key and start time, < 2^53).
    pub id: u64,
    /// True when the key's `lo` endpoint is the client.
    pub client_is_lo: bool,
    /// Time of the first packet.
    pub first_ts: Timestamp,
    /// Time of the latest packet.
    pub last_ts: Timestamp,
    /// Packets per direction (index: [`super::Direction::index`]).
    pub pkts: [u64; 2],
    /// Payload bytes per direction.
    pub bytes: [u64; 2],
    /// The user's state.
    pub state: S,
}

/// Counters of the flow table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowTableStats {
    /// Flows created.
    pub flows_total: u64,
    /// Flows ended by timeout.
    pub timeouts_total: u64,
    /// Flows evicted because the table was full.
    pub evicted_total: u64,
    /// Flows ended because a new connection reused their 5-tuple.
    pub reused_total: u64,
    /// Most flows held at once.
    pub peak_flows: u64,
}

/// Flow table of one worker.
pub struct FlowTable<S> {
    map: HashMap<FlowKey, Flow<S>, ahash::RandomState>,
    max_flows: usize,
    timeouts: Timeouts,
    next_sweep: Timestamp,
    /// Counters.
    pub stats: FlowTableStats,
}

impl<S: FlowState> FlowTable<S> {
    /// A table holding at most `max_flows` flows (at least 1).
    pub fn new(max_flows: usize, timeouts: Timeouts) -> FlowTable<S> {
        FlowTable {
            map: HashMap::with_hasher(ahash::RandomState::new()),
            max_flows: max_flows.max(1),
            timeouts,
            next_sweep: 0,
            stats: FlowTableStats::default(),
        }
    }

    /// Flows held now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The flow of `key` at time `ts`, creating it with `make` when absent or
    /// expired. Flows that end on the way (expired, evicted) go to `on_end`.
    /// `make` returns (client is the key's lo endpoint, initial state).
    pub fn get_or_create(
        &mut self,
        key: &FlowKey,
        ts: Timestamp,
        make: impl FnOnce() -> (bool, S),
        on_end: &mut dyn FnMut(Flow<S>, EndReason),
    ) -> &mut Flow<S> {
        self.maybe_sweep(ts, on_end);
        if let Some(f) = self.map.get(key) {
            if self.expired(f, ts) {
                if let Some(old) = self.map.remove(key) {
                    self.stats.timeouts_total += 1;
                    on_end(old, EndReason::Timeout);
                }
            }
        }
        if !self.map.contains_key(key) && self.map.len() >= self.max_flows {
            self.evict_one(on_end);
        }
        let stats = &mut self.stats;
        let len = self.map.len() as u64;
        self.map.entry(*key).or_insert_with(|| {
            stats.flows_total += 1;
            stats.peak_flows = stats.peak_flows.max(len + 1);
            let (client_is_lo, state) = make();
            Flow {
                key: *key,
                id: flow_id(key, ts),
                client_is_lo,
                first_ts: ts,
                last_ts: ts,
                pkts: [0; 2],
                bytes: [0; 2],
                state,
            }
        })
    }

    /// The flow of `key`, if held (no timeout check).
    pub fn peek(&self, key: &FlowKey) -> Option<&Flow<S>> {
        self.map.get(key)
    }

    /// Ends the flow of `key` now (e.g. port reuse), passing it to `on_end`.
    pub fn end(
        &mut self,
        key: &FlowKey,
        reason: EndReason,
        on_end: &mut dyn FnMut(Flow<S>, EndReason),
    ) {
        if let Some(f) = self.map.remove(key) {
            if reason == EndReason::Reused {
                self.stats.reused_total += 1;
            }
            on_end(f, reason);
        }
    }

    /// Ends every flow (end of input), oldest first for a stable order.
    pub fn drain(&mut self, on_end: &mut dyn FnMut(Flow<S>, EndReason)) {
        let mut all: Vec<Flow<S>> = self.map.drain().map(|(_, f)| f).collect();
        all.sort_by_key(|f| (f.first_ts, f.key));
        for f in all {
            on_end(f, EndReason::Shutdown);
        }
    }

    fn expired(&self, f: &Flow<S>, now: Timestamp) -> bool {
        now.saturating_sub(f.last_ts) > self.timeouts.of(f.state.timeout_class())
    }

    /// Once per second of packet time, ends every expired flow.
    fn maybe_sweep(&mut self, now: Timestamp, on_end: &mut dyn FnMut(Flow<S>, EndReason)) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now.saturating_add(NANOS);
        let expired: Vec<FlowKey> = self
            .map
            .values()
            .filter(|f| self.expired(f, now))
            .map(|f| f.key)
            .collect();
        for k in expired {
            if let Some(f) = self.map.remove(&k) {
                self.stats.timeouts_total += 1;
                on_end(f, EndReason::Timeout);
            }
        }
    }

    /// Evicts the least recently seen flow among a sample of the table, so
    /// eviction stays O(1) when a flood fills the table.
    fn evict_one(&mut self, on_end: &mut dyn FnMut(Flow<S>, EndReason)) {
        const SAMPLE: usize = 64;
        let victim = self
            .map
            .values()
            .take(SAMPLE)
            .min_by_key(|f| (f.last_ts, f.key))
            .map(|f| f.key);
        if let Some(k) = victim {
            if let Some(f) = self.map.remove(&k) {
                self.stats.evicted_total += 1;
                on_end(f, EndReason::Evicted);
            }
        }
    }
}

/// Flow id: FNV-1a of the key's shard hash and start time, kept below 2^53
/// so JSON consumers that parse numbers as doubles keep it exact.
fn flow_id(key: &FlowKey, ts: Timestamp) -> u64 {
    let mut h = key.shard_hash() ^ 0x9e37_79b9_7f4a_7c15;
    for b in ts.to_le_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h & ((1 << 53) - 1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    struct S(TimeoutClass);
    impl FlowState for S {
        fn timeout_class(&self) -> TimeoutClass {
            self.0
        }
    }

    fn key(port: u16) -> FlowKey {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        FlowKey::new(a, port, b, 80, 6, [0, 0]).0
    }

    fn table(max: usize) -> FlowTable<S> {
        FlowTable::new(max, Timeouts::from_secs(30, 600, 10, 60))
    }

    #[test]
    fn expired_flow_is_replaced_by_a_new_one() {
        let mut t = table(10);
        let mut ended = Vec::new();
        let mut on_end = |f: Flow<S>, r| ended.push((f.id, r));
        let id1 = t
            .get_or_create(
                &key(1),
                NANOS,
                || (true, S(TimeoutClass::Datagram)),
                &mut on_end,
            )
            .id;
        t.get_or_create(&key(1), 30 * NANOS, || unreachable!(), &mut on_end)
            .last_ts = 30 * NANOS;
        let id2 = t
            .get_or_create(
                &key(1),
                91 * NANOS,
                || (true, S(TimeoutClass::Datagram)),
                &mut on_end,
            )
            .id;
        assert_ne!(id1, id2);
        assert_eq!(ended, vec![(id1, EndReason::Timeout)]);
        assert_eq!(t.stats.flows_total, 2);
    }

    #[test]
    fn sweep_ends_idle_flows_of_other_keys() {
        let mut t = table(10);
        let mut ended = Vec::new();
        let mut on_end = |f: Flow<S>, _r| ended.push(f.first_ts);
        t.get_or_create(
            &key(1),
            NANOS,
            || (true, S(TimeoutClass::Closed)),
            &mut on_end,
        );
        t.get_or_create(
            &key(2),
            20 * NANOS,
            || (true, S(TimeoutClass::Closed)),
            &mut on_end,
        );
        assert_eq!(t.len(), 1);
        assert_eq!(ended, vec![NANOS]);
    }

    #[test]
    fn full_table_evicts_least_recent() {
        let mut t = table(2);
        let mut ended = Vec::new();
        let mut on_end = |f: Flow<S>, r| ended.push((f.key, r));
        for (i, p) in [1u16, 2, 3].iter().enumerate() {
            let ts = (i as u64 + 1) * 100;
            t.get_or_create(
                &key(*p),
                ts,
                || (true, S(TimeoutClass::Established)),
                &mut on_end,
            )
            .last_ts = ts;
        }
        assert_eq!(t.len(), 2);
        assert_eq!(ended, vec![(key(1), EndReason::Evicted)]);
        assert_eq!(t.stats.evicted_total, 1);
    }

    #[test]
    fn drain_ends_all_oldest_first() {
        let mut t = table(10);
        let mut noop = |_f: Flow<S>, _r| {};
        t.get_or_create(
            &key(2),
            200,
            || (true, S(TimeoutClass::Datagram)),
            &mut noop,
        );
        t.get_or_create(
            &key(1),
            100,
            || (true, S(TimeoutClass::Datagram)),
            &mut noop,
        );
        let mut order = Vec::new();
        t.drain(&mut |f, r| order.push((f.first_ts, r)));
        assert_eq!(
            order,
            vec![(100, EndReason::Shutdown), (200, EndReason::Shutdown)]
        );
        assert!(t.is_empty());
    }
}
