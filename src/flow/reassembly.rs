//! Reassembly bounds, the per-worker memory budget, counters, and the
//! out-of-order segment store used by [`TcpSession`](super::TcpSession).
//!
//! See `REASSEMBLY.md` next to this file for the design (stream offsets,
//! the skip-ahead policy on bounds, how overlap policies plug in).

use std::collections::VecDeque;

/// How to resolve two segments that carry bytes for the same stream offsets.
///
/// Target-based policies follow Novak & Sturges, "Target-Based TCP Stream
/// Reassembly" (2007), as Suricata implements them (`stream-tcp-list.c`):
/// whether the new copy wins depends on where the new segment `[ns, ne)`
/// starts and ends relative to the old one `[os, oe)` (see
/// [`OverlapPolicy::new_wins`]). The old "segment" is a buffered run
/// (contiguous segments merge into one run), or for bytes already delivered
/// the stretch from the new segment's start to the delivery point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverlapPolicy {
    /// Bytes seen first are kept (Windows Vista/7+, HP-UX 11, Mac OS "first").
    #[default]
    First,
    /// Bytes seen last are kept.
    Last,
    /// BSD, HP-UX 10, IRIX, Mac OS: new wins where it starts before the old.
    #[serde(alias = "macos", alias = "irix")]
    Bsd,
    /// Linux: as BSD, and also where it starts with the old and ends beyond it.
    Linux,
    /// Windows (XP/2003): as BSD.
    #[serde(alias = "windows2k3")]
    Windows,
    /// Windows Vista and later: first wins.
    Vista,
    /// Solaris, HP-UX 11: new wins where it ends beyond the old, or ends
    /// with it and starts at or before it.
    #[serde(alias = "hpux11")]
    Solaris,
    /// HP-UX 10: as BSD.
    Hpux10,
}

impl OverlapPolicy {
    /// Whether the new copy of the overlapping bytes wins, for a new segment
    /// `[ns, ne)` meeting an old one `[os, oe)` (stream offsets).
    pub fn new_wins(self, ns: u64, ne: u64, os: u64, oe: u64) -> bool {
        match self {
            OverlapPolicy::First | OverlapPolicy::Vista => false,
            OverlapPolicy::Last => true,
            OverlapPolicy::Bsd | OverlapPolicy::Windows | OverlapPolicy::Hpux10 => ns < os,
            OverlapPolicy::Linux => ns < os || (ns == os && ne > oe),
            OverlapPolicy::Solaris => ne > oe || (ne == oe && ns <= os),
        }
    }
}

/// What to do when a flow direction hits the memcap or `max_segments`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitPolicy {
    /// Give up the oldest hole (reported as a gap) and go on with the
    /// newest data.
    #[default]
    Skip,
    /// Stop inspecting the direction (as at depth).
    Stop,
}

/// Something odd or bounded seen in one direction of a stream, reported
/// to [`StreamSink::on_anomaly`](super::StreamSink::on_anomaly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamAnomaly {
    /// Two copies of the same stream bytes differ (overlap or
    /// retransmission with other data: a possible evasion).
    OverlapDiff,
    /// A segment beyond the receiver's window (or absurdly far) was ignored.
    OutOfWindow,
    /// A RST outside the receiver's window was ignored.
    RstOutOfWindow,
    /// The direction reached the reassembly depth.
    DepthReached,
    /// The worker memcap was hit by this direction.
    MemcapReached,
    /// The direction hit `max_segments`.
    SegmentLimitReached,
}

impl StreamAnomaly {
    /// Name used in events and notes.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamAnomaly::OverlapDiff => "overlap_diff",
            StreamAnomaly::OutOfWindow => "out_of_window",
            StreamAnomaly::RstOutOfWindow => "rst_out_of_window",
            StreamAnomaly::DepthReached => "depth_reached",
            StreamAnomaly::MemcapReached => "memcap_reached",
            StreamAnomaly::SegmentLimitReached => "segment_limit_reached",
        }
    }
}

