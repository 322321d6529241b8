//! The reader thread: frames from the capture, decoded once, routed by the
//! symmetric flow hash to the worker that owns the flow.

use crossbeam_channel::{Receiver, Sender};

use super::batch::Batch;
use crate::capture::{CaptureError, FrameSource};
use crate::decode::{self, proto, DecodeError};
use crate::flow::FlowKey;

/// What the reader counted.
#[derive(Clone, Debug, Default)]
pub struct ReaderStats {
    /// Frames read.
    pub packets_total: u64,
    /// Captured bytes read.
    pub bytes_total: u64,
    /// TCP packets sent to workers.
    pub tcp_total: u64,
    /// UDP packets sent to workers.
    pub udp_total: u64,
    /// IP packets of other protocols (not inspected).
    pub other_proto_total: u64,
    /// Frames that did not decode, by kind (index: position in [`DecodeError::ALL`]).
    pub decode_errors: [u64; DecodeError::ALL.len()],
    /// Snapped packets (payload shorter than the IP length).
    pub snapped_total: u64,
    /// Time of the first and last packet.
    pub first_ts: u64,
    /// Time of the last packet.
    pub last_ts: u64,
    /// Non-fatal warnings from the capture (truncated last packet, ...).
    pub warnings: Vec<String>,
}

/// Channels to one worker: batches out, empty batches back for reuse.
pub struct WorkerLink {
    /// Full batches to the worker.
    pub tx: Sender<Batch>,
    /// Empty batches from the worker.
    pub pool: Receiver<Batch>,
}

/// Reads the whole capture. Returns the counters and, if reading stopped
/// early, the capture error (everything before it was delivered).
pub fn run(
    mut source: Box<dyn FrameSource>,
    links: Vec<WorkerLink>,
) -> (ReaderStats, Option<CaptureError>) {
    let mut stats = ReaderStats::default();
    let mut pending: Vec<Batch> = links.iter().map(|_| Batch::default()).collect();
    let mut frame = Vec::with_capacity(65536);
    let n = links.len().max(1) as u64;
    let error = loop {
        frame.clear();
        let info = match source.next_frame(&mut frame) {
            Ok(Some(info)) => info,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        stats.packets_total += 1;
        stats.bytes_total += u64::from(info.caplen);
        if stats.first_ts == 0 {
            stats.first_ts = info.ts;
        }
        stats.last_ts = stats.last_ts.max(info.ts);
        let d = match decode::decode(info.linktype, &frame) {
            Ok(d) => d,
            Err(e) => {
                count_error(&mut stats, e);
                continue;
            }
        };
        match d.proto {
            proto::TCP => stats.tcp_total += 1,
            proto::UDP => stats.udp_total += 1,
            _ => {
                stats.other_proto_total += 1;
                continue;
            }
        }
        stats.snapped_total += u64::from(d.truncated);
        let (key, _) = FlowKey::new(d.src, d.sport, d.dst, d.dport, d.proto, d.vlan);
        let w = (key.shard_hash() % n) as usize;
        let (Some(batch), Some(link)) = (pending.get_mut(w), links.get(w)) else {
            continue;
        };
        batch.push(info.ts, d, &frame);
        if batch.is_full() {
            let fresh = link.pool.try_recv().unwrap_or_default();
            let full = std::mem::replace(batch, fresh);
            if link.tx.send(full).is_err() {
                break None; // worker gone: the pipeline reports why
            }
        }
    };
    for (batch, link) in pending.into_iter().zip(&links) {
        if !batch.is_empty() {
            let _ = link.tx.send(batch);
        }
    }
    stats.warnings = source.take_warnings();
    (stats, error)
}

fn count_error(stats: &mut ReaderStats, e: DecodeError) {
    if let Some(i) = DecodeError::ALL.iter().position(|k| *k == e) {
        if let Some(c) = stats.decode_errors.get_mut(i) {
            *c += 1;
        }
    }
}
