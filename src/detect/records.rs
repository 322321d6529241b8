//! Records estimate: how many records of a content item carry PI.
//!
//! A content item is cut into *segments* at record boundaries, found by a
//! cheap streaming pass over the same bytes the scanner sees (`memchr` on
//! the few bytes that matter; no buffering, a few dozen bytes of state).
//! The layout is chosen from the first byte that is not white space or a
//! UTF-8 BOM:
//!
//! - `{` or `[`: JSON. A record is a container (object or array) whose
//!   parent is an array, at the depth of the first such container (so
//!   `[{..},{..}]` and `{"data":[{..},{..}]}` both count their objects);
//!   each top-level value is one too (NDJSON). Boundaries at each record's
//!   first and last byte, so what lies between records is its own segment.
//! - `<`: HTML. A boundary at each `<tr` and `</tr`, and at a newline
//!   outside a table row (text around tables counts by lines).
//! - anything else: lines (CSV, TSV, NDJSON-like logs, free text). A
//!   boundary at each newline outside a CSV quoted field (a `"` that opens
//!   a field, after a delimiter or at a line start; `""` escapes; a quoted
//!   field longer than [`MAX_QUOTED`] bytes is given up and counted).
//!
//! `records` is the number of distinct segments in which at least one
//! reported match starts. The CSV header line, the `[` of an array or the
//! page head are segments too, but they carry PI only when they hold it.
//!
//! Matches arrive in stream order, at most the scanner's carry (336
//! bytes) behind the bytes already passed in; the tracker advances lazily
//! to each match and keeps a 384-bit window of recent boundaries for the
//! late ones, so the count is the same however the item is chunked.

use super::columns::Slot;
use super::digits::{json_masks64, PrefixXor};
use super::{Match, MatchSink, Scanner, StreamState};

/// Longest CSV quoted field followed (bytes); past it, quoting is dropped.
pub const MAX_QUOTED: u64 = 16 * 1024;
/// Words of remembered boundary positions.
const WINDOW_WORDS: usize = 6;
/// Window of remembered boundary positions (bits).
const WINDOW: u64 = 64 * WINDOW_WORDS as u64;
// A match is at most a carry behind.
const _: () = assert!(StreamState::CARRY_MAX as u64 <= WINDOW);
/// JSON depth whose container kinds are tracked (bits of a `u64`).
const MAX_DEPTH: u32 = 63;
/// Longest HTML tag name looked at.
const TAG_MAX: usize = 7;

/// Layout of an item, from its first meaningful byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// Nothing but white space seen yet.
    #[default]
    Unknown,
    /// Lines (CSV/TSV quoting honoured).
    Lines,
    /// JSON (arrays of containers, NDJSON).
    Json,
    /// HTML (`<tr>` rows).
    Html,
}

/// Per-item records tracker (one per root content item).
#[derive(Clone, Debug, Default)]
pub struct Records {
    layout: Layout,
    /// Stream offset processed up to.
    pos: u64,
    /// Boundaries before `pos`.
    seg: u64,
    /// Bit i: a boundary at `pos - 1 - i`.
    recent: [u64; WINDOW_WORDS],
    /// Last byte processed (`\n` at the start).
    prev: u8,
    started: bool,
    // Lines.
    quoted: bool,
    quote_pending: bool,
    quote_from: u64,
    // JSON.
    in_str: bool,
    esc: bool,
    depth: u32,
    arrays: u64,
    rec_depth: u32,
    // HTML.
    in_tag: bool,
    tag: [u8; TAG_MAX],
    tag_len: usize,
    in_row: bool,
    /// Segment of the last counted match.
    last: Option<u64>,
    /// Segments with a match, since the last [`Records::take`].
    with_pi: u64,
    /// Matches too far behind to place exactly (counted, never expected).
    pub late_total: u64,
    /// CSV quoted fields given up at [`MAX_QUOTED`].
    pub quote_limit_total: u64,
    /// Column mapping of the item (`columns.rs`), scanned along.
    cols: Slot,
}