/// Reassembly bounds (from config `[reassembly]`).
#[derive(Clone, Debug)]
pub struct ReassemblyConfig {
    /// Bytes delivered per direction of a flow before inspection stops (0 = unlimited).
    pub depth: u64,
    /// Bytes of out-of-order data one worker may hold buffered (the global
    /// memcap divided by the number of workers).
    pub memcap: usize,
    /// Out-of-order segments buffered per direction at most.
    pub max_segments: usize,
    /// Which copy wins when segments overlap.
    pub overlap: OverlapPolicy,
    /// What happens when the memcap or `max_segments` is hit.
    pub on_limit: LimitPolicy,
    /// Bytes of recently delivered data kept per direction to compare
    /// retransmissions against (0 = off). Charged to the memcap; allocated
    /// only while the worker's budget is under half the memcap.
    pub recent_window: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            depth: 16 << 20,
            memcap: 256 << 20,
            max_segments: 4096,
            overlap: OverlapPolicy::First,
            on_limit: LimitPolicy::Skip,
            recent_window: 4096,
        }
    }
}

/// Bytes of buffered out-of-order data held by one worker: every session of
/// the worker charges its buffered bytes here and returns them when freed.
#[derive(Debug, Default)]
pub struct MemBudget {
    /// Bytes currently charged.
    pub used: usize,
}

impl MemBudget {
    /// True when `bytes` more fit under `memcap`.
    pub fn fits(&self, bytes: usize, memcap: usize) -> bool {
        self.used.saturating_add(bytes) <= memcap
    }
    /// Charges `bytes`.
    pub fn charge(&mut self, bytes: usize) {
        self.used = self.used.saturating_add(bytes);
    }
    /// Returns `bytes` previously charged.
    pub fn release(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }
}

/// Declares [`ReassemblyStats`] and its name list from one field list, so
/// the names in the `stats` event cannot drift from the fields.
macro_rules! stats {
    ($($(#[doc = $doc:literal])* $name:ident),* $(,)?) => {
        /// Counters, summed into the `stats` event.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct ReassemblyStats {
            $($(#[doc = $doc])* pub $name: u64,)*
        }

        impl ReassemblyStats {
            /// Adds `other`'s counters to these (per-worker stats into totals).
            pub fn merge(&mut self, other: &ReassemblyStats) {
                $(self.$name += other.$name;)*
            }
            /// `(name, value)` of every counter, in declaration order.
            pub fn counters(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name)),*]
            }
        }
    };
}

stats! {
    /// TCP packets seen by sessions.
    segments_total,
    /// Bytes handed to sinks with `on_data`.
    bytes_delivered_total,
    /// Segments that arrived ahead of the next expected byte.
    out_of_order_total,
    /// Segments carrying bytes already delivered (wholly or partly).
    retransmissions_total,
    /// Directions that reached the configured depth.
    depth_reached_total,
    /// Times a segment did not fit under the worker memcap.
    memcap_reached_total,
    /// Times a segment did not fit under `max_segments`.
    segment_limit_reached_total,
    /// Holes reported with `on_gap`.
    gaps_total,
    /// Bytes covered by reported holes.
    gap_bytes_total,
    /// Directions picked up without seeing their SYN.
    midstream_total,
    /// Overlapping segments whose bytes differ from the copy kept.
    overlap_diff_total,
    /// Segments or ACKs too far from the expected sequence number to be
    /// real, or data beyond the receiver's advertised window.
    out_of_window_total,
    /// RSTs outside the receiver's window, ignored.
    rst_out_of_window_total,
    /// Directions whose inspection stopped at the memcap or `max_segments`
    /// (`on_limit = "stop"`).
    limit_stopped_total,
    /// Retransmissions compared against recently delivered bytes.
    recent_compared_total,
    /// Directions that could not keep a recent-bytes window (budget).
    recent_skipped_total,
}

/// The last bytes delivered in one direction (a ring indexed by stream
/// offset), so a retransmission of delivered bytes can be compared with
/// what was delivered. Bytes before a gap are forgotten.
#[derive(Debug)]
pub(crate) struct Recent {
    ring: Box<[u8]>,
    /// Offsets `[from, to)` held (`to - from <= ring.len()`).
    from: u64,
    to: u64,
}

impl Recent {
    /// An empty window of `cap` bytes (> 0) starting at offset `at`.
    pub(crate) fn new(cap: usize, at: u64) -> Recent {
        Recent {
            ring: vec![0; cap.max(1)].into_boxed_slice(),
            from: at,
            to: at,
        }
    }

    /// Bytes the window costs.
    pub(crate) fn cost(&self) -> usize {
        self.ring.len()
    }

