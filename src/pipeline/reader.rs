//! The reader thread: frames from the capture, decoded once, routed by the
//! symmetric flow hash to the worker that owns the flow.
//!
//! IP fragments are reassembled here, before routing: only the first
//! fragment has ports, so the flow hash needs the whole datagram.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_channel::{Receiver, Sender};

use super::anomaly::{self, layer, AnomalyOptions, PacketAddrs, PacketAnomalies};
use super::batch::Batch;
use super::counters::{LiveCounters, StatsTicker, PUBLISH_EVERY};
use super::ftp_route::{FtpRouteStats, FtpRouter};
use super::output::OutMsg;
use crate::app::dns::cache::{NameCache, NameCacheConfig, NameCacheStats};
use crate::app::dns::tcp_names::Segment;
use crate::capture::{CaptureError, FrameInfo, FrameSource, LinkType, SharedFrame, Timestamp};
use crate::decode::checksum::{self, ChecksumStats};
use crate::decode::{
    self, proto, DecodeError, Decoded, DefragConfig, DefragResult, DefragStats, Defragmenter,
    FragmentRef, Frame,
};
use crate::flow::FlowKey;

/// How the reader decodes.
#[derive(Clone, Debug)]
pub struct ReaderOptions {
    /// Fragment reassembly bounds.
    pub defrag: DefragConfig,
    /// Drop packets with bad IPv4/TCP/UDP checksums (counted).
    pub validate_checksums: bool,
    /// How packet-level `anomaly` events are reported.
    pub anomaly: AnomalyOptions,
    /// Where they go (the output thread); none when `None`.
    pub anomaly_tx: Option<Sender<OutMsg>>,
    /// Bounds of the DNS IP -> name cache.
    pub dns_names: NameCacheConfig,
    /// Set (by a signal handler) to stop reading early; what was read is
    /// still processed and reported.
    pub stop: Option<Arc<AtomicBool>>,
    /// Announced FTP data connections routed at once.
    pub ftp_max_expectations: usize,
    /// Seconds an FTP data endpoint stays routed while idle.
    pub ftp_expect_timeout: u64,
    /// A defragmenter shared with other readers (live capture threads of
    /// one fanout group, which may each get some fragments of one
    /// datagram); `None`: the reader has its own.
    pub shared_defrag: Option<SharedDefrag>,
}

/// One defragmenter for several readers: the fragments of a datagram meet
/// whichever capture thread the kernel gave each to. Locked once per
/// fragment only.
#[derive(Clone)]
pub struct SharedDefrag(Arc<Mutex<Defragmenter>>);

impl SharedDefrag {
    /// A defragmenter with bounds `cfg` (its memcap covers every reader).
    pub fn new(cfg: DefragConfig) -> SharedDefrag {
        SharedDefrag(Arc::new(Mutex::new(Defragmenter::new(cfg))))
    }
}

impl std::fmt::Debug for SharedDefrag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedDefrag")
    }
}

impl Default for ReaderOptions {
    fn default() -> ReaderOptions {
        let files = crate::files::FilesConfig::default();
        ReaderOptions {
            defrag: DefragConfig::default(),
            validate_checksums: false,
            anomaly: AnomalyOptions::default(),
            anomaly_tx: None,
            dns_names: NameCacheConfig::default(),
            stop: None,
            ftp_max_expectations: files.ftp_max_expectations,
            ftp_expect_timeout: files.ftp_expect_timeout,
            shared_defrag: None,
        }
    }
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
    /// Packet-level `anomaly` events written.
    pub anomaly_events_total: u64,
    /// Packet-level anomalies over `anomaly_rate` (counted only).
    pub anomaly_suppressed_total: u64,
    /// DNS IP -> name cache counters.
    pub dns_names: NameCacheStats,
    /// Reading stopped early on a signal.
    pub interrupted: bool,
    /// FTP data connection routing counters.
    pub ftp_route: FtpRouteStats,
}

/// Channels to one worker: batches out, empty batches back for reuse.
#[derive(Clone)]
pub struct WorkerLink {
    /// Full batches to the worker.
    pub tx: Sender<Batch>,
    /// Empty batches from the worker.
    pub pool: Receiver<Batch>,
}

/// The reader's state besides the capture.
pub(crate) struct Reader {
    stats: ReaderStats,
    pending: Vec<Batch>,
    links: Vec<WorkerLink>,
    defrag: SharedDefrag,
    validate_checksums: bool,
    anomalies: PacketAnomalies,
    names: NameCache,
    ftp: FtpRouter,
}

