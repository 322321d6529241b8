//! TCP session: per-direction stream reassembly.
//!
//! Each direction is a [`HalfStream`] that maps sequence numbers to 64-bit
//! stream offsets (offset 0 = first data byte), delivers in-order bytes to
//! the sink straight from the packet, buffers out-of-order bytes in a
//! [`SegmentStore`] charged to the worker's [`MemBudget`], and reports
//! holes it gives up on with `on_gap`. Design: `REASSEMBLY.md`.

use super::reassembly::{span, SegmentStore};
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
    /// Depth reached: nothing more is delivered or buffered.
    depth_done: bool,
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
            depth_done: false,
            store: SegmentStore::default(),
        }
    }

    /// Still delivering data.
    fn active(&self) -> bool {
        self.phase == Phase::Open && !self.depth_done
    }

    /// Signed distance of `seq` from the next expected byte (mod 2^32).
    fn rel(&self, seq: u32) -> i64 {
        // Truncating `next` is the point: sequence space is mod 2^32.
        let expected = self.base.wrapping_add(self.next as u32);
        i64::from(seq.wrapping_sub(expected) as i32)
    }

    /// First sight of this sender: fix the sequence base.
    fn start(&mut self, seq: u32, syn: bool, stats: &mut ReassemblyStats) {
        self.phase = Phase::Open;
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
            Phase::Unseen => self.start(tcp.seq, syn, cx.stats),
            // A SYN with another ISN is a new connection on a reused tuple,
            // not ours; a SYN retransmit is harmless.
            Phase::Open if syn && tcp.seq.wrapping_add(1) != self.base => return,
            Phase::Open => {}
        }
        if self.depth_done {
            if fin {
                self.close(cx);
            }
            return;
        }
        let data_seq = if syn { tcp.seq.wrapping_add(1) } else { tcp.seq };
        let rel = self.rel(data_seq);
        if rel > MAX_WINDOW {
            cx.stats.out_of_window_total += 1;
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

    /// In-order `data` starting at `next`. Bytes already buffered for the
    /// same offsets arrived first and win.
    fn accept(&mut self, data: &[u8], cx: &mut Ctx<'_>) {
        let start = self.next;
        let end = start + data.len() as u64;
        while self.active() && self.next < end {
            match self.store.front_off() {
                Some(off) if off <= self.next => {
                    let Some(run) = self.store.pop_front() else {
                        break;
                    };
                    cx.budget.release(run.data.len());
                    let (a, b) = (self.next, end.min(run.end()));
                    if span(&run.data, run.off, a, b) != span(data, start, a, b) {
                        cx.stats.overlap_diff_total += 1;
                    }
                    self.emit(span(&run.data, run.off, self.next, run.end()), cx);
                }
                front => {
                    let lim = front.map_or(end, |o| o.min(end));
                    if self.emit(span(data, start, self.next, lim), cx) == 0 {
                        break;
                    }
                }
            }
        }
        self.drain(cx);
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
            cx.sink.on_data(self.dir, part);
            cx.stats.bytes_delivered_total += part.len() as u64;
            self.next += part.len() as u64;
        }
        self.check_depth(cx);
        part.len() as u64
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
                let added = self.store.insert(start, data, cx.cfg.overlap, cx.stats);
                cx.budget.charge(added);
                return;
            }
            if !counted {
                counted = true;
                if mem_ok {
                    cx.stats.segment_limit_reached_total += 1;
                } else {
                    cx.stats.memcap_reached_total += 1;
                }
            }
            let target = self.store.front_off().map_or(start, |o| o.min(start));
            self.skip_to(target, cx);
        }
    }

    /// The receiver acknowledged up to `ack`: bytes acked but never seen
    /// were lost (to us), so holes below it are reported and skipped.
    fn on_ack(&mut self, ack: u32, cx: &mut Ctx<'_>) {
        if !self.active() {
            return;
        }
        let rel = self.rel(ack);
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
        if cx.cfg.depth > 0 && self.next >= cx.cfg.depth && !self.depth_done {
            self.depth_done = true;
            cx.stats.depth_reached_total += 1;
            cx.budget.release(self.store.clear());
        }
    }

    /// Closes the direction once all data up to its FIN is accounted for
    /// (or depth made the rest irrelevant).
    fn check_fin(&mut self, cx: &mut Ctx<'_>) {
        if let Some(f) = self.fin {
            if self.next >= f || self.depth_done {
                self.close(cx);
            }
        }
    }

    /// Ends the direction: frees its buffers and tells the sink, once.
    fn close(&mut self, cx: &mut Ctx<'_>) {
        if self.phase != Phase::Closed {
            cx.budget.release(self.store.clear());
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
            this.on_segment(tcp, payload, &mut cx);
            this.close(&mut cx);
            other.close(&mut cx);
            return;
        }
        if tcp.flags & tcp_flags::ACK != 0 {
            other.on_ack(tcp.ack, &mut cx);
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

    /// Bytes this session holds buffered.
    pub fn buffered_bytes(&self) -> usize {
        self.half.iter().map(|h| h.store.bytes()).sum()
    }

    /// Out-of-order runs buffered for `dir` (at most `max_segments`).
    pub fn buffered_segments(&self, dir: Direction) -> usize {
        self.half[dir.index()].store.runs()
    }
}
