//! The flow table of one worker: flows by key, packet-time timeouts, and a
//! size bound with eviction.
//!
//! Timeouts are checked lazily when a flow's next packet arrives and by a
//! sweep once per second of packet time; both use the same rule
//! (`now - last_seen > timeout`), so a flow ends at the same point whatever
//! the number of workers. Only eviction under pressure depends on what
//! else shares the worker.
//!
//! Emergency mode (as Suricata's): when the table is above
//! `enter_pct` percent full, the shorter emergency timeouts apply and a
//! sweep runs at once; below `leave_pct` percent the normal ones return.
//! When the table is full, eviction prefers embryonic flows (a SYN flood's
//! spoofed half-open flows), then closed ones, then the least recent.

use hashbrown::HashTable;

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

/// Emergency mode settings.
#[derive(Clone, Copy, Debug)]
pub struct Emergency {
    /// Timeouts while in emergency mode.
    pub timeouts: Timeouts,
    /// Enter when the table holds at least this percent of its bound.
    pub enter_pct: u8,
    /// Leave when it holds less than this percent.
    pub leave_pct: u8,
}

impl Emergency {
    /// Emergency settings with timeouts a sixth of `normal` (at least 1 s),
    /// entering at 90% and leaving at 70%.
    pub fn default_for(normal: &Timeouts) -> Emergency {
        let cut = |t: u64| (t / 6).max(NANOS);
        Emergency {
            timeouts: Timeouts {
                embryonic: cut(normal.embryonic),
                established: cut(normal.established),
                closed: cut(normal.closed),
                datagram: cut(normal.datagram),
            },
            enter_pct: 90,
            leave_pct: 70,
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
    /// Times emergency mode was entered.
    pub emergency_entered_total: u64,
    /// Embryonic flows evicted (a subset of `evicted_total`).
    pub evicted_embryonic_total: u64,
}

/// Flow table of one worker.
pub struct FlowTable<S> {
    /// Flows by key (their `key` field), boxed so a bucket is a pointer:
    /// hashbrown may double its bucket array when removals leave
    /// tombstones, and doubling small buckets is cheap where doubling
    /// 700-byte ones (the flow state inline) was not (measured with
    /// `benches/flood.sh`). A `HashTable`, so a packet of a live flow costs
    /// one hash and one probe.
    map: HashTable<Box<Flow<S>>>,
    hasher: ahash::RandomState,
    max_flows: usize,
    timeouts: Timeouts,
    emergency: Emergency,
    in_emergency: bool,
    next_sweep: Timestamp,
    /// Counters.
    pub stats: FlowTableStats,
}

impl<S: FlowState> FlowTable<S> {
    /// A table holding at most `max_flows` flows (at least 1).
    pub fn new(max_flows: usize, timeouts: Timeouts) -> FlowTable<S> {
        FlowTable {
            map: HashTable::new(),
            hasher: ahash::RandomState::new(),
            max_flows: max_flows.max(1),
            timeouts,
            emergency: Emergency::default_for(&timeouts),
            in_emergency: false,
            next_sweep: 0,
            stats: FlowTableStats::default(),
        }
    }

    /// Replaces the emergency mode settings.
    pub fn with_emergency(mut self, emergency: Emergency) -> FlowTable<S> {
        self.emergency = emergency;
        self
    }

    /// True while emergency mode is on.
    pub fn in_emergency(&self) -> bool {
        self.in_emergency
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
    /// `None` never happens (the flow's bucket was just found or filled).
    pub fn get_or_create(
        &mut self,
        key: &FlowKey,
        ts: Timestamp,
        make: impl FnOnce() -> (bool, S),
        on_end: &mut dyn FnMut(Flow<S>, EndReason),
    ) -> Option<&mut Flow<S>> {
        self.update_mode();
        self.maybe_sweep(ts, on_end);
        // One hash and, for a live flow (the common case), one probe; the
        // bucket index is what lets the flow be returned after the test.
        let hash = self.hasher.hash_one(key);
        let found = self.map.find_bucket_index(hash, |f| f.key == *key);
        let live = found.filter(|&i| self.map.get_bucket(i).is_some_and(|f| !self.expired(f, ts)));
        let index = match live {
            Some(i) => i,
            None => self.create(hash, found, key, ts, make, on_end),
        };
        self.map.get_bucket_mut(index).map(|f| &mut **f)
    }

    /// Ends the expired flow in bucket `expired` (the key's, if held),
    /// makes room, and inserts a new flow; returns its bucket index.
    fn create(
        &mut self,
        hash: u64,
        expired: Option<usize>,
        key: &FlowKey,
        ts: Timestamp,
        make: impl FnOnce() -> (bool, S),
        on_end: &mut dyn FnMut(Flow<S>, EndReason),
    ) -> usize {
        if let Some(Ok(entry)) = expired.map(|i| self.map.get_bucket_entry(i)) {
            let (old, _) = entry.remove();
            self.stats.timeouts_total += 1;
            on_end(*old, EndReason::Timeout);
        }
        if self.map.len() >= self.max_flows {
            self.evict_one(on_end);
        }
        self.stats.flows_total += 1;
        self.stats.peak_flows = self.stats.peak_flows.max(self.map.len() as u64 + 1);
        let (client_is_lo, state) = make();
        let flow = Box::new(Flow {
            key: *key,
            id: flow_id(key, ts),
            client_is_lo,
            first_ts: ts,
            last_ts: ts,
            pkts: [0; 2],
            bytes: [0; 2],
            state,
        });
        let hasher = &self.hasher;
        self.map
            .insert_unique(hash, flow, |f| hasher.hash_one(f.key))
            .bucket_index()
    }

    /// Takes the flow of `key` out of the table.
    fn remove(&mut self, key: &FlowKey) -> Option<Box<Flow<S>>> {
        let hash = self.hasher.hash_one(key);
        let entry = self.map.find_entry(hash, |f| f.key == *key).ok()?;
        Some(entry.remove().0)
    }

    /// The flow of `key`, if held (no timeout check).
    pub fn peek(&self, key: &FlowKey) -> Option<&Flow<S>> {
        let hash = self.hasher.hash_one(key);
        self.map.find(hash, |f| f.key == *key).map(|f| &**f)
    }

    /// Ends the flow of `key` now (e.g. port reuse), passing it to `on_end`.
    pub fn end(
        &mut self,
        key: &FlowKey,
        reason: EndReason,
        on_end: &mut dyn FnMut(Flow<S>, EndReason),
    ) {
        if let Some(f) = self.remove(key) {
            if reason == EndReason::Reused {
                self.stats.reused_total += 1;
            }
            on_end(*f, reason);
        }
    }

    /// Ends every flow idle past its timeout at packet time `now` (live: no
    /// packet may come to trigger the sweep).
    pub fn expire(&mut self, now: Timestamp, on_end: &mut dyn FnMut(Flow<S>, EndReason)) {
        self.update_mode();
        self.next_sweep = 0;
        self.maybe_sweep(now, on_end);
    }

    /// Calls `f` on every flow (e.g. to re-base state on reloaded detectors).
    pub fn for_each_mut(&mut self, f: &mut dyn FnMut(&mut Flow<S>)) {
        for flow in self.map.iter_mut() {
            f(flow);
        }
    }

    /// Ends every flow (end of input), oldest first for a stable order.
    pub fn drain(&mut self, on_end: &mut dyn FnMut(Flow<S>, EndReason)) {
        let mut all: Vec<Box<Flow<S>>> = self.map.drain().collect();
        all.sort_by_key(|f| (f.first_ts, f.key));
        for f in all {
            on_end(*f, EndReason::Shutdown);
        }
    }

    fn expired(&self, f: &Flow<S>, now: Timestamp) -> bool {
        let t = if self.in_emergency {
            &self.emergency.timeouts
        } else {
            &self.timeouts
        };
        now.saturating_sub(f.last_ts) > t.of(f.state.timeout_class())
    }

    /// Enters or leaves emergency mode by how full the table is; entering
    /// makes the next lookup sweep at once.
    fn update_mode(&mut self) {
        let pct = |p: u8| self.max_flows.saturating_mul(usize::from(p)) / 100;
        let len = self.map.len();
        if !self.in_emergency && len >= pct(self.emergency.enter_pct).max(1) {
            self.in_emergency = true;
            self.stats.emergency_entered_total += 1;
            self.next_sweep = 0;
        } else if self.in_emergency && len < pct(self.emergency.leave_pct) {
            self.in_emergency = false;
        }
    }

    /// Once per second of packet time, ends every expired flow.
    fn maybe_sweep(&mut self, now: Timestamp, on_end: &mut dyn FnMut(Flow<S>, EndReason)) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now.saturating_add(NANOS);
        let expired: Vec<FlowKey> = self
            .map
            .iter()
            .filter(|f| self.expired(f, now))
            .map(|f| f.key)
            .collect();
        for k in expired {
            if let Some(f) = self.remove(&k) {
                self.stats.timeouts_total += 1;
                on_end(*f, EndReason::Timeout);
            }
        }
    }

    /// Evicts one flow among a sample of the table (so eviction stays O(1)
    /// when a flood fills the table): embryonic first, then closed, then
    /// the least recently seen.
    fn evict_one(&mut self, on_end: &mut dyn FnMut(Flow<S>, EndReason)) {
        const SAMPLE: usize = 64;
        let rank = |c: TimeoutClass| match c {
            TimeoutClass::Embryonic => 0u8,
            TimeoutClass::Closed => 1,
            TimeoutClass::Datagram => 2,
            TimeoutClass::Established => 3,
        };
        let victim = self
            .map
            .iter()
            .take(SAMPLE)
            .min_by_key(|f| (rank(f.state.timeout_class()), f.last_ts, f.key))
            .map(|f| f.key);
        if let Some(k) = victim {
            if let Some(f) = self.remove(&k) {
                self.stats.evicted_total += 1;
                if f.state.timeout_class() == TimeoutClass::Embryonic {
                    self.stats.evicted_embryonic_total += 1;
                }
                on_end(*f, EndReason::Evicted);
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
            .expect("flow")
            .id;
        t.get_or_create(&key(1), 30 * NANOS, || unreachable!(), &mut on_end)
            .expect("flow")
            .last_ts = 30 * NANOS;
        let id2 = t
            .get_or_create(
                &key(1),
                91 * NANOS,
                || (true, S(TimeoutClass::Datagram)),
                &mut on_end,
            )
            .expect("flow")
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
            .expect("flow")
            .last_ts = ts;
        }
        assert_eq!(t.len(), 2);
        assert_eq!(ended, vec![(key(1), EndReason::Evicted)]);
        assert_eq!(t.stats.evicted_total, 1);
    }

    #[test]
    fn full_table_evicts_embryonic_before_established() {
        let mut t = table(2);
        let mut ended = Vec::new();
        let mut on_end = |f: Flow<S>, r| ended.push((f.key, r));
        let classes = [TimeoutClass::Established, TimeoutClass::Embryonic];
        for (i, c) in classes.into_iter().enumerate() {
            t.get_or_create(
                &key(i as u16 + 1),
                100 + i as u64,
                || (true, S(c)),
                &mut on_end,
            );
        }
        t.get_or_create(
            &key(9),
            300,
            || (true, S(TimeoutClass::Embryonic)),
            &mut on_end,
        );
        assert_eq!(ended, vec![(key(2), EndReason::Evicted)]);
        assert_eq!(t.stats.evicted_embryonic_total, 1);
    }

    #[test]
    fn emergency_mode_shortens_timeouts_and_recovers() {
        let mut t = table(10).with_emergency(Emergency {
            timeouts: Timeouts::from_secs(2, 600, 1, 60),
            enter_pct: 90,
            leave_pct: 70,
        });
        let mut noop = |_f: Flow<S>, _r| {};
        for p in 0..9u16 {
            t.get_or_create(
                &key(p),
                NANOS,
                || (true, S(TimeoutClass::Embryonic)),
                &mut noop,
            );
        }
        assert!(!t.in_emergency());
        // The 10th lookup sees 9/10 = 90% full: emergency mode.
        t.get_or_create(
            &key(100),
            NANOS,
            || (true, S(TimeoutClass::Established)),
            &mut noop,
        );
        assert!(t.in_emergency());
        assert_eq!(t.stats.emergency_entered_total, 1);
        // 4 s later the embryonic flows (emergency timeout 2 s, normal 30 s)
        // are swept; the table drops below 70% and the mode ends.
        t.get_or_create(
            &key(101),
            5 * NANOS,
            || (true, S(TimeoutClass::Established)),
            &mut noop,
        );
        assert_eq!(t.len(), 2);
        t.get_or_create(&key(101), 5 * NANOS, || unreachable!(), &mut noop);
        assert!(!t.in_emergency());
        assert_eq!(t.stats.timeouts_total, 9);
    }

    #[test]
    fn flood_never_grows_past_the_bound() {
        let mut t = table(100);
        let mut n = 0u64;
        let mut on_end = |_f: Flow<S>, _r| n += 1;
        for i in 0..20_000u64 {
            let k = FlowKey::new(
                IpAddr::from((i as u32).to_be_bytes()),
                (i % 60000) as u16,
                "10.0.0.2".parse().unwrap(),
                80,
                6,
                [0, 0],
            )
            .0;
            t.get_or_create(
                &k,
                i * 1000,
                || (true, S(TimeoutClass::Embryonic)),
                &mut on_end,
            );
            assert!(t.len() <= 100);
        }
        assert_eq!(t.stats.peak_flows, 100);
        assert_eq!(n, 20_000 - 100);
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