    /// `(ring position, data position, length)` of the (at most two) ring
    /// pieces holding offsets `off..off + len`, for `len <= capacity`.
    fn pieces(&self, off: u64, len: usize) -> [(usize, usize, usize); 2] {
        let cap = self.ring.len();
        let len = len.min(cap);
        let pos = usize::try_from(off % cap as u64).unwrap_or(0);
        let first = (cap - pos).min(len);
        [(pos, 0, first), (0, first, len - first)]
    }

    /// Records `data` delivered at offset `off`; a jump (gap) forgets the
    /// older bytes.
    pub(crate) fn push(&mut self, off: u64, data: &[u8]) {
        if off != self.to {
            self.from = off;
        }
        let skip = data.len().saturating_sub(self.ring.len());
        self.to = off + data.len() as u64;
        self.overwrite(off + skip as u64, data.get(skip..).unwrap_or(&[]));
        self.from = self
            .from
            .max(self.to.saturating_sub(self.ring.len() as u64));
    }

    /// The held part `[a, b)` of offsets `off..off + len`, if any.
    pub(crate) fn held(&self, off: u64, len: usize) -> Option<(u64, u64)> {
        let (a, b) = (off.max(self.from), (off + len as u64).min(self.to));
        (a < b).then_some((a, b))
    }

    /// True when `data` (at offset `off`, inside the held range) differs
    /// from the bytes delivered there.
    pub(crate) fn differs(&self, off: u64, data: &[u8]) -> bool {
        self.pieces(off, data.len())
            .iter()
            .any(|&(pos, d, n)| self.ring.get(pos..pos + n) != data.get(d..d + n))
    }

    /// Replaces the bytes at `off` with `data` (at most the capacity).
    pub(crate) fn overwrite(&mut self, off: u64, data: &[u8]) {
        for (pos, d, n) in self.pieces(off, data.len()) {
            if let (Some(dst), Some(src)) = (self.ring.get_mut(pos..pos + n), data.get(d..d + n)) {
                dst.copy_from_slice(src);
            }
        }
    }
}

/// One contiguous run of buffered bytes at stream offset `off`.
#[derive(Debug)]
pub(crate) struct Run {
    /// Stream offset of the first byte.
    pub(crate) off: u64,
    /// The bytes.
    pub(crate) data: Vec<u8>,
}

impl Run {
    /// Offset one past the last byte.
    pub(crate) fn end(&self) -> u64 {
        self.off + self.data.len() as u64
    }
}

/// What inserting a segment would add to a [`SegmentStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Bytes not already buffered.
    pub(crate) bytes: usize,
    /// Whether a new run is needed (otherwise bytes extend existing runs).
    pub(crate) new_run: bool,
}

/// Out-of-order bytes of one direction: sorted, non-overlapping runs.
///
/// A segment that starts where a run ends extends that run, so a burst of
/// segments behind one hole costs one run (amortised `Vec` growth) rather
/// than one allocation each.
#[derive(Debug, Default)]
pub(crate) struct SegmentStore {
    runs: VecDeque<Run>,
    bytes: usize,
}

/// Sub-slice of `data` (which starts at stream offset `base`) covering
/// offsets `a..b`; empty when out of range (never panics).
pub(crate) fn span(data: &[u8], base: u64, a: u64, b: u64) -> &[u8] {
    let lo = usize::try_from(a.saturating_sub(base)).unwrap_or(usize::MAX);
    let hi = usize::try_from(b.saturating_sub(base)).unwrap_or(usize::MAX);
    data.get(lo..hi).unwrap_or(&[])
}

impl SegmentStore {
    /// Buffered bytes (exact).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
    /// Number of runs.
    pub(crate) fn runs(&self) -> usize {
        self.runs.len()
    }
    /// Offset of the first buffered byte.
    pub(crate) fn front_off(&self) -> Option<u64> {
        self.runs.front().map(|r| r.off)
    }
    /// Removes and returns the first run.
    pub(crate) fn pop_front(&mut self) -> Option<Run> {
        let r = self.runs.pop_front()?;
        self.bytes -= r.data.len();
        Some(r)
    }
    /// Index of the first run ending after `off`.
    fn first_after(&self, off: u64) -> usize {
        self.runs.partition_point(|r| r.end() <= off)
    }