impl Records {
    /// Stream offset the tracker has processed up to.
    pub fn processed(&self) -> u64 {
        self.pos
    }

    /// The layout chosen for the current item.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Segments with PI counted since the last take; resets the count.
    pub fn take(&mut self) -> u64 {
        std::mem::take(&mut self.with_pi)
    }

    /// Segments with PI counted since the last take.
    pub fn count(&self) -> u64 {
        self.with_pi
    }

    /// A new item starts at stream offset `at` (the count is kept).
    pub fn start(&mut self, at: u64) {
        let with_pi = self.with_pi;
        let (late, ql) = (self.late_total, self.quote_limit_total);
        *self = Records {
            pos: at,
            with_pi,
            late_total: late,
            quote_limit_total: ql,
            ..Records::default()
        };
    }

    /// Bytes were lost: open quotes, strings and tags are dropped (the
    /// layout and the count stay).
    pub fn gap(&mut self, now: u64) {
        self.pos = now;
        self.recent = [0; WINDOW_WORDS];
        self.quoted = false;
        self.quote_pending = false;
        self.in_str = false;
        self.esc = false;
        self.in_tag = false;
        self.seg = self.seg.saturating_add(1);
        self.last = None;
        self.cols.gap(now);
    }

    /// Scans `data` (the next bytes of the stream `st`) with `scanner`,
    /// counting the records its matches fall in.
    pub fn scan(
        &mut self,
        scanner: &mut Scanner,
        st: &mut StreamState,
        data: &[u8],
        sink: &mut dyn MatchSink,
    ) {
        let base = st.offset();
        self.sync(base);
        let mut cols = std::mem::take(&mut self.cols);
        let mut t = Tracked {
            rec: self,
            chunk: data,
            base,
            inner: sink,
        };
        scanner.scan_stream_columns(st, &mut cols, data, &mut t);
        self.cols = cols;
        let from = self.pos.saturating_sub(base) as usize;
        self.advance(data.get(from..).unwrap_or_default());
    }

    /// Ends the stream `st` (see [`Scanner::finish_stream`]).
    pub fn finish(
        &mut self,
        scanner: &mut Scanner,
        st: &mut StreamState,
        sink: &mut dyn MatchSink,
    ) {
        self.decide(scanner, st, sink, false);
    }

    /// Bytes of the stream `st` were lost (see [`Scanner::gap`]): what it
    /// carried is decided, then this tracker resynchronises.
    pub fn gap_stream(
        &mut self,
        scanner: &mut Scanner,
        st: &mut StreamState,
        sink: &mut dyn MatchSink,
    ) {
        self.decide(scanner, st, sink, true);
        self.gap(st.offset());
    }

    /// Decides what `st` carries, at its end or at a gap.
    fn decide(
        &mut self,
        scanner: &mut Scanner,
        st: &mut StreamState,
        sink: &mut dyn MatchSink,
        gap: bool,
    ) {
        let base = st.offset();
        self.sync(base);
        let mut cols = std::mem::take(&mut self.cols);
        let mut t = Tracked {
            rec: self,
            chunk: &[],
            base,
            inner: sink,
        };
        if gap {
            scanner.gap_columns(st, &mut cols, &mut t);
        } else {
            scanner.finish_stream_columns(st, &mut cols, &mut t);
        }
        self.cols = cols;
    }

    /// Keeps `pos` on the stream's offset (bytes this tracker never saw,
    /// e.g. after [`Scanner::gap`], count as a gap).
    fn sync(&mut self, base: u64) {
        if self.pos != base {
            self.gap(base);
        }
    }

    /// Notes a match starting at stream offset `o`; `chunk` holds the
    /// stream bytes from `base` on.
    pub fn note(&mut self, chunk: &[u8], base: u64, o: u64) {
        let seg = if o >= self.pos {
            let from = (self.pos - base.min(self.pos)) as usize;
            let to = o.saturating_sub(base) as usize;
            if let Some(b) = chunk.get(from..to.min(chunk.len())) {
                self.advance(b);
            }
            self.seg
        } else if self.pos - o <= WINDOW {
            self.seg - self.recent_since(o)
        } else {
            self.late_total = self.late_total.saturating_add(1);
            self.seg
        };
        if self.last != Some(seg) {
            self.last = Some(seg);
            self.with_pi = self.with_pi.saturating_add(1);
        }
    }

