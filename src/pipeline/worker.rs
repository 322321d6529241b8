//! A worker thread: owns one shard of the flow table; reassembles, scans and
//! builds the events of its flows.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::anomaly::{self, AnomalyOptions, FlowAnomalies};
use super::batch::Batch;
use super::live::SensorSlot;
use super::nettls::{dns_out, tls_out};
use super::output::{DedupInfo, OutEvent, OutMsg, SortKey};
use super::Sensor;
use crate::alert::event::FtpOut;
use crate::alert::event::{event_type, format_ts, proto_name};
use crate::alert::event::{AnomalyEvent, FlowEvent, FlowSummary};
use crate::alert::{
    mask_text, DlpEvent, Envelope, EventHead, EventIds, FindingLimits, FindingOut, FindingSet,
    HttpOut, StreamNotes, ValueHasher,
};
use crate::app::dns::{self, DnsParser, DnsProbe, DnsTx};
use crate::app::ftp::{FtpDataParser, FtpParser};
use crate::app::http::HttpParser;
use crate::app::mail::{self, ImapParser, MailConfig, MailTx, Pop3Parser, SmtpParser};
use crate::app::tls::{TlsInfo, TlsParser};
use crate::app::{
    self, location, proto_name as app_proto, AppParser, ContentSink, FileMeta, HttpTx, Probe,
    TxMeta,
};
use crate::capture::Timestamp;
use crate::decode::{proto, tcp_flags, Decoded, TunnelInfo};
use crate::detect::columns::ColumnStats;
use crate::detect::normalize::{Chain, NormalizeConfig, NormalizeStats, Normalizer, WhereSink};
use crate::detect::{DetectorInfo, Engine, Match, MatchSink, Scanner, StreamState};
use crate::files::FilesConfig;
use crate::flow::table::{
    Emergency, EndReason, Flow, FlowState, FlowTable, FlowTableStats, TimeoutClass, Timeouts,
};
use crate::flow::{
    Direction, FlowKey, MemBudget, ReassemblyConfig, ReassemblyStats, StreamAnomaly, StreamSink,
    TcpSession,
};
use crate::policy::{Policy, Transfer, TransferFinding, Verdict};

mod files;
pub use self::files::FileStats;

/// Everything a worker needs, built once from the config.
#[derive(Clone)]
pub struct WorkerSetup {
    /// Compiled detectors.
    pub engine: Arc<Engine>,
    /// Zones, geo, boundaries, severity.
    pub policy: Arc<Policy>,
    /// Keyed hasher for values.
    pub hasher: ValueHasher,
    /// Event ids: each worker stamps its own events, so the hashing is
    /// spread over the workers instead of serialised in the output thread.
    pub ids: EventIds,
    /// Bounds on findings.
    pub limits: FindingLimits,
    /// Reassembly bounds (memcap already divided per worker).
    pub reassembly: ReassemblyConfig,
    /// Flow table size for this worker.
    pub max_flows: usize,
    /// Flow timeouts.
    pub timeouts: Timeouts,
    /// Emergency mode of the flow table.
    pub emergency: Emergency,
    /// A direction's findings are reported at the latest this long (packet
    /// time, ns) after the first of them, even if its stream goes on.
    pub event_max_age: u64,
    /// Write a `flow` event at the end of every flow.
    pub flow_events: bool,
    /// How `anomaly` events are reported.
    pub anomaly: AnomalyOptions,
    /// Debug: directory where each TCP direction's reassembled bytes go.
    pub dump_streams: Option<PathBuf>,
    /// Live: where reloaded detectors and policy are published (checked
    /// once per batch).
    pub reload: Option<Arc<SensorSlot>>,
    /// Mail decoding limits.
    pub mail: MailConfig,
    /// File tracking and extraction bounds.
    pub files: FilesConfig,
    /// Normalisation before matching.
    pub normalize: NormalizeConfig,
    /// Where to publish counters after each batch, and this worker's slot.
    pub counters: Option<(Arc<super::counters::LiveCounters>, usize)>,
}

/// What a worker counted.
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    /// Flow table counters.
    pub flow: FlowTableStats,
    /// Reassembly counters.
    pub reassembly: ReassemblyStats,
    /// Bytes given to the detection engine.
    pub bytes_scanned_total: u64,
    /// Validated matches.
    pub matches_total: u64,
    /// `dlp` events produced.
    pub dlp_events_total: u64,
    /// Peak bytes of out-of-order data buffered.
    pub reassembly_peak_bytes: u64,
    /// `anomaly` events produced.
    pub anomaly_events_total: u64,
    /// Anomaly kinds not reported for a flow past `anomaly_max_per_flow`.
    pub anomaly_suppressed_total: u64,
    /// File tracking counters.
    pub files: FileStats,
    /// Normalisation counters.
    pub normalize: NormalizeStats,
    /// Column mapping counters.
    pub columns: ColumnStats,
}

/// Per-direction state of a flow.
#[derive(Default)]
struct DirState {
    stream: StreamState,
    /// Location of the content item being scanned (`tcp.stream` when raw).
    location: Option<&'static str>,
    /// Normalisation of the current item (when enabled; boxed on first use).
    norm: Option<Box<Normalizer>>,
    findings: FindingSet,
    first_find_ts: Option<Timestamp>,
    notes: StreamNotes,
    closed: bool,
    events: u32,
    /// The file the current content item is, if any.
    file: Option<Box<files::FileState>>,
}

/// Per-flow state kept in the flow table.
pub struct FlowData {
    tcp: Option<TcpSession>,
    dirs: [DirState; 2],
    established: bool,
    /// Tunnel of the flow's first packet.
    tunnel: Option<TunnelInfo>,
    /// Application decoding of the flow.
    app: App,
    /// Stream anomalies, reported when the flow ends.
    anomalies: FlowAnomalies,
}

/// Bytes of each direction kept while the protocol is not yet known.
const PROBE_LIMIT: usize = 2048;

/// What decodes a flow's streams.
enum AppState {
    /// Deciding from the first bytes (held here, bounded by [`PROBE_LIMIT`]).
    Probing([Vec<u8>; 2]),
    /// No decoder: the stream is scanned raw.
    Raw,
    /// A decoder claimed the flow.
    Parser(Box<dyn AppParser>),
}

