//! TCP session: per-direction stream reassembly.
//!
//! Each direction is a `HalfStream` that maps sequence numbers to 64-bit
//! stream offsets (offset 0 = first data byte), delivers in-order bytes to
//! the sink straight from the packet, buffers out-of-order bytes in a
//! `SegmentStore` charged to the worker's [`MemBudget`], and reports
//! holes it gives up on with `on_gap`. Design: `REASSEMBLY.md`.

use super::reassembly::{span, LimitPolicy, Recent, SegmentStore, StreamAnomaly};
use super::{Direction, MemBudget, ReassemblyConfig, ReassemblyStats, StreamSink};
use crate::decode::{tcp_flags, TcpMeta};

/// Largest distance (bytes) between a segment or ACK and the next expected
/// byte that can be real: the largest scaled TCP window (2^30).
const MAX_WINDOW: i64 = 1 << 30;

/// Where a direction is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// No packet seen from this sender yet.
    #[default]
    Unseen,
    /// Sequence base known; data flows.
    Open,
    /// `on_close` was called; nothing more is reported.
    Closed,
}

/// Everything one packet's processing needs besides the stream itself.
struct Ctx<'a> {
    cfg: &'a ReassemblyConfig,
    budget: &'a mut MemBudget,
    stats: &'a mut ReassemblyStats,
    sink: &'a mut dyn StreamSink,
}

/// One direction's byte stream.
#[derive(Debug)]
struct HalfStream {
    dir: Direction,
    phase: Phase,
    /// Sequence number of stream offset 0.
    base: u32,
    /// First offset neither delivered nor reported as a gap.
    next: u64,
    /// One past the highest offset seen in a plausible segment.
    max_end: u64,
    /// Offset of the FIN (one past the last data byte), first one wins.
    fin: Option<u64>,
    /// Depth reached or stopped at a bound: nothing more is delivered or
    /// buffered.
    done: bool,
    /// This sender's SYN was seen (its window scale is known).
    syn_seen: bool,
    /// Window scale this sender announced in its SYN.
    wscale: Option<u8>,
    /// Highest right edge of the receiver's advertised window (offset in
    /// this stream), once known; data starting beyond it is out of window.
    win_edge: Option<u64>,
    /// A recent-bytes window was tried (allocated or refused by budget).
    recent_tried: bool,
    /// Recently delivered bytes (lazily allocated, charged to the budget).
    recent: Option<Box<Recent>>,
    store: SegmentStore,
}

impl HalfStream {
    fn new(dir: Direction) -> Self {
        HalfStream {
            dir,
            phase: Phase::Unseen,
            base: 0,
            next: 0,
            max_end: 0,
            fin: None,
            done: false,
            syn_seen: false,
            wscale: None,
            win_edge: None,
            recent_tried: false,
            recent: None,
            store: SegmentStore::default(),
        }
    }

    /// Still delivering data.
    fn active(&self) -> bool {
        self.phase == Phase::Open && !self.done
    }

    /// Signed distance of `seq` from the next expected byte (mod 2^32).
    fn rel(&self, seq: u32) -> i64 {
        // Truncating `next` is the point: sequence space is mod 2^32.
        let expected = self.base.wrapping_add(self.next as u32);
        i64::from(seq.wrapping_sub(expected) as i32)
    }

    /// First sight of this sender: fix the sequence base.
    fn start(&mut self, tcp: &TcpMeta, syn: bool, stats: &mut ReassemblyStats) {
        let seq = tcp.seq;
        self.phase = Phase::Open;
        self.syn_seen = syn;
        self.wscale = if syn { tcp.wscale } else { None };
        if syn {
            self.base = seq.wrapping_add(1);
        } else {
            self.base = seq;
            stats.midstream_total += 1;
        }
    }

    /// A segment sent by this direction (not RST handling, not its ACK).
    fn on_segment(&mut self, tcp: &TcpMeta, payload: &[u8], cx: &mut Ctx<'_>) {
        let syn = tcp.flags & tcp_flags::SYN != 0;
        let fin = tcp.flags & tcp_flags::FIN != 0;
        match self.phase {
            Phase::Closed => return,
            Phase::Unseen => self.start(tcp, syn, cx.stats),
            // A SYN with another ISN is a new connection on a reused tuple,
            // not ours; a SYN retransmit is harmless.
            Phase::Open if syn && tcp.seq.wrapping_add(1) != self.base => return,
            Phase::Open => {}
        }
        if self.done {
            if fin {
                self.close(cx);
            }
            return;
        }
        let data_seq = if syn {
            tcp.seq.wrapping_add(1)
        } else {
            tcp.seq
        };
        let rel = self.rel(data_seq);
        let beyond_window = rel >= 0
            && self
                .win_edge
                .is_some_and(|e| self.next + rel.unsigned_abs() > e);
        if rel > MAX_WINDOW || beyond_window {
            cx.stats.out_of_window_total += 1;
            let at = self.next.saturating_add_signed(rel);
            let len = payload.len() as u64;
            cx.sink
                .on_anomaly_at(self.dir, StreamAnomaly::OutOfWindow, at, len);
            return;
        }
        let end_rel = rel.saturating_add(i64::try_from(payload.len()).unwrap_or(i64::MAX));
        if end_rel >= 0 {
            let end = self.next + end_rel.unsigned_abs();
            if fin && self.fin.is_none() {
                self.set_fin(end, cx.budget);
            }
            let end = end.min(self.fin.unwrap_or(u64::MAX));
            self.max_end = self.max_end.max(end);
        }
        if !payload.is_empty() {
            self.on_data(rel, payload, cx);
        }
        self.check_fin(cx);
    }

    /// Records the FIN offset and drops anything buffered beyond it.
    fn set_fin(&mut self, end: u64, budget: &mut MemBudget) {
        let end = end.max(self.next);
        self.fin = Some(end);
        self.max_end = self.max_end.min(end).max(self.next);
        budget.release(self.store.truncate_from(end));
    }

    /// Payload at `rel` bytes from the next expected byte.
    fn on_data(&mut self, rel: i64, payload: &[u8], cx: &mut Ctx<'_>) {
        let (start, data) = if rel < 0 {
            cx.stats.retransmissions_total += 1;
            let old = usize::try_from(rel.unsigned_abs()).unwrap_or(usize::MAX);
            self.compare_old(old, payload, cx);
            match payload.get(old..) {
                Some(rest) if !rest.is_empty() => (self.next, rest),
                _ => return,
            }
        } else {
            (self.next + rel.unsigned_abs(), payload)
        };
        let limit = self.limit(cx.cfg);
        let end = (start + data.len() as u64).min(limit);
        if end <= start {
            return;
        }
        let data = span(data, start, start, end);
        if start == self.next {
            self.accept(data, cx);
        } else {
            cx.stats.out_of_order_total += 1;
            self.buffer(start, data, cx);
        }
    }

    /// Offset beyond which nothing is delivered or buffered: FIN or depth.
    fn limit(&self, cfg: &ReassemblyConfig) -> u64 {
        let depth = if cfg.depth == 0 { u64::MAX } else { cfg.depth };
        self.fin.unwrap_or(u64::MAX).min(depth)
    }