    /// Boundaries at positions in `o..pos` (within the window).
    fn recent_since(&self, o: u64) -> u64 {
        let n = (self.pos - o).min(WINDOW) as u32;
        let mut c = 0u32;
        for (i, w) in self.recent.iter().enumerate() {
            let lo = i as u32 * 64;
            if n <= lo {
                break;
            }
            let k = n - lo;
            c += if k >= 64 {
                w.count_ones()
            } else {
                (w & ((1u64 << k) - 1)).count_ones()
            };
        }
        u64::from(c).min(self.seg)
    }

    /// Shifts the window by `n` bytes (bits move further back).
    fn shift(&mut self, n: u64) {
        if n >= WINDOW {
            self.recent = [0; WINDOW_WORDS];
            return;
        }
        let (words, bits) = ((n / 64) as usize, (n % 64) as u32);
        let old = self.recent;
        let word = |j: Option<usize>| j.and_then(|j| old.get(j)).copied().unwrap_or(0);
        for (i, w) in self.recent.iter_mut().enumerate() {
            let hi = word(i.checked_sub(words));
            let lo = word(i.checked_sub(words + 1));
            *w = if bits == 0 {
                hi
            } else {
                (hi << bits) | (lo >> (64 - bits))
            };
        }
    }

    /// A boundary at `p` (relative to the chunk being advanced, which
    /// ends at `end`, relative too).
    fn boundary(&mut self, p: usize, end: usize) {
        self.seg = self.seg.saturating_add(1);
        let back = (end - 1 - p) as u64;
        if back < WINDOW {
            if let Some(w) = self.recent.get_mut((back / 64) as usize) {
                *w |= 1u64 << (back % 64);
            }
        }
    }

    /// Processes the next bytes of the item.
    pub fn advance(&mut self, b: &[u8]) {
        if b.is_empty() {
            return;
        }
        if !self.started {
            self.started = true;
            self.prev = b'\n';
        }
        self.shift(b.len() as u64);
        let mut i = 0;
        if self.layout == Layout::Unknown {
            i = self.sniff(b);
        }
        match self.layout {
            Layout::Unknown => {}
            Layout::Lines => self.lines(b, i),
            Layout::Json => self.json(b, i),
            Layout::Html => self.html(b, i),
        }
        if let Some(&last) = b.last() {
            self.prev = last;
        }
        self.pos += b.len() as u64;
    }

    /// Skips leading white space and BOM bytes; sets the layout.
    fn sniff(&mut self, b: &[u8]) -> usize {
        let Some((i, layout)) = sniff_layout(b) else {
            return b.len();
        };
        self.layout = layout;
        i
    }

    fn lines(&mut self, b: &[u8], mut i: usize) {
        let end = b.len();
        while i < end {
            if self.quote_pending {
                self.quote_pending = false;
                if b.get(i) == Some(&b'"') {
                    i += 1;
                    continue;
                }
                self.quoted = false;
            }
            let rest = b.get(i..).unwrap_or_default();
            if self.quoted {
                // Last relative index a closing quote may sit at.
                let limit = (self.quote_from + MAX_QUOTED).saturating_sub(self.pos) as usize;
                match memchr::memchr(b'"', rest) {
                    Some(j) if i + j <= limit => {
                        i += j + 1;
                        self.quote_pending = true;
                    }
                    _ if limit < end => {
                        self.quoted = false;
                        self.quote_limit_total = self.quote_limit_total.saturating_add(1);
                        i = i.max(limit + 1);
                    }
                    _ => i = end,
                }
                continue;
            }
            let Some(j) = memchr::memchr2(b'\n', b'"', rest) else {
                break;
            };
            let p = i + j;
            if b.get(p) == Some(&b'\n') {
                self.boundary(p, end);
            } else {
                let before = p
                    .checked_sub(1)
                    .and_then(|k| b.get(k))
                    .unwrap_or(&self.prev);
                if matches!(before, b',' | b'\t' | b';' | b'|' | b'\n' | b'\r') {
                    self.quoted = true;
                    self.quote_from = self.pos + p as u64;
                }
            }
            i = p + 1;
        }
    }