/// Application state of one flow.
struct App {
    state: AppState,
    /// Server name learnt from the traffic (the parser's `server_name()`:
    /// TLS SNI, SMTP domain; or the HTTP Host).
    dest_name: Option<String>,
    /// Name the server's address resolved to earlier in the capture (DNS
    /// answer, attached to the packets by the reader).
    dns_name: Option<Arc<str>>,
    /// The parser says the flow is encrypted.
    encrypted: bool,
    /// TLS handshake metadata (boxed: most flows have none).
    tls: Option<Box<TlsInfo>>,
}

impl App {
    fn new() -> App {
        App {
            state: AppState::Probing([Vec::new(), Vec::new()]),
            dest_name: None,
            dns_name: None,
            encrypted: false,
            tls: None,
        }
    }

    /// Copies what the parser learnt (encryption, server name) after each
    /// call into it; allocates once, when the name first appears.
    fn sync(&mut self) {
        if let AppState::Parser(p) = &self.state {
            self.encrypted = p.is_encrypted();
            if self.dest_name.is_none() {
                self.dest_name = p.server_name().map(str::to_string);
            }
        }
    }

    /// Runs `f` on the flow's parser with the sink it reports into, then
    /// copies what the parser learnt; `false` (and nothing run) when the
    /// flow has no parser.
    fn parse(
        &mut self,
        det: &mut Det,
        meta: &FlowMeta,
        dirs: &mut [DirState; 2],
        ts: Timestamp,
        f: impl FnOnce(&mut dyn AppParser, &mut AppSink<'_>),
    ) -> bool {
        let AppState::Parser(p) = &mut self.state else {
            return false;
        };
        let mut sink = AppSink {
            det,
            meta,
            dirs,
            dest_name: &mut self.dest_name,
            dns_name: self.dns_name.as_deref(),
            tls: &mut self.tls,
            encrypted: self.encrypted,
            proto: p.name(),
            ts,
        };
        f(p.as_mut(), &mut sink);
        self.sync();
        true
    }

    /// `dest_name` of events: the name learnt from the flow's own traffic
    /// wins over the DNS answer for the server's address.
    fn dest_name(&self) -> Option<&str> {
        self.dest_name.as_deref().or(self.dns_name.as_deref())
    }

    fn proto(&self) -> &'static str {
        match &self.state {
            AppState::Parser(p) => p.name(),
            _ => app_proto::RAW,
        }
    }

    fn view(&self) -> AppView<'_> {
        AppView {
            proto: self.proto(),
            dest_name: self.dest_name(),
            encrypted: self.encrypted,
            http: None,
            tls: self.tls.as_deref(),
            dns: None,
            mail: None,
            ftp: None,
        }
    }
}

/// What an event says about the application.
#[derive(Clone)]
struct AppView<'a> {
    proto: &'static str,
    dest_name: Option<&'a str>,
    encrypted: bool,
    http: Option<&'a HttpTx>,
    tls: Option<&'a TlsInfo>,
    dns: Option<&'a DnsTx>,
    mail: Option<&'a MailTx>,
    ftp: Option<FtpOut>,
}

impl FlowState for FlowData {
    fn timeout_class(&self) -> TimeoutClass {
        match &self.tcp {
            None => TimeoutClass::Datagram,
            Some(s) if s.is_closed() => TimeoutClass::Closed,
            Some(_) if self.established => TimeoutClass::Established,
            Some(_) => TimeoutClass::Embryonic,
        }
    }
}

/// Facts about a flow needed to build its events.
#[derive(Clone, Copy)]
struct FlowMeta {
    key: FlowKey,
    id: u64,
    client_is_lo: bool,
    tunnel: Option<TunnelInfo>,
}

/// Reassembly state shared by the worker's sessions.
struct Reasm {
    cfg: ReassemblyConfig,
    budget: MemBudget,
    stats: ReassemblyStats,
    peak_bytes: u64,
}

/// Detection and event building, apart from the flow table and the
/// reassembly state so all three can be borrowed at once.
struct Det {
    scanner: Scanner,
    engine: Arc<Engine>,
    policy: Arc<Policy>,
    hasher: ValueHasher,
    ids: EventIds,
    limits: FindingLimits,
    event_max_age: u64,
    flow_events: bool,
    mail: MailConfig,
    bytes_scanned: u64,
    matches: u64,
    dlp_events: u64,
    anomaly: AnomalyOptions,
    anomaly_events: u64,
    anomaly_suppressed: u64,
    dump_streams: Option<PathBuf>,
    out: Vec<OutEvent>,
    /// When events were first found waiting in `out` after a batch.
    out_since: Option<Instant>,
    files: files::Files,
    /// Normalisation settings (`None`: disabled).
    norm_cfg: Option<NormalizeConfig>,
    norm_stats: NormalizeStats,
    /// Column mapping counters of the scanners replaced by reloads.
    col_stats: ColumnStats,
}