    /// Bytes that may still be delivered before depth.
    fn depth_room(&self, cfg: &ReassemblyConfig) -> u64 {
        if cfg.depth == 0 {
            u64::MAX
        } else {
            cfg.depth.saturating_sub(self.next)
        }
    }

    /// In-order `data` starting at `next`. Where it overlaps buffered
    /// bytes, the overlap policy decides in the store (rare, so the copy
    /// is fine); otherwise it goes to the sink straight from the packet.
    fn accept(&mut self, data: &[u8], cx: &mut Ctx<'_>) {
        let end = self.next + data.len() as u64;
        if self.store.front_off().is_some_and(|o| o < end) {
            let diffs = cx.stats.overlap_diff_total;
            let added = self.store.insert(self.next, data, cx.cfg.overlap, cx.stats);
            // Charged only until the drain below delivers it.
            cx.budget.charge(added);
            self.note_diffs(diffs, self.next, data.len(), cx);
        } else {
            self.emit(data, cx);
        }
        self.drain(cx);
    }

    /// Reports an anomaly per overlap counted since `before`, placed at the
    /// inserted segment (`len` bytes at stream offset `at`).
    fn note_diffs(&self, before: u64, at: u64, len: usize, cx: &mut Ctx<'_>) {
        for _ in before..cx.stats.overlap_diff_total {
            cx.sink
                .on_anomaly_at(self.dir, StreamAnomaly::OverlapDiff, at, len as u64);
        }
    }

    /// A retransmission whose first `old` bytes were already delivered:
    /// compares them with the recent-bytes window. When they differ the
    /// overlap is counted and reported; when the policy says the receiver
    /// kept the new copy, it goes to the sink as a separate piece (what was
    /// delivered cannot be taken back) and becomes the window's content.
    fn compare_old(&mut self, old: usize, payload: &[u8], cx: &mut Ctx<'_>) {
        let Some(recent) = self.recent.as_deref_mut() else {
            return;
        };
        let back = old as u64;
        // Bytes before offset 0 (before the SYN) are not stream bytes.
        let skip = usize::try_from(back.saturating_sub(self.next)).unwrap_or(usize::MAX);
        let (Some(seg), Some(part)) = (
            payload.get(skip..),
            payload.get(skip..old.min(payload.len())),
        ) else {
            return;
        };
        let off = self.next.saturating_sub(back);
        let Some((a, b)) = recent.held(off, part.len()) else {
            return;
        };
        cx.stats.recent_compared_total += 1;
        let piece = span(part, off, a, b);
        if !recent.differs(a, piece) {
            return;
        }
        cx.stats.overlap_diff_total += 1;
        cx.sink
            .on_anomaly_at(self.dir, StreamAnomaly::OverlapDiff, a, piece.len() as u64);
        let seg_end = off + seg.len() as u64;
        if cx.cfg.overlap.new_wins(off, seg_end, off, self.next) {
            recent.overwrite(a, piece);
            cx.sink.on_overlap_data(self.dir, piece);
        }
    }

    /// Delivers buffered runs that have become contiguous.
    fn drain(&mut self, cx: &mut Ctx<'_>) {
        while self.active() && self.store.front_off().is_some_and(|o| o <= self.next) {
            let Some(run) = self.store.pop_front() else {
                break;
            };
            cx.budget.release(run.data.len());
            self.emit(span(&run.data, run.off, self.next, run.end()), cx);
        }
    }

    /// Hands `chunk` (which starts at `next`) to the sink, cut at depth;
    /// returns the bytes delivered.
    fn emit(&mut self, chunk: &[u8], cx: &mut Ctx<'_>) -> u64 {
        let room = usize::try_from(self.depth_room(cx.cfg)).unwrap_or(usize::MAX);
        let part = chunk.get(..chunk.len().min(room)).unwrap_or(&[]);
        if !part.is_empty() {
            self.remember(part, cx);
            cx.sink.on_data(self.dir, part);
            cx.stats.bytes_delivered_total += part.len() as u64;
            self.next += part.len() as u64;
        }
        self.check_depth(cx);
        part.len() as u64
    }

    /// Keeps `part` (about to be delivered at `next`) in the recent-bytes
    /// window, allocating it on first use while the worker's budget is
    /// under half the memcap (so windows never starve reordering buffers).
    fn remember(&mut self, part: &[u8], cx: &mut Ctx<'_>) {
        let cap = cx.cfg.recent_window;
        if cap == 0 {
            return;
        }
        if !self.recent_tried {
            self.recent_tried = true;
            if cx.budget.fits(cap, cx.cfg.memcap / 2) {
                cx.budget.charge(cap);
                self.recent = Some(Box::new(Recent::new(cap, self.next)));
            } else {
                cx.stats.recent_skipped_total += 1;
            }
        }
        if let Some(r) = self.recent.as_deref_mut() {
            r.push(self.next, part);
        }
    }

    /// Reports `len` lost bytes at `next` (cut at depth); returns the bytes skipped.
    fn gap(&mut self, len: u64, cx: &mut Ctx<'_>) -> u64 {
        let len = len.min(self.depth_room(cx.cfg));
        if len > 0 {
            cx.sink.on_gap(self.dir, len);
            cx.stats.gaps_total += 1;
            cx.stats.gap_bytes_total += len;
            self.next += len;
        }
        self.check_depth(cx);
        len
    }

    /// Gives up on every hole below `target`: reports each as a gap and
    /// delivers the buffered runs in between and after.
    fn skip_to(&mut self, target: u64, cx: &mut Ctx<'_>) {
        while self.active() && self.next < target {
            match self.store.front_off() {
                Some(o) if o <= self.next => self.drain(cx),
                front => {
                    let hole_end = front.map_or(target, |o| o.min(target));
                    if self.gap(hole_end - self.next, cx) == 0 {
                        break;
                    }
                }
            }
        }
        self.drain(cx);
    }

    /// Buffers out-of-order `data` at `start` (> `next`). When the segment
    /// limit or the memcap is hit, skips ahead: the hole at `next` is
    /// reported lost, contiguous buffered data is delivered, and we retry
    /// until the segment fits or has become in-order. Data that was seen is
    /// never dropped for a bound; only holes are given up early.
    fn buffer(&mut self, start: u64, data: &[u8], cx: &mut Ctx<'_>) {
        let end = start + data.len() as u64;
        let mut counted = false;
        while self.active() {
            if start <= self.next {
                let rest = span(data, start, self.next, end);
                if !rest.is_empty() {
                    self.accept(rest, cx);
                }
                return;
            }
            let plan = self.store.plan(start, data.len());
            let seg_ok = !plan.new_run || self.store.runs() < cx.cfg.max_segments;
            let mem_ok = cx.budget.fits(plan.bytes, cx.cfg.memcap);
            if seg_ok && mem_ok {
                let diffs = cx.stats.overlap_diff_total;
                let added = self.store.insert(start, data, cx.cfg.overlap, cx.stats);
                cx.budget.charge(added);
                self.note_diffs(diffs, start, data.len(), cx);
                return;
            }
            if !counted {
                counted = true;
                let kind = if mem_ok {
                    cx.stats.segment_limit_reached_total += 1;
                    StreamAnomaly::SegmentLimitReached
                } else {
                    cx.stats.memcap_reached_total += 1;
                    StreamAnomaly::MemcapReached
                };
                cx.sink.on_anomaly(self.dir, kind);
                if cx.cfg.on_limit == LimitPolicy::Stop {
                    cx.stats.limit_stopped_total += 1;
                    self.finish(cx);
                    return;
                }
            }
            let target = self.store.front_off().map_or(start, |o| o.min(start));
            self.skip_to(target, cx);
        }
    }

