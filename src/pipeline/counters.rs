//! Live counters of a running pipeline, for periodic `stats` events, the
//! metrics endpoint and the progress bar. Threads count into locals as
//! before and publish here once per batch (the reader every
//! [`PUBLISH_EVERY`] packets), so the hot path takes no shared lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use serde_json::{json, Value};

use super::output::{OutEvent, OutMsg, SortKey};
use super::worker::WorkerStats;
use crate::alert::event::{event_type, format_ts};
use crate::alert::SCHEMA_VERSION;
use crate::decode::DecodeError;

/// Packets between two publications of the reader's counters.
pub const PUBLISH_EVERY: u64 = 1024;

/// One worker's published counters.
#[derive(Default)]
pub struct WorkerSlot {
    /// Packets processed.
    pub packets_total: AtomicU64,
    /// Batches processed.
    pub batches_total: AtomicU64,
    /// Last published full counters.
    pub stats: Mutex<WorkerStats>,
}

/// Counters shared by the pipeline's threads and whoever reports them.
pub struct LiveCounters {
    /// Frames read.
    pub packets_total: AtomicU64,
    /// Captured bytes read.
    pub bytes_total: AtomicU64,
    /// Latest packet time (ns).
    pub last_ts: AtomicU64,
    /// Frames that did not decode, by [`DecodeError::ALL`] index.
    pub decode_errors: Box<[AtomicU64]>,
    /// Packets dropped by the kernel or interface (live capture sets it).
    pub capture_drops_total: AtomicU64,
    /// Per worker.
    pub workers: Box<[WorkerSlot]>,
}

impl LiveCounters {
    /// Counters for `workers` workers.
    pub fn new(workers: usize) -> Arc<LiveCounters> {
        Arc::new(LiveCounters {
            packets_total: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            last_ts: AtomicU64::new(0),
            decode_errors: DecodeError::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            capture_drops_total: AtomicU64::new(0),
            workers: (0..workers).map(|_| WorkerSlot::default()).collect(),
        })
    }

    /// The reader's publication.
    pub fn publish_reader(&self, packets: u64, bytes: u64, last_ts: u64, errors: &[u64]) {
        self.packets_total.store(packets, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
        self.last_ts.store(last_ts, Ordering::Relaxed);
        for (a, n) in self.decode_errors.iter().zip(errors) {
            a.store(*n, Ordering::Relaxed);
        }
    }

    /// A worker's publication after a batch of `packets`.
    pub fn publish_worker(&self, index: usize, packets: u64, stats: impl FnOnce() -> WorkerStats) {
        let Some(slot) = self.workers.get(index) else {
            return;
        };
        slot.packets_total.fetch_add(packets, Ordering::Relaxed);
        slot.batches_total.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut s) = slot.stats.lock() {
            *s = stats();
        }
    }

    /// Snapshot of every worker's counters.
    pub fn worker_stats(&self) -> Vec<(u64, WorkerStats)> {
        self.workers
            .iter()
            .map(|w| {
                let s = w.stats.lock().map(|s| s.clone()).unwrap_or_default();
                (w.packets_total.load(Ordering::Relaxed), s)
            })
            .collect()
    }

    /// The `stats` object of a periodic `stats` event.
    pub fn stats_json(&self) -> Value {
        let decode: serde_json::Map<String, Value> = DecodeError::ALL
            .iter()
            .zip(self.decode_errors.iter())
            .map(|(k, n)| {
                (
                    k.counter_name().to_string(),
                    json!(n.load(Ordering::Relaxed)),
                )
            })
            .collect();
        let workers: Vec<Value> = self
            .worker_stats()
            .iter()
            .map(|(p, s)| {
                json!({
                    "packets_total": p,
                    "flows_total": s.flow.flows_total,
                    "bytes_scanned_total": s.bytes_scanned_total,
                    "dlp_events_total": s.dlp_events_total,
                })
            })
            .collect();
        json!({
            "schema_version": SCHEMA_VERSION,
            "periodic": true,
            "capture": {
                "packets_total": self.packets_total.load(Ordering::Relaxed),
                "bytes_total": self.bytes_total.load(Ordering::Relaxed),
                "drops_total": self.capture_drops_total.load(Ordering::Relaxed),
            },
            "decoder": { "errors": decode },
            "workers": workers,
        })
    }
}