/// Reporting hooks of the reader (all optional).
#[derive(Default)]
pub struct ReaderHooks {
    /// Where to publish counters every [`PUBLISH_EVERY`] packets.
    pub counters: Option<Arc<LiveCounters>>,
    /// Periodic `stats` events in packet time.
    pub ticker: Option<StatsTicker>,
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

/// [`run`] with reporting hooks (live counters, periodic stats).
pub fn run_with(
    mut source: Box<dyn FrameSource>,
    links: Vec<WorkerLink>,
    opts: ReaderOptions,
    mut hooks: ReaderHooks,
) -> (ReaderStats, Option<CaptureError>) {
    let stop = opts.stop.clone();
    let mut r = Reader::new(links, opts);
    let mut frame = Vec::with_capacity(65536);
    let error = loop {
        if stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
            r.stats.interrupted = true;
            break None;
        }
        frame.clear();
        let (info, shared) = match source.next_frame_shared(&mut frame) {
            Ok(Some(next)) => next,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        if let Some(t) = &mut hooks.ticker {
            t.observe(info.ts);
        }
        let ok = match shared {
            Some(s) => r.ingest_shared(info, s.bytes(info.caplen), Some(s)),
            None => r.ingest(info, &frame),
        };
        if !ok {
            break None; // worker gone: the pipeline reports why
        }
        if r.stats.packets_total.is_multiple_of(PUBLISH_EVERY) {
            publish(&hooks, &r.stats);
        }
    };
    r.stats.warnings = source.take_warnings();
    let stats = r.finish();
    publish(&hooks, &stats);
    (stats, error)
}

fn publish(hooks: &ReaderHooks, s: &ReaderStats) {
    if let Some(c) = &hooks.counters {
        c.publish_reader(s.packets_total, s.bytes_total, s.last_ts, &s.decode_errors);
    }
}

impl Reader {
    /// A reader feeding `links`.
    pub(crate) fn new(links: Vec<WorkerLink>, opts: ReaderOptions) -> Reader {
        Reader {
            stats: ReaderStats::default(),
            pending: links.iter().map(|_| Batch::default()).collect(),
            links,
            defrag: opts
                .shared_defrag
                .unwrap_or_else(|| SharedDefrag::new(opts.defrag)),
            validate_checksums: opts.validate_checksums,
            anomalies: PacketAnomalies::new(opts.anomaly, opts.anomaly_tx),
            names: NameCache::new(opts.dns_names),
            ftp: FtpRouter::new(opts.ftp_max_expectations, opts.ftp_expect_timeout),
        }
    }

    /// Counts, decodes and routes one frame; false when a worker is gone.
    pub(crate) fn ingest(&mut self, info: FrameInfo, frame: &[u8]) -> bool {
        self.ingest_shared(info, frame, None)
    }

    /// [`Reader::ingest`] of a frame that may be left in its shared chunk
    /// (`shared`: where `frame` lies), so that batches point into it.
    fn ingest_shared(
        &mut self,
        info: FrameInfo,
        frame: &[u8],
        shared: Option<SharedFrame<'_>>,
    ) -> bool {
        let stats = &mut self.stats;
        stats.packets_total += 1;
        stats.bytes_total += u64::from(info.caplen);
        if stats.first_ts == 0 {
            stats.first_ts = info.ts;
        }
        stats.last_ts = stats.last_ts.max(info.ts);
        self.frame(info.ts, info.linktype, frame, shared)
    }

    /// Sends every non-empty pending batch now (live: bounded latency);
    /// false when a worker is gone.
    pub(crate) fn send_pending(&mut self) -> bool {
        let mut ok = true;
        for (batch, link) in self.pending.iter_mut().zip(&self.links) {
            if !batch.is_empty() {
                let fresh = link.pool.try_recv().unwrap_or_default();
                ok &= link.tx.send(std::mem::replace(batch, fresh)).is_ok();
            }
        }
        ok
    }