    /// The receiver acknowledged up to `ack`: bytes acked but never seen
    /// were lost (to us), so holes below it are reported and skipped.
    fn on_ack(&mut self, ack: u32, win: Option<u64>, cx: &mut Ctx<'_>) {
        if !self.active() {
            return;
        }
        let rel = self.rel(ack);
        if let Some(w) = win.filter(|_| rel.abs() <= MAX_WINDOW) {
            let acked = self.next.saturating_add_signed(rel);
            let edge = acked.saturating_add(w);
            self.win_edge = Some(self.win_edge.map_or(edge, |e| e.max(edge)));
        }
        if rel <= 0 {
            return;
        }
        if rel > MAX_WINDOW {
            cx.stats.out_of_window_total += 1;
            return;
        }
        // Only what was seen (or the FIN) can be declared lost: an ACK that
        // overtakes its data in the capture, or a forged one, skips nothing.
        let target = (self.next + rel.unsigned_abs()).min(self.max_end);
        if target > self.next {
            self.skip_to(target, cx);
            self.check_fin(cx);
        }
    }

    /// Marks depth reached once and frees the buffers.
    fn check_depth(&mut self, cx: &mut Ctx<'_>) {
        if cx.cfg.depth > 0 && self.next >= cx.cfg.depth && !self.done {
            cx.stats.depth_reached_total += 1;
            cx.sink.on_anomaly(self.dir, StreamAnomaly::DepthReached);
            self.finish(cx);
        }
    }

    /// Stops inspection of this direction (depth or a bound with
    /// `on_limit = "stop"`) and frees its buffers; only FIN/RST still count.
    fn finish(&mut self, cx: &mut Ctx<'_>) {
        self.done = true;
        cx.budget.release(self.store.clear());
        self.free_recent(cx.budget);
    }

    /// Frees the recent-bytes window.
    fn free_recent(&mut self, budget: &mut MemBudget) {
        if let Some(r) = self.recent.take() {
            budget.release(r.cost());
        }
    }

    /// True when a RST with sequence number `seq` from this sender is
    /// inside the receiver's window (a real stack would act on it). With no
    /// basis to judge (nothing seen from the sender) it is accepted.
    fn rst_in_window(&self, seq: u32) -> bool {
        if self.phase == Phase::Unseen {
            return true;
        }
        let rel = self.rel(seq);
        let room = self
            .win_edge
            .map_or(MAX_WINDOW, |e| {
                i64::try_from(e.saturating_sub(self.next)).unwrap_or(MAX_WINDOW)
            })
            .max(1);
        (0..=room).contains(&rel)
    }

    /// Closes the direction once all data up to its FIN is accounted for
    /// (or depth made the rest irrelevant).
    fn check_fin(&mut self, cx: &mut Ctx<'_>) {
        if let Some(f) = self.fin {
            if self.next >= f || self.done {
                self.close(cx);
            }
        }
    }

    /// Ends the direction: frees its buffers and tells the sink, once.
    fn close(&mut self, cx: &mut Ctx<'_>) {
        if self.phase != Phase::Closed {
            cx.budget.release(self.store.clear());
            self.free_recent(cx.budget);
            self.phase = Phase::Closed;
            cx.sink.on_close(self.dir);
        }
    }

    /// End of flow: reports remaining holes up to the FIN or the highest
    /// byte seen, delivers what is buffered, then closes.
    fn flush(&mut self, cx: &mut Ctx<'_>) {
        if self.active() {
            let end = self.fin.unwrap_or(self.max_end);
            self.skip_to(end, cx);
        }
        self.close(cx);
    }
}

/// Both directions of one TCP connection.
#[derive(Debug)]
pub struct TcpSession {
    half: [HalfStream; 2],
    /// Depth of the last `on_packet` call, so `flush` cuts gaps the same way.
    depth: u64,
}

impl Default for TcpSession {
    fn default() -> Self {
        Self::new()
    }
}

impl TcpSession {
    /// A session that has seen no packet yet (allocates nothing).
    pub fn new() -> Self {
        TcpSession {
            half: [
                HalfStream::new(Direction::ToServer),
                HalfStream::new(Direction::ToClient),
            ],
            depth: 0,
        }
    }

    /// One TCP segment sent by `dir`'s sender, in capture order.
    ///
    /// Its ACK is applied to the other direction first (gaps for data
    /// acknowledged but never seen), then its SYN/data/FIN to `dir`. A RST
    /// delivers its own in-order data, then closes both directions.
    #[allow(clippy::too_many_arguments)]
    pub fn on_packet(
        &mut self,
        dir: Direction,
        tcp: &TcpMeta,
        payload: &[u8],
        cfg: &ReassemblyConfig,
        budget: &mut MemBudget,
        stats: &mut ReassemblyStats,
        sink: &mut dyn StreamSink,
    ) {
        stats.segments_total += 1;
        self.depth = cfg.depth;
        let mut cx = Ctx {
            cfg,
            budget,
            stats,
            sink,
        };
        let [to_server, to_client] = &mut self.half;
        let (this, other) = match dir {
            Direction::ToServer => (to_server, to_client),
            Direction::ToClient => (to_client, to_server),
        };
        if tcp.flags & tcp_flags::RST != 0 {
            if !this.rst_in_window(tcp.seq) {
                cx.stats.rst_out_of_window_total += 1;
                cx.sink.on_anomaly(this.dir, StreamAnomaly::RstOutOfWindow);
                return;
            }
            this.on_segment(tcp, payload, &mut cx);
            this.close(&mut cx);
            other.close(&mut cx);
            return;
        }
        if tcp.flags & tcp_flags::ACK != 0 {
            // Windows are only judged when both SYNs were seen (so the
            // scale is known); a SYN's own window is never scaled.
            let syn = tcp.flags & tcp_flags::SYN != 0;
            let win = (this.syn_seen && other.syn_seen).then(|| {
                let shift = match (this.wscale, other.wscale) {
                    (Some(a), Some(_)) if !syn => a.min(14),
                    _ => 0,
                };
                u64::from(tcp.window) << shift
            });
            other.on_ack(tcp.ack, win, &mut cx);
        }
        this.on_segment(tcp, payload, &mut cx);
    }

