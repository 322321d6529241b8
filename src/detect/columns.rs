//! Column mapping for tabular content: a CSV/TSV header line or the `<th>`
//! row of an HTML table names the columns, so a data cell far below its
//! header is judged as the value of a field of that name.
//!
//! - A header cell that is a field name of a field detector (the same
//!   [`FieldIndex`](super::super::fields::FieldIndex) lookup and
//!   normalisation as `key: value` pairs) maps its column to that
//!   detector's value check; a data cell of the column that passes is a
//!   match of the detector, recorded like a field hit (same confidence,
//!   exclusions, shadowing).
//! - A header cell that holds a context word of another detector (digit,
//!   regex, keyword, e-mail) marks its column: a match of that detector
//!   inside one of its cells gets the context confidence, however far the
//!   header is.
//!
//! The layout comes from the first meaningful byte (shared with the records
//! estimate, [`records::sniff_layout`]): `<` is HTML, `{`/`[` JSON (never
//! tabular), anything else lines, whose first line is the header: the most
//! frequent of `\t` `,` `;` `|` in it is the delimiter, and the item is
//! dropped at once when no header cell maps. Data lines are cut with
//! `memchr` on the delimiter and newline, honouring CSV quoting. HTML
//! tables map the `<th>` cells of their first row; `<td>` cells of later
//! rows are taken by position (`colspan` is ignored; a `<th>` there heads
//! its row and holds no value), and only the first text run of a cell is
//! its value.
//!
//! Streaming: the pass sees every byte once, before the families run on
//! the same call. A mapped cell still open at the end of a call holds the
//! families' frontier at its start (a *frontier* like theirs, so matches
//! stay in stream order and one inside the cell is decided with it, and
//! deduplicated); cells longer than [`CELL_RAW_MAX`] bytes are not checked,
//! which bounds that hold. The spans of the cells of context columns in
//! the current call (and the carry before it) are kept, in order, for the
//! families' matches, which are decided after the pass ([`MAX_SPANS`]).

use super::super::context::KwScratch;
use super::super::fields::{self, ValueCheck, VALUE_MAX};
use super::super::records::{self, Layout, MAX_QUOTED};
use super::super::signature::Family;
use super::{DetectorId, Engine, Scanner, StreamState, Work};
use crate::detect::MatchSink;

/// Most columns mapped per header; later ones are ignored (counted).
pub const MAX_COLUMNS: usize = 64;
/// Longest header cell looked up (bytes); a longer one maps nothing.
pub const MAX_HEADER_CELL: usize = 64;
/// Longest first line taken as a CSV header; past it the item is not
/// tabular (counted).
pub const MAX_HEADER_LINE: usize = 4096;
/// Longest raw data cell (quotes, spaces and HTML markup before its text
/// included) that is checked; bounds how far an open cell holds the
/// scanner's carry back.
pub const CELL_RAW_MAX: u64 = VALUE_MAX as u64 + 8;
/// Most cell spans of context columns kept per call (about the cells of a
/// 64 KiB chunk of 16-byte cells); past it, later cells give no context
/// (counted).
pub const MAX_SPANS: usize = 4096;
/// Spans ending this far before a call's first byte are dropped (the
/// families decide nothing further back: their carry is shorter).
const SPAN_KEEP: u64 = 512;
/// Longest HTML tag name looked at.
const TAG_MAX: usize = 8;
/// Delimiters, in the order that wins a tie.
const DELIMS: [u8; 4] = [b'\t', b',', b';', b'|'];

/// What the column mapping counted (per [`Scanner`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnStats {
    /// CSV items and HTML tables with at least one mapped column.
    pub tables_total: u64,
    /// Data cells reported through their column.
    pub hits_total: u64,
    /// Header cells past [`MAX_COLUMNS`].
    pub columns_limit_total: u64,
    /// Header cells longer than [`MAX_HEADER_CELL`].
    pub header_cell_limit_total: u64,
    /// First lines longer than [`MAX_HEADER_LINE`].
    pub header_line_limit_total: u64,
    /// Data cells of field columns longer than [`CELL_RAW_MAX`] (unchecked).
    pub cell_limit_total: u64,
    /// CSV quoted fields given up at [`MAX_QUOTED`].
    pub quote_limit_total: u64,
    /// Cells of context columns past [`MAX_SPANS`] in one call.
    pub span_limit_total: u64,
}

impl ColumnStats {
    /// Adds `o` to these counters.
    pub fn add(&mut self, o: &ColumnStats) {
        self.tables_total += o.tables_total;
        self.hits_total += o.hits_total;
        self.columns_limit_total += o.columns_limit_total;
        self.header_cell_limit_total += o.header_cell_limit_total;
        self.header_line_limit_total += o.header_line_limit_total;
        self.cell_limit_total += o.cell_limit_total;
        self.quote_limit_total += o.quote_limit_total;
        self.span_limit_total += o.span_limit_total;
    }

    /// The `stats.detect.columns` member.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "tables_total": self.tables_total,
            "hits_total": self.hits_total,
            "columns_limit_total": self.columns_limit_total,
            "header_cell_limit_total": self.header_cell_limit_total,
            "header_line_limit_total": self.header_line_limit_total,
            "cell_limit_total": self.cell_limit_total,
            "quote_limit_total": self.quote_limit_total,
            "span_limit_total": self.span_limit_total,
        })
    }
}

/// Column state of one content item, kept by the caller next to the
/// item's [`StreamState`](super::StreamState) (the records tracker does)
/// and passed to [`Scanner::scan_stream_columns`]; a fresh one per item.
#[derive(Clone, Debug, Default)]
pub enum Slot {
    /// Nothing meaningful seen yet.
    #[default]
    Fresh,
    /// Not tabular: nothing more is done for this item.
    Off,
    /// Tabular (or HTML, which may hold tables).
    On(Box<Columns>),
}

impl Slot {
    /// Bytes of the item were lost (the stream is now at offset `now`).
    pub fn gap(&mut self, now: u64) {
        if let Slot::On(c) = self {
            c.gap(now);
        }
    }
}