    /// What inserting `len` bytes at `off` would add.
    pub(crate) fn plan(&self, off: u64, len: usize) -> Plan {
        let end = off + len as u64;
        let i = self.first_after(off);
        let mut bytes = 0u64;
        let mut cur = off;
        for r in self.runs.range(i..) {
            if r.off >= end {
                break;
            }
            bytes += r.off.saturating_sub(cur);
            cur = cur.max(r.end());
        }
        bytes += end.saturating_sub(cur);
        // Only the piece before the first overlapping run can need a new run:
        // every later piece starts where a run ends and extends it.
        let touches_prev = i > 0 && self.runs.get(i - 1).is_some_and(|r| r.end() == off);
        let covered_at_start = self.runs.get(i).is_some_and(|r| r.off <= off);
        Plan {
            bytes: usize::try_from(bytes).unwrap_or(usize::MAX),
            new_run: bytes > 0 && !touches_prev && !covered_at_start,
        }
    }

    /// Inserts `data` at stream offset `off` under `policy`; returns the bytes
    /// added and counts overlaps whose bytes differ.
    pub(crate) fn insert(
        &mut self,
        off: u64,
        data: &[u8],
        policy: OverlapPolicy,
        stats: &mut ReassemblyStats,
    ) -> usize {
        let end = off + data.len() as u64;
        let mut i = self.first_after(off);
        let mut cur = off;
        let mut added = 0;
        while cur < end {
            let next_run = self.runs.get(i).map(|r| r.off).filter(|&o| o < end);
            let piece_end = next_run.unwrap_or(end);
            if piece_end > cur {
                added += self.add_piece(i, cur, span(data, off, cur, piece_end));
                if self.runs.get(i).is_some_and(|r| r.off == cur) {
                    i += 1; // a new run was inserted at i
                }
            }
            let Some(r) = self.runs.get(i).filter(|_| next_run.is_some()) else {
                break;
            };
            let (a, b) = (cur.max(r.off), end.min(r.end()));
            let (os, oe) = (r.off, r.end());
            let differs = span(&r.data, os, a, b) != span(data, off, a, b);
            if differs {
                stats.overlap_diff_total += 1;
                if policy.new_wins(off, end, os, oe) {
                    self.overwrite(i, a, span(data, off, a, b));
                }
            }
            cur = oe;
            i += 1;
        }
        self.bytes += added;
        added
    }

    /// Replaces run `i`'s bytes from offset `at` with `new` (same length).
    fn overwrite(&mut self, i: usize, at: u64, new: &[u8]) {
        if let Some(r) = self.runs.get_mut(i) {
            let lo = usize::try_from(at.saturating_sub(r.off)).unwrap_or(usize::MAX);
            if let Some(dst) = r.data.get_mut(lo..lo.saturating_add(new.len())) {
                dst.copy_from_slice(new);
            }
        }
    }

    /// Adds `piece` at `off` in front of run `i`: extends run `i - 1` when it
    /// ends at `off`, otherwise inserts a new run at `i`.
    fn add_piece(&mut self, i: usize, off: u64, piece: &[u8]) -> usize {
        if let Some(prev) = i.checked_sub(1).and_then(|p| self.runs.get_mut(p)) {
            if prev.end() == off {
                prev.data.extend_from_slice(piece);
                return piece.len();
            }
        }
        self.runs.insert(
            i,
            Run {
                off,
                data: piece.to_vec(),
            },
        );
        piece.len()
    }

    /// Drops every byte at or after offset `off`; returns the bytes freed.
    pub(crate) fn truncate_from(&mut self, off: u64) -> usize {
        let before = self.bytes;
        while self.runs.back().is_some_and(|r| r.off >= off) {
            if let Some(r) = self.runs.pop_back() {
                self.bytes -= r.data.len();
            }
        }
        if let Some(r) = self.runs.back_mut() {
            if r.end() > off {
                let keep = usize::try_from(off - r.off).unwrap_or(usize::MAX);
                self.bytes -= r.data.len() - keep;
                r.data.truncate(keep);
            }
        }
        before - self.bytes
    }

    /// Drops everything; returns the bytes freed.
    pub(crate) fn clear(&mut self) -> usize {
        let freed = self.bytes;
        self.runs = VecDeque::new();
        self.bytes = 0;
        freed
    }