    /// End of flow (timeout, eviction, end of input): deliver what is buffered,
    /// reporting holes as gaps, then close both directions.
    pub fn flush(
        &mut self,
        budget: &mut MemBudget,
        stats: &mut ReassemblyStats,
        sink: &mut dyn StreamSink,
    ) {
        let cfg = ReassemblyConfig {
            depth: self.depth,
            ..ReassemblyConfig::default()
        };
        let mut cx = Ctx {
            cfg: &cfg,
            budget,
            stats,
            sink,
        };
        for h in &mut self.half {
            h.flush(&mut cx);
        }
    }

    /// Both sides closed (FIN both ways, or RST): the flow may be retired.
    pub fn is_closed(&self) -> bool {
        self.half.iter().all(|h| h.phase == Phase::Closed)
    }

    /// Bytes this session holds buffered (out-of-order data).
    pub fn buffered_bytes(&self) -> usize {
        self.half.iter().map(|h| h.store.bytes()).sum()
    }

    /// Bytes this session has charged to the budget: buffered bytes plus
    /// recent-bytes windows.
    pub fn charged_bytes(&self) -> usize {
        self.buffered_bytes()
            + self
                .half
                .iter()
                .filter_map(|h| h.recent.as_ref().map(|r| r.cost()))
                .sum::<usize>()
    }

    /// Out-of-order runs buffered for `dir` (at most `max_segments`).
    pub fn buffered_segments(&self, dir: Direction) -> usize {
        self.half[dir.index()].store.runs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::{ACK, FIN, PSH, RST, SYN};
    use crate::flow::reassembly::OverlapPolicy;
    use proptest::prelude::*;
    use Direction::{ToClient as C, ToServer as S};

    /// One sink call.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Ev {
        Data(Direction, Vec<u8>),
        Gap(Direction, u64),
        Close(Direction),
        Anomaly(Direction, StreamAnomaly),
        Extra(Direction, Vec<u8>),
    }

    /// Records sink calls and counts contract violations (calls after close).
    #[derive(Default)]
    struct Rec {
        evs: Vec<Ev>,
        closed: [bool; 2],
        after_close: usize,
    }

    impl Rec {
        fn push(&mut self, dir: Direction, ev: Ev) {
            if self.closed[dir.index()] {
                self.after_close += 1;
            }
            self.evs.push(ev);
        }
        /// `dir`'s stream: data as text, gaps as `<gap N>`, close as `|`.
        fn text(&self, dir: Direction) -> String {
            let mut s = String::new();
            for ev in &self.evs {
                match ev {
                    Ev::Data(d, b) if *d == dir => s.push_str(&String::from_utf8_lossy(b)),
                    Ev::Gap(d, n) if *d == dir => s.push_str(&format!("<gap {n}>")),
                    Ev::Close(d) if *d == dir => s.push('|'),
                    _ => {}
                }
            }
            s
        }
    }

    impl StreamSink for Rec {
        fn on_data(&mut self, dir: Direction, data: &[u8]) {
            assert!(!data.is_empty(), "empty on_data");
            self.push(dir, Ev::Data(dir, data.to_vec()));
        }
        fn on_gap(&mut self, dir: Direction, len: u64) {
            assert!(len > 0, "empty on_gap");
            self.push(dir, Ev::Gap(dir, len));
        }
        fn on_close(&mut self, dir: Direction) {
            self.push(dir, Ev::Close(dir));
            self.closed[dir.index()] = true;
        }
        fn on_anomaly(&mut self, dir: Direction, kind: StreamAnomaly) {
            self.evs.push(Ev::Anomaly(dir, kind));
        }
        fn on_overlap_data(&mut self, dir: Direction, data: &[u8]) {
            self.push(dir, Ev::Extra(dir, data.to_vec()));
        }
    }

    impl Rec {
        fn anomalies(&self, dir: Direction) -> Vec<StreamAnomaly> {
            self.evs
                .iter()
                .filter_map(|e| match e {
                    Ev::Anomaly(d, k) if *d == dir => Some(*k),
                    _ => None,
                })
                .collect()
        }
        fn extras(&self, dir: Direction) -> Vec<Vec<u8>> {
            self.evs
                .iter()
                .filter_map(|e| match e {
                    Ev::Extra(d, b) if *d == dir => Some(b.clone()),
                    _ => None,
                })
                .collect()
        }
    }

    /// A session with its worker context.
    struct H {
        s: TcpSession,
        cfg: ReassemblyConfig,
        budget: MemBudget,
        stats: ReassemblyStats,
        sink: Rec,
        /// Bytes charged to the budget by other sessions of the worker.
        other_sessions: usize,
    }

    const CISN: u32 = 1000;
    const SISN: u32 = 5000;

    impl H {
        fn new(cfg: ReassemblyConfig) -> H {
            H {
                s: TcpSession::new(),
                cfg,
                budget: MemBudget::default(),
                stats: ReassemblyStats::default(),
                sink: Rec::default(),
                other_sessions: 0,
            }
        }
        fn pkt(&mut self, dir: Direction, seq: u32, ack: u32, flags: u8, data: &[u8]) {
            self.pkt_win(dir, seq, ack, flags, 65535, data);
        }
        fn pkt_win(
            &mut self,
            dir: Direction,
            seq: u32,
            ack: u32,
            flags: u8,
            window: u16,
            data: &[u8],
        ) {
            let tcp = TcpMeta {
                seq,
                ack,
                flags,
                window,
                wscale: None,
            };
            self.s.on_packet(
                dir,
                &tcp,
                data,
                &self.cfg,
                &mut self.budget,
                &mut self.stats,
                &mut self.sink,
            );
            let own = self.budget.used - self.other_sessions;
            assert_eq!(own, self.s.charged_bytes(), "budget exact");
        }
        fn flush(&mut self) {
            self.s
                .flush(&mut self.budget, &mut self.stats, &mut self.sink);
            assert_eq!(self.budget.used, 0);
            assert_eq!(self.s.buffered_bytes(), 0);
        }
        /// Handshake with client ISN `CISN` and server ISN `SISN`.
        fn handshake(&mut self) {
            self.pkt(S, CISN, 0, SYN, b"");
            self.pkt(C, SISN, CISN + 1, SYN | ACK, b"");
            self.pkt(S, CISN + 1, SISN + 1, ACK, b"");
        }
        /// Client data at client stream offset `off` (server acks nothing new).
        fn c(&mut self, off: u32, data: &[u8]) {
            self.pkt(S, CISN + 1 + off, SISN + 1, ACK | PSH, data);
        }
        /// Server acknowledging client offset `off`.
        fn s_ack(&mut self, off: u32) {
            self.pkt(C, SISN + 1, CISN + 1 + off, ACK, b"");
        }
    }

    /// A session past the handshake, under `cfg`.
    fn with(cfg: ReassemblyConfig) -> H {
        let mut h = H::new(cfg);
        h.handshake();
        h
    }

    fn h() -> H {
        with(ReassemblyConfig::default())
    }