/// What a header cell maps its column to.
#[derive(Clone, Debug, Default)]
struct Column {
    /// Field detectors and their value check.
    fields: Vec<(DetectorId, ValueCheck)>,
    /// Other detectors that get their context confidence in this column
    /// (bit per detector id; ids from 64 on never do).
    boost: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    /// Buffering the first line.
    #[default]
    Head,
    /// CSV data rows with this delimiter.
    Csv(u8),
    /// HTML.
    Html,
    /// Nothing mapped.
    Off,
}

/// The cell being read.
#[derive(Clone, Debug, Default)]
struct Cell {
    open: bool,
    header: bool,
    /// Its value is wanted (header, or a field column).
    want: bool,
    col: usize,
    /// Stream offset of its first raw byte.
    start: u64,
    /// Stream offset of its first value byte (when `buf` is not empty).
    vstart: u64,
    buf: Vec<u8>,
    /// Too long: not checked.
    over: bool,
    /// HTML: its first text run ended.
    done: bool,
    /// CSV: no byte seen yet (a `"` here opens a quoted field).
    fresh: bool,
    quoted: bool,
    quote_pending: bool,
}

/// A data cell that passed its column's check.
#[derive(Clone, Copy, Debug)]
struct Hit {
    det: DetectorId,
    offset: u64,
    val: (u32, u32),
}

/// Column mapping state (boxed in a [`Slot`]).
#[derive(Clone, Debug, Default)]
pub struct Columns {
    mode: Mode,
    /// Stream offset of the next byte.
    pos: u64,
    cols: Vec<Column>,
    /// Next column index in the row.
    col: usize,
    cell: Cell,
    head: Vec<u8>,
    /// CSV: skip to the next line (after a gap or a runaway quote).
    resync: bool,
    // HTML.
    in_tag: bool,
    tag: [u8; TAG_MAX],
    tag_len: usize,
    name_done: bool,
    /// Rows seen in the current table.
    rows: u32,
    header_row: bool,
    /// A `<th>`/`<td>` tag: open a cell (a header cell?) after its `>`.
    open_on_gt: Option<bool>,
    // Output.
    hits: Vec<Hit>,
    vals: Vec<u8>,
    /// (first byte, end, boost bits) of recent cells of context columns,
    /// in stream order (the mapping may change before they are used).
    spans: Vec<(u64, u64, u64)>,
}

/// What processing needs from the scanner and engine.
struct Cx<'a> {
    eng: &'a Engine,
    kw: &'a mut KwScratch,
    key: &'a mut Vec<u8>,
    stats: &'a mut ColumnStats,
}

/// The delimiter of a header line: the most frequent of [`DELIMS`].
fn delimiter(line: &[u8]) -> Option<u8> {
    let mut best = (0usize, 0u8);
    for d in DELIMS {
        let n = memchr::memchr_iter(d, line).count();
        if n > best.0 {
            best = (n, d);
        }
    }
    (best.0 > 0).then_some(best.1)
}

/// The header cell starting at `k` of `line` (quotes removed, `""` kept)
/// and the index after its delimiter.
fn header_cell(line: &[u8], k: usize, delim: u8) -> (&[u8], usize) {
    let rest = line.get(k..).unwrap_or_default();
    if rest.first() == Some(&b'"') {
        let inner = rest.get(1..).unwrap_or_default();
        let mut j = 0;
        while let Some(q) = inner.get(j..).and_then(|t| memchr::memchr(b'"', t)) {
            if inner.get(j + q + 1) == Some(&b'"') {
                j += q + 2;
                continue;
            }
            let after = inner.get(j + q + 1..).unwrap_or_default();
            let next = memchr::memchr(delim, after).map_or(line.len() + 1, |d| k + j + q + d + 3);
            return (inner.get(..j + q).unwrap_or_default(), next);
        }
        return (inner, line.len() + 1);
    }
    match memchr::memchr(delim, rest) {
        Some(d) => (rest.get(..d).unwrap_or_default(), k + d + 1),
        None => (rest, line.len() + 1),
    }
}

impl Column {
    /// The mapping of a header cell with text `t`.
    fn of_header(cx: &mut Cx<'_>, t: &[u8]) -> Column {
        let t = t.trim_ascii();
        if t.len() > MAX_HEADER_CELL {
            cx.stats.header_cell_limit_total += 1;
            return Column::default();
        }
        if t.is_empty() {
            return Column::default();
        }
        fields::norm_key(t, cx.key);
        let mut words = [0u64; 2];
        let dets = &cx.eng.dets;
        cx.eng.kw.scan(cx.kw, t, None, &mut |g, _| {
            let d = g / 2;
            let field = dets
                .get(usize::from(d))
                .is_none_or(|x| matches!(x.family, Family::Field(_)));
            if let (false, Some(bit), Some(w)) = (
                field,
                1u64.checked_shl(u32::from(d)),
                words.get_mut(usize::from(g % 2)),
            ) {
                *w |= bit;
            }
        });
        Column {
            fields: cx.eng.fields.lookup(cx.key).to_vec(),
            boost: words[0] & !words[1],
        }
    }

    fn mapped(&self) -> bool {
        !self.fields.is_empty() || self.boost != 0
    }
}

impl Columns {
    /// Clears everything for a new item at `pos`, keeping allocations.
    fn reset(&mut self, mode: Mode, pos: u64) {
        let mut cols = std::mem::take(&mut self.cols);
        let mut hits = std::mem::take(&mut self.hits);
        let mut vals = std::mem::take(&mut self.vals);
        let mut spans = std::mem::take(&mut self.spans);
        let mut head = std::mem::take(&mut self.head);
        let mut buf = std::mem::take(&mut self.cell.buf);
        cols.clear();
        hits.clear();
        vals.clear();
        spans.clear();
        head.clear();
        buf.clear();
        *self = Columns {
            mode,
            pos,
            cols,
            hits,
            vals,
            spans,
            head,
            ..Columns::default()
        };
        self.cell.buf = buf;
    }

    /// The next bytes `b` (at stream offset `self.pos`).
    fn push(&mut self, cx: &mut Cx<'_>, b: &[u8]) {
        let keep = self.pos.saturating_sub(SPAN_KEEP);
        let old = self.spans.partition_point(|&(_, e, _)| e < keep);
        self.spans.drain(..old);
        let mut b = b;
        if self.mode == Mode::Head {
            let n = self.head_line(cx, b);
            self.pos += n as u64;
            b = b.get(n..).unwrap_or_default();
        }
        match self.mode {
            Mode::Csv(d) => self.csv(cx, b, d),
            Mode::Html => self.html(cx, b),
            Mode::Head | Mode::Off => self.pos += b.len() as u64,
        }
        self.settle();
    }