/// Runs a worker until its input channel closes, then flushes every flow.
pub fn run(
    setup: WorkerSetup,
    rx: Receiver<Batch>,
    pool: Sender<Batch>,
    out: Sender<OutMsg>,
) -> WorkerStats {
    let mut table: FlowTable<FlowData> =
        FlowTable::new(setup.max_flows, setup.timeouts).with_emergency(setup.emergency);
    let mut reasm = Reasm {
        cfg: setup.reassembly,
        budget: MemBudget::default(),
        stats: ReassemblyStats::default(),
        peak_bytes: 0,
    };
    let mut det = Det {
        scanner: setup.engine.scanner(),
        engine: setup.engine,
        policy: setup.policy,
        hasher: setup.hasher,
        ids: setup.ids,
        limits: setup.limits,
        event_max_age: setup.event_max_age,
        flow_events: setup.flow_events,
        mail: setup.mail,
        bytes_scanned: 0,
        matches: 0,
        dlp_events: 0,
        anomaly: setup.anomaly,
        anomaly_events: 0,
        anomaly_suppressed: 0,
        dump_streams: setup.dump_streams,
        out: Vec::new(),
        out_since: None,
        files: files::Files::new(setup.files),
        norm_cfg: setup.normalize.enabled.then_some(setup.normalize),
        norm_stats: NormalizeStats::default(),
        col_stats: ColumnStats::default(),
    };
    let mut generation = setup.reload.as_ref().map_or(0, |s| s.generation());
    for mut batch in rx.iter() {
        // The swap point: between batches, so no packet sees two engines.
        if let Some(sensor) = setup.reload.as_ref().and_then(|s| s.newer(&mut generation)) {
            swap_sensor(&mut table, &mut det, sensor);
        }
        for p in &batch.packets {
            packet(
                &mut table,
                &mut reasm,
                &mut det,
                p.ts,
                &p.decoded,
                batch.payload(p),
                p.dest_name.as_ref(),
            );
        }
        if let Some(now) = batch.tick {
            table.expire(now, &mut |f, r| end_flow(&mut reasm, &mut det, f, r));
        }
        det.send_events_if_due(&out, rx.is_empty());
        if let Some((c, i)) = &setup.counters {
            let n = batch.packets.len() as u64;
            c.publish_worker(*i, n, || stats_of(&table, &reasm, &det));
        }
        batch.clear();
        let _ = pool.try_send(batch);
    }
    table.drain(&mut |f, r| end_flow(&mut reasm, &mut det, f, r));
    det.send_events(&out);
    let stats = stats_of(&table, &reasm, &det);
    if let Some((c, i)) = &setup.counters {
        c.publish_worker(*i, 0, || stats.clone());
    }
    stats
}

fn stats_of(table: &FlowTable<FlowData>, reasm: &Reasm, det: &Det) -> WorkerStats {
    WorkerStats {
        flow: table.stats.clone(),
        reassembly: reasm.stats.clone(),
        bytes_scanned_total: det.bytes_scanned,
        matches_total: det.matches,
        dlp_events_total: det.dlp_events,
        reassembly_peak_bytes: reasm.peak_bytes,
        anomaly_events_total: det.anomaly_events,
        anomaly_suppressed_total: det.anomaly_suppressed,
        files: det.files.stats.clone(),
        normalize: det.norm_stats,
        columns: {
            let mut c = det.col_stats;
            c.add(&det.scanner.column_stats());
            c
        },
    }
}

/// One packet of this worker's shard.
fn packet(
    table: &mut FlowTable<FlowData>,
    reasm: &mut Reasm,
    det: &mut Det,
    ts: Timestamp,
    d: &Decoded,
    payload: &[u8],
    dns_name: Option<&Arc<str>>,
) {
    let (key, src_is_lo) = FlowKey::of(d);
    if d.tcp
        .is_some_and(|t| t.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN)
    {
        end_if_closed(table, reasm, det, &key);
    }
    let is_tcp = d.proto == proto::TCP;
    let Some(flow) = table.get_or_create(
        &key,
        ts,
        || (client_is_lo(d, src_is_lo), FlowData::new(is_tcp)),
        &mut |f, r| end_flow(reasm, det, f, r),
    ) else {
        return; // never: the flow's bucket was just found or filled
    };
    if flow.pkts == [0, 0] && is_tcp && det.files.adopt(flow.id, files::flow_ends(&flow.key), ts) {
        flow.state.app.state = AppState::Parser(Box::<FtpDataParser>::default());
    }
    let dir = if src_is_lo == flow.client_is_lo {
        Direction::ToServer
    } else {
        Direction::ToClient
    };
    flow.last_ts = flow.last_ts.max(ts);
    flow.pkts[dir.index()] += 1;
    flow.bytes[dir.index()] += payload.len() as u64;
    if flow.state.tunnel.is_none() {
        flow.state.tunnel = d.tunnel;
    }
    if dir == Direction::ToServer && flow.state.app.dns_name.is_none() {
        flow.state.app.dns_name = dns_name.cloned();
    }
    let meta = FlowMeta {
        key: flow.key,
        id: flow.id,
        client_is_lo: flow.client_is_lo,
        tunnel: flow.state.tunnel,
    };
    let state = &mut flow.state;
    match (d.tcp, &mut state.tcp) {
        (Some(tcp), Some(session)) => {
            // Data, or the handshake's final ACK (a spoofed SYN flood never
            // sends one): no longer embryonic, so not evicted first.
            let handshake_ack = tcp.flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST)
                == tcp_flags::ACK
                && flow.pkts.iter().all(|&n| n > 0);
            if !payload.is_empty() || handshake_ack {
                state.established = true;
            }
            let mut sink = ScanSink {
                det,
                meta: &meta,
                dirs: &mut state.dirs,
                app: &mut state.app,
                anomalies: &mut state.anomalies,
                ts,
            };
            session.on_packet(
                dir,
                &tcp,
                payload,
                &reasm.cfg,
                &mut reasm.budget,
                &mut reasm.stats,
                &mut sink,
            );
            reasm.peak_bytes = reasm.peak_bytes.max(reasm.budget.used as u64);
        }
        _ => udp_datagram(det, &meta, state, dir, (d.sport, d.dport), payload, ts),
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        let ds = &mut state.dirs[dir.index()];
        if ds
            .first_find_ts
            .is_some_and(|t| ts.saturating_sub(t) > det.event_max_age)
        {
            det.emit(&meta, dir, ds, &state.app.view());
        }
    }
}

/// One UDP datagram: decided as DNS (by port or content) on the flow's
/// first datagram and parsed as one message, else scanned raw.
fn udp_datagram(
    det: &mut Det,
    meta: &FlowMeta,
    state: &mut FlowData,
    dir: Direction,
    (sport, dport): (u16, u16),
    payload: &[u8],
    ts: Timestamp,
) {
    let app = &mut state.app;
    if matches!(app.state, AppState::Probing(_)) {
        app.state = match dns::probe_udp(sport, dport, payload) {
            DnsProbe::Dns => AppState::Parser(Box::new(DnsParser::udp())),
            _ => AppState::Raw,
        };
    }
    let parsed = app.parse(det, meta, &mut state.dirs, ts, |p, sink| {
        p.on_data(dir, payload, sink);
    });
    if !parsed {
        det.scan(
            &mut state.dirs[dir.index()],
            payload,
            location::UDP_PAYLOAD,
            ts,
            true,
        );
    }
}