    #[test]
    fn handshake_data_and_fin_both_ways() {
        let mut h = h();
        h.c(0, b"GET / HTTP/1.0\r\n\r\n");
        h.pkt(C, SISN + 1, CISN + 19, ACK | PSH, b"HTTP/1.0 200 OK\r\n");
        h.pkt(C, SISN + 18, CISN + 19, ACK | FIN, b"");
        assert!(!h.s.is_closed());
        h.pkt(S, CISN + 19, SISN + 19, ACK | FIN, b"");
        assert_eq!(h.sink.text(S), "GET / HTTP/1.0\r\n\r\n|");
        assert_eq!(h.sink.text(C), "HTTP/1.0 200 OK\r\n|");
        assert!(h.s.is_closed());
        assert_eq!(h.stats.midstream_total, 0);
        assert_eq!(h.stats.bytes_delivered_total, 35);
        assert_eq!(h.sink.after_close, 0);
    }

    #[test]
    fn out_of_order_is_buffered_then_delivered() {
        let mut h = h();
        h.c(5, b"world");
        assert_eq!(h.sink.text(S), "");
        assert_eq!(h.s.buffered_bytes(), 5);
        assert_eq!(h.budget.used, 5);
        h.c(0, b"hello");
        assert_eq!(h.sink.text(S), "helloworld");
        assert_eq!(h.s.buffered_bytes(), 0);
        assert_eq!(h.stats.out_of_order_total, 1);
    }

    #[test]
    fn duplicate_is_delivered_once() {
        let mut h = h();
        h.c(0, b"hello");
        h.c(0, b"hello");
        assert_eq!(h.sink.text(S), "hello");
        assert_eq!(h.stats.retransmissions_total, 1);
    }

    #[test]
    fn partial_overlap_delivers_only_new_bytes() {
        let mut h = h();
        h.c(0, b"hello");
        h.c(3, b"loworld");
        assert_eq!(h.sink.text(S), "helloworld");
        assert_eq!(
            h.sink.evs.last(),
            Some(&Ev::Data(S, b"world".to_vec())),
            "only the new tail is delivered"
        );
    }

    #[test]
    fn buffered_bytes_win_over_later_copies() {
        let mut h = h();
        h.c(3, b"AAA");
        h.c(0, b"xyzBBBc");
        assert_eq!(h.sink.text(S), "xyzAAAc");
        assert_eq!(h.stats.overlap_diff_total, 1);
        h.c(10, b"k");
        h.c(10, b"K");
        assert_eq!(h.sink.anomalies(S).len(), 2, "store overlaps reported too");
    }

    #[test]
    fn sequence_wraps_around_2_pow_32() {
        let mut h = H::new(ReassemblyConfig::default());
        let isn = u32::MAX - 10;
        h.pkt(S, isn, 0, SYN, b"");
        let d = b"0123456789abcdefghijklmnopqrstuvwxyz";
        // 20..36 first, then 0..10, then 10..20 (crosses 2^32).
        h.pkt(S, isn.wrapping_add(21), 0, ACK, &d[20..]);
        h.pkt(S, isn.wrapping_add(1), 0, ACK, &d[..10]);
        h.pkt(S, isn.wrapping_add(11), 0, ACK, &d[10..20]);
        h.pkt(S, isn.wrapping_add(5), 0, ACK, &d[4..8]);
        assert_eq!(h.sink.text(S), "0123456789abcdefghijklmnopqrstuvwxyz");
        assert_eq!(h.stats.retransmissions_total, 1);
    }

    #[test]
    fn midstream_pickup_starts_at_first_segment() {
        let mut h = H::new(ReassemblyConfig::default());
        h.pkt(S, 777, 9000, ACK, b"abc");
        h.pkt(C, 9000, 780, ACK, b"xyz");
        h.pkt(S, 780, 9003, ACK, b"def");
        assert_eq!(h.sink.text(S), "abcdef");
        assert_eq!(h.sink.text(C), "xyz");
        assert_eq!(h.stats.midstream_total, 2);
        assert_eq!(h.stats.gaps_total, 0);
    }

    #[test]
    fn fin_waits_for_the_hole_to_fill() {
        let mut h = h();
        h.pkt(S, CISN + 1 + 5, SISN + 1, ACK | FIN, b"world");
        assert_eq!(h.sink.text(S), "");
        h.c(0, b"hello");
        assert_eq!(h.sink.text(S), "helloworld|");
        // Data after the FIN is not ours.
        h.c(10, b"junk");
        assert_eq!(h.sink.text(S), "helloworld|");
        assert_eq!(h.sink.after_close, 0);
    }

    #[test]
    fn rst_with_data_delivers_then_closes_both() {
        let mut h = h();
        h.c(10, b"later");
        h.pkt(S, CISN + 1, SISN + 1, RST | ACK, b"bye");
        assert_eq!(h.sink.text(S), "bye|");
        assert_eq!(h.sink.text(C), "|");
        assert!(h.s.is_closed());
        assert_eq!(h.s.buffered_bytes(), 0);
        assert_eq!(h.budget.used, 0);
        h.c(3, b"more");
        h.flush();
        assert_eq!(h.sink.text(S), "bye|");
        assert_eq!(h.sink.after_close, 0);
    }

    #[test]
    fn depth_stops_delivery_and_buffering() {
        let mut h = with(ReassemblyConfig {
            depth: 10,
            ..ReassemblyConfig::default()
        });
        h.c(0, b"123456");
        h.c(20, b"far");
        assert_eq!(h.s.buffered_bytes(), 0, "nothing buffered beyond depth");
        h.c(6, b"789abc");
        assert_eq!(h.sink.text(S), "123456789a");
        assert_eq!(h.stats.depth_reached_total, 1);
        h.c(12, b"zz");
        h.c(14, b"yy");
        assert_eq!(h.s.buffered_bytes(), 0);
        assert_eq!(h.stats.depth_reached_total, 1);
        h.pkt(S, CISN + 1 + 100, SISN + 1, ACK | FIN, b"");
        assert_eq!(h.sink.text(S), "123456789a|");
    }

    #[test]
    fn memcap_skips_ahead_and_reports_the_hole() {
        let mut h = with(ReassemblyConfig {
            memcap: 8,
            ..ReassemblyConfig::default()
        });
        h.c(5, b"BBBBB");
        h.c(10, b"CCCCC");
        assert_eq!(h.sink.text(S), "<gap 5>BBBBBCCCCC");
        assert_eq!(h.stats.memcap_reached_total, 1);
        assert_eq!(h.stats.gap_bytes_total, 5);
        h.c(0, b"AAAAA");
        assert_eq!(h.sink.text(S), "<gap 5>BBBBBCCCCC");
        assert_eq!(h.stats.retransmissions_total, 1);
    }

    #[test]
    fn memcap_held_by_other_sessions_skips_to_the_segment() {
        let mut h = h();
        h.cfg.memcap = 100;
        h.budget.used = 100;
        h.other_sessions = 100;
        h.c(4, b"late");
        assert_eq!(h.sink.text(S), "<gap 4>late");
        assert_eq!(h.budget.used, 100);
    }