    /// A cell open past [`CELL_RAW_MAX`] is given up, so that no cell
    /// older than that is undecided at the end of a call.
    fn settle(&mut self) {
        let c = &mut self.cell;
        if c.open && !c.header && !c.over && self.pos.saturating_sub(c.start) > CELL_RAW_MAX {
            c.over = true;
        }
    }

    /// Buffers the first line; decides the delimiter and mapping when it
    /// is complete. Returns the bytes consumed.
    fn head_line(&mut self, cx: &mut Cx<'_>, b: &[u8]) -> usize {
        let nl = memchr::memchr(b'\n', b);
        if self.head.len() + nl.unwrap_or(b.len()) > MAX_HEADER_LINE {
            cx.stats.header_line_limit_total += 1;
            self.mode = Mode::Off;
            return b.len();
        }
        let Some(j) = nl else {
            self.head.extend_from_slice(b);
            return b.len();
        };
        // The whole line in this chunk (the usual case): no copy.
        let mut head = std::mem::take(&mut self.head);
        let line = if head.is_empty() {
            b.get(..j).unwrap_or_default()
        } else {
            head.extend_from_slice(b.get(..j).unwrap_or_default());
            &head
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.mode = match delimiter(line) {
            Some(d) if self.map_line(cx, line, d) => {
                cx.stats.tables_total += 1;
                Mode::Csv(d)
            }
            _ => Mode::Off,
        };
        head.clear();
        self.head = head;
        self.row_start(self.pos + j as u64 + 1);
        j + 1
    }

    /// Maps the cells of a header line; whether any column maps.
    fn map_line(&mut self, cx: &mut Cx<'_>, line: &[u8], delim: u8) -> bool {
        let mut k = 0;
        let mut n = 0;
        while k <= line.len() {
            let (t, next) = header_cell(line, k, delim);
            if n >= MAX_COLUMNS {
                cx.stats.columns_limit_total += 1;
                break;
            }
            self.cols.push(Column::of_header(cx, t));
            n += 1;
            k = next;
        }
        while self.cols.last().is_some_and(|c| !c.mapped()) {
            self.cols.pop();
        }
        !self.cols.is_empty()
    }

    /// A new row starts at `at`: its first cell opens.
    fn row_start(&mut self, at: u64) {
        self.col = 0;
        self.open_cell(false, at);
    }

    /// Opens the cell of column `self.col` at `at` (and moves `col` on).
    fn open_cell(&mut self, header: bool, at: u64) {
        let col = self.col;
        self.col = self.col.saturating_add(1);
        let want = header || self.cols.get(col).is_some_and(|c| !c.fields.is_empty());
        let c = &mut self.cell;
        c.open = true;
        c.header = header;
        c.want = want;
        c.col = col;
        c.start = at;
        c.vstart = at;
        c.buf.clear();
        c.over = false;
        c.done = false;
        c.fresh = true;
        c.quoted = false;
        c.quote_pending = false;
    }

    /// Bytes `b` at stream offset `at` belong to the open cell.
    fn take(&mut self, b: &[u8], at: u64) {
        let c = &mut self.cell;
        if !c.open || c.over || c.done || b.is_empty() {
            return;
        }
        c.fresh = false;
        let end = at + b.len() as u64;
        if !c.header && end.saturating_sub(c.start) > CELL_RAW_MAX {
            c.over = true;
            return;
        }
        if !c.want {
            return;
        }
        let b = if c.buf.is_empty() {
            let k = b
                .iter()
                .position(|x| !x.is_ascii_whitespace())
                .unwrap_or(b.len());
            c.vstart = at + k as u64;
            b.get(k..).unwrap_or_default()
        } else {
            b
        };
        if c.buf.len() + b.len() > MAX_HEADER_CELL.max(VALUE_MAX) + 1 {
            c.over = true;
            return;
        }
        c.buf.extend_from_slice(b);
    }

    /// Ends the open cell at stream offset `end`: maps a header cell,
    /// checks a data cell.
    fn end_cell(&mut self, cx: &mut Cx<'_>, end: u64) {
        if !self.cell.open {
            return;
        }
        self.cell.open = false;
        let c = &self.cell;
        if c.header {
            if c.col >= MAX_COLUMNS {
                cx.stats.columns_limit_total += 1;
                return;
            }
            let col = if c.over {
                cx.stats.header_cell_limit_total += 1;
                Column::default()
            } else {
                Column::of_header(cx, &c.buf)
            };
            if self.cols.len() <= c.col {
                self.cols.resize(c.col + 1, Column::default());
            }
            if let Some(slot) = self.cols.get_mut(c.col) {
                *slot = col;
            }
            return;
        }
        let Some(col) = self.cols.get(c.col) else {
            return;
        };
        if col.boost != 0 {
            if self.spans.len() < MAX_SPANS {
                self.spans.push((c.start, end, col.boost));
            } else {
                cx.stats.span_limit_total += 1;
            }
        }
        if !c.done {
            self.check_value(cx);
        }
    }

    /// Checks the value of the current data cell against its column's
    /// field detectors. Once per cell: at its end, or (HTML) when its
    /// first text run ends, so that markup after the value neither holds
    /// the families back nor counts towards [`CELL_RAW_MAX`].
    fn check_value(&mut self, cx: &mut Cx<'_>) {
        let c = &self.cell;
        if c.header {
            return;
        }
        let Some(col) = self.cols.get(c.col) else {
            return;
        };
        if col.fields.is_empty() {
            return;
        }
        if c.over {
            cx.stats.cell_limit_total += 1;
            return;
        }
        let v = c.buf.trim_ascii_end();
        if v.is_empty() || v.len() > VALUE_MAX {
            return;
        }
        if let Some(&(det, _)) = col.fields.iter().find(|(_, check)| check.check(v)) {
            let a = self.vals.len() as u32;
            self.vals.extend_from_slice(v);
            self.hits.push(Hit {
                det,
                offset: c.vstart,
                val: (a, self.vals.len() as u32),
            });
            cx.stats.hits_total += 1;
        }
    }

    /// CSV data rows.
    fn csv(&mut self, cx: &mut Cx<'_>, b: &[u8], delim: u8) {
        let end = b.len();
        let mut i = 0;
        while i < end {
            let at = self.pos + i as u64;
            let rest = b.get(i..).unwrap_or_default();
            if self.resync {
                match memchr::memchr(b'\n', rest) {
                    Some(j) => {
                        self.resync = false;
                        i += j + 1;
                        self.row_start(at + j as u64 + 1);
                    }
                    None => i = end,
                }
                continue;
            }
            if self.cell.quoted {
                i += self.quoted(cx, rest, at);
                continue;
            }
            if self.cell.fresh && rest.first() == Some(&b'"') {
                self.cell.fresh = false;
                self.cell.quoted = true;
                i += 1;
                continue;
            }
            let Some(j) = memchr::memchr2(delim, b'\n', rest) else {
                self.take(rest, at);
                break;
            };
            self.take(rest.get(..j).unwrap_or_default(), at);
            let sep = at + j as u64;
            self.end_cell(cx, sep);
            i += j + 1;
            if rest.get(j) == Some(&b'\n') {
                self.row_start(sep + 1);
            } else {
                self.open_cell(false, sep + 1);
            }
        }
        self.pos += end as u64;
    }

    /// Inside a quoted CSV field: returns the bytes consumed of `rest`
    /// (at stream offset `at`).
    fn quoted(&mut self, cx: &mut Cx<'_>, rest: &[u8], at: u64) -> usize {
        if self.cell.quote_pending {
            self.cell.quote_pending = false;
            if rest.first() == Some(&b'"') {
                self.take(b"\"", at);
                return 1;
            }
            self.cell.quoted = false;
            return 0;
        }
        // Last relative index a closing quote may sit at.
        let limit = (self.cell.start + MAX_QUOTED).saturating_sub(at) as usize;
        match memchr::memchr(b'"', rest) {
            Some(j) if j <= limit => {
                self.take(rest.get(..j).unwrap_or_default(), at);
                self.cell.quote_pending = true;
                j + 1
            }
            _ if limit < rest.len() => {
                cx.stats.quote_limit_total += 1;
                self.cell.open = false;
                self.cell.quoted = false;
                self.resync = true;
                limit
            }
            _ => {
                self.take(rest, at);
                rest.len()
            }
        }
    }

    /// HTML: tags and the text between them.
    fn html(&mut self, cx: &mut Cx<'_>, b: &[u8]) {
        let end = b.len();
        let mut i = 0;
        while i < end {
            let at = self.pos + i as u64;
            let rest = b.get(i..).unwrap_or_default();
            if self.in_tag && !self.name_done {
                let c = rest.first().copied().unwrap_or(0);
                if records::tag_name_byte(&mut self.tag, &mut self.tag_len, c) {
                    i += 1;
                    continue;
                }
                self.name_done = true;
                self.tag_named(cx, at);
                continue;
            }
            if self.in_tag {
                match memchr::memchr(b'>', rest) {
                    Some(j) => {
                        i += j + 1;
                        self.in_tag = false;
                        if let Some(h) = self.open_on_gt.take() {
                            self.open_cell(h, at + j as u64 + 1);
                        }
                    }
                    None => i = end,
                }
                continue;
            }
            let j = memchr::memchr(b'<', rest);
            self.take(rest.get(..j.unwrap_or(rest.len())).unwrap_or_default(), at);
            let Some(j) = j else {
                break;
            };
            if !self.cell.buf.is_empty() && !self.cell.done {
                self.cell.done = true;
                self.check_value(cx);
            }
            i += j + 1;
            self.in_tag = true;
            self.tag_len = 0;
            self.name_done = false;
        }
        self.pos += end as u64;
    }

    /// A tag name ended at `at`.
    fn tag_named(&mut self, cx: &mut Cx<'_>, at: u64) {
        let tag = self.tag;
        let name = tag.get(..self.tag_len).unwrap_or_default();
        match name {
            b"table" | b"/table" => {
                self.end_cell(cx, at);
                self.end_header(cx);
                self.cols.clear();
                self.rows = 0;
            }
            b"tr" => {
                self.end_cell(cx, at);
                self.end_header(cx);
                self.rows = self.rows.saturating_add(1);
                self.header_row = self.rows == 1;
                self.col = 0;
            }
            b"th" if self.rows > 1 => {
                // A `<th>` in a later row heads that row (the label of a
                // key/value table, `<th>单位</th><td>…</td>`): it takes its
                // position but holds no value.
                self.end_cell(cx, at);
                self.col = self.col.saturating_add(1);
            }
            b"th" | b"td" if self.rows > 0 => {
                self.end_cell(cx, at);
                self.open_on_gt = Some(self.header_row && name == b"th");
            }
            b"/th" | b"/td" => self.end_cell(cx, at),
            b"/tr" => {
                self.end_cell(cx, at);
                self.end_header(cx);
            }
            _ => {}
        }
    }

    /// The header row of a table ended.
    fn end_header(&mut self, cx: &mut Cx<'_>) {
        if !self.header_row {
            return;
        }
        self.header_row = false;
        if self.cols.iter().any(Column::mapped) {
            cx.stats.tables_total += 1;
        }
    }

    /// The item ends: the open cell ends here.
    fn finish(&mut self, cx: &mut Cx<'_>) {
        if matches!(self.mode, Mode::Csv(_) | Mode::Html) {
            let at = self.pos;
            self.end_cell(cx, at);
        }
    }

    /// Bytes were lost: the open cell is dropped, and rows are found again
    /// from the next line (CSV) or tag (HTML).
    fn gap(&mut self, now: u64) {
        self.cell.open = false;
        self.hits.clear();
        self.vals.clear();
        self.spans.clear();
        self.pos = now;
        self.in_tag = false;
        self.open_on_gt = None;
        match self.mode {
            Mode::Csv(_) => self.resync = true,
            Mode::Head => self.mode = Mode::Off,
            Mode::Html | Mode::Off => {}
        }
    }

    /// Start of the open cell of a field column whose value is undecided
    /// (until the cell ends, or in HTML its first text run).
    fn cut(&self) -> Option<u64> {
        let c = &self.cell;
        (c.open && c.want && !c.header && !c.over && !c.done).then_some(c.start)
    }

    /// Does a match of `d` at stream offset `o` lie in a cell of a column
    /// whose header holds one of `d`'s context words?
    fn boost(&self, d: DetectorId, o: u64) -> bool {
        let bit = 1u64.checked_shl(u32::from(d)).unwrap_or(0);
        let c = &self.cell;
        if c.open && !c.header && o >= c.start {
            return self.cols.get(c.col).is_some_and(|x| x.boost & bit != 0);
        }
        let i = self.spans.partition_point(|&(s, _, _)| s <= o);
        i.checked_sub(1)
            .and_then(|i| self.spans.get(i))
            .is_some_and(|&(_, e, b)| o < e && b & bit != 0)
    }
}

impl Scanner {
    /// The column pass over `data`, the next bytes of the current stream
    /// (its slot is in `self.cols`) at stream offset `at`.
    pub(super) fn columns_push(&mut self, eng: &Engine, data: &[u8], at: u64) {
        if matches!(self.cols, Slot::Off) || data.is_empty() {
            return;
        }
        let Scanner {
            cols,
            kw,
            field_key,
            col_stats,
            col_spare,
            ..
        } = self;
        if matches!(cols, Slot::Fresh) {
            let Some((i, layout)) = records::sniff_layout(data) else {
                return;
            };
            let mode = match layout {
                Layout::Html => Mode::Html,
                Layout::Lines => Mode::Head,
                Layout::Json | Layout::Unknown => {
                    *cols = Slot::Off;
                    return;
                }
            };
            let mut c = col_spare.take().unwrap_or_default();
            c.reset(mode, at + i as u64);
            *cols = Slot::On(c);
        }
        let Slot::On(c) = cols else {
            return;
        };
        if c.pos < at {
            c.gap(at);
        }
        let from = usize::try_from(c.pos - at).unwrap_or(usize::MAX);
        let mut cx = Cx {
            eng,
            kw,
            key: field_key,
            stats: col_stats,
        };
        c.push(&mut cx, data.get(from..).unwrap_or_default());
        if c.mode == Mode::Off {
            if let Slot::On(b) = std::mem::replace(cols, Slot::Off) {
                *col_spare = Some(b);
            }
        }
    }

