//! The reader thread: frames from the capture, decoded once, routed by the
//! symmetric flow hash to the worker that owns the flow.
//!
//! IP fragments are reassembled here, before routing: only the first
//! fragment has ports, so the flow hash needs the whole datagram.

use crossbeam_channel::{Receiver, Sender};

use std::sync::Arc;

use super::batch::Batch;
use super::counters::{LiveCounters, StatsTicker, PUBLISH_EVERY};
use crate::capture::{CaptureError, FrameSource, LinkType, Timestamp};
use crate::decode::checksum::{self, ChecksumStats};
use crate::decode::{
    self, proto, DecodeError, Decoded, DefragConfig, DefragResult, DefragStats, Defragmenter,
    FragmentRef, Frame,
};
use crate::flow::FlowKey;

/// How the reader decodes.
#[derive(Clone, Debug, Default)]
pub struct ReaderOptions {
    /// Fragment reassembly bounds.
    pub defrag: DefragConfig,
    /// Drop packets with bad IPv4/TCP/UDP checksums (counted).
    pub validate_checksums: bool,
}

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
    /// Fragment reassembly counters.
    pub defrag: DefragStats,
    /// Packets dropped for a bad checksum (only with `validate_checksums`).
    pub checksum: ChecksumStats,
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

/// The reader's state besides the capture.
struct Reader {
    stats: ReaderStats,
    pending: Vec<Batch>,
    links: Vec<WorkerLink>,
    defrag: Defragmenter,
    validate_checksums: bool,
}

/// Reads the whole capture. Returns the counters and, if reading stopped
/// early, the capture error (everything before it was delivered).
pub fn run(
    source: Box<dyn FrameSource>,
    links: Vec<WorkerLink>,
    opts: ReaderOptions,
) -> (ReaderStats, Option<CaptureError>) {
    run_with(source, links, opts, ReaderHooks::default())
}

/// Optional reporting hooks of the reader.
#[derive(Default)]
pub struct ReaderHooks {
    /// Where to publish counters every [`PUBLISH_EVERY`] packets.
    pub counters: Option<Arc<LiveCounters>>,
    /// Periodic `stats` events in packet time.
    pub ticker: Option<StatsTicker>,
}

/// [`run`] with reporting hooks.
pub fn run_with(
    mut source: Box<dyn FrameSource>,
    links: Vec<WorkerLink>,
    opts: ReaderOptions,
    mut hooks: ReaderHooks,
) -> (ReaderStats, Option<CaptureError>) {
    let mut r = Reader {
        stats: ReaderStats::default(),
        pending: links.iter().map(|_| Batch::default()).collect(),
        links,
        defrag: Defragmenter::new(opts.defrag),
        validate_checksums: opts.validate_checksums,
    };
    let mut frame = Vec::with_capacity(65536);
    let error = loop {
        frame.clear();
        let info = match source.next_frame(&mut frame) {
            Ok(Some(info)) => info,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        let stats = &mut r.stats;
        stats.packets_total += 1;
        stats.bytes_total += u64::from(info.caplen);
        if stats.first_ts == 0 {
            stats.first_ts = info.ts;
        }
        stats.last_ts = stats.last_ts.max(info.ts);
        if let Some(t) = &mut hooks.ticker {
            t.observe(info.ts);
        }
        if stats.packets_total % PUBLISH_EVERY == 0 {
            publish(&hooks, stats);
        }
        if !r.frame(info.ts, info.linktype, &frame) {
            break None; // worker gone: the pipeline reports why
        }
    };
    for (batch, link) in r.pending.into_iter().zip(&r.links) {
        if !batch.is_empty() {
            let _ = link.tx.send(batch);
        }
    }
    r.stats.defrag = *r.defrag.stats();
    r.stats.warnings = source.take_warnings();
    publish(&hooks, &r.stats);
    (r.stats, error)
}

fn publish(hooks: &ReaderHooks, s: &ReaderStats) {
    if let Some(c) = &hooks.counters {
        c.publish_reader(s.packets_total, s.bytes_total, s.last_ts, &s.decode_errors);
    }
}

impl Reader {
    /// Decodes and routes one frame; false when a worker is gone.
    fn frame(&mut self, ts: Timestamp, linktype: LinkType, frame: &[u8]) -> bool {
        match decode::decode_frame(linktype, frame) {
            Ok(Frame::Packet(d)) => self.route(ts, d, frame),
            Ok(Frame::Fragment(at)) => self.fragment(ts, frame, &at),
            Err(e) => {
                count_error(&mut self.stats, e);
                true
            }
        }
    }

    /// Feeds a fragment to the defragmenter; routes the datagram it
    /// completes, with the link and tunnel context of its fragments.
    fn fragment(&mut self, ts: Timestamp, frame: &[u8], at: &FragmentRef) -> bool {
        if self.validate_checksums {
            if let Err(layer) = checksum::verify_fragment(frame, at) {
                self.stats.checksum.count(layer);
                return true;
            }
        }
        let DefragResult::Complete(buf) = self.defrag.push(ts, frame, at) else {
            return true;
        };
        let d = match decode::decode_frame(LinkType::RAW, buf) {
            Ok(Frame::Packet(d)) => d,
            // A fragment inside a reassembled datagram: not followed.
            Ok(Frame::Fragment(_)) => {
                count_error(&mut self.stats, DecodeError::Fragment);
                return true;
            }
            Err(e) => {
                count_error(&mut self.stats, e);
                return true;
            }
        };
        let d = Decoded {
            vlan: at.vlan,
            tunnel: at.tunnel.or(d.tunnel),
            ..d
        };
        // Borrow juggling: `buf` lives in the defragmenter until the next push.
        route_packet(
            &mut self.stats,
            &mut self.pending,
            &self.links,
            self.validate_checksums,
            ts,
            d,
            buf,
        )
    }

    fn route(&mut self, ts: Timestamp, d: Decoded, frame: &[u8]) -> bool {
        route_packet(
            &mut self.stats,
            &mut self.pending,
            &self.links,
            self.validate_checksums,
            ts,
            d,
            frame,
        )
    }
}

/// Counts a decoded packet and batches it for the worker owning its flow;
/// false when that worker is gone.
fn route_packet(
    stats: &mut ReaderStats,
    pending: &mut [Batch],
    links: &[WorkerLink],
    validate_checksums: bool,
    ts: Timestamp,
    d: Decoded,
    frame: &[u8],
) -> bool {
    if validate_checksums {
        if let Err(layer) = checksum::verify(frame, &d) {
            stats.checksum.count(layer);
            return true;
        }
    }
    match d.proto {
        proto::TCP => stats.tcp_total += 1,
        proto::UDP => stats.udp_total += 1,
        _ => {
            stats.other_proto_total += 1;
            return true;
        }
    }
    stats.snapped_total += u64::from(d.truncated);
    let (key, _) = FlowKey::new(d.src, d.sport, d.dst, d.dport, d.proto, d.vlan);
    let w = (key.shard_hash() % links.len().max(1) as u64) as usize;
    let (Some(batch), Some(link)) = (pending.get_mut(w), links.get(w)) else {
        return true;
    };
    batch.push(ts, d, frame);
    if batch.is_full() {
        let fresh = link.pool.try_recv().unwrap_or_default();
        let full = std::mem::replace(batch, fresh);
        if link.tx.send(full).is_err() {
            return false;
        }
    }
    true
}

fn count_error(stats: &mut ReaderStats, e: DecodeError) {
    if let Some(i) = DecodeError::ALL.iter().position(|k| *k == e) {
        if let Some(c) = stats.decode_errors.get_mut(i) {
            *c += 1;
        }
    }
}
