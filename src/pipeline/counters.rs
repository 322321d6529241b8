//! Live counters of a running pipeline, and the one mechanism that turns
//! them into periodic `stats` events, for replay and live capture alike.
//!
//! Threads count into locals as before and publish here once per batch
//! (the reader every [`PUBLISH_EVERY`] packets; live capture once a second
//! from the control thread: interfaces, kernel drops, reloads), so the hot
//! path takes no shared lock. A [`StatsTicker`] reads them every interval
//! of the clock it is given: packet time in a replay (so the events fall
//! at the same places in the output on every run), wall time in live
//! capture. Every periodic `stats` event has the schema of
//! [`LiveCounters::stats_json`] plus the [`StatsExtra`] members (sinks).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::Sender;
use serde_json::{json, Value};

use super::output::{OutEvent, OutMsg, SortKey};
use super::reader::ReaderStats;
use super::stats::RunStats;
use super::worker::WorkerStats;
use crate::alert::event::{event_type, format_ts};
use crate::alert::{EventHead, SCHEMA_VERSION};
use crate::capture::live::InterfaceStats;
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
    /// Live capture: counters per interface (empty in a replay).
    pub interfaces: Mutex<Vec<InterfaceStats>>,
    /// Successful reloads (SIGHUP).
    pub reload_ok_total: AtomicU64,
    /// Rejected reloads (the old configuration stayed).
    pub reload_failed_total: AtomicU64,
    started: Instant,
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
            interfaces: Mutex::new(Vec::new()),
            reload_ok_total: AtomicU64::new(0),
            reload_failed_total: AtomicU64::new(0),
            started: Instant::now(),
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

    /// Live capture's publication (control thread, once a second): the
    /// interfaces (fanout sockets merged), which also give the capture
    /// totals and drops, and the decode errors summed over capture threads.
    pub fn publish_interfaces(&self, ifaces: Vec<InterfaceStats>, errors: &[u64], now: u64) {
        let sum = |f: &dyn Fn(&InterfaceStats) -> u64| ifaces.iter().map(f).sum::<u64>();
        let drops = sum(&|i| i.kernel.drops());
        self.publish_reader(
            sum(&|i| i.packets_total),
            sum(&|i| i.bytes_total),
            now,
            errors,
        );
        self.capture_drops_total.store(drops, Ordering::Relaxed);
        if let Ok(mut g) = self.interfaces.lock() {
            *g = ifaces;
        }
    }

    /// Counts a reload attempt.
    pub fn count_reload(&self, ok: bool) {
        let c = if ok {
            &self.reload_ok_total
        } else {
            &self.reload_failed_total
        };
        c.fetch_add(1, Ordering::Relaxed);
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

    /// The `stats` object of a periodic `stats` event (the one schema of
    /// replay and live; README "stats"). `wall`: live capture (adds
    /// `uptime_seconds`, which a replay leaves out to stay reproducible).
    pub fn stats_json(&self, wall: bool) -> Value {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let decode: serde_json::Map<String, Value> = DecodeError::ALL
            .iter()
            .zip(self.decode_errors.iter())
            .map(|(k, n)| (k.counter_name().to_string(), json!(load(n))))
            .collect();
        let per_worker = self.worker_stats();
        let workers: Vec<Value> = per_worker
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
        let stats: Vec<WorkerStats> = per_worker.into_iter().map(|(_, s)| s).collect();
        let sum = RunStats::new(
            Vec::new(),
            stats.len(),
            ReaderStats::default(),
            &stats,
            Default::default(),
            Default::default(),
        );
        let ifaces = self
            .interfaces
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default();
        let isum = |f: &dyn Fn(&InterfaceStats) -> u64| ifaces.iter().map(f).sum::<u64>();
        let mut v = json!({
            "schema_version": SCHEMA_VERSION,
            "periodic": true,
            "clock": if wall { "wall" } else { "packet" },
            "capture": {
                "packets_total": load(&self.packets_total),
                "bytes_total": load(&self.bytes_total),
                "drops_total": load(&self.capture_drops_total),
                "kernel_drops_total": isum(&|i| i.kernel.dropped),
                "if_drops_total": isum(&|i| i.kernel.if_dropped),
                "interfaces": ifaces.iter().map(InterfaceStats::to_json).collect::<Vec<_>>(),
            },
            "decoder": { "errors": decode },
            "flow": sum.flow_json(),
            "reassembly": sum.reassembly_json(),
            "detect": sum.detect_json(),
            "output": { "dlp_events_total": sum.dlp_events_total },
            "workers": workers,
            "reload": {
                "ok_total": load(&self.reload_ok_total),
                "failed_total": load(&self.reload_failed_total),
            },
        });
        if wall {
            v["uptime_seconds"] = json!(self.started.elapsed().as_secs());
        }
        v
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

/// Emits a `stats` event every `interval` of packet time (replay: the
/// reader calls [`StatsTicker::observe`] with each packet's time) or wall
/// time (live: the control thread calls it with the wall clock in ns, see
/// [`StatsTicker::wall_clock`]).
pub struct StatsTicker {
    interval: u64,
    wall: bool,
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
            wall: false,
            next: 0,
            seq: 0,
            counters,
            extra,
            tx,
        }
    }

    /// The ticker of live capture: events say `"clock": "wall"` and carry
    /// `uptime_seconds`.
    pub fn wall_clock(mut self) -> StatsTicker {
        self.wall = true;
        self
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
        let mut stats = self.counters.stats_json(self.wall);
        self.seq += 1;
        if let Value::Object(m) = &mut stats {
            m.insert("seq".into(), json!(self.seq));
            if let Some(f) = &self.extra {
                m.extend(f().into_iter().map(|(k, v)| (k.to_string(), v)));
            }
        }
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
            head: Some(EventHead::of_type(event_type::STATS)),
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
        assert_eq!(v["stats"]["clock"], "packet");
        assert_eq!(v["stats"]["seq"], 1);
        assert!(v["stats"].get("uptime_seconds").is_none(), "reproducible");
        assert_eq!(evs[1].key.ts, 125 * s);
        let v: Value = serde_json::from_str(&evs[1].json).unwrap();
        assert_eq!(v["stats"]["seq"], 2);
    }

    #[test]
    fn one_schema_sums_flows_and_reports_live_parts() {
        let c = LiveCounters::new(2);
        for (i, flows) in [(0, 3), (1, 4)] {
            c.publish_worker(i, 1, || WorkerStats {
                flow: crate::flow::table::FlowTableStats {
                    flows_total: flows,
                    evicted_total: 1,
                    ..Default::default()
                },
                dlp_events_total: 2,
                columns: crate::detect::columns::ColumnStats {
                    columns_limit_total: 1,
                    ..Default::default()
                },
                ..Default::default()
            });
        }
        let replay = c.stats_json(false);
        assert_eq!(replay["detect"]["columns"]["columns_limit_total"], 2);
        for k in [
            "capture",
            "decoder",
            "flow",
            "reassembly",
            "detect",
            "output",
        ] {
            assert!(replay[k].is_object(), "{k}");
        }
        assert_eq!(replay["flow"]["flows_total"], 7);
        assert_eq!(replay["flow"]["evicted_total"], 2);
        assert_eq!(replay["output"]["dlp_events_total"], 4);
        assert_eq!(replay["capture"]["interfaces"], json!([]));
        assert_eq!(replay["reload"]["ok_total"], 0);
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut t = StatsTicker::new(1, c, None, tx).wall_clock();
        let v: Value = serde_json::from_str(&t.event(5).json).unwrap();
        assert_eq!(v["stats"]["clock"], "wall");
        assert!(v["stats"]["uptime_seconds"].is_u64());
        assert!(rx.try_recv().is_err(), "event() only builds");
    }
}