    #[test]
    fn segment_limit_skips_ahead() {
        let mut h = with(ReassemblyConfig {
            max_segments: 1,
            ..ReassemblyConfig::default()
        });
        h.c(2, b"bb");
        h.c(4, b"cc"); // extends the run: no new segment
        h.c(8, b"ee");
        assert_eq!(h.sink.text(S), "<gap 2>bbcc");
        assert_eq!(h.s.buffered_segments(S), 1);
        assert_eq!(h.stats.segment_limit_reached_total, 1);
        h.c(6, b"dd");
        assert_eq!(h.sink.text(S), "<gap 2>bbccddee");
    }

    #[test]
    fn ack_beyond_hole_reports_gap() {
        let mut h = h();
        h.c(0, b"ab");
        h.c(5, b"fgh");
        h.c(10, b"k");
        h.s_ack(8);
        assert_eq!(h.sink.text(S), "ab<gap 3>fgh");
        assert_eq!((h.stats.gaps_total, h.stats.gap_bytes_total), (1, 3));
        assert_eq!(h.s.buffered_bytes(), 1);
        // Data that arrives late for the skipped hole is a retransmission.
        h.c(2, b"cde");
        assert_eq!(h.sink.text(S), "ab<gap 3>fgh");
    }

    #[test]
    fn ack_beyond_seen_data_skips_nothing() {
        let mut h = h();
        h.c(0, b"ab");
        h.s_ack(50);
        h.c(2, b"cd");
        assert_eq!(h.sink.text(S), "abcd");
        assert_eq!(h.stats.gaps_total, 0);
        // An absurd ACK is counted, not followed.
        h.s_ack(0x9000_0000);
        assert_eq!(h.stats.out_of_window_total, 0, "negative distance is old");
        h.s_ack(0x5000_0000);
        assert_eq!(h.stats.out_of_window_total, 1);
    }

    #[test]
    fn ack_of_lost_data_before_fin_closes() {
        let mut h = h();
        h.c(0, b"ab");
        h.pkt(S, CISN + 1 + 6, SISN + 1, ACK | FIN, b"");
        h.s_ack(7);
        assert_eq!(h.sink.text(S), "ab<gap 4>|");
    }

    #[test]
    fn keepalives_and_zero_window_probes_add_nothing() {
        let mut h = h();
        h.c(0, b"hello");
        // Keep-alives: 0 or 1 garbage byte at next-1.
        h.c(4, b"");
        h.c(4, b"\0");
        assert_eq!(h.sink.text(S), "hello");
        // Zero-window probe: the next byte alone, later sent again in full.
        h.c(5, b"w");
        h.c(5, b"world");
        assert_eq!(h.sink.text(S), "helloworld");
        assert_eq!(h.stats.gaps_total, 0);
    }

    #[test]
    fn syn_retransmit_harmless_other_isn_ignored() {
        let mut h = h();
        h.pkt(S, CISN, 0, SYN, b"");
        h.pkt(S, 424242, 0, SYN, b"");
        h.pkt(C, SISN, CISN + 1, SYN | ACK, b"");
        h.c(0, b"ok");
        assert_eq!(h.sink.text(S), "ok");
        assert_eq!(h.sink.text(C), "");
    }

    #[test]
    fn flush_reports_holes_delivers_and_closes() {
        let mut h = h();
        h.c(3, b"def");
        h.c(9, b"j");
        h.flush();
        assert_eq!(h.sink.text(S), "<gap 3>def<gap 3>j|");
        assert_eq!(h.sink.text(C), "|");
        assert!(h.s.is_closed());
    }

    #[test]
    fn flush_respects_depth_for_gaps() {
        let mut h = with(ReassemblyConfig {
            depth: 4,
            ..ReassemblyConfig::default()
        });
        h.c(2, b"cd");
        h.flush();
        assert_eq!(h.sink.text(S), "<gap 2>cd|");
        assert_eq!(h.stats.depth_reached_total, 1);
    }

    fn policy(p: OverlapPolicy) -> H {
        with(ReassemblyConfig {
            overlap: p,
            ..ReassemblyConfig::default()
        })
    }

    #[test]
    fn overlap_policies_pick_the_target_copy() {
        use OverlapPolicy::*;
        // Old "AAA" at 3..6; new in-order segment 0..7 starts before it.
        for (p, want) in [
            (First, "xyzAAAc"),
            (Vista, "xyzAAAc"),
            (Last, "xyzBBBc"),
            (Bsd, "xyzBBBc"),
            (Windows, "xyzBBBc"),
            (Linux, "xyzBBBc"),
            (Solaris, "xyzBBBc"),
        ] {
            let mut h = policy(p);
            h.c(3, b"AAA");
            h.c(0, b"xyzBBBc");
            assert_eq!(h.sink.text(S), want, "{p:?}");
            assert_eq!(h.stats.overlap_diff_total, 1);
            assert_eq!(h.sink.anomalies(S), vec![StreamAnomaly::OverlapDiff]);
        }
        // Same start, new ends beyond: Linux and Solaris take it, BSD not.
        for (p, want) in [
            (Bsd, "-AAAB"),
            (Linux, "-BBBB"),
            (Solaris, "-BBBB"),
            (First, "-AAAB"),
        ] {
            let mut h = policy(p);
            h.c(1, b"AAA");
            h.c(1, b"BBBB");
            h.c(0, b"-");
            assert_eq!(h.sink.text(S), want, "{p:?}");
        }
    }

    #[test]
    fn retransmission_of_delivered_bytes_with_other_data() {
        for (p, extra) in [
            (OverlapPolicy::First, vec![]),
            (OverlapPolicy::Last, vec![b"jello".to_vec()]),
        ] {
            let mut h = policy(p);
            h.c(0, b"hello");
            h.c(0, b"jello");
            // What the receiver now holds again: no anomaly.
            h.c(
                0,
                if p == OverlapPolicy::Last {
                    b"jello"
                } else {
                    b"hello"
                },
            );
            assert_eq!(h.sink.text(S), "hello");
            assert_eq!(h.sink.anomalies(S).len(), 1);
            assert_eq!(h.sink.extras(S), extra, "{p:?}");
            assert!(h.stats.recent_compared_total >= 2);
        }
    }

    #[test]
    fn recent_window_forgets_bytes_before_a_gap_and_is_freed() {
        let mut h = with(ReassemblyConfig {
            recent_window: 4,
            ..ReassemblyConfig::default()
        });
        h.c(0, b"abcdef");
        assert_eq!(h.budget.used, 4);
        h.c(0, b"XX"); // offsets 0..2: older than the 4-byte window
        assert_eq!(h.stats.overlap_diff_total, 0);
        h.c(4, b"XX");
        assert_eq!(h.stats.overlap_diff_total, 1);
        h.flush();
        assert_eq!(h.budget.used, 0);
    }

    #[test]
    fn recent_window_needs_budget_room() {
        let mut h = with(ReassemblyConfig {
            memcap: 100,
            ..ReassemblyConfig::default()
        });
        h.c(0, b"abc");
        assert_eq!(h.budget.used, 0);
        assert_eq!(h.stats.recent_skipped_total, 1);
        h.c(0, b"xbc");
        assert_eq!(h.stats.overlap_diff_total, 0, "nothing to compare with");
    }