    fn json(&mut self, b: &[u8], mut i: usize) {
        let end = b.len();
        let parity = PrefixXor::new();
        while i < end {
            let [q, e, o] = json_masks64(b, i);
            let n = (end - i).min(64);
            if e != 0 || self.esc {
                // Escapes are rare: this block goes byte by byte.
                self.json_bytes(b, i, i + n);
            } else {
                // Brackets outside strings, from the quote parity.
                let open_str = if self.in_str { u64::MAX } else { 0 };
                let mut m = o & !(parity.of(q) ^ open_str);
                while m != 0 {
                    let p = i + m.trailing_zeros() as usize;
                    m &= m - 1;
                    let c = b.get(p).copied().unwrap_or(0);
                    if matches!(c, b'{' | b'[') {
                        self.open(c == b'[', p, end);
                    } else {
                        self.close(p, end);
                    }
                }
                self.in_str ^= q.count_ones() % 2 == 1;
            }
            i += n;
        }
    }

    /// The JSON state machine over `b[i..to]`, one byte at a time.
    fn json_bytes(&mut self, b: &[u8], i: usize, to: usize) {
        let end = b.len();
        for (p, &c) in b.iter().enumerate().take(to).skip(i) {
            if self.esc {
                self.esc = false;
                continue;
            }
            match (self.in_str, c) {
                (true, b'\\') => self.esc = true,
                (true, b'"') => self.in_str = false,
                (false, b'"') => self.in_str = true,
                (false, b'{' | b'[') => self.open(c == b'[', p, end),
                (false, b'}' | b']') => self.close(p, end),
                _ => {}
            }
        }
    }

    fn is_array(&self, d: u32) -> bool {
        (1..=MAX_DEPTH).contains(&d) && self.arrays & (1u64 << d) != 0
    }

    fn open(&mut self, array: bool, i: usize, end: usize) {
        let parent_array = self.is_array(self.depth);
        self.depth = self.depth.saturating_add(1);
        if self.depth <= MAX_DEPTH {
            let bit = 1u64 << self.depth;
            if array {
                self.arrays |= bit;
            } else {
                self.arrays &= !bit;
            }
        }
        if parent_array && self.rec_depth == 0 {
            self.rec_depth = self.depth;
        }
        if self.depth == 1 || (parent_array && self.depth == self.rec_depth) {
            self.boundary(i, end);
        }
    }

    fn close(&mut self, i: usize, end: usize) {
        if self.depth == 0 {
            return;
        }
        let parent_array = self.is_array(self.depth - 1);
        if self.depth == 1 || (parent_array && self.depth == self.rec_depth) {
            self.boundary(i, end);
        }
        self.depth -= 1;
    }

    fn html(&mut self, b: &[u8], mut i: usize) {
        let end = b.len();
        while i < end {
            if self.in_tag {
                let c = b.get(i).copied().unwrap_or(0);
                if tag_name_byte(&mut self.tag, &mut self.tag_len, c) {
                    i += 1;
                    continue;
                }
                self.in_tag = false;
                self.tag_done(i, end);
                continue;
            }
            let rest = b.get(i..).unwrap_or_default();
            let Some(j) = memchr::memchr2(b'<', b'\n', rest) else {
                break;
            };
            let p = i + j;
            if b.get(p) == Some(&b'\n') {
                if !self.in_row {
                    self.boundary(p, end);
                }
            } else {
                self.in_tag = true;
                self.tag_len = 0;
            }
            i = p + 1;
        }
    }

    /// A tag name ended at `i` (the byte after it, where the boundary is).
    fn tag_done(&mut self, i: usize, end: usize) {
        let name = self.tag.get(..self.tag_len).unwrap_or_default();
        let at = i;
        match name {
            b"tr" => {
                self.in_row = true;
                self.boundary(at, end);
            }
            b"/tr" | b"/table" if self.in_row => {
                self.in_row = false;
                self.boundary(at, end);
            }
            _ => {}
        }
    }
}