/// Reloaded detectors and policy take over. Findings collected so far were
/// made by the old detectors (whose ids they hold), so they are reported
/// now, and each direction's undecided carry is decided by the old engine;
/// flows, reassembly and application state go on untouched. A value that
/// straddles the swap point is only found if it is complete on one side.
fn swap_sensor(table: &mut FlowTable<FlowData>, det: &mut Det, sensor: Sensor) {
    table.for_each_mut(&mut |flow| {
        let meta = FlowMeta {
            key: flow.key,
            id: flow.id,
            client_is_lo: flow.client_is_lo,
            tunnel: flow.state.tunnel,
        };
        let state = &mut flow.state;
        for dir in [Direction::ToServer, Direction::ToClient] {
            let ds = &mut state.dirs[dir.index()];
            det.finish_item(ds, flow.last_ts);
            ds.stream = StreamState::default();
            det.emit(&meta, dir, ds, &state.app.view());
        }
    });
    det.col_stats.add(&det.scanner.column_stats());
    det.scanner = sensor.engine.scanner();
    det.engine = sensor.engine;
    det.policy = sensor.policy;
}

/// A SYN on a 5-tuple whose connection is closed starts a new flow.
fn end_if_closed(table: &mut FlowTable<FlowData>, reasm: &mut Reasm, det: &mut Det, key: &FlowKey) {
    let closed = table
        .peek(key)
        .is_some_and(|f| f.state.tcp.as_ref().is_some_and(TcpSession::is_closed));
    if closed {
        table.end(key, EndReason::Reused, &mut |f, r| {
            end_flow(reasm, det, f, r)
        });
    }
}

/// A flow ended: deliver what reassembly still holds, close both
/// directions and report what they found.
fn end_flow(reasm: &mut Reasm, det: &mut Det, mut flow: Flow<FlowData>, reason: EndReason) {
    let meta = FlowMeta {
        key: flow.key,
        id: flow.id,
        client_is_lo: flow.client_is_lo,
        tunnel: flow.state.tunnel,
    };
    let ts = flow.last_ts;
    let state = &mut flow.state;
    let mut sink = ScanSink {
        det: &mut *det,
        meta: &meta,
        dirs: &mut state.dirs,
        app: &mut state.app,
        anomalies: &mut state.anomalies,
        ts,
    };
    if let Some(session) = &mut state.tcp {
        session.flush(&mut reasm.budget, &mut reasm.stats, &mut sink);
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        sink.on_close(dir);
    }
    if det.flow_events {
        det.emit_flow(&meta, &flow, reason);
    }
    det.emit_anomalies(&meta, &mut flow.state.anomalies);
}

/// Which endpoint is the client: the SYN's sender, the SYN-ACK's receiver;
/// otherwise (midstream, UDP) the side with the ephemeral port when exactly
/// one port is privileged, else the first sender.
fn client_is_lo(d: &Decoded, src_is_lo: bool) -> bool {
    let src_is_client = match d.tcp {
        Some(t) if t.flags & tcp_flags::SYN != 0 => t.flags & tcp_flags::ACK == 0,
        _ if d.sport < 1024 && d.dport >= 1024 => false,
        _ if d.dport < 1024 && d.sport >= 1024 => true,
        _ => true,
    };
    src_is_client == src_is_lo
}

impl FlowData {
    fn new(is_tcp: bool) -> FlowData {
        FlowData {
            tcp: is_tcp.then(TcpSession::new),
            dirs: [DirState::default(), DirState::default()],
            established: false,
            tunnel: None,
            app: App::new(),
            anomalies: FlowAnomalies::default(),
        }
    }
}

/// (sender ip, sender port, receiver ip, receiver port) when the sender is
/// the key's `lo` endpoint or not.
fn endpoints(k: &FlowKey, sender_is_lo: bool) -> (IpAddr, u16, IpAddr, u16) {
    if sender_is_lo {
        (k.lo_ip, k.lo_port, k.hi_ip, k.hi_port)
    } else {
        (k.hi_ip, k.hi_port, k.lo_ip, k.lo_port)
    }
}

/// The EVE envelope of an event about `meta`'s flow.
fn envelope(
    meta: &FlowMeta,
    ts: Timestamp,
    event_type: &'static str,
    (src, sport, dst, dport): (IpAddr, u16, IpAddr, u16),
) -> Envelope {
    Envelope {
        timestamp: format_ts(ts),
        flow_id: meta.id,
        event_type,
        src_ip: src,
        src_port: sport,
        dest_ip: dst,
        dest_port: dport,
        proto: proto_name(meta.key.proto),
        app_proto: app_proto::RAW,
        tunnel: meta.tunnel.map(|t| t.to_json()),
    }
}

/// A `Host` header value without its port (`shop.example.cn:8080` ->
/// `shop.example.cn`, `[2001:db8::1]:443` -> `[2001:db8::1]`), lowercased,
/// so allow-list name patterns match.
fn host_without_port(host: &str) -> String {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => {
            if h.starts_with('[') || !h.contains(':') {
                h
            } else {
                host
            }
        }
        _ => host,
    };
    name.to_ascii_lowercase()
}

/// The event's `http` object; the URL and file names are masked.
fn http_out(tx: &HttpTx) -> HttpOut {
    const MAX_URL: usize = 512;
    HttpOut {
        hostname: tx.hostname.clone(),
        url: tx.url.as_deref().map(|u| mask_text(u, MAX_URL)),
        http_method: tx.method.clone(),
        status: tx.status,
        http_user_agent: tx.user_agent.clone(),
        http_request_content_type: tx.request_content_type.clone(),
        http_content_type: tx.response_content_type.clone(),
        parts: tx
            .parts
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name,
                    "filename": p.filename.as_deref().map(|f| mask_text(f.as_bytes(), MAX_URL)),
                    "content_type": p.content_type,
                })
            })
            .collect(),
        limits_hit: tx.limits_hit.clone(),
    }
}

/// Feeds reassembled bytes of one flow into the app layer and detection.
struct ScanSink<'a> {
    det: &'a mut Det,
    meta: &'a FlowMeta,
    dirs: &'a mut [DirState; 2],
    app: &'a mut App,
    anomalies: &'a mut FlowAnomalies,
    ts: Timestamp,
}

