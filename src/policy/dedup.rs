//! De-duplication of PI values per path, by packet time.
//!
//! One [`Deduper`] per worker (no locks). It remembers `(path, value)` pairs
//! it has reported, in first-report order, and answers whether a value was
//! already reported on that path within the window. A repeat does not renew
//! the entry, so a value sent all day is reported again once per window (the
//! incident team sees it is still flowing). Memory is bounded by
//! `max_entries`: past it the oldest entries are forgotten (counted).
//!
//! # How the pipeline uses it
//! For each value of a `dlp` event about to be emitted (after policy, with the
//! event's sender and receiver): `is_repeat(path, hash, ts)`. Drop repeated
//! values from the findings and add them to the finding's repeat count; when
//! every value of an event was a repeat, do not emit the event and count it
//! with [`Deduper::suppress_event`].
//!
//! Keys keep the first 16 bytes of the value's keyed hash (collisions are
//! negligible at 2^-128) and a 64-bit hash of the address pair.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;

use ahash::{AHashMap, RandomState};

use super::config::DedupConfig;

/// The path a value travelled: sender and receiver addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PathKey(u64);

/// Counters, `_total` over the worker's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DedupStats {
    /// Values checked.
    pub checked_total: u64,
    /// Values found already reported within the window.
    pub repeats_total: u64,
    /// Entries forgotten because `max_entries` was reached.
    pub evicted_total: u64,
    /// Entries forgotten because their window passed.
    pub expired_total: u64,
    /// Events not emitted because all their values were repeats.
    pub suppressed_events_total: u64,
}

type Key = (PathKey, [u8; 16]);

/// Per-worker memory of reported values.
#[derive(Debug)]
pub struct Deduper {
    enabled: bool,
    window_ns: u64,
    max_entries: usize,
    seen: AHashMap<Key, u64>,
    /// Keys in first-report order with their report time.
    order: VecDeque<(Key, u64)>,
    hasher: RandomState,
    stats: DedupStats,
}

impl Deduper {
    /// A deduper with the `[dedup]` settings.
    pub fn new(cfg: &DedupConfig) -> Deduper {
        Deduper {
            enabled: cfg.enabled && cfg.max_entries > 0,
            window_ns: cfg.window.saturating_mul(1_000_000_000),
            max_entries: cfg.max_entries,
            seen: AHashMap::default(),
            order: VecDeque::new(),
            // Fixed seeds: the same pair maps to the same key in every
            // worker and run (keys never leave the process).
            hasher: RandomState::with_seeds(0x6c65, 0x616b, 0x7761, 0x7463),
            stats: DedupStats::default(),
        }
    }

    /// The key of a sender -> receiver path (order matters) in network
    /// `tenant` (`FlowKey::vni`: 0 = none; tenants' addresses may overlap).
    pub fn path(&self, sender: IpAddr, receiver: IpAddr, tenant: u32) -> PathKey {
        let mut h = self.hasher.build_hasher();
        sender.to_canonical().hash(&mut h);
        receiver.to_canonical().hash(&mut h);
        if tenant != 0 {
            tenant.hash(&mut h);
        }
        PathKey(h.finish())
    }

    /// Whether `value_hash` (the value's keyed hash, `alert::ValueHash`) was
    /// reported on `path` within the window before `ts_ns`; if not,
    /// remembers it as reported at `ts_ns`. Always `false` when disabled.
    pub fn is_repeat(&mut self, path: PathKey, value_hash: &[u8; 32], ts_ns: u64) -> bool {
        if !self.enabled {
            return false;
        }
        self.stats.checked_total += 1;
        self.expire(ts_ns);
        let mut v = [0u8; 16];
        v.copy_from_slice(&value_hash[..16]);
        let key = (path, v);
        if let Some(&at) = self.seen.get(&key) {
            if ts_ns.saturating_sub(at) < self.window_ns {
                self.stats.repeats_total += 1;
                return true;
            }
        }
        while self.seen.len() >= self.max_entries {
            match self.pop_oldest() {
                None => break,
                Some(true) => self.stats.evicted_total += 1,
                Some(false) => {}
            }
        }
        self.seen.insert(key, ts_ns);
        self.order.push_back((key, ts_ns));
        if self.order.len() > self.max_entries.saturating_mul(2) {
            // Stale queue entries pile up only when packet time jumps
            // back and forth; drop them so the queue stays bounded.
            let seen = &self.seen;
            self.order.retain(|(k, at)| seen.get(k) == Some(at));
        }
        false
    }

    /// Counts an event dropped because all its values were repeats.
    pub fn suppress_event(&mut self) {
        self.stats.suppressed_events_total += 1;
    }

