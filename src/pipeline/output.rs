//! The output thread: collects serialised events from the workers, sorts
//! them so that a replay's output does not depend on the number of workers,
//! and writes them to the sink.

use std::net::IpAddr;

use crossbeam_channel::Receiver;

use crate::alert::hash::ValueHash;
use crate::alert::{AlertSink, EventHead, EventIds};
use crate::policy::dedup::{DedupStats, Deduper};

/// Order of events in a replay: packet time, then flow, direction and the
/// event's number within its direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    /// Event timestamp (ns).
    pub ts: u64,
    /// Flow id.
    pub flow_id: u64,
    /// Direction index.
    pub dir: u8,
    /// Event number within the flow direction.
    pub seq: u32,
}

impl SortKey {
    /// The key as [`EventIds`] hashes it.
    pub fn words(&self) -> [u64; 4] {
        [
            self.ts,
            self.flow_id,
            u64::from(self.dir),
            u64::from(self.seq),
        ]
    }
}

/// What de-duplication needs to know of a `dlp` event.
#[derive(Clone, Debug)]
pub struct DedupInfo {
    /// Sender of the PI.
    pub sender: IpAddr,
    /// Receiver.
    pub receiver: IpAddr,
    /// VXLAN tenant of the flow (`FlowKey::vni`; 0 = none).
    pub tenant: u32,
    /// Keyed hashes of its distinct values.
    pub hashes: Vec<ValueHash>,
}

/// One serialised event on its way to the sinks.
#[derive(Debug)]
pub struct OutEvent {
    /// Where it sorts.
    pub key: SortKey,
    /// The JSON line.
    pub json: String,
    /// Its `event_type` and `severity`, when the builder knows them (the
    /// sinks then need not parse the JSON to filter it).
    pub head: Option<EventHead>,
    /// Present on `dlp` events.
    pub dedup: Option<DedupInfo>,
}

/// Messages to the output thread.
pub enum OutMsg {
    /// Events of one or more worker batches.
    Events(Vec<OutEvent>),
    /// Live: write what is held now and flush the sink.
    Flush,
}

/// What the output thread counted.
#[derive(Clone, Debug, Default)]
pub struct OutputStats {
    /// Events written.
    pub events_total: u64,
    /// Times the sort buffer filled and events were written early (the
    /// replay's order then depends on timing; raise `output.sort_buffer`).
    pub sort_buffer_full_total: u64,
    /// De-duplication counters.
    pub dedup: DedupStats,
}

/// Receives events until every worker is done, writing them sorted.
///
/// De-duplication happens here, in sorted (packet-time) order and over all
/// workers, so its result does not depend on how flows were sharded: a
/// `dlp` event whose every value was already reported on the same
/// sender -> receiver path within the window is dropped and counted.
///
/// # Errors
/// The sink's I/O error; events after it are lost and the run fails.
pub fn run(
    rx: Receiver<OutMsg>,
    sink: &mut dyn AlertSink,
    sort_buffer: usize,
    mut dedup: Deduper,
    ids: &EventIds,
) -> Result<OutputStats, std::io::Error> {
    let mut stats = OutputStats::default();
    let mut held: Vec<OutEvent> = Vec::new();
    let mut failed = None;
    for msg in rx {
        let evs = match msg {
            OutMsg::Events(evs) => evs,
            OutMsg::Flush => {
                if failed.is_none() {
                    failed = write_sorted(&mut held, sink, &mut stats, &mut dedup, ids)
                        .and_then(|()| sink.flush())
                        .err();
                }
                Vec::new()
            }
        };
        held.extend(evs);
        if held.len() >= sort_buffer && failed.is_none() {
            stats.sort_buffer_full_total += 1;
            failed = write_sorted(&mut held, sink, &mut stats, &mut dedup, ids).err();
        }
        if failed.is_some() {
            held.clear(); // keep draining so workers never block on a dead sink
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    write_sorted(&mut held, sink, &mut stats, &mut dedup, ids)?;
    stats.dedup = dedup.stats();
    Ok(stats)
}

fn write_sorted(
    held: &mut Vec<OutEvent>,
    sink: &mut dyn AlertSink,
    stats: &mut OutputStats,
    dedup: &mut Deduper,
    ids: &EventIds,
) -> Result<(), std::io::Error> {
    held.sort_unstable_by(|a, b| (a.key, &a.json).cmp(&(b.key, &b.json)));
    for ev in held.drain(..) {
        if let Some(d) = &ev.dedup {
            if all_repeats(dedup, d, ev.key.ts) {
                dedup.suppress_event();
                continue;
            }
        }
        let json = ids.stamp(ev.key.words(), &ev.json);
        match ev.head {
            Some(head) => sink.write_event_head(&json, head)?,
            None => sink.write_event(&json)?,
        }
        stats.events_total += 1;
    }
    Ok(())
}

/// Checks (and records) every value; true when none was new.
fn all_repeats(dedup: &mut Deduper, d: &DedupInfo, ts: u64) -> bool {
    let path = dedup.path(d.sender, d.receiver, d.tenant);
    let mut all = true;
    for h in &d.hashes {
        all &= dedup.is_repeat(path, h, ts);
    }
    all && !d.hashes.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config::DedupConfig;
    use crate::policy::dedup::Deduper;

    #[derive(Default)]
    struct Lines(Vec<String>);
    impl AlertSink for Lines {
        fn write_event(&mut self, json: &str) -> std::io::Result<()> {
            self.0.push(json.to_string());
            Ok(())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn ev(ts: u64, flow: u64, hashes: &[u8], json: &str) -> OutEvent {
        OutEvent {
            key: SortKey {
                ts,
                flow_id: flow,
                dir: 0,
                seq: 0,
            },
            json: json.into(),
            head: None,
            dedup: Some(DedupInfo {
                sender: "10.0.0.1".parse().unwrap(),
                receiver: "192.0.2.1".parse().unwrap(),
                tenant: 0,
                hashes: hashes.iter().map(|b| [*b; 32]).collect(),
            }),
        }
    }

    #[test]
    fn sorts_and_drops_events_whose_values_were_all_reported_on_the_path() {
        let (tx, rx) = crossbeam_channel::unbounded();
        // Sent out of order: dedup must see them in packet-time order.
        tx.send(OutMsg::Events(vec![
            ev(30, 3, &[1], "c"),
            ev(10, 1, &[1, 2], "a"),
        ]))
        .unwrap();
        tx.send(OutMsg::Events(vec![ev(20, 2, &[2, 3], "b")]))
            .unwrap();
        drop(tx);
        let mut sink = Lines::default();
        let dedup = Deduper::new(&DedupConfig::default());
        let stats = run(rx, &mut sink, 100, dedup, &EventIds::new("t")).unwrap();
        assert_eq!(sink.0, vec!["a", "b"], "c only repeats value 1");
        assert_eq!(stats.dedup.suppressed_events_total, 1);
        assert_eq!(stats.events_total, 2);
    }

    #[test]
    fn disabled_dedup_writes_everything() {
        let (tx, rx) = crossbeam_channel::unbounded();
        tx.send(OutMsg::Events(vec![
            ev(10, 1, &[1], "a"),
            ev(20, 2, &[1], "b"),
        ]))
        .unwrap();
        drop(tx);
        let mut sink = Lines::default();
        let cfg = DedupConfig {
            enabled: false,
            ..DedupConfig::default()
        };
        run(rx, &mut sink, 100, Deduper::new(&cfg), &EventIds::new("t")).unwrap();
        assert_eq!(sink.0, vec!["a", "b"]);
    }
}