impl ScanSink<'_> {
    /// Counts a stream anomaly for its `anomaly` event.
    fn record_anomaly(&mut self, dir: Direction, kind: StreamAnomaly, at: Option<(u64, u64)>) {
        let opts = &self.det.anomaly;
        if opts.enabled
            && !self
                .anomalies
                .record(dir, kind, self.ts, at, opts.max_per_flow)
        {
            self.det.anomaly_suppressed += 1;
        }
    }

    /// Notes an anomaly on the direction's `stream` object.
    fn note_anomaly(&mut self, dir: Direction, kind: StreamAnomaly) {
        let notes = &mut self.dirs[dir.index()].notes;
        match kind {
            StreamAnomaly::OverlapDiff => {
                notes.overlap_diffs = notes.overlap_diffs.saturating_add(1)
            }
            StreamAnomaly::OutOfWindow | StreamAnomaly::RstOutOfWindow => {
                notes.out_of_window = notes.out_of_window.saturating_add(1);
            }
            StreamAnomaly::DepthReached => notes.depth_reached = true,
            StreamAnomaly::MemcapReached | StreamAnomaly::SegmentLimitReached => {
                notes.limit_reached = true;
            }
        }
    }

    /// Leaves the probing state for `next`, replaying the held bytes.
    fn decide(&mut self, next: AppState) {
        let held = match std::mem::replace(&mut self.app.state, next) {
            AppState::Probing(held) => held,
            other => {
                self.app.state = other;
                return;
            }
        };
        for dir in [Direction::ToServer, Direction::ToClient] {
            if let Some(bytes) = held.get(dir.index()).filter(|b| !b.is_empty()) {
                self.deliver(dir, bytes);
            }
        }
    }

    /// Bytes to the decided decoder (or raw scanning).
    fn deliver(&mut self, dir: Direction, data: &[u8]) {
        let parsed = self.parse(|p, sink| p.on_data(dir, data, sink));
        if !parsed {
            let ds = &mut self.dirs[dir.index()];
            self.det
                .scan(ds, data, location::TCP_STREAM, self.ts, false);
        }
    }

    /// [`App::parse`] with this flow's parts.
    fn parse(&mut self, f: impl FnOnce(&mut dyn AppParser, &mut AppSink<'_>)) -> bool {
        self.app
            .parse(&mut *self.det, self.meta, &mut *self.dirs, self.ts, f)
    }

    /// Adds bytes to the probe buffer and decides when it can.
    fn probe(&mut self, dir: Direction, data: &[u8]) {
        let AppState::Probing(held) = &mut self.app.state else {
            return;
        };
        let Some(buf) = held.get_mut(dir.index()) else {
            return;
        };
        buf.extend_from_slice(data);
        let len = buf.len();
        let probe = app::probe(dir, buf);
        let [up, down] = &*held;
        let mail = self.det.mail;
        let next = match (app::ftp::probe_flow(up, down), probe) {
            (Some(true), _) => AppState::Parser(Box::<FtpParser>::default()),
            (Some(false), _) if len < PROBE_LIMIT => return,
            (_, Probe::Http) => AppState::Parser(Box::new(HttpParser::default())),
            (_, Probe::Tls) => AppState::Parser(Box::new(TlsParser::default())),
            (_, Probe::Dns) => AppState::Parser(Box::new(DnsParser::tcp())),
            (_, Probe::Smtp) => AppState::Parser(Box::new(SmtpParser::new(mail))),
            (_, Probe::Pop3) => AppState::Parser(Box::new(Pop3Parser::new(mail))),
            (_, Probe::Imap) => AppState::Parser(Box::new(ImapParser::new(mail))),
            (_, Probe::NeedMore) if len < PROBE_LIMIT => return,
            _ => AppState::Raw,
        };
        self.decide(next);
    }
}

impl StreamSink for ScanSink<'_> {
    fn on_data(&mut self, dir: Direction, data: &[u8]) {
        if let Some(d) = &self.det.dump_streams {
            super::dump::append(
                d,
                self.meta.id,
                &self.meta.key,
                self.meta.client_is_lo,
                dir,
                data,
            );
        }
        if matches!(self.app.state, AppState::Probing(_)) {
            self.probe(dir, data);
        } else {
            self.deliver(dir, data);
        }
    }

    fn on_gap(&mut self, dir: Direction, len: u64) {
        self.decide(AppState::Raw);
        self.parse(|p, sink| p.on_gap(dir, len, sink));
        let ds = &mut self.dirs[dir.index()];
        files::file_gap(ds, len);
        self.det.gap_item(ds, self.ts);
        ds.notes.gaps += 1;
        ds.notes.gap_bytes += len;
    }

    fn on_close(&mut self, dir: Direction) {
        if self.dirs[dir.index()].closed {
            return;
        }
        self.decide(AppState::Raw);
        self.parse(|p, sink| p.on_close(dir, sink));
        let view = self.app.view();
        self.det
            .close(self.meta, dir, &mut self.dirs[dir.index()], self.ts, &view);
    }

    fn on_anomaly(&mut self, dir: Direction, kind: StreamAnomaly) {
        self.note_anomaly(dir, kind);
        self.record_anomaly(dir, kind, None);
    }

    fn on_anomaly_at(&mut self, dir: Direction, kind: StreamAnomaly, offset: u64, len: u64) {
        self.note_anomaly(dir, kind);
        self.record_anomaly(dir, kind, Some((offset, len)));
    }

    /// Bytes the receiver kept over ones already scanned: scanned on their
    /// own, so PI only in the replacing copy is still found.
    fn on_overlap_data(&mut self, dir: Direction, data: &[u8]) {
        self.det.scan(
            &mut self.dirs[dir.index()],
            data,
            location::TCP_STREAM,
            self.ts,
            true,
        );
    }
}

/// Receives what an app parser extracts: labelled content to scan, and
/// transaction ends that become events.
struct AppSink<'a> {
    det: &'a mut Det,
    meta: &'a FlowMeta,
    dirs: &'a mut [DirState; 2],
    dest_name: &'a mut Option<String>,
    dns_name: Option<&'a str>,
    tls: &'a mut Option<Box<TlsInfo>>,
    encrypted: bool,
    proto: &'static str,
    ts: Timestamp,
}