    #[test]
    fn rst_outside_window_is_ignored_inside_accepted() {
        let mut h = h();
        h.c(0, b"ab");
        h.pkt_win(C, SISN + 1, CISN + 3, ACK, 100, b"");
        h.pkt(S, CISN + 3 + 5000, SISN + 1, RST, b"");
        assert!(!h.s.is_closed());
        assert_eq!(h.stats.rst_out_of_window_total, 1);
        assert_eq!(h.sink.anomalies(S), vec![StreamAnomaly::RstOutOfWindow]);
        h.pkt(S, CISN - 50, SISN + 1, RST, b"");
        assert!(!h.s.is_closed(), "old sequence number");
        h.pkt(S, CISN + 3 + 10, SISN + 1, RST, b"");
        assert!(h.s.is_closed());
        assert_eq!(h.sink.text(S), "ab|");
    }

    #[test]
    fn rst_injected_mid_stream_with_garbage_seq_does_not_end_inspection() {
        let mut h = h();
        h.c(0, b"hello ");
        h.pkt(C, SISN + 1, CISN + 7, ACK, b"");
        h.pkt(S, CISN + 7 + 1_000_000, SISN + 1, RST | ACK, b"");
        h.c(6, b"world");
        assert_eq!(h.sink.text(S), "hello world");
    }

    #[test]
    fn data_beyond_the_receivers_window_is_dropped() {
        let mut h = h();
        h.pkt_win(C, SISN + 1, CISN + 1, ACK, 10, b"");
        h.c(20, b"evil");
        assert_eq!(h.stats.out_of_window_total, 1);
        assert_eq!(h.s.buffered_bytes(), 0);
        assert_eq!(h.sink.anomalies(S), vec![StreamAnomaly::OutOfWindow]);
        h.c(5, b"fine");
        assert_eq!(h.s.buffered_bytes(), 4, "inside the window");
    }

    #[test]
    fn zero_window_probe_then_full_retransmission() {
        let mut h = h();
        h.c(0, b"hello");
        h.pkt_win(C, SISN + 1, CISN + 6, ACK, 0, b"");
        h.c(5, b"w"); // probe at the edge: in order, delivered
        h.c(6, b"x"); // beyond a zero window: dropped
        h.pkt_win(C, SISN + 1, CISN + 6, ACK, 100, b"");
        h.c(5, b"world");
        assert_eq!(h.sink.text(S), "helloworld");
        assert_eq!(h.stats.out_of_window_total, 1);
    }

    #[test]
    fn simultaneous_open_delivers_both_ways() {
        let mut h = H::new(ReassemblyConfig::default());
        h.pkt(S, CISN, 0, SYN, b"");
        h.pkt(C, SISN, 0, SYN, b"");
        h.pkt(S, CISN, SISN + 1, SYN | ACK, b"");
        h.pkt(C, SISN, CISN + 1, SYN | ACK, b"");
        h.c(0, b"hi");
        h.pkt(C, SISN + 1, CISN + 3, ACK, b"yo");
        assert_eq!(h.sink.text(S), "hi");
        assert_eq!(h.sink.text(C), "yo");
        assert_eq!(h.stats.midstream_total, 0);
    }

    #[test]
    fn half_closed_flow_keeps_the_other_direction() {
        let mut h = h();
        h.pkt(S, CISN + 1, SISN + 1, ACK | FIN, b"q");
        assert_eq!(h.sink.text(S), "q|");
        h.pkt(C, SISN + 1, CISN + 3, ACK, b"long ");
        h.pkt(C, SISN + 6, CISN + 3, ACK, b"answer");
        assert_eq!(h.sink.text(C), "long answer");
        assert!(!h.s.is_closed());
        h.pkt(C, SISN + 12, CISN + 3, ACK | FIN, b"");
        assert!(h.s.is_closed());
    }

    #[test]
    fn on_limit_stop_stops_the_direction() {
        let mut h = with(ReassemblyConfig {
            memcap: 8,
            on_limit: LimitPolicy::Stop,
            ..ReassemblyConfig::default()
        });
        h.c(5, b"BBBBB");
        h.c(10, b"CCCCC");
        h.c(0, b"AAAAA");
        assert_eq!(h.sink.text(S), "");
        assert_eq!(h.stats.limit_stopped_total, 1);
        assert_eq!(h.budget.used, 0);
        assert_eq!(h.sink.anomalies(S), vec![StreamAnomaly::MemcapReached]);
        h.pkt(S, CISN + 1 + 15, SISN + 1, ACK | FIN, b"");
        assert_eq!(h.sink.text(S), "|");
    }

    #[test]
    fn depth_is_reported_as_an_anomaly() {
        let mut h = with(ReassemblyConfig {
            depth: 3,
            ..ReassemblyConfig::default()
        });
        h.c(0, b"abcdef");
        assert_eq!(h.sink.anomalies(S), vec![StreamAnomaly::DepthReached]);
        assert_eq!(h.budget.used, 0, "window freed at depth");
    }

    // ---- property tests ----

    /// One direction's stream and the order its segments are captured in.
    #[derive(Clone, Debug)]
    struct Plan {
        isn: u32,
        data: Vec<u8>,
        /// `(offset, len)` segments in capture order.
        segs: Vec<(usize, usize)>,
    }

    fn isn() -> impl Strategy<Value = u32> {
        prop_oneof![any::<u32>(), (u32::MAX - 3000)..=u32::MAX]
    }

    /// A stream cut into segments, with retransmissions of random slices and
    /// bounded displacement (each segment moves at most a few places).
    fn plan() -> impl Strategy<Value = Plan> {
        (
            isn(),
            proptest::collection::vec(any::<u8>(), 0..1500),
            proptest::collection::vec((1usize..200, 0usize..8, any::<bool>()), 1..64),
        )
            .prop_map(|(isn, data, cuts)| {
                let mut segs = Vec::new();
                let mut off = 0;
                for (i, &(len, jitter, dup)) in cuts.iter().cycle().enumerate() {
                    if off >= data.len() {
                        break;
                    }
                    let len = len.min(data.len() - off);
                    segs.push((i * 8 + jitter * 3, (off, len)));
                    if dup {
                        // A retransmission with other boundaries, a bit later.
                        let back = (jitter * 7).min(off);
                        segs.push((i * 8 + 20, (off - back, len + back)));
                    }
                    off += len;
                }
                segs.sort_by_key(|s| s.0);
                Plan {
                    isn,
                    data,
                    segs: segs.into_iter().map(|s| s.1).collect(),
                }
            })
    }

