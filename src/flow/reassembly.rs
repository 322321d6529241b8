//! Reassembly bounds, the per-worker memory budget, counters, and the
//! out-of-order segment store used by [`TcpSession`](super::TcpSession).
//!
//! See `REASSEMBLY.md` next to this file for the design (stream offsets,
//! the skip-ahead policy on bounds, how overlap policies plug in).

use std::collections::VecDeque;

/// How to resolve two segments that carry bytes for the same stream offsets.
///
/// Only first-wins exists today. Later policies (last-wins, per-OS target
/// policies as in Suricata's `stream-tcp-reassemble`) plug in at the single
/// place where an incoming segment meets buffered bytes
/// ([`SegmentStore::insert`]) and where in-order data meets buffered bytes
/// (the session's in-order path); both already see both copies and count
/// differing overlaps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OverlapPolicy {
    /// Bytes seen first are kept; later copies of the same offsets are dropped.
    #[default]
    First,
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
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            depth: 16 << 20,
            memcap: 256 << 20,
            max_segments: 4096,
            overlap: OverlapPolicy::First,
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

/// Counters, summed into the `stats` event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// TCP packets seen by sessions.
    pub segments_total: u64,
    /// Bytes handed to sinks with `on_data`.
    pub bytes_delivered_total: u64,
    /// Segments that arrived ahead of the next expected byte.
    pub out_of_order_total: u64,
    /// Segments carrying bytes already delivered (wholly or partly).
    pub retransmissions_total: u64,
    /// Directions that reached the configured depth.
    pub depth_reached_total: u64,
    /// Times a segment did not fit under the worker memcap.
    pub memcap_reached_total: u64,
    /// Times a segment did not fit under `max_segments`.
    pub segment_limit_reached_total: u64,
    /// Holes reported with `on_gap`.
    pub gaps_total: u64,
    /// Bytes covered by reported holes.
    pub gap_bytes_total: u64,
    /// Directions picked up without seeing their SYN.
    pub midstream_total: u64,
    /// Overlapping segments whose bytes differ from the copy kept.
    pub overlap_diff_total: u64,
    /// Segments or ACKs too far from the expected sequence number to be real.
    pub out_of_window_total: u64,
}

impl ReassemblyStats {
    /// Adds another worker's counters.
    pub fn add(&mut self, o: &ReassemblyStats) {
        self.segments_total += o.segments_total;
        self.bytes_delivered_total += o.bytes_delivered_total;
        self.out_of_order_total += o.out_of_order_total;
        self.retransmissions_total += o.retransmissions_total;
        self.depth_reached_total += o.depth_reached_total;
        self.memcap_reached_total += o.memcap_reached_total;
        self.segment_limit_reached_total += o.segment_limit_reached_total;
        self.gaps_total += o.gaps_total;
        self.gap_bytes_total += o.gap_bytes_total;
        self.midstream_total += o.midstream_total;
        self.overlap_diff_total += o.overlap_diff_total;
        self.out_of_window_total += o.out_of_window_total;
    }

    /// Counters for the `stats` event.
    pub fn to_json(&self, peak_bytes: u64) -> serde_json::Value {
        serde_json::json!({
            "segments_total": self.segments_total,
            "bytes_delivered_total": self.bytes_delivered_total,
            "out_of_order_total": self.out_of_order_total,
            "retransmissions_total": self.retransmissions_total,
            "depth_reached_total": self.depth_reached_total,
            "memcap_reached_total": self.memcap_reached_total,
            "segment_limit_reached_total": self.segment_limit_reached_total,
            "gaps_total": self.gaps_total,
            "gap_bytes_total": self.gap_bytes_total,
            "midstream_total": self.midstream_total,
            "overlap_diff_total": self.overlap_diff_total,
            "out_of_window_total": self.out_of_window_total,
            "peak_buffered_bytes": peak_bytes,
        })
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
            let kept = span(&r.data, r.off, a, b);
            if kept != span(data, off, a, b) {
                stats.overlap_diff_total += 1;
            }
            match policy {
                // Hook: a last-wins/per-OS policy overwrites `kept` here.
                OverlapPolicy::First => {}
            }
            cur = r.end();
            i += 1;
        }
        self.bytes += added;
        added
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
    fn span_never_panics() {
        assert_eq!(span(b"abc", 10, 5, 20), b"");
        assert_eq!(span(b"abc", 10, 11, 13), b"bc");
        assert_eq!(span(b"abc", 10, 13, 11), b"");
    }

    proptest! {
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
    }
}