impl ContentSink for AppSink<'_> {
    fn on_content(&mut self, dir: Direction, location: &'static str, data: &[u8]) {
        self.on_content_chain(dir, location, Chain::EMPTY, data);
    }

    fn on_content_chain(
        &mut self,
        dir: Direction,
        location: &'static str,
        chain: Chain,
        data: &[u8],
    ) {
        if self.dirs[dir.index()].file.is_some() {
            return self.file_content(dir, location, data);
        }
        let ds = &mut self.dirs[dir.index()];
        if ds.location.is_some_and(|l| l != location) {
            self.det.finish_item(ds, self.ts);
        }
        self.det
            .scan_chain(ds, data, location, chain, self.ts, false);
    }

    fn end_content(&mut self, dir: Direction) {
        if !self.file_end(dir) {
            self.det.finish_item(&mut self.dirs[dir.index()], self.ts);
        }
    }

    fn begin_file(&mut self, dir: Direction, file: &FileMeta) {
        self.file_begin(dir, file);
    }

    fn end_transaction(&mut self, dir: Direction, meta: &TxMeta) {
        let (mut http, mut dns, mut mail, mut ftp) = (None, None, None, None);
        match meta {
            TxMeta::Http(tx) => {
                if self.dest_name.is_none() {
                    *self.dest_name = tx.hostname.as_deref().map(host_without_port);
                }
                http = Some(tx);
            }
            TxMeta::Mail(tx) => {
                if self.dest_name.is_none() {
                    self.dest_name.clone_from(&tx.server_name);
                }
                mail = Some(tx);
            }
            TxMeta::Tls(info) => *self.tls = Some(Box::new(info.clone())),
            TxMeta::Dns(tx) => dns = Some(tx),
            TxMeta::Ftp(tx) => ftp = Some(self.ftp_tx(dir, tx)),
        }
        let ds = &mut self.dirs[dir.index()];
        self.det.finish_item(ds, self.ts);
        let view = AppView {
            proto: self.proto,
            dest_name: self.dest_name.as_deref().or(self.dns_name),
            encrypted: self.encrypted,
            http,
            tls: self.tls.as_deref(),
            dns,
            mail,
            ftp,
        };
        self.det.emit(self.meta, dir, ds, &view);
    }
}

/// Collects the matches of one scan into a direction's findings.
struct Collector<'a> {
    findings: &'a mut FindingSet,
    /// A second set the matches also go to (the findings of a file).
    extra: Option<&'a mut FindingSet>,
    first_find_ts: &'a mut Option<Timestamp>,
    ts: Timestamp,
    location: &'static str,
    detectors: &'a [DetectorInfo],
    hasher: &'a ValueHasher,
    limits: &'a FindingLimits,
    matches: &'a mut u64,
}

impl WhereSink for Collector<'_> {
    fn on_match(&mut self, m: &Match<'_>, where_: &'static str) {
        self.location = where_;
        MatchSink::on_match(self, m);
    }
}

impl MatchSink for Collector<'_> {
    fn on_match(&mut self, m: &Match<'_>) {
        let Some(info) = self.detectors.get(usize::from(m.detector)) else {
            return;
        };
        *self.matches += 1;
        self.first_find_ts.get_or_insert(self.ts);
        self.findings
            .add(m, self.location, info, self.hasher, self.limits);
        if let Some(extra) = self.extra.as_deref_mut() {
            extra.add(m, self.location, info, self.hasher, self.limits);
        }
    }
}

impl Det {
    /// Scans bytes of one direction; `whole` when they are a complete
    /// message (a datagram) rather than the next piece of a stream.
    fn scan(
        &mut self,
        ds: &mut DirState,
        data: &[u8],
        location: &'static str,
        ts: Timestamp,
        whole: bool,
    ) {
        self.scan_with(ds, None, data, location, Chain::EMPTY, ts, whole);
    }

    /// [`Det::scan`] of content the app layer decoded through `chain`.
    fn scan_chain(
        &mut self,
        ds: &mut DirState,
        data: &[u8],
        location: &'static str,
        chain: Chain,
        ts: Timestamp,
        whole: bool,
    ) {
        self.scan_with(ds, None, data, location, chain, ts, whole);
    }

    /// Scans the next piece of a stream item whose matches also go to
    /// `extra` (a file's findings).
    fn scan_into(
        &mut self,
        ds: &mut DirState,
        extra: Option<&mut FindingSet>,
        data: &[u8],
        location: &'static str,
        ts: Timestamp,
    ) {
        if ds.location.is_some_and(|l| l != location) {
            self.finish_item_into(ds, None, ts);
        }
        self.scan_with(ds, extra, data, location, Chain::EMPTY, ts, false);
    }

    /// Scans through the normalisation chain when it is enabled.
    #[allow(clippy::too_many_arguments)]
    fn scan_with(
        &mut self,
        ds: &mut DirState,
        extra: Option<&mut FindingSet>,
        data: &[u8],
        location: &'static str,
        chain: Chain,
        ts: Timestamp,
        whole: bool,
    ) {
        if ds.closed || data.is_empty() {
            return;
        }
        if !whole {
            ds.location = Some(location);
        }
        self.bytes_scanned += data.len() as u64;
        if let Some(cfg) = &self.norm_cfg {
            let mut norm = ds
                .norm
                .take()
                .unwrap_or_else(|| Box::new(Normalizer::new(cfg)));
            self.with_collector(ds, extra, ts, location, |scanner, _, c| {
                if whole {
                    norm.scan_whole(scanner, location, chain, data, c);
                } else {
                    norm.push(scanner, location, chain, data, c);
                }
            });
            self.norm_stats.add(&std::mem::take(&mut norm.stats));
            ds.norm = Some(norm);
            return;
        }
        self.with_collector(ds, extra, ts, location, |scanner, stream, c| {
            if whole {
                scanner.scan_buffer(data, c);
            } else {
                scanner.scan_stream(stream, data, c);
            }
        });
    }