    /// The current stream ends: its open cell ends.
    pub(super) fn columns_finish(&mut self, eng: &Engine) {
        let Scanner {
            cols,
            kw,
            field_key,
            col_stats,
            ..
        } = self;
        if let Slot::On(c) = cols {
            let mut cx = Cx {
                eng,
                kw,
                key: field_key,
                stats: col_stats,
            };
            c.finish(&mut cx);
        }
    }

    /// Ends the use of a slot: its box goes back to the spare.
    pub(super) fn columns_recycle(&mut self, slot: &mut Slot) {
        if let Slot::On(b) = std::mem::take(slot) {
            self.col_spare = Some(b);
        }
    }

    /// [`Scanner::scan_stream`] with column mapping; `slot` is the column
    /// state of the item (see [`Slot`]).
    pub fn scan_stream_columns(
        &mut self,
        st: &mut StreamState,
        slot: &mut Slot,
        data: &[u8],
        sink: &mut dyn MatchSink,
    ) {
        self.cols = std::mem::take(slot);
        self.scan_stream(st, data, sink);
        *slot = std::mem::replace(&mut self.cols, Slot::Off);
    }

    /// [`Scanner::finish_stream`] with column mapping (the item ends).
    pub fn finish_stream_columns(
        &mut self,
        st: &mut StreamState,
        slot: &mut Slot,
        sink: &mut dyn MatchSink,
    ) {
        self.cols = std::mem::take(slot);
        self.finish_stream(st, sink);
        let mut done = std::mem::replace(&mut self.cols, Slot::Off);
        self.columns_recycle(&mut done);
    }