    /// Feeds both plans interleaved (`order` picks the next sender), each
    /// packet acking what its receiver got in order so far; `drop` loses
    /// some segments. Ends with a FIN each way, then a flush.
    fn run(cfg: ReassemblyConfig, p: [&Plan; 2], order: &[bool], drop: &[bool]) -> H {
        let mut h = H::new(cfg);
        h.pkt(S, p[0].isn, 0, SYN, b"");
        h.pkt(C, p[1].isn, p[0].isn.wrapping_add(1), SYN | ACK, b"");
        let mut got = [vec![false; p[0].data.len()], vec![false; p[1].data.len()]];
        let mut next = [0usize; 2];
        let mut at = [0usize; 2];
        let mut k = 0;
        while at[0] < p[0].segs.len() || at[1] < p[1].segs.len() {
            let pick = order.get(k % order.len().max(1)).copied().unwrap_or(false);
            let d = if at[1] >= p[1].segs.len() || (pick && at[0] < p[0].segs.len()) {
                0
            } else {
                1
            };
            let (off, len) = p[d].segs[at[d]];
            at[d] += 1;
            k += 1;
            if drop.get(k % drop.len().max(1)).copied().unwrap_or(false) {
                continue;
            }
            got[d][off..off + len].iter_mut().for_each(|g| *g = true);
            while next[d] < got[d].len() && got[d][next[d]] {
                next[d] += 1;
            }
            let r = 1 - d;
            let ack = p[r].isn.wrapping_add(1).wrapping_add(next[r] as u32);
            let seq = p[d].isn.wrapping_add(1).wrapping_add(off as u32);
            let dir = if d == 0 { S } else { C };
            h.pkt(dir, seq, ack, ACK, &p[d].data[off..off + len]);
        }
        for (d, dir) in [(0, S), (1, C)] {
            let seq = p[d]
                .isn
                .wrapping_add(1)
                .wrapping_add(p[d].data.len() as u32);
            let ack = p[1 - d]
                .isn
                .wrapping_add(1)
                .wrapping_add(next[1 - d] as u32);
            h.pkt(dir, seq, ack, ACK | FIN, b"");
        }
        h.flush();
        h
    }

    /// Replays `dir`'s events over `data`: every delivered byte matches the
    /// stream at its offset; returns (bytes delivered, bytes in gaps, closes).
    fn check(h: &H, dir: Direction, data: &[u8]) -> Result<(usize, u64, usize), TestCaseError> {
        let (mut pos, mut delivered, mut gaps, mut closes) = (0usize, 0, 0u64, 0);
        for ev in &h.sink.evs {
            match ev {
                Ev::Data(d, b) if *d == dir => {
                    prop_assert_eq!(data.get(pos..pos + b.len()), Some(&b[..]));
                    pos += b.len();
                    delivered += b.len();
                }
                Ev::Gap(d, n) if *d == dir => {
                    pos += *n as usize;
                    gaps += n;
                }
                Ev::Close(d) if *d == dir => closes += 1,
                _ => {}
            }
        }
        prop_assert_eq!(pos, data.len(), "data + gaps cover the stream");
        Ok((delivered, gaps, closes))
    }

    /// True when `dir`'s delivered bytes count up by one, jumping by `n`
    /// over each `n`-byte gap (payloads made of sequence-number low bytes).
    fn counts_up(rec: &Rec, dir: Direction) -> bool {
        let mut expect: Option<u8> = None;
        let mut skipped = 0u64;
        for ev in &rec.evs {
            match ev {
                Ev::Data(d, b) if *d == dir => {
                    for &x in b {
                        if expect.is_some_and(|e| e.wrapping_add(skipped as u8) != x) {
                            return false;
                        }
                        expect = Some(x.wrapping_add(1));
                        skipped = 0;
                    }
                }
                Ev::Gap(d, n) if *d == dir => skipped = skipped.wrapping_add(*n),
                _ => {}
            }
        }
        true
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn lossless_capture_reassembles_exactly(
            a in plan(), b in plan(), order in proptest::collection::vec(any::<bool>(), 1..16),
            pol in 0usize..7,
        ) {
            // With agreeing copies every overlap policy yields the stream.
            use OverlapPolicy::*;
            let overlap = [First, Last, Bsd, Linux, Windows, Vista, Solaris][pol];
            let cfg = ReassemblyConfig { overlap, ..ReassemblyConfig::default() };
            let h = run(cfg, [&a, &b], &order, &[false]);
            prop_assert_eq!(h.stats.overlap_diff_total, 0);
            for (dir, p) in [(S, &a), (C, &b)] {
                let (delivered, gaps, closes) = check(&h, dir, &p.data)?;
                prop_assert_eq!(delivered, p.data.len());
                prop_assert_eq!(gaps, 0);
                prop_assert_eq!(closes, 1);
            }
            prop_assert!(h.s.is_closed());
            prop_assert_eq!(h.sink.after_close, 0);
        }

        #[test]
        fn small_budget_or_loss_stays_prefix_consistent(
            a in plan(), b in plan(),
            order in proptest::collection::vec(any::<bool>(), 1..16),
            drop in proptest::collection::vec(proptest::bool::weighted(0.15), 1..16),
            memcap in 0usize..600, max_segments in 0usize..4,
        ) {
            let cfg = ReassemblyConfig { memcap, max_segments, ..ReassemblyConfig::default() };
            let h = run(cfg, [&a, &b], &order, &drop);
            for (dir, p) in [(S, &a), (C, &b)] {
                let (_, _, closes) = check(&h, dir, &p.data)?;
                prop_assert_eq!(closes, 1);
            }
            prop_assert_eq!(h.sink.after_close, 0);
        }

        #[test]
        fn arbitrary_segments_never_break_bounds(
            base in isn(),
            depth in prop_oneof![Just(0u64), 1u64..300],
            memcap in 0usize..400,
            max_segments in 0usize..5,
            ops in proptest::collection::vec(
                (any::<bool>(), prop_oneof![-100i32..400, any::<i32>()], -50i32..400,
                 any::<u8>(), 0usize..64),
                0..60,
            ),
        ) {
            let cfg = ReassemblyConfig { depth, memcap, max_segments, ..ReassemblyConfig::default() };
            let mut h = H::new(cfg);
            let mut payload = [0u8; 64];
            for (to_client, dseq, dack, flags, len) in ops {
                let dir = if to_client { C } else { S };
                let seq = base.wrapping_add(dseq as u32);
                let ack = base.wrapping_add(dack as u32);
                // Each byte is the low byte of its own sequence number, so
                // every copy of an offset agrees (see `counts_up`).
                let first = if flags & SYN != 0 { seq.wrapping_add(1) } else { seq };
                for (i, b) in payload.iter_mut().enumerate() {
                    *b = first.wrapping_add(i as u32) as u8;
                }
                h.pkt(dir, seq, ack, flags, &payload[..len]);
                prop_assert!(h.s.buffered_bytes() <= memcap);
                prop_assert!(h.s.buffered_segments(S) <= max_segments);
                prop_assert!(h.s.buffered_segments(C) <= max_segments);
            }
            h.flush();
            prop_assert!(h.s.is_closed());
            prop_assert_eq!(h.sink.after_close, 0);
            for dir in [S, C] {
                let n: usize = h.sink.evs.iter().map(|e| match e {
                    Ev::Data(d, b) if *d == dir => b.len(),
                    _ => 0,
                }).sum();
                prop_assert!(depth == 0 || n as u64 <= depth);
                prop_assert!(counts_up(&h.sink, dir), "delivered bytes out of place");
                let closes = h.sink.evs.iter().filter(|e| **e == Ev::Close(dir)).count();
                prop_assert_eq!(closes, 1);
            }
        }
    }
}
