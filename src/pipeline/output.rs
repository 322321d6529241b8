//! The output thread: collects serialised events from the workers, sorts
//! them so that a replay's output does not depend on the number of workers,
//! and writes them to the sink.

use crossbeam_channel::Receiver;

use crate::alert::AlertSink;

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

/// Messages to the output thread.
pub enum OutMsg {
    /// Events of one worker batch.
    Events(Vec<(SortKey, String)>),
}

/// What the output thread counted.
#[derive(Clone, Debug, Default)]
pub struct OutputStats {
    /// Events written.
    pub events_total: u64,
    /// Times the sort buffer filled and events were written early (the
    /// replay's order then depends on timing; raise `output.sort_buffer`).
    pub sort_buffer_full_total: u64,
}

/// Receives events until every worker is done, writing them sorted.
///
/// # Errors
/// The sink's I/O error; events after it are lost and the run fails.
pub fn run(
    rx: Receiver<OutMsg>,
    sink: &mut dyn AlertSink,
    sort_buffer: usize,
) -> Result<OutputStats, std::io::Error> {
    let mut stats = OutputStats::default();
    let mut held: Vec<(SortKey, String)> = Vec::new();
    let mut failed = None;
    for msg in rx {
        let OutMsg::Events(evs) = msg;
        held.extend(evs);
        if held.len() >= sort_buffer && failed.is_none() {
            stats.sort_buffer_full_total += 1;
            failed = write_sorted(&mut held, sink, &mut stats).err();
        }
        if failed.is_some() {
            held.clear(); // keep draining so workers never block on a dead sink
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    write_sorted(&mut held, sink, &mut stats)?;
    Ok(stats)
}

fn write_sorted(
    held: &mut Vec<(SortKey, String)>,
    sink: &mut dyn AlertSink,
    stats: &mut OutputStats,
) -> Result<(), std::io::Error> {
    held.sort_unstable();
    for (_, json) in held.drain(..) {
        sink.write_event(&json)?;
        stats.events_total += 1;
    }
    Ok(())
}