    /// [`Scanner::gap`] with column mapping: hits of ended cells are
    /// reported with the carry, the open cell is dropped and rows are found
    /// again after the gap.
    pub fn gap_columns(&mut self, st: &mut StreamState, slot: &mut Slot, sink: &mut dyn MatchSink) {
        self.cols = std::mem::take(slot);
        self.gap(st, sink);
        *slot = std::mem::replace(&mut self.cols, Slot::Off);
        slot.gap(st.offset());
    }

    /// The column frontier relative to `base` (`usize::MAX`: none).
    pub(super) fn columns_cut(&self, base: u64) -> usize {
        match &self.cols {
            Slot::On(c) => c.cut().map_or(usize::MAX, |o| {
                usize::try_from(o.saturating_sub(base)).unwrap_or(usize::MAX)
            }),
            _ => usize::MAX,
        }
    }

    /// Records the column hits before `cut` (relative to `w`), all of them
    /// at the end of the stream.
    pub(super) fn columns_release(&mut self, w: &Work<'_>, cut: usize) {
        let mut slot = std::mem::take(&mut self.cols);
        if let Slot::On(c) = &mut slot {
            let upto = if w.eof {
                u64::MAX
            } else {
                w.base.saturating_add(cut as u64)
            };
            let n = c.hits.iter().take_while(|h| h.offset < upto).count();
            let before = self.found.len();
            for h in c.hits.iter().take(n) {
                // A hit is never before the carry (the cut holds it).
                let Some(s) = h.offset.checked_sub(w.base) else {
                    continue;
                };
                let s = usize::try_from(s).unwrap_or(usize::MAX);
                let v = c
                    .vals
                    .get(h.val.0 as usize..h.val.1 as usize)
                    .unwrap_or_default();
                self.value.clear();
                self.value.extend_from_slice(v);
                self.record(w, h.det, s, s + v.len(), false, s);
            }
            // In front, so that a column hit wins over a match of the same
            // span found otherwise (`shadowed` keeps the first).
            let added = self.found.len() - before;
            self.found.rotate_right(added);
            c.hits.drain(..n);
            if c.hits.is_empty() {
                c.vals.clear();
            }
        }
        self.cols = slot;
    }