/// The layout of an item from its first byte that is not white space or
/// a UTF-8 BOM byte, with that byte's index (`None`: no such byte yet).
/// Shared with the column mapping (`columns.rs`).
pub fn sniff_layout(b: &[u8]) -> Option<(usize, Layout)> {
    let skip = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0xEF | 0xBB | 0xBF);
    let i = b.iter().position(|c| !skip(c))?;
    let layout = match b.get(i) {
        Some(b'{' | b'[') => Layout::Json,
        Some(b'<') => Layout::Html,
        _ => Layout::Lines,
    };
    Some((i, layout))
}

/// Adds `c` to the HTML tag name read so far (`name[..len]`, lowercased)
/// when it may continue it (alphanumeric, or `/` first) and there is room;
/// `false`: the name ended before `c`. Shared with `columns.rs`.
pub fn tag_name_byte(name: &mut [u8], len: &mut usize, c: u8) -> bool {
    let ok = c.is_ascii_alphanumeric() || (c == b'/' && *len == 0);
    match name.get_mut(*len) {
        Some(s) if ok => {
            *s = c.to_ascii_lowercase();
            *len += 1;
            true
        }
        _ => false,
    }
}

/// Passes matches on after noting their record.
struct Tracked<'a> {
    rec: &'a mut Records,
    chunk: &'a [u8],
    base: u64,
    inner: &'a mut dyn MatchSink,
}