    /// Counters so far.
    pub fn stats(&self) -> DedupStats {
        self.stats
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Forgets entries whose window ended by `now`. Packet times may step
    /// back a little across flows; such entries just live a little longer.
    fn expire(&mut self, now: u64) {
        while let Some(&(_, at)) = self.order.front() {
            if now.saturating_sub(at) < self.window_ns {
                break;
            }
            if self.pop_oldest() == Some(true) {
                self.stats.expired_total += 1;
            }
        }
    }

    /// Removes the oldest queue entry: `None` when the queue is empty,
    /// `Some(true)` when it owned its map entry (which goes too), `Some(false)`
    /// for a stale entry (its key was reported again later).
    fn pop_oldest(&mut self) -> Option<bool> {
        let (key, at) = self.order.pop_front()?;
        if self.seen.get(&key) == Some(&at) {
            self.seen.remove(&key);
            Some(true)
        } else {
            Some(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn d(window: u64, max: usize) -> Deduper {
        Deduper::new(&DedupConfig {
            enabled: true,
            window,
            max_entries: max,
        })
    }

    fn h(i: u8) -> [u8; 32] {
        [i; 32]
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn repeats_within_window_per_path() {
        let mut dd = d(60, 100);
        let p = dd.path(ip("10.1.0.1"), ip("8.8.8.8"), 0);
        let back = dd.path(ip("8.8.8.8"), ip("10.1.0.1"), 0);
        assert_ne!(p, back);
        assert_eq!(p, dd.path(ip("::ffff:10.1.0.1"), ip("8.8.8.8"), 0));
        assert_ne!(
            p,
            dd.path(ip("10.1.0.1"), ip("8.8.8.8"), 5002),
            "another tenant"
        );
        assert!(!dd.is_repeat(p, &h(1), 0));
        assert!(dd.is_repeat(p, &h(1), 59 * S));
        assert!(!dd.is_repeat(back, &h(1), 59 * S));
        assert!(!dd.is_repeat(p, &h(2), 59 * S));
        // The window counts from the first report, repeats do not renew it.
        assert!(!dd.is_repeat(p, &h(1), 60 * S));
        assert!(dd.is_repeat(p, &h(1), 61 * S));
        let s = dd.stats();
        assert_eq!((s.checked_total, s.repeats_total), (6, 2));
        assert!(s.expired_total >= 1);
    }

    #[test]
    fn bounded_memory_evicts_oldest() {
        let mut dd = d(3600, 3);
        let p = dd.path(ip("10.1.0.1"), ip("8.8.8.8"), 0);
        for i in 0..10u8 {
            assert!(!dd.is_repeat(p, &h(i), u64::from(i) * S));
            assert!(dd.len() <= 3);
        }
        assert_eq!(dd.stats().evicted_total, 7);
        assert!(dd.is_repeat(p, &h(9), 20 * S));
        assert!(
            !dd.is_repeat(p, &h(0), 20 * S),
            "evicted value is new again"
        );
        assert!(dd.order.len() <= 4);
    }

    #[test]
    fn disabled_never_repeats() {
        let mut dd = Deduper::new(&DedupConfig {
            enabled: false,
            window: 60,
            max_entries: 10,
        });
        let p = dd.path(ip("10.1.0.1"), ip("8.8.8.8"), 0);
        assert!(!dd.is_repeat(p, &h(1), 0));
        assert!(!dd.is_repeat(p, &h(1), 0));
        assert!(dd.is_empty());
        dd.suppress_event();
        assert_eq!(dd.stats().suppressed_events_total, 1);
    }

    #[test]
    fn time_going_back_is_safe() {
        let mut dd = d(10, 100);
        let p = dd.path(ip("10.1.0.1"), ip("8.8.8.8"), 0);
        assert!(!dd.is_repeat(p, &h(1), 100 * S));
        assert!(dd.is_repeat(p, &h(1), 50 * S));
        assert!(!dd.is_repeat(p, &h(2), 50 * S));
        assert!(!dd.is_repeat(p, &h(1), 200 * S));
        assert_eq!(dd.len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn memory_stays_bounded(ops in proptest::collection::vec((0u8..20, 0u64..1000, 0u8..3), 1..300)) {
            let mut dd = d(30, 8);
            let paths = [
                dd.path(ip("10.1.0.1"), ip("8.8.8.8"), 0),
                dd.path(ip("8.8.8.8"), ip("10.1.0.1"), 0),
                dd.path(ip("fd00::1"), ip("2001:db8::1"), 0),
            ];
            for (v, t, p) in ops {
                let first = !dd.is_repeat(paths[usize::from(p)], &h(v), t * S);
                // Right after a report the value is a repeat at the same time.
                if first {
                    proptest::prop_assert!(dd.is_repeat(paths[usize::from(p)], &h(v), t * S));
                }
                proptest::prop_assert!(dd.len() <= 8);
                proptest::prop_assert!(dd.order.len() <= 17);
            }
        }
    }
}