    /// Whether a match of `d` at stream offset `o` is in a context column.
    pub(super) fn column_boost(&self, d: DetectorId, o: u64) -> bool {
        match &self.cols {
            Slot::On(c) => c.boost(d, o),
            _ => false,
        }
    }

    /// What the column mapping counted with this scanner.
    pub fn column_stats(&self) -> ColumnStats {
        self.col_stats
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::super::super::validators::mod11_2_check;
    use super::super::{Engine, StreamState};
    use super::*;
    use crate::detect::{Confidence, EngineOptions, Match, MatchSink};

    /// The shipped signatures with a fixed "today".
    pub(crate) fn engine() -> Arc<Engine> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
        let opts = EngineOptions {
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 23),
            ..EngineOptions::default()
        };
        Arc::new(Engine::load_dir(&dir, &opts).expect("signatures"))
    }

    /// (offset, detector id, value, confidence) of each match.
    #[derive(Default)]
    pub(crate) struct All(
        pub(crate) Vec<(u64, String, String, Confidence)>,
        pub(crate) Option<Arc<Engine>>,
    );
    impl MatchSink for All {
        fn on_match(&mut self, m: &Match<'_>) {
            let id = self
                .1
                .as_ref()
                .and_then(|e| e.detectors().get(usize::from(m.detector)))
                .map(|d| d.id.clone())
                .unwrap_or_default();
            let v = String::from_utf8_lossy(m.value).into_owned();
            self.0.push((m.offset, id, v, m.confidence));
        }
    }

    fn whole(e: &Arc<Engine>, data: &[u8]) -> Vec<(u64, String, String, Confidence)> {
        let mut a = All(Vec::new(), Some(Arc::clone(e)));
        e.scan_buffer(data, &mut a);
        a.0
    }

    fn chunked(
        e: &Arc<Engine>,
        data: &[u8],
        cuts: &[usize],
    ) -> Vec<(u64, String, String, Confidence)> {
        let mut s = e.scanner();
        let mut st = StreamState::default();
        let mut slot = Slot::default();
        let mut a = All(Vec::new(), Some(Arc::clone(e)));
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        points.sort_unstable();
        points.push(data.len());
        let mut at = 0;
        for p in points {
            let chunk = data.get(at..p).unwrap_or_default();
            s.scan_stream_columns(&mut st, &mut slot, chunk, &mut a);
            at = p;
        }
        s.finish_stream_columns(&mut st, &mut slot, &mut a);
        // Carry (its capacity at most its bound), the context
        // history (the longest default window, 128, and a word) and the
        // reported matches that reach past a call (96).
        assert!(
            st.heap_bytes() <= StreamState::CARRY_MAX + 160 + StreamState::EXTRA_MAX,
            "{}",
            st.heap_bytes()
        );
        a.0
    }

    fn id18(seed: u64) -> String {
        let first = format!(
            "11010519{:02}0{}{:02}{:03}",
            60 + seed % 30,
            1 + seed % 9,
            10 + seed % 18,
            seed % 1000
        );
        let c = mod11_2_check(first.as_bytes()).unwrap_or(b'0');
        format!("{first}{}", c as char)
    }

    const NAMES: [&str; 5] = ["张伟", "王芳", "李娜", "欧阳娜娜", "陈静"];

    fn csv(rows: usize, delim: &str) -> String {
        let mut t = ["序号", "姓名", "身份证号", "手机", "住址", "备注"].join(delim);
        t.push('\n');
        for i in 0..rows {
            let cells = [
                i.to_string(),
                NAMES[i % 5].to_string(),
                id18(i as u64),
                format!("1381234{:04}", i),
                format!("北京市朝阳区建国路{}号", i + 1),
                // Decoys: a name and an address in a note column.
                if i % 2 == 0 {
                    "王强".into()
                } else {
                    "\"上海市, 浦东\"".into()
                },
            ];
            t.push_str(&cells.join(delim));
            t.push_str("\r\n");
        }
        t
    }

    fn count(v: &[(u64, String, String, Confidence)], id: &str) -> usize {
        v.iter().filter(|m| m.1 == id).count()
    }

    #[test]
    fn csv_columns_map_fields_and_context() {
        let e = engine();
        for delim in [",", "\t", ";", "|"] {
            let data = csv(40, delim);
            let v = whole(&e, data.as_bytes());
            assert_eq!(count(&v, "cn_name"), 40, "{delim:?}: {v:?}");
            assert!(v.iter().all(|m| m.2 != "王强"), "note column");
            assert_eq!(count(&v, "cn_address"), 40, "{delim:?}");
            assert_eq!(
                count(&v, "cn_address.text"),
                0,
                "shadowed by the column hit"
            );
            let ids: Vec<_> = v.iter().filter(|m| m.1 == "cn_resident_id.18").collect();
            assert_eq!(ids.len(), 40);
            assert!(ids.iter().all(|m| m.3 == Confidence::High), "{ids:?}");
            assert_eq!(chunked(&e, data.as_bytes(), &[7, 100, 101, 333, 1000]), v);
        }
    }