/// Extra `stats` members from outside the pipeline (e.g. sink status).
pub type StatsExtra = Arc<dyn Fn() -> Vec<(&'static str, Value)> + Send + Sync>;

/// Adds `extra` members to the `stats` object of a `stats` event's JSON.
pub fn with_extra(json: String, extra: Option<&StatsExtra>) -> String {
    let Some(f) = extra else {
        return json;
    };
    let Ok(mut v) = serde_json::from_str::<Value>(&json) else {
        return json;
    };
    if let Some(Value::Object(m)) = v.get_mut("stats") {
        for (k, x) in f() {
            m.insert(k.to_string(), x);
        }
    }
    v.to_string()
}

/// Emits a `stats` event every `interval` of packet time (replay) or wall
/// time (live: call [`StatsTicker::observe`] with the wall clock in ns).
pub struct StatsTicker {
    interval: u64,
    next: u64,
    seq: u32,
    counters: Arc<LiveCounters>,
    extra: Option<StatsExtra>,
    tx: Sender<OutMsg>,
}

impl StatsTicker {
    /// A ticker every `interval_secs` (> 0) sending into the output thread.
    pub fn new(
        interval_secs: u64,
        counters: Arc<LiveCounters>,
        extra: Option<StatsExtra>,
        tx: Sender<OutMsg>,
    ) -> StatsTicker {
        StatsTicker {
            interval: interval_secs.max(1).saturating_mul(1_000_000_000),
            next: 0,
            seq: 0,
            counters,
            extra,
            tx,
        }
    }

    /// Called with the current time (ns); sends a `stats` event when an
    /// interval has passed. Cheap when not due (one comparison).
    pub fn observe(&mut self, now: u64) {
        if now < self.next {
            return;
        }
        if self.next == 0 {
            self.next = now.saturating_add(self.interval);
            return;
        }
        self.next = now.saturating_add(self.interval);
        let ev = self.event(now);
        let _ = self.tx.send(OutMsg::Events(vec![ev]));
    }

    /// The periodic `stats` event at `now`.
    pub fn event(&mut self, now: u64) -> OutEvent {
        let mut stats = self.counters.stats_json();
        if let (Some(f), Value::Object(m)) = (&self.extra, &mut stats) {
            for (k, v) in f() {
                m.insert(k.to_string(), v);
            }
        }
        self.seq += 1;
        let json = json!({
            "timestamp": format_ts(now),
            "event_type": event_type::STATS,
            "stats": stats,
        });
        OutEvent {
            key: SortKey {
                ts: now,
                flow_id: u64::MAX,
                dir: 0,
                seq: self.seq,
            },
            json: json.to_string(),
            dedup: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticker_fires_once_per_interval_of_the_clock_it_is_given() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let c = LiveCounters::new(2);
        c.publish_reader(10, 1000, 5, &[]);
        c.publish_worker(1, 7, WorkerStats::default);
        let extra: StatsExtra = Arc::new(|| vec![("sinks", json!([]))]);
        let mut t = StatsTicker::new(10, c, Some(extra), tx);
        let s = 1_000_000_000u64;
        for sec in [100, 101, 109, 110, 111, 125, 126] {
            t.observe(sec * s);
        }
        let evs: Vec<OutEvent> = rx
            .try_iter()
            .flat_map(|m| match m {
                OutMsg::Events(e) => e,
                OutMsg::Flush => Vec::new(),
            })
            .collect();
        assert_eq!(evs.len(), 2, "at 110 and 125");
        let v: Value = serde_json::from_str(&evs[0].json).unwrap();
        assert_eq!(v["event_type"], "stats");
        assert_eq!(v["stats"]["capture"]["packets_total"], 10);
        assert_eq!(v["stats"]["workers"][1]["packets_total"], 7);
        assert!(v["stats"]["sinks"].is_array());
        assert_eq!(evs[1].key.ts, 125 * s);
    }
}