    /// Runs as `(offset, bytes)` (for tests and invariant checks).
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.runs.iter().map(|r| (r.off, r.data.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn store_of(segs: &[(u64, &[u8])]) -> (SegmentStore, ReassemblyStats) {
        let mut s = SegmentStore::default();
        let mut st = ReassemblyStats::default();
        for &(off, d) in segs {
            let p = s.plan(off, d.len());
            let added = s.insert(off, d, OverlapPolicy::First, &mut st);
            assert_eq!(p.bytes, added, "plan matches insert at {off}");
        }
        (s, st)
    }

    fn runs(s: &SegmentStore) -> Vec<(u64, Vec<u8>)> {
        s.iter().map(|(o, d)| (o, d.to_vec())).collect()
    }

    #[test]
    fn contiguous_segments_extend_one_run() {
        let (s, _) = store_of(&[(10, b"abc"), (13, b"def"), (16, b"g")]);
        assert_eq!(runs(&s), vec![(10, b"abcdefg".to_vec())]);
        assert_eq!(s.bytes(), 7);
    }

    #[test]
    fn first_wins_and_fills_between_runs() {
        let (s, st) = store_of(&[(10, b"bb"), (20, b"dd"), (5, b"AAAAAxxCCCCCCCCyyE")]);
        // 5..10 new run, 10..12 kept "bb", 12..20 extends run at 10, 20..22
        // kept "dd", 22..23 extends run at 20.
        assert_eq!(
            runs(&s),
            vec![
                (5, b"AAAAA".to_vec()),
                (10, b"bbCCCCCCCC".to_vec()),
                (20, b"ddE".to_vec())
            ]
        );
        assert_eq!(s.bytes(), 18);
        assert_eq!(st.overlap_diff_total, 2);
    }

    #[test]
    fn identical_overlap_is_not_counted_and_adds_nothing() {
        let (s, st) = store_of(&[(0, b"hello"), (1, b"ell")]);
        assert_eq!(runs(&s), vec![(0, b"hello".to_vec())]);
        assert_eq!(st.overlap_diff_total, 0);
        assert_eq!(
            s.plan(1, 3),
            Plan {
                bytes: 0,
                new_run: false
            }
        );
    }

    #[test]
    fn plan_reports_new_run_only_when_needed() {
        let (s, _) = store_of(&[(10, b"aa")]);
        assert!(s.plan(0, 2).new_run);
        assert!(!s.plan(12, 2).new_run);
        assert!(!s.plan(11, 5).new_run);
        assert!(s.plan(20, 1).new_run);
    }

    #[test]
    fn truncate_and_clear_return_freed_bytes() {
        let (mut s, _) = store_of(&[(0, b"abcd"), (10, b"efgh")]);
        assert_eq!(s.truncate_from(12), 2);
        assert_eq!(runs(&s), vec![(0, b"abcd".to_vec()), (10, b"ef".to_vec())]);
        assert_eq!(s.truncate_from(2), 4);
        assert_eq!(runs(&s), vec![(0, b"ab".to_vec())]);
        assert_eq!(s.clear(), 2);
        assert_eq!(s.bytes(), 0);
        assert_eq!(s.front_off(), None);
    }

    #[test]
    fn stats_merge_and_name_every_counter() {
        let mut a = ReassemblyStats {
            gaps_total: 2,
            ..ReassemblyStats::default()
        };
        let b = ReassemblyStats {
            gaps_total: 3,
            midstream_total: 1,
            ..ReassemblyStats::default()
        };
        a.merge(&b);
        let c = a.counters();
        assert_eq!(c.len(), 16);
        assert!(c.iter().all(|(n, _)| n.ends_with("_total")));
        assert!(c.contains(&("gaps_total", 5)));
        assert!(c.contains(&("midstream_total", 1)));
    }

    #[test]
    fn span_never_panics() {
        assert_eq!(span(b"abc", 10, 5, 20), b"");
        assert_eq!(span(b"abc", 10, 11, 13), b"bc");
        assert_eq!(span(b"abc", 10, 13, 11), b"");
    }

    #[test]
    fn policy_table_follows_target_based_rules() {
        use OverlapPolicy::*;
        // (new start, new end) against old [10, 20).
        let cases = [
            ((5, 15), [false, true, true, true, true, false, false]),
            ((5, 25), [false, true, true, true, true, false, true]),
            ((10, 20), [false, true, false, false, false, false, true]),
            ((10, 25), [false, true, false, true, false, false, true]),
            ((10, 15), [false, true, false, false, false, false, false]),
            ((12, 20), [false, true, false, false, false, false, false]),
            ((12, 25), [false, true, false, false, false, false, true]),
        ];
        let ps = [First, Last, Bsd, Linux, Windows, Vista, Solaris];
        for ((ns, ne), want) in cases {
            for (p, w) in ps.iter().zip(want) {
                assert_eq!(p.new_wins(ns, ne, 10, 20), w, "{p:?} new [{ns},{ne})");
            }
        }
    }

    #[test]
    fn last_policy_overwrites_buffered_bytes() {
        let mut s = SegmentStore::default();
        let mut st = ReassemblyStats::default();
        s.insert(10, b"aaaa", OverlapPolicy::Last, &mut st);
        s.insert(12, b"BBBB", OverlapPolicy::Last, &mut st);
        assert_eq!(runs(&s), vec![(10, b"aaBBBB".to_vec())]);
        assert_eq!(st.overlap_diff_total, 1);
    }

    #[test]
    fn recent_ring_wraps_and_compares() {
        let mut r = Recent::new(4, 0);
        r.push(0, b"abcdef");
        assert_eq!(r.held(0, 6), Some((2, 6)));
        assert!(!r.differs(2, b"cdef"));
        assert!(r.differs(3, b"dX"));
        r.overwrite(3, b"dX");
        assert!(!r.differs(2, b"cdXf"));
        r.push(10, b"z"); // after a gap
        assert_eq!(r.held(0, 11), Some((10, 11)));
        assert_eq!(r.cost(), 4);
    }

    proptest! {
        /// The store equals a byte-map model with last-wins semantics.
        #[test]
        fn store_matches_last_wins_model(
            segs in proptest::collection::vec((0u64..200, proptest::collection::vec(any::<u8>(), 0..40)), 0..30)
        ) {
            let mut model: Vec<Option<u8>> = vec![None; 260];
            let mut s = SegmentStore::default();
            let mut st = ReassemblyStats::default();
            for (off, d) in &segs {
                s.insert(*off, d, OverlapPolicy::Last, &mut st);
                for (k, b) in d.iter().enumerate() {
                    model[*off as usize + k] = Some(*b);
                }
            }
            let mut seen = vec![None; 260];
            for (o, d) in s.iter() {
                for (k, b) in d.iter().enumerate() { seen[o as usize + k] = Some(*b); }
            }
            prop_assert_eq!(seen, model);
        }

        /// The store equals a byte-map model with first-wins semantics.
        #[test]
        fn store_matches_first_wins_model(
            segs in proptest::collection::vec((0u64..200, proptest::collection::vec(any::<u8>(), 0..40)), 0..30)
        ) {
            let mut model: Vec<Option<u8>> = vec![None; 260];
            let mut s = SegmentStore::default();
            let mut st = ReassemblyStats::default();
            for (off, d) in &segs {
                let p = s.plan(*off, d.len());
                let runs_before = s.runs();
                let added = s.insert(*off, d, OverlapPolicy::First, &mut st);
                prop_assert_eq!(p.bytes, added);
                prop_assert!(s.runs() <= runs_before + usize::from(p.new_run));
                for (k, b) in d.iter().enumerate() {
                    let slot = &mut model[*off as usize + k];
                    if slot.is_none() { *slot = Some(*b); }
                }
            }
            let mut seen = vec![None; 260];
            let mut last_end = 0;
            for (o, d) in s.iter() {
                prop_assert!(o >= last_end, "runs sorted, non-overlapping");
                prop_assert!(!d.is_empty());
                last_end = o + d.len() as u64;
                for (k, b) in d.iter().enumerate() { seen[o as usize + k] = Some(*b); }
            }
            prop_assert_eq!(seen, model.clone());
            prop_assert_eq!(s.bytes(), model.iter().flatten().count());
        }

        /// The window held after pushes equals the last bytes pushed.
        #[test]
        fn recent_window_holds_the_last_bytes(
            parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1500), 1..12),
            cap in 1usize..5000,
        ) {
            let mut r = Recent::new(cap, 0);
            let mut all = Vec::new();
            for p in &parts {
                r.push(all.len() as u64, p);
                all.extend_from_slice(p);
            }
            let held = all.len().min(cap);
            let from = (all.len() - held) as u64;
            prop_assert_eq!(r.held(0, all.len()), (held > 0).then_some((from, all.len() as u64)));
            let last = &all[all.len() - held..];
            prop_assert!(!r.differs(from, last));
            if held > 0 {
                let mut other = last.to_vec();
                other[held / 2] ^= 1;
                prop_assert!(r.differs(from, &other));
            }
        }
    }
}