    /// Tells every worker that packet time `now` has come (idle flows
    /// time out although no packet arrives); false when a worker is gone.
    pub(crate) fn tick(&mut self, now: Timestamp) -> bool {
        let mut ok = self.send_pending();
        for link in &self.links {
            let mut b = link.pool.try_recv().unwrap_or_default();
            b.tick = Some(now);
            ok &= link.tx.send(b).is_ok();
        }
        ok
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> &ReaderStats {
        &self.stats
    }

    /// Sends what is pending and returns the counters.
    pub(crate) fn finish(mut self) -> ReaderStats {
        self.send_pending();
        self.anomalies.flush();
        self.stats.anomaly_events_total = self.anomalies.events_total;
        self.stats.anomaly_suppressed_total = self.anomalies.suppressed_total;
        self.stats.dns_names = self.names.stats();
        self.stats.ftp_route = self.ftp.stats;
        self.stats
    }

    /// Decodes and routes one frame; false when a worker is gone.
    fn frame(
        &mut self,
        ts: Timestamp,
        linktype: LinkType,
        frame: &[u8],
        shared: Option<SharedFrame<'_>>,
    ) -> bool {
        match decode::decode_frame(linktype, frame) {
            Ok(Frame::Packet(d)) => self.route(ts, d, frame, shared),
            Ok(Frame::Fragment(at)) => self.fragment(ts, frame, &at),
            Err(e) => {
                self.decode_error(ts, e);
                true
            }
        }
    }

    /// Counts a frame that did not decode; reports the kinds worth an
    /// analyst's attention.
    fn decode_error(&mut self, ts: Timestamp, e: DecodeError) {
        count_error(&mut self.stats, e);
        if let Some(event) = anomaly::decode_event(e) {
            self.anomalies.report(ts, layer::DECODE, event, None);
        }
    }

    /// Feeds a fragment to the defragmenter; routes the datagram it
    /// completes, with the link and tunnel context of its fragments.
    fn fragment(&mut self, ts: Timestamp, frame: &[u8], at: &FragmentRef) -> bool {
        if self.validate_checksums {
            if let Err(l) = checksum::verify_fragment(frame, at) {
                self.stats.checksum.count(l);
                let addrs = anomaly::fragment_addrs(frame, at);
                self.anomalies
                    .report(ts, layer::CHECKSUM, checksum_event(l), addrs);
                return true;
            }
        }
        // A poisoned lock only means another reader panicked mid-push;
        // the defragmenter's state stays bounded, so go on with it.
        let shared = self.defrag.clone();
        let mut defrag = shared.0.lock().unwrap_or_else(PoisonError::into_inner);
        let before = *defrag.stats();
        let ok = self.defragment(&mut defrag, ts, frame, at);
        let after = *defrag.stats();
        drop(defrag);
        // This reader's share of the counters (the defragmenter may be
        // shared): what this push changed.
        self.stats.defrag.add(&after.since(&before));
        if self.anomalies.enabled() {
            let addrs = anomaly::fragment_addrs(frame, at);
            self.anomalies.defrag(ts, &before, &after, addrs);
        }
        ok
    }

    /// Pushes a fragment; routes the datagram it completes.
    fn defragment(
        &mut self,
        defrag: &mut Defragmenter,
        ts: Timestamp,
        frame: &[u8],
        at: &FragmentRef,
    ) -> bool {
        let DefragResult::Complete(buf) = defrag.push(ts, frame, at) else {
            return true;
        };
        let d = match decode::decode_frame(LinkType::RAW, buf) {
            Ok(Frame::Packet(d)) => d,
            // A fragment inside a reassembled datagram: not followed.
            Ok(Frame::Fragment(_)) => {
                self.decode_error(ts, DecodeError::Fragment);
                return true;
            }
            Err(e) => {
                self.decode_error(ts, e);
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
            &mut self.anomalies,
            &mut self.pending,
            &self.links,
            &mut self.ftp,
            (self.validate_checksums, &mut self.names),
            ts,
            d,
            (buf, None),
        )
    }

    fn route(
        &mut self,
        ts: Timestamp,
        d: Decoded,
        frame: &[u8],
        shared: Option<SharedFrame<'_>>,
    ) -> bool {
        route_packet(
            &mut self.stats,
            &mut self.anomalies,
            &mut self.pending,
            &self.links,
            &mut self.ftp,
            (self.validate_checksums, &mut self.names),
            ts,
            d,
            (frame, shared),
        )
    }
}

/// Counts a decoded packet and batches it for the worker owning its flow;
/// with the DNS name of its destination (learnt here, in capture order, so
/// names do not depend on the worker count); false when that worker is
/// gone. `shared`: where `frame` lies in a shared chunk, if it does (the
/// payload is then not copied). (A free function over the reader's fields:
/// a fragment's bytes are borrowed from the defragmenter.)
#[allow(clippy::too_many_arguments)]
fn route_packet(
    stats: &mut ReaderStats,
    anomalies: &mut PacketAnomalies,
    pending: &mut [Batch],
    links: &[WorkerLink],
    ftp: &mut FtpRouter,
    (validate_checksums, names): (bool, &mut NameCache),
    ts: Timestamp,
    d: Decoded,
    (frame, shared): (&[u8], Option<SharedFrame<'_>>),
) -> bool {
    if validate_checksums {
        if let Err(l) = checksum::verify(frame, &d) {
            stats.checksum.count(l);
            let addrs = PacketAddrs {
                src: d.src,
                dst: d.dst,
                ports: Some((d.sport, d.dport)),
                proto: d.proto,
                tunnel: d.tunnel,
            };
            anomalies.report(ts, layer::CHECKSUM, checksum_event(l), Some(addrs));
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
    let (key, _) = FlowKey::of(&d);
    let mut w = key.shard(links.len().max(1));
    if d.proto == proto::TCP {
        let payload = frame.get(d.payload.clone()).unwrap_or_default();
        w = ftp.route(ts, &d, payload, w);
        if let (53, Some(tcp)) = (d.sport, &d.tcp) {
            let seg = Segment {
                src: (d.src, d.sport),
                dst: (d.dst, d.dport),
                tcp,
                payload,
            };
            names.observe_tcp(ts, &seg);
        }
    }
    let (Some(batch), Some(link)) = (pending.get_mut(w), links.get(w)) else {
        return true;
    };
    if d.proto == proto::UDP {
        let payload = frame.get(d.payload.clone()).unwrap_or_default();
        names.observe_udp(ts, d.sport, payload);
    }
    let name = names.lookup(d.dst, ts);
    match shared {
        Some(s) => batch.push_shared(ts, d, s, name),
        None => batch.push_named(ts, d, frame, name),
    }
    if batch.is_full() {
        let fresh = link.pool.try_recv().unwrap_or_default();
        let full = std::mem::replace(batch, fresh);
        if link.tx.send(full).is_err() {
            return false;
        }
    }
    true
}

/// `anomaly.event` of a bad checksum.
fn checksum_event(l: checksum::Layer) -> &'static str {
    match l {
        checksum::Layer::Ipv4 => "ipv4_checksum",
        checksum::Layer::Tcp => "tcp_checksum",
        checksum::Layer::Udp => "udp_checksum",
    }
}

fn count_error(stats: &mut ReaderStats, e: DecodeError) {
    if let Some(i) = DecodeError::ALL.iter().position(|k| *k == e) {
        if let Some(c) = stats.decode_errors.get_mut(i) {
            *c += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::FileReader;
    use std::path::Path;

    /// Frames of a bundled pcap.
    fn frames(name: &str) -> Vec<(FrameInfo, Vec<u8>)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pcaps")
            .join(name);
        let mut src = FileReader::open(&path, 0).expect("pcap");
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(info) = src.next_frame(&mut buf).expect("frame") {
            out.push((info, std::mem::take(&mut buf)));
        }
        out
    }

    /// Datagrams two readers reassemble when the frames alternate between
    /// them, as fanout may deal them, with or without a shared
    /// defragmenter.
    fn reassembled_by_two(shared: bool) -> u64 {
        let (tx, rx) = crossbeam_channel::unbounded();
        let (_pool_tx, pool) = crossbeam_channel::unbounded();
        let link = WorkerLink { tx, pool };
        let defrag = SharedDefrag::new(DefragConfig::default());
        let mut readers: Vec<Reader> = (0..2)
            .map(|_| {
                let opts = ReaderOptions {
                    shared_defrag: shared.then(|| defrag.clone()),
                    ..ReaderOptions::default()
                };
                Reader::new(vec![link.clone()], opts)
            })
            .collect();
        for (i, (info, f)) in frames("udp_fragments.pcap").into_iter().enumerate() {
            assert!(readers[i % 2].ingest(info, &f));
        }
        let total = readers
            .into_iter()
            .map(|r| r.finish().defrag.reassembled_total)
            .sum();
        drop(rx);
        total
    }

    #[test]
    fn fragments_dealt_to_two_capture_threads_meet_in_the_shared_defragmenter() {
        // 4 IPv4 and 2 IPv6 datagrams of 3-4 fragments each
        // (tests/replay_decode.rs).
        assert_eq!(reassembled_by_two(true), 6);
        // Each reader on its own sees half of each datagram's fragments.
        assert!(reassembled_by_two(false) < 6);
    }
}