impl MatchSink for Tracked<'_> {
    fn on_match(&mut self, m: &Match<'_>) {
        self.rec.note(self.chunk, self.base, m.offset);
        self.inner.on_match(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Records with a "match" at each `@` (no scanner: offsets of `@`);
    /// like the scanner, a match in the last `DEFER` bytes of a chunk is
    /// reported in the next call, behind the tracker.
    fn count(data: &[u8], cuts: &[usize]) -> u64 {
        const DEFER: usize = 3;
        let mut r = Records::default();
        let mut at = 0usize;
        let mut points: Vec<usize> = cuts.iter().copied().filter(|&c| c < data.len()).collect();
        points.sort_unstable();
        points.push(data.len());
        let mut late: Vec<usize> = Vec::new();
        for p in points {
            let chunk = data.get(at..p).unwrap_or_default();
            for o in late.drain(..) {
                r.note(chunk, at as u64, o as u64);
            }
            for (k, _) in chunk.iter().enumerate().filter(|(_, c)| **c == b'@') {
                if k + DEFER >= chunk.len() && p < data.len() {
                    late.push(at + k);
                } else {
                    r.note(chunk, at as u64, (at + k) as u64);
                }
            }
            let from = (r.pos - at as u64) as usize;
            r.advance(chunk.get(from..).unwrap_or_default());
            at = p;
        }
        r.take()
    }

    #[test]
    fn csv_rows_and_quotes() {
        let csv = b"name,mail\n\"Li, Wei\",@\n\"a\nb\",@\nx,y\n\"q\"\"@\n\",@\n";
        // Rows 1, 2 and 4 hold a match (row 4 twice).
        assert_eq!(count(csv, &[]), 3);
        let tsv = b"a\tb\n1\t@\n2\t@\n3\tx\n";
        assert_eq!(count(tsv, &[]), 2);
    }

    #[test]
    fn free_text_quotes_do_not_swallow_lines() {
        // A quote in the middle of a word does not open a field.
        let t = b"he said 5\" wide @\nnext @\nthird @\n";
        assert_eq!(count(t, &[]), 3);
    }

    #[test]
    fn json_arrays() {
        let a = br#"[{"a":"@","b":"@"},{"a":"x"},{"c":{"d":"@"}}]"#;
        assert_eq!(count(a, &[]), 2);
        let nested = br#"{"total":3,"data":[{"m":"@"},{"m":"@ \" @"},{"m":"@","t":[1,{"x":"@"}]}],"meta":{"k":"@"}}"#;
        // Three records plus the trailing meta.
        assert_eq!(count(nested, &[]), 4);
        let ndjson = b"{\"m\":\"@\"}\n{\"m\":\"x\"}\n{\"m\":\"@\"}\n";
        assert_eq!(count(ndjson, &[]), 2);
        let rows = br#"{"data":[["@","x"],["y","@"],["z"]]}"#;
        assert_eq!(count(rows, &[]), 2);
    }

    #[test]
    fn html_rows() {
        let h = b"<html>@\n<table><TR><th>n</th></tr>\n<tr>\n<td>@</td><td>@</td></tr><tr class=x><td>@\n</td></tr></table>\n@ tail</html>";
        // Page line, two rows, tail line.
        assert_eq!(count(h, &[]), 4);
    }

    #[test]
    fn late_matches_use_the_window() {
        let mut r = Records::default();
        r.advance(b"a\nb\nc@\nd");
        // '@' at 5, after two boundaries; noted after the tracker passed it.
        r.note(&[], 9, 5);
        r.note(&[], 9, 5);
        assert_eq!((r.count(), r.seg, r.late_total), (1, 3, 0));
        r.note(&[], 9, 8);
        assert_eq!(r.count(), 2);
    }

    #[test]
    fn quoted_field_bound() {
        let mut t = b"a,\"".to_vec();
        t.extend(std::iter::repeat_n(b'x', MAX_QUOTED as usize + 10));
        t.extend_from_slice(b"\n@\n@\n");
        let mut r = Records::default();
        r.advance(&t);
        assert_eq!(r.quote_limit_total, 1);
        assert_eq!(count(&t, &[]), 2);
    }

    #[test]
    fn window_shift_keeps_bits() {
        let mut r = Records::default();
        let mut t = vec![b'x'; 300];
        t[299] = b'\n';
        r.advance(&t);
        r.advance(&[b'y'; 100]);
        // The newline is 101 bytes back.
        assert_eq!(r.recent_since(r.pos - 101), 1);
        assert_eq!(r.recent_since(r.pos - 100), 0);
    }

    fn arb_doc() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop::sample::select(vec![
            &b"\n"[..],
            b",",
            b"\"",
            b"\"\"",
            b"@",
            b"{",
            b"}",
            b"[",
            b"]",
            b"\\",
            b"<tr>",
            b"</tr>",
            b"<td>",
            b"</table>",
            b"ab",
            b" ",
            b"\t",
        ]);
        (
            prop::sample::select(vec![&b""[..], b"[", b"{", b"<", b"a", b" \n"]),
            prop::collection::vec(piece, 0..120),
        )
            .prop_map(|(head, ps)| {
                let mut v = head.to_vec();
                for p in ps {
                    v.extend_from_slice(p);
                }
                v
            })
    }

    proptest! {
        #[test]
        fn same_count_for_any_chunking(
            doc in arb_doc(),
            cuts in prop::collection::vec(0usize..600, 0..8),
        ) {
            prop_assert_eq!(count(&doc, &cuts), count(&doc, &[]));
        }

        #[test]
        fn json_blocks_equal_byte_by_byte(
            doc in prop::collection::vec(prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b'a'), Just(b',')
            ], 0..400),
        ) {
            let mut blocks = Records { layout: Layout::Json, ..Records::default() };
            blocks.json(&doc, 0);
            let mut bytes = Records { layout: Layout::Json, ..Records::default() };
            bytes.json_bytes(&doc, 0, doc.len());
            prop_assert_eq!(
                (blocks.seg, blocks.depth, blocks.in_str, blocks.esc, blocks.recent),
                (bytes.seg, bytes.depth, bytes.in_str, bytes.esc, bytes.recent)
            );
        }

        #[test]
        fn never_more_records_than_matches(doc in prop::collection::vec(any::<u8>(), 0..400)) {
            let n = doc.iter().filter(|c| **c == b'@').count() as u64;
            prop_assert!(count(&doc, &[]) <= n);
        }
    }
}