    #[test]
    fn unmapped_columns_and_free_text_do_nothing() {
        let e = engine();
        let mut s = e.scanner();
        let mut st = StreamState::default();
        let mut a = All::default();
        let mut slot = Slot::default();
        let t = "备注,说明\n张伟,王芳\n".as_bytes();
        s.scan_stream_columns(&mut st, &mut slot, t, &mut a);
        assert!(matches!(slot, Slot::Off));
        assert!(a.0.is_empty());
        let mut st = StreamState::default();
        let mut slot = Slot::default();
        s.scan_stream_columns(&mut st, &mut slot, br#"{"a": "b,c"}"#, &mut a);
        assert!(matches!(slot, Slot::Off));
        // Names alone are never a guess without a column.
        assert!(whole(&e, "张伟,王芳\n李娜,陈静\n".as_bytes()).is_empty());
    }

    #[test]
    fn quoted_cells_and_multiline_quotes() {
        let e = engine();
        let data = "\"姓名\",\"地址\"\n\"张伟\",\"北京市朝阳区建国路1号\"\n\"a\nb\",x\n\"王\"\"芳\",y\n李娜,\"广东省深圳市南山区科技园10栋\"";
        let v = whole(&e, data.as_bytes());
        let names: Vec<_> = v
            .iter()
            .filter(|m| m.1 == "cn_name")
            .map(|m| m.2.as_str())
            .collect();
        assert_eq!(names, ["张伟", "李娜"]);
        assert_eq!(count(&v, "cn_address"), 2, "{v:?}");
        // The value offset is its first byte.
        let off = data.find("张伟").unwrap_or(0) as u64;
        assert_eq!(v.first().map(|m| m.0), Some(off));
        for cut in 0..data.len() {
            assert_eq!(chunked(&e, data.as_bytes(), &[cut]), v, "cut {cut}");
        }
    }

    #[test]
    fn html_tables() {
        let e = engine();
        let data = "<html><body><p>王芳</p><table class=t>\n<tr><TH>序号</th><th>姓名</th><th>民族</th><th>备注</th><th>身份证号</th></tr>\n\
            <tr><td>1</td><td><b>张伟</b></td><td>汉族</td><td>李娜</td><td>11010519491231002X</td></tr>\n\
            <tr><td colspan=2>2</td><td>王芳</td><td>回族</td><td></td></tr>\n</table>\
            <table><tr><td>姓名</td><td>陈静</td></tr></table></body></html>";
        let v = whole(&e, data.as_bytes());
        let got: Vec<_> = v.iter().map(|m| (m.1.as_str(), m.2.as_str())).collect();
        // colspan is ignored: cells count by position, so 王芳 is under
        // 姓名 (once: the one in <p> is no cell) and 回族 under 民族. The
        // last table maps no column (no <th>): its one row is a key/value
        // pair, found by the field family (`fields_html.rs`).
        assert_eq!(
            got,
            [
                ("cn_name", "张伟"),
                ("sensitive_attr", "汉族"),
                ("cn_resident_id.18", "11010519491231002X"),
                ("cn_name", "王芳"),
                ("sensitive_attr", "回族"),
                ("cn_name", "陈静")
            ]
        );
        let id = v.iter().find(|m| m.1 == "cn_resident_id.18");
        assert_eq!(id.map(|m| m.3), Some(Confidence::High), "{v:?}");
        for cut in (0..data.len()).step_by(3) {
            assert_eq!(
                chunked(&e, data.as_bytes(), &[cut, cut + 40]),
                v,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn bounds_hold_and_are_counted() {
        let e = engine();
        let mut s = e.scanner();
        // 70 columns: the 姓名 one past MAX_COLUMNS is not mapped.
        let mut head: Vec<String> = (0..69).map(|i| format!("c{i}")).collect();
        head.insert(1, "姓名".into());
        head.push("姓名".into());
        let mut row: Vec<String> = (0..71).map(|_| "张伟".into()).collect();
        row[1] = "王芳".into();
        let data = format!("{}\n{}\n", head.join(","), row.join(","));
        let mut a = All(Vec::new(), Some(Arc::clone(&e)));
        s.scan_buffer(data.as_bytes(), &mut a);
        let names: Vec<_> = a.0.iter().map(|m| m.2.as_str()).collect();
        assert_eq!(names, ["王芳"]);
        assert_eq!(s.column_stats().columns_limit_total, 1);
        // A cell over CELL_RAW_MAX is not checked; a header cell over
        // MAX_HEADER_CELL maps nothing; a first line over MAX_HEADER_LINE
        // turns the item off.
        let long = format!(
            "姓名,x\n{}张伟,1\n张伟,2\n",
            " ".repeat(CELL_RAW_MAX as usize)
        );
        let mut a = All(Vec::new(), Some(Arc::clone(&e)));
        s.scan_buffer(long.as_bytes(), &mut a);
        assert_eq!(a.0.len(), 1);
        assert_eq!(s.column_stats().cell_limit_total, 1);
        let wide = format!("a,{}姓名\n1,张伟\n", "x".repeat(MAX_HEADER_CELL));
        s.scan_buffer(wide.as_bytes(), &mut All::default());
        assert_eq!(s.column_stats().header_cell_limit_total, 1);
        let huge = format!("姓名,{}\n张伟,1\n", "x".repeat(MAX_HEADER_LINE));
        let mut a = All::default();
        s.scan_buffer(huge.as_bytes(), &mut a);
        assert!(a.0.is_empty());
        assert_eq!(s.column_stats().header_line_limit_total, 1);
    }

    #[test]
    fn gap_resyncs_at_the_next_line() {
        let e = engine();
        let mut s = e.scanner();
        let mut st = StreamState::default();
        let mut a = All(Vec::new(), Some(Arc::clone(&e)));
        // 张伟 is still carried at the gap: its cell ended, so it is
        // decided there; the cell cut by the gap (王...) is dropped.
        let first = "姓名,备注\n张伟,x\nz,y\n王".to_string();
        let mut slot = Slot::default();
        s.scan_stream_columns(&mut st, &mut slot, first.as_bytes(), &mut a);
        s.gap_columns(&mut st, &mut slot, &mut a);
        let t = "芳,y\n李娜,z\n".as_bytes();
        s.scan_stream_columns(&mut st, &mut slot, t, &mut a);
        s.finish_stream_columns(&mut st, &mut slot, &mut a);
        let names: Vec<_> = a.0.iter().map(|m| m.2.as_str()).collect();
        assert_eq!(names, ["张伟", "李娜"]);
    }

    /// Every split of `doc` into two chunks gives the findings of the whole.
    fn same_at_every_split(e: &Arc<Engine>, doc: &str) -> Vec<(u64, String, String, Confidence)> {
        let w = whole(e, doc.as_bytes());
        for cut in 0..=doc.len() {
            assert_eq!(chunked(e, doc.as_bytes(), &[cut]), w, "split at {cut}");
        }
        w
    }

    #[test]
    fn a_value_shadows_a_match_inside_it_decided_by_a_later_call() {
        // The 住址 value (which holds more than the address the free-text
        // regex finds in it) is decided before that regex match: the
        // regex family looks further ahead. The call that decides the
        // regex match must still see that it lies inside a reported
        // address.
        let e = engine();
        let doc = format!("住址：住址北京市朝阳区建国路88号\n{}", "x".repeat(150));
        let w = same_at_every_split(&e, &doc);
        assert_eq!(w.len(), 1, "{w:?}");
    }

    #[test]
    fn html_value_is_decided_at_the_end_of_its_text() {
        // Markup after the value does not count towards CELL_RAW_MAX, in
        // one buffer or split anywhere.
        let e = engine();
        let doc = format!(
            "<table><tr><th>姓名</th></tr><tr><td>欧阳娜娜<span class=\"{}\"></span></td></tr></table>",
            "c".repeat(2 * CELL_RAW_MAX as usize)
        );
        let w = same_at_every_split(&e, &doc);
        let names: Vec<_> = w.iter().map(|m| m.2.as_str()).collect();
        assert_eq!(names, ["欧阳娜娜"]);
    }

    /// Pieces of tabular documents (CSV, TSV, HTML tables).
    const TABLE_PIECES: [&str; 26] = [
        "姓名",
        "住址",
        "身份证号",
        "备注",
        ",",
        "\t",
        "\n",
        "\r\n",
        "\"",
        "\"\"",
        " ",
        "张伟",
        "欧阳娜娜",
        "北京市朝阳区建国路88号",
        "11010519491231002X",
        "13812345678",
        "<tr>",
        "</tr>",
        "<th>",
        "<td>",
        "</td>",
        "<table>",
        "</th>",
        "<b>",
        ">",
        "<",
    ];

    /// More pieces for broad documents: fields, PI in several forms and
    /// decoys (valid checksums, synthetic values).
    const MORE_PIECES: [&str; 59] = [
        "手机",
        "地址：",
        "住址=",
        "&",
        "{\"address\": \"",
        "\"}",
        "邮箱",
        "zhang.wei@example.cn",
        "姓名：",
        "name=",
        "x",
        "0",
        "2026-11-24 10:00:00",
        "order 202611240001 ",
        "6222021234567890128",
        "6228 4800 1234 5671",
        "sfzh=",
        "\"idCard\":\"",
        "password=",
        "pwd: ",
        "s3cr3tPass!",
        "银行卡号",
        "卡号:",
        "+86 138-1234-5678",
        "138 1234 5678",
        "E12345678",
        "护照号",
        "民族：汉族",
        "Authorization: Basic dXNlcjpwYXNz\r\n",
        "%E5%BC%A0%E4%BC%9F",
        "&#24352;&#20255;",
        "\\u5f20\\u4f1f",
        "１３８１２３４５６７８",
        "91350100M000100Y43",
        "IMEI 490154203237518",
        "tel:010-12345678",
        "0755-87654321",
        "uuid 550e8400-e29b-41d4-a716-446655440000 ",
        "trace=0123456789abcdef0123456789abcdef ",
        // HTML labels (`fields_html.rs`).
        "<dt>",
        "</dt>",
        "<dd>",
        "单位",
        "姓　　名",
        "<td class=\"v\">",
        "<br>",
        "</b>",
        // Form controls (`fields_attr.rs`) and bracketed keys.
        "<input type=\"text\" name=\"",
        "realName",
        "\" value=\"",
        " value=\"张伟\" name=\"user[name]\"",
        "<textarea name=\"address\" rows=\"2\">",
        "</textarea>",
        "info[address]=",
        "\">",
        // Rows of four columns (`fields_html::CellEnd::Cell`).
        "</td>\n    <td class=\"k\">",
        "性别",
        "诊断",
        "高血压",
    ];

    /// Seeded, so the same documents every run (the proptests above draw
    /// new ones each run): 300 documents of up to 200 pieces, each split
    /// 8 ways at 1 to 4 random points. It fails without the cross-call
    /// shadowing of reported values (`Reported` in the engine).
    #[test]
    fn broad_documents_give_the_same_findings_at_any_split() {
        let e = engine();
        let heads = [
            "姓名,住址,身份证号\n",
            "",
            "{",
            "POST /x HTTP/1.1\r\n\r\n",
            "手机\t住址\t邮箱\n",
            "<table><tr><th>住址</th><th>手机</th><th>姓名</th></tr>",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n.max(1) as u64) as usize
        };
        let mut found = 0;
        for _ in 0..300 {
            let mut doc = heads[rnd(heads.len())].as_bytes().to_vec();
            for _ in 0..rnd(200) {
                let k = rnd(TABLE_PIECES.len() + MORE_PIECES.len());
                let piece = TABLE_PIECES
                    .get(k)
                    .or_else(|| MORE_PIECES.get(k - TABLE_PIECES.len()));
                doc.extend_from_slice(piece.unwrap_or(&"").as_bytes());
            }
            let w = whole(&e, &doc);
            found += w.len();
            for _ in 0..8 {
                let cuts: Vec<usize> = (0..=rnd(4)).map(|_| rnd(doc.len() + 1)).collect();
                assert_eq!(chunked(&e, &doc, &cuts), w, "{cuts:?}");
            }
        }
        assert!(found > 1000, "{found}");
    }

    fn arb_table() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop::sample::select(TABLE_PIECES.to_vec());
        (
            prop::sample::select(vec![
                "姓名,住址,身份证号\n",
                "<table><tr><th>姓名</th><th>身份证号</th></tr>",
                "",
                "{",
            ]),
            prop::collection::vec(piece, 0..80),
        )
            .prop_map(|(h, ps)| {
                let mut v = h.as_bytes().to_vec();
                for p in ps {
                    v.extend_from_slice(p.as_bytes());
                }
                v
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn same_findings_for_any_chunking(
            doc in arb_table(),
            cuts in prop::collection::vec(0usize..1000, 0..6),
        ) {
            let e = engine();
            prop_assert_eq!(chunked(&e, &doc, &cuts), whole(&e, &doc));
        }

        #[test]
        fn random_bytes_never_panic(
            head in prop::sample::select(vec!["姓名,手机\n", "<table><tr><th>姓名", ""]),
            doc in prop::collection::vec(any::<u8>(), 0..600),
            cuts in prop::collection::vec(0usize..700, 0..4),
        ) {
            let e = engine();
            let mut d = head.as_bytes().to_vec();
            d.extend_from_slice(&doc);
            prop_assert_eq!(chunked(&e, &d, &cuts), whole(&e, &d));
        }
    }
}