    /// Runs `op` with the scanner, the direction's stream state and a
    /// collector feeding its findings.
    fn with_collector(
        &mut self,
        ds: &mut DirState,
        extra: Option<&mut FindingSet>,
        ts: Timestamp,
        location: &'static str,
        op: impl FnOnce(&mut Scanner, &mut StreamState, &mut Collector<'_>),
    ) {
        let DirState {
            stream,
            findings,
            first_find_ts,
            ..
        } = ds;
        let mut c = Collector {
            findings,
            extra,
            first_find_ts,
            ts,
            location,
            detectors: self.engine.detectors(),
            hasher: &self.hasher,
            limits: &self.limits,
            matches: &mut self.matches,
        };
        op(&mut self.scanner, stream, &mut c);
    }

    /// The current content item of a direction ended: decide what its
    /// stream state still holds, and start afresh (nothing joins across).
    fn finish_item(&mut self, ds: &mut DirState, ts: Timestamp) {
        self.finish_item_into(ds, None, ts);
    }

    /// [`Det::finish_item`] whose matches also go to `extra`.
    fn finish_item_into(
        &mut self,
        ds: &mut DirState,
        extra: Option<&mut FindingSet>,
        ts: Timestamp,
    ) {
        let Some(location) = ds.location.take() else {
            return;
        };
        let mut extra = extra;
        if let Some(mut norm) = ds.norm.take() {
            self.with_collector(ds, extra.as_deref_mut(), ts, location, |scanner, _, c| {
                norm.finish(scanner, c);
            });
            self.norm_stats.add(&std::mem::take(&mut norm.stats));
            ds.norm = Some(norm);
        }
        self.with_collector(ds, extra, ts, location, |scanner, stream, c| {
            scanner.finish_stream(stream, c);
        });
        ds.stream = StreamState::default();
    }

    /// Bytes of the current item were lost: decide what its stream state
    /// holds that the lost bytes cannot change, then go on after the gap.
    fn gap_item(&mut self, ds: &mut DirState, ts: Timestamp) {
        // Without an item nothing is carried; the state still notes the gap.
        let location = ds.location.unwrap_or(location::TCP_STREAM);
        if let Some(mut norm) = ds.norm.take() {
            self.with_collector(ds, None, ts, location, |scanner, _, c| {
                norm.gap(scanner, c);
            });
            ds.norm = Some(norm);
        }
        self.with_collector(ds, None, ts, location, |scanner, stream, c| {
            scanner.gap(stream, c);
        });
    }

    /// A direction ended: decide what its stream still holds, then report.
    fn close(
        &mut self,
        meta: &FlowMeta,
        dir: Direction,
        ds: &mut DirState,
        ts: Timestamp,
        app: &AppView<'_>,
    ) {
        if ds.closed {
            return;
        }
        if let Some(f) = ds.file.take() {
            self.end_file(meta, dir, ds, f, ts, app.proto, app.dest_name);
        }
        self.finish_item(ds, ts);
        ds.closed = true;
        self.emit(meta, dir, ds, app);
    }

    /// Builds the `dlp` event of a direction's findings, if any.
    fn emit(&mut self, meta: &FlowMeta, dir: Direction, ds: &mut DirState, app: &AppView<'_>) {
        let Some(ts) = ds.first_find_ts.take() else {
            return;
        };
        if ds.findings.is_empty() {
            return;
        }
        let hashes = ds.findings.hashes();
        let findings = ds.findings.take(self.engine.detectors());
        // Every finding sits in some record: at least 1.
        let records = ds.norm.as_mut().map_or(0, |n| n.take_records()).max(1);
        let sender_is_lo = (dir == Direction::ToServer) == meta.client_is_lo;
        let ends = endpoints(&meta.key, sender_is_lo);
        let verdict = self.judge(&findings, records, ends.0, ends.2, ts, app);
        let head = EventHead {
            event_type: event_type::DLP,
            severity: Some(verdict.severity.as_str()),
        };
        let mut envelope = envelope(meta, ts, event_type::DLP, ends);
        envelope.app_proto = app.proto;
        let ev = DlpEvent {
            envelope,
            direction: dir.as_str(),
            findings,
            records,
            dest_name: app.dest_name.map(str::to_string),
            verdict,
            http: app.http.map(http_out),
            tls: app.tls.map(tls_out),
            dns: app.dns.map(dns_out),
            smtp: app
                .mail
                .filter(|_| app.proto == mail::proto_name::SMTP)
                .map(mail::out::smtp_out),
            mail: app.mail.map(mail::out::mail_out),
            ftp: app.ftp.clone(),
            stream: ds.notes.clone(),
        };
        let json = dlp_json(&ev);
        let key = SortKey {
            ts,
            flow_id: meta.id,
            dir: dir.index() as u8,
            seq: ds.events,
        };
        ds.events += 1;
        self.dlp_events += 1;
        let dedup = Some(DedupInfo {
            sender: ends.0,
            receiver: ends.2,
            tenant: meta.key.vni,
            hashes,
        });
        self.out.push(OutEvent {
            key,
            json,
            head: Some(head),
            dedup,
        });
    }

    /// The policy's verdict on PI sent from `sender` to `receiver`.
    fn judge(
        &self,
        findings: &[FindingOut],
        records: u64,
        sender: IpAddr,
        receiver: IpAddr,
        ts: Timestamp,
        app: &AppView<'_>,
    ) -> Verdict {
        let per_type: Vec<TransferFinding<'_>> = findings
            .iter()
            .map(|f| TransferFinding {
                pi_type: &f.pi_type,
                category: &f.category,
                distinct: f.count,
                confidence: f.level,
            })
            .collect();
        self.policy.evaluate_records(
            &Transfer {
                sender,
                receiver,
                dest_name: app.dest_name,
                encrypted: app.encrypted,
                findings: &per_type,
                ts_ns: ts,
            },
            records,
        )
    }

    /// Builds the `flow` event of an ended flow.
    fn emit_flow(&mut self, meta: &FlowMeta, flow: &Flow<FlowData>, reason: EndReason) {
        let (src, sport, dst, dport) = endpoints(&meta.key, meta.client_is_lo);
        let [up, down] = [0, 1];
        let mut envelope = envelope(
            meta,
            flow.first_ts,
            event_type::FLOW,
            (src, sport, dst, dport),
        );
        let app = &flow.state.app;
        envelope.app_proto = app.proto();
        let ev = FlowEvent {
            envelope,
            dest_name: app.dest_name().map(str::to_string),
            encrypted: app.encrypted,
            tls: app.tls.as_deref().map(tls_out),
            flow: FlowSummary {
                pkts_toserver: flow.pkts[up],
                pkts_toclient: flow.pkts[down],
                bytes_toserver: flow.bytes[up],
                bytes_toclient: flow.bytes[down],
                start: format_ts(flow.first_ts),
                end: format_ts(flow.last_ts),
                reason: reason.as_str(),
                stream_toserver: flow.state.dirs[up].notes.clone(),
                stream_toclient: flow.state.dirs[down].notes.clone(),
            },
        };
        let json = serde_json::to_string(&ev).unwrap_or_default();
        let key = SortKey {
            ts: flow.first_ts,
            flow_id: meta.id,
            dir: 2,
            seq: 0,
        };
        self.out.push(OutEvent {
            key,
            json,
            head: Some(EventHead::of_type(event_type::FLOW)),
            dedup: None,
        });
    }

    /// Builds the `anomaly` events of an ended flow (sender of the
    /// direction concerned as `src_*`).
    fn emit_anomalies(&mut self, meta: &FlowMeta, log: &mut FlowAnomalies) {
        if log.is_empty() {
            return;
        }
        for (seq, (dir, ts, out)) in log.take(self.anomaly.overlap).into_iter().enumerate() {
            let sender_is_lo = (dir == Direction::ToServer) == meta.client_is_lo;
            let env = envelope(
                meta,
                ts,
                event_type::ANOMALY,
                endpoints(&meta.key, sender_is_lo),
            );
            let ev = AnomalyEvent {
                timestamp: env.timestamp,
                flow_id: Some(meta.id),
                event_type: env.event_type,
                src_ip: Some(env.src_ip),
                src_port: Some(env.src_port),
                dest_ip: Some(env.dest_ip),
                dest_port: Some(env.dest_port),
                proto: Some(env.proto),
                tunnel: env.tunnel,
                anomaly: out,
            };
            let seq = u32::try_from(seq).unwrap_or(u32::MAX);
            self.out.push(anomaly::flow_event(&ev, ts, meta.id, seq));
            self.anomaly_events += 1;
        }
    }

    /// [`Det::send_events`] when [`send_now`] says so; `queue_empty`: no
    /// batch waits in this worker's input queue.
    fn send_events_if_due(&mut self, out: &Sender<OutMsg>, queue_empty: bool) {
        if self.out.is_empty() {
            return;
        }
        let since = *self.out_since.get_or_insert_with(Instant::now);
        if send_now(self.out.len(), queue_empty, since.elapsed()) {
            self.send_events(out);
        }
    }

    fn send_events(&mut self, out: &Sender<OutMsg>) {
        self.out_since = None;
        if !self.out.is_empty() {
            for ev in &mut self.out {
                self.ids.stamp_in_place(ev.key.words(), &mut ev.json);
            }
            let _ = out.send(OutMsg::Events(std::mem::take(&mut self.out)));
        }
    }
}

/// Events a worker may hold while more batches wait in its queue.
const EVENT_SEND_AT: usize = 256;
/// Longest an event is held for company.
const EVENT_HOLD: Duration = Duration::from_millis(100);

/// Whether the `held` events built so far go to the output thread now:
/// when the input queue is empty (the worker is about to wait, so holding
/// gains nothing and live alerts stay prompt), when `held` reaches
/// [`EVENT_SEND_AT`], or when the oldest waited [`EVENT_HOLD`]. Each send
/// wakes the output thread, and that wake cost the worker ~2 % of its
/// time when it sent after every batch (an inter-processor interrupt on
/// a VM, ~50 µs).
fn send_now(held: usize, queue_empty: bool, waited: Duration) -> bool {
    queue_empty || held >= EVENT_SEND_AT || waited >= EVENT_HOLD
}

/// A `dlp` event's JSON, written into a buffer sized for a typical event
/// (~700 bytes of envelope, policy and HTTP, ~150 per finding, ~110 per
/// value listed), so that the string is not grown and copied many times.
fn dlp_json(ev: &DlpEvent) -> String {
    let findings = ev.findings.len();
    let values: usize = ev.findings.iter().map(|f| f.values.len()).sum();
    let mut buf = Vec::with_capacity(768 + 192 * findings + 128 * values.min(4096));
    if serde_json::to_writer(&mut buf, ev).is_err() {
        return String::new();
    }
    // serde_json writes UTF-8 only.
    String::from_utf8(buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_held_only_while_more_batches_wait() {
        let short = Duration::from_millis(1);
        assert!(send_now(1, true, short), "an idle worker sends at once");
        assert!(!send_now(1, false, short), "a busy worker holds a few");
        assert!(send_now(EVENT_SEND_AT, false, short), "but not too many");
        assert!(send_now(1, false, EVENT_HOLD), "nor for too long");
    }

    /// The per-flow memory a SYN flood costs (documented in
    /// `flow/REASSEMBLY.md`); fails when it grows past 1 KiB.
    #[test]
    fn host_port_is_dropped_from_dest_name() {
        assert_eq!(host_without_port("Shop.Example.cn:8080"), "shop.example.cn");
        assert_eq!(host_without_port("example.cn"), "example.cn");
        assert_eq!(host_without_port("[2001:db8::1]:443"), "[2001:db8::1]");
        assert_eq!(host_without_port("2001:db8::1"), "2001:db8::1");
    }

    #[test]
    fn flow_entry_footprint() {
        let sizes = [
            ("Flow<FlowData>", std::mem::size_of::<Flow<FlowData>>()),
            ("FlowData", std::mem::size_of::<FlowData>()),
            ("TcpSession", std::mem::size_of::<TcpSession>()),
            ("DirState", std::mem::size_of::<DirState>()),
            ("StreamState", std::mem::size_of::<StreamState>()),
            ("FindingSet", std::mem::size_of::<FindingSet>()),
            ("StreamNotes", std::mem::size_of::<StreamNotes>()),
            ("FlowKey", std::mem::size_of::<FlowKey>()),
        ];
        eprintln!("{sizes:?}");
        assert!(sizes[0].1 <= 1024, "{sizes:?}");
    }
}
