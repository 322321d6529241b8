//! Normalisation before matching: undoes what applications do to text, so
//! that the detectors see plain UTF-8.
//!
//! Every content item goes through a chain of streaming stages, each of
//! which only works where the bytes call for it (a cheap pre-check per
//! chunk: `%`, `&`, `\`, non-ASCII bytes; an open escape held from the
//! previous chunk):
//!
//! ```text
//!  raw ─┬─ quoted-printable (armed by =\r\n or =E5=BC) → percent → charset
//!       │  (GBK/GB18030, Big5: declared, <meta charset>, or by validation)
//!       │  → HTML entities → JSON \uXXXX → full-width fold ─┬─→ scanner
//!       │                                                   └─ base64 blobs ─→ child item
//!       └─ UTF-16LE/BE runs ────────────────────────────────────────────────→ child item
//! ```
//!
//! The transparent stages are the identity on text without escapes, so an
//! item is scanned once, decoded. Base64 blobs and UTF-16 runs are *derived*
//! items: their decoded bytes go through the same chain one level deeper
//! (bounded by `max_depth`) with their own stream state. Derived output of
//! one item is bounded by `max_output`; hitting a bound is counted.
//!
//! Every match is labelled with `where` it was found: the location plus the
//! decoding chain, e.g. `http.request_body|urlencoded|gbk` or
//! `tcp.stream|base64|json`. A stage joins the label from the chunk in which
//! it first decoded something. Labels are interned `&'static str`s (bounded).

use ahash::AHashMap;
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;

use super::records::Records;
use super::{Match, MatchSink, Scanner, StreamState};

pub mod base64;
pub mod entity;
pub mod fullwidth;
pub mod qp;
pub mod text;
pub mod utf16;

use self::base64::{Base64Runs, Event};
use self::entity::Entity;
use self::fullwidth::FullWidth;
use self::qp::Qp;
use self::text::{Charset, JsonUnescape, Percent};
use self::utf16::Utf16Runs;

/// One decoding step of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// `Content-Encoding: gzip`.
    Gzip,
    /// `Content-Encoding: deflate`.
    Deflate,
    /// `Content-Encoding: br`.
    Brotli,
    /// `Content-Encoding: zstd`.
    Zstd,
    /// Quoted-printable.
    Qp,
    /// Base64.
    Base64,
    /// Percent-encoding (`+` as space in forms and queries).
    Urlencoded,
    /// GBK / GB18030 to UTF-8.
    Gbk,
    /// Big5 to UTF-8.
    Big5,
    /// UTF-16LE to UTF-8.
    Utf16le,
    /// UTF-16BE to UTF-8.
    Utf16be,
    /// HTML/XML character references.
    Html,
    /// JSON string escapes.
    Json,
    /// Full-width forms folded to ASCII.
    Fullwidth,
}

impl Step {
    /// Name in `where` labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Gzip => "gzip",
            Step::Deflate => "deflate",
            Step::Brotli => "br",
            Step::Zstd => "zstd",
            Step::Qp => "qp",
            Step::Base64 => "base64",
            Step::Urlencoded => "urlencoded",
            Step::Gbk => "gbk",
            Step::Big5 => "big5",
            Step::Utf16le => "utf16le",
            Step::Utf16be => "utf16be",
            Step::Html => "html",
            Step::Json => "json",
            Step::Fullwidth => "fullwidth",
        }
    }
}

/// Most steps a chain records (more are dropped from the label).
pub const MAX_CHAIN: usize = 8;

/// The decoding chain of a content item (small, `Copy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Chain {
    steps: [Option<Step>; MAX_CHAIN],
}

impl Chain {
    /// No decoding.
    pub const EMPTY: Chain = Chain {
        steps: [None; MAX_CHAIN],
    };

    /// This chain followed by `s` (unchanged when full).
    #[must_use]
    pub fn with(mut self, s: Step) -> Chain {
        if let Some(slot) = self.steps.iter_mut().find(|x| x.is_none()) {
            *slot = Some(s);
        }
        self
    }

    /// This chain followed by every step of `other`.
    #[must_use]
    pub fn then(self, other: &Chain) -> Chain {
        other.iter().fold(self, Chain::with)
    }

    /// The steps in order.
    pub fn iter(&self) -> impl Iterator<Item = Step> + '_ {
        self.steps.iter().map_while(|s| *s)
    }

    /// Whether `s` is in the chain.
    pub fn contains(&self, s: Step) -> bool {
        self.iter().any(|x| x == s)
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.steps[0].is_none()
    }
}

/// Distinct labels kept; past this, labels fall back to the bare location.
const MAX_LABELS: usize = 4096;

/// The `where` label of `location` decoded through `chain`
/// (`location|step|step`), interned. Takes a lock: call it when a chain
/// changes, not per byte.
pub fn where_label(location: &'static str, chain: &Chain) -> &'static str {
    if chain.is_empty() {
        return location;
    }
    // ahash: SipHash of the location string was most of this call's cost.
    static LABELS: OnceLock<Mutex<AHashMap<(&'static str, Chain), &'static str>>> = OnceLock::new();
    let map = LABELS.get_or_init(|| Mutex::new(AHashMap::new()));
    let Ok(mut m) = map.lock() else {
        return location;
    };
    if let Some(l) = m.get(&(location, *chain)) {
        return l;
    }
    if m.len() >= MAX_LABELS {
        return location;
    }
    let mut s = location.to_string();
    for st in chain.iter() {
        s.push('|');
        s.push_str(st.as_str());
    }
    let l: &'static str = Box::leak(s.into_boxed_str());
    m.insert((location, *chain), l);
    l
}

/// `[normalize]`: the normalisation chain.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeConfig {
    /// Run the chain at all (off: items are scanned as delivered).
    pub enabled: bool,
    /// Nesting of derived items (base64 in base64 ...); 0 = no derived items.
    pub max_depth: usize,
    /// Derived bytes decoded per content item.
    pub max_output: u64,
    /// Shortest base64 run decoded (characters).
    pub base64_min: usize,
    /// Shortest UTF-16 run decoded (code units).
    pub utf16_min: usize,
    /// Percent-decoding.
    pub percent: bool,
    /// HTML/XML character references.
    pub html: bool,
    /// JSON `\uXXXX` escapes.
    pub json: bool,
    /// GBK/GB18030 and Big5 transcoding.
    pub charset: bool,
    /// Full-width folding.
    pub fullwidth: bool,
    /// Quoted-printable (armed by evidence).
    pub qp: bool,
    /// Base64 blobs.
    pub base64: bool,
    /// UTF-16 runs.
    pub utf16: bool,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            enabled: true,
            max_depth: 3,
            max_output: 4 << 20,
            base64_min: 16,
            utf16_min: 8,
            percent: true,
            html: true,
            json: true,
            charset: true,
            fullwidth: true,
            qp: true,
            base64: true,
            utf16: true,
        }
    }
}

impl NormalizeConfig {
    /// Checks bounds.
    ///
    /// # Errors
    /// A message naming the bad key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_depth > 8 {
            return Err("normalize.max_depth must be at most 8".into());
        }
        if !(8..=4096).contains(&self.base64_min) {
            return Err("normalize.base64_min must be 8-4096 characters".into());
        }
        if !(4..=4096).contains(&self.utf16_min) {
            return Err("normalize.utf16_min must be 4-4096 code units".into());
        }
        Ok(())
    }
}

/// What normalisation counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NormalizeStats {
    /// Derived items (base64 blobs, UTF-16 runs) scanned.
    pub derived_items_total: u64,
    /// Bytes of derived items scanned.
    pub derived_bytes_total: u64,
    /// Items in which a transparent stage decoded something.
    pub decoded_items_total: u64,
    /// Derived data dropped at the depth or output bound.
    pub limit_total: u64,
}

impl NormalizeStats {
    /// Adds `o` to these counters.
    pub fn add(&mut self, o: &NormalizeStats) {
        self.derived_items_total += o.derived_items_total;
        self.derived_bytes_total += o.derived_bytes_total;
        self.decoded_items_total += o.decoded_items_total;
        self.limit_total += o.limit_total;
    }
}

/// Receives matches with their `where` label.
pub trait WhereSink {
    /// One match found at `where_`.
    fn on_match(&mut self, m: &Match<'_>, where_: &'static str);
}

/// Labels matches by stream offset: the last label that starts at or
/// before the match.
struct Labeled<'a> {
    sink: &'a mut dyn WhereSink,
    labels: &'a [(u64, &'static str)],
}

impl MatchSink for Labeled<'_> {
    fn on_match(&mut self, m: &Match<'_>) {
        let l = self
            .labels
            .iter()
            .rev()
            .find(|(at, _)| *at <= m.offset)
            .or(self.labels.first())
            .map_or("", |(_, l)| *l);
        self.sink.on_match(m, l);
    }
}

/// One transparent stage.
enum Stage {
    Qp(Qp),
    Pct(Percent),
    Cs(Charset),
    Ent(Entity),
    Js(JsonUnescape),
    Fw(FullWidth),
}

impl Stage {
    /// Whether the chunk needs this stage (else it passes unchanged).
    fn wants(&mut self, d: &[u8]) -> bool {
        match self {
            Stage::Qp(q) => q.wants(d),
            Stage::Pct(p) => p.busy() || memchr::memchr(b'%', d).is_some(),
            Stage::Cs(c) => c.busy() || !d.is_ascii() || c.wants_meta(),
            Stage::Ent(e) => e.busy() || memchr::memchr(b'&', d).is_some(),
            Stage::Js(j) => j.busy() || memchr::memchr(b'\\', d).is_some(),
            Stage::Fw(f) => f.busy() || fullwidth::may_fold(d),
        }
    }

    fn push(&mut self, d: &[u8], out: &mut text::Out<'_>) {
        match self {
            Stage::Qp(q) => q.push(d, out),
            Stage::Pct(p) => p.push(d, out),
            Stage::Cs(c) => c.push(d, out),
            Stage::Ent(e) => e.push(d, out),
            Stage::Js(j) => j.push(d, out),
            Stage::Fw(f) => f.push(d, out),
        }
    }

    fn flush(&mut self, out: &mut text::Out<'_>) {
        match self {
            Stage::Qp(q) => q.flush(out),
            Stage::Pct(p) => p.flush(out),
            Stage::Cs(c) => c.flush(out),
            Stage::Ent(e) => e.flush(out),
            Stage::Js(j) => j.flush(out),
            Stage::Fw(f) => f.flush(out),
        }
    }

    /// The step this stage applied so far, if any.
    fn applied(&self) -> Option<Step> {
        let on = match self {
            Stage::Qp(q) => q.decoded(),
            Stage::Pct(p) => p.decoded(),
            Stage::Cs(c) => {
                return c
                    .transcoding()
                    .map(|big5| if big5 { Step::Big5 } else { Step::Gbk })
            }
            Stage::Ent(e) => e.decoded(),
            Stage::Js(j) => j.decoded(),
            Stage::Fw(f) => f.decoded(),
        };
        on.then_some(match self {
            Stage::Qp(_) => Step::Qp,
            Stage::Pct(_) => Step::Urlencoded,
            Stage::Cs(_) => Step::Gbk,
            Stage::Ent(_) => Step::Html,
            Stage::Js(_) => Step::Json,
            Stage::Fw(_) => Step::Fullwidth,
        })
    }
}

/// Feeds `data` through `stages` into `last`, skipping stages the data
/// does not call for.
fn feed(stages: &mut [Stage], data: &[u8], last: &mut dyn FnMut(&[u8])) {
    match stages.split_first_mut() {
        None => last(data),
        Some((s, rest)) => {
            if s.wants(data) {
                s.push(data, &mut |d: &[u8]| feed(rest, d, last));
            } else {
                feed(rest, data, last);
            }
        }
    }
}

/// Flushes every stage in order, each into the ones after it.
fn flush_all(stages: &mut [Stage], last: &mut dyn FnMut(&[u8])) {
    for i in 0..stages.len() {
        let (a, b) = stages.split_at_mut(i + 1);
        if let Some(s) = a.last_mut() {
            s.flush(&mut |d: &[u8]| feed(b, d, last));
        }
    }
}

/// Whether a decoded character can be part of PI (a letter or digit of
/// any script, or `@ . - _ +` of e-mails and numbers). A stage names
/// itself in `where`, and counts its item as decoded, only once it
/// decoded such a character: the escapes of markup and layout (`&amp;`,
/// `&nbsp;`, `%20`, `\u003c`, `，`, U+3000) are everywhere in real text
/// and decode no PI.
pub(crate) fn pi_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '@' | '.' | '-' | '_' | '+')
}

/// [`pi_char`] for a decoded byte: a UTF-8 or legacy multibyte byte
/// counts (it is part of a non-ASCII character).
pub(crate) fn pi_byte(b: u8) -> bool {
    b >= 0x80 || pi_char(char::from(b))
}

/// Derived-item events buffered during a chunk (replayed after it, so a
/// child never runs inside its parent's stage callbacks).
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// (end of a data run in `bytes`, item ends after it).
    marks: Vec<(usize, bool)>,
}

impl Pending {
    fn record(&mut self, e: Event<'_>) {
        match e {
            Event::Data(d) => {
                self.bytes.extend_from_slice(d);
                self.marks.push((self.bytes.len(), false));
            }
            Event::End => self.marks.push((self.bytes.len(), true)),
        }
    }

    fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }
}

/// What a level's calls share.
struct Cx<'a> {
    scanner: &'a mut Scanner,
    sink: &'a mut dyn WhereSink,
    cfg: &'a NormalizeConfig,
    stats: &'a mut NormalizeStats,
    /// Derived bytes left for this root item.
    budget: &'a mut u64,
}

/// One level: the root item, or a derived item at some depth.
struct Level {
    depth: usize,
    base: &'static str,
    pre: Chain,
    stages: Vec<Stage>,
    built: bool,
    applied: Chain,
    labels: Vec<(u64, &'static str)>,
    stream: StreamState,
    b64: Option<Base64Runs>,
    u16r: Option<Utf16Runs>,
    pend: [Pending; 2],
    kids: [Option<Box<Level>>; 2],
    /// The child of each kind is inside an item.
    kid_open: [bool; 2],
    /// Records estimate (root level only).
    rec: Option<Box<Records>>,
}

impl Level {
    fn new(depth: usize) -> Level {
        Level {
            depth,
            base: "",
            pre: Chain::EMPTY,
            stages: Vec::new(),
            built: false,
            applied: Chain::EMPTY,
            labels: Vec::new(),
            stream: StreamState::default(),
            b64: None,
            u16r: None,
            pend: [Pending::default(), Pending::default()],
            kids: [None, None],
            kid_open: [false, false],
            rec: None,
        }
    }

    /// Starts an item at `base` with chain `pre` (stages already applied).
    fn start(&mut self, cfg: &NormalizeConfig, base: &'static str, pre: Chain) {
        self.base = base;
        self.pre = pre;
        self.applied = Chain::EMPTY;
        self.labels.clear();
        self.labels.push((0, where_label(base, &pre)));
        self.stages.clear();
        let want = |on: bool, s: Step| on && !pre.contains(s);
        if want(cfg.qp, Step::Qp) {
            self.stages.push(Stage::Qp(Qp::default()));
        }
        if want(cfg.percent, Step::Urlencoded) {
            self.stages.push(Stage::Pct(Percent::new(false)));
        }
        if want(cfg.charset, Step::Gbk) && !pre.contains(Step::Big5) {
            self.stages.push(Stage::Cs(Charset::new(None)));
        }
        if want(cfg.html, Step::Html) {
            self.stages.push(Stage::Ent(Entity::default()));
        }
        if want(cfg.json, Step::Json) {
            self.stages.push(Stage::Js(JsonUnescape::default()));
        }
        if want(cfg.fullwidth, Step::Fullwidth) {
            self.stages.push(Stage::Fw(FullWidth::default()));
        }
        self.b64 = cfg.base64.then(|| Base64Runs::new(cfg.base64_min));
        self.u16r = cfg.utf16.then(|| Utf16Runs::new(cfg.utf16_min));
        if self.depth == 0 {
            let at = self.stream.offset();
            self.rec.get_or_insert_default().start(at);
        }
        self.built = true;
    }

    /// The next bytes of the item.
    fn push(&mut self, cx: &mut Cx<'_>, data: &[u8]) {
        if let Some(u) = &mut self.u16r {
            let p = &mut self.pend[1];
            u.push(data, &mut |e| p.record(e));
        }
        let from = self.stream.offset();
        let Level {
            stages,
            labels,
            stream,
            b64,
            pend,
            rec,
            ..
        } = self;
        let [p64, _] = pend;
        let mut last = |d: &[u8]| {
            if let Some(b) = b64.as_mut() {
                b.push(d, &mut |e| p64.record(e));
            }
            let mut l = Labeled {
                sink: &mut *cx.sink,
                labels,
            };
            scan_tracked(rec, cx.scanner, stream, d, &mut l);
        };
        feed(stages, data, &mut last);
        self.relabel(from, cx);
        self.derive(cx);
    }

    /// Adds a label when a stage applied something for the first time.
    fn relabel(&mut self, from: u64, cx: &mut Cx<'_>) {
        let now = self
            .stages
            .iter()
            .filter_map(Stage::applied)
            .fold(Chain::EMPTY, Chain::with);
        if now != self.applied && self.labels.len() < 16 {
            if self.applied.is_empty() {
                cx.stats.decoded_items_total += 1;
            }
            self.applied = now;
            let l = where_label(self.base, &self.pre.then(&now));
            self.labels.push((from, l));
        }
    }

    /// Replays buffered derived events into the children.
    fn derive(&mut self, cx: &mut Cx<'_>) {
        for k in 0..2 {
            if self.pend[k].is_empty() {
                continue;
            }
            let p = std::mem::take(&mut self.pend[k]);
            let step = if k == 0 {
                Step::Base64
            } else if self.u16r.as_ref().is_none_or(|u| u.last_le) {
                Step::Utf16le
            } else {
                Step::Utf16be
            };
            let mut at = 0;
            for &(end, ends) in &p.marks {
                let bytes = p.bytes.get(at..end).unwrap_or_default();
                at = end;
                if !bytes.is_empty() {
                    self.kid_data(cx, k, step, bytes);
                }
                if ends {
                    self.kid_end(cx, k);
                }
            }
            let mut p = p;
            p.bytes.clear();
            p.marks.clear();
            self.pend[k] = p;
        }
    }

    fn kid_data(&mut self, cx: &mut Cx<'_>, k: usize, step: Step, bytes: &[u8]) {
        if self.depth + 1 > cx.cfg.max_depth || *cx.budget < bytes.len() as u64 {
            if !self.kid_open[k] {
                cx.stats.limit_total += 1;
                self.kid_open[k] = true;
            }
            return;
        }
        *cx.budget -= bytes.len() as u64;
        cx.stats.derived_bytes_total += bytes.len() as u64;
        let depth = self.depth + 1;
        let kid = self.kids[k].get_or_insert_with(|| Box::new(Level::new(depth)));
        if !self.kid_open[k] {
            cx.stats.derived_items_total += 1;
            let pre = self.pre.then(&self.applied).with(step);
            kid.start(cx.cfg, self.base, pre);
            self.kid_open[k] = true;
        }
        kid.push(cx, bytes);
    }

    fn kid_end(&mut self, cx: &mut Cx<'_>, k: usize) {
        if let Some(kid) = self.kids[k].as_mut().filter(|_| self.kid_open[k]) {
            if kid.built {
                kid.finish(cx);
            }
        }
        self.kid_open[k] = false;
    }

    /// Ends the item: flushes every stage, tap and child, and the scanner.
    fn finish(&mut self, cx: &mut Cx<'_>) {
        if !self.built {
            return;
        }
        let from = self.stream.offset();
        {
            let Level {
                stages,
                labels,
                stream,
                b64,
                pend,
                rec,
                ..
            } = self;
            let [p64, _] = pend;
            let mut last = |d: &[u8]| {
                if let Some(b) = b64.as_mut() {
                    b.push(d, &mut |e| p64.record(e));
                }
                let mut l = Labeled {
                    sink: &mut *cx.sink,
                    labels,
                };
                scan_tracked(rec, cx.scanner, stream, d, &mut l);
            };
            flush_all(stages, &mut last);
        }
        self.relabel(from, cx);
        if let Some(b) = &mut self.b64 {
            let p = &mut self.pend[0];
            b.flush(&mut |e| p.record(e));
        }
        if let Some(u) = &mut self.u16r {
            let p = &mut self.pend[1];
            u.flush(&mut |e| p.record(e));
        }
        let mut l = Labeled {
            sink: &mut *cx.sink,
            labels: &self.labels,
        };
        match &mut self.rec {
            Some(r) => r.finish(cx.scanner, &mut self.stream, &mut l),
            None => cx.scanner.finish_stream(&mut self.stream, &mut l),
        }
        self.derive(cx);
        for k in 0..2 {
            self.kid_end(cx, k);
        }
        self.stream = StreamState::default();
        self.built = false;
    }

    /// Bytes were lost: drop everything held, nothing joins across.
    fn gap(&mut self, scanner: &mut Scanner, sink: &mut dyn WhereSink) {
        let mut l = Labeled {
            sink: &mut *sink,
            labels: &self.labels,
        };
        match &mut self.rec {
            Some(r) => r.gap_stream(scanner, &mut self.stream, &mut l),
            None => scanner.gap(&mut self.stream, &mut l),
        }
        for s in &mut self.stages {
            s.flush(&mut |_| {});
        }
        if let Some(b) = &mut self.b64 {
            b.reset();
        }
        if let Some(u) = &mut self.u16r {
            u.reset();
        }
        for p in &mut self.pend {
            p.bytes.clear();
            p.marks.clear();
        }
        for (k, kid) in self.kids.iter_mut().enumerate() {
            if let Some(kid) = kid {
                kid.gap(scanner, sink);
                kid.built = false;
            }
            self.kid_open[k] = false;
        }
    }
}

/// Scans `d` through the records tracker when there is one.
fn scan_tracked(
    rec: &mut Option<Box<Records>>,
    scanner: &mut Scanner,
    stream: &mut StreamState,
    d: &[u8],
    sink: &mut dyn MatchSink,
) {
    match rec {
        Some(r) => r.scan(scanner, stream, d, sink),
        None => scanner.scan_stream(stream, d, sink),
    }
}

/// Normalisation state of one direction of a flow (one content item at a
/// time). Boxed in the flow's state only once the direction carries data.
pub struct Normalizer {
    cfg: NormalizeConfig,
    root: Level,
    budget: u64,
    /// What this normalizer counted.
    pub stats: NormalizeStats,
}

impl Normalizer {
    /// A normalizer with these settings.
    pub fn new(cfg: &NormalizeConfig) -> Normalizer {
        Normalizer {
            cfg: cfg.clone(),
            root: Level::new(0),
            budget: cfg.max_output,
            stats: NormalizeStats::default(),
        }
    }

    /// Next bytes of the content item at `location`, already decoded by the
    /// app layer through `chain`. A different location or chain than the
    /// current item's starts a new label (call [`Normalizer::finish`]
    /// first to end the item).
    pub fn push(
        &mut self,
        scanner: &mut Scanner,
        location: &'static str,
        chain: Chain,
        data: &[u8],
        sink: &mut dyn WhereSink,
    ) {
        if data.is_empty() {
            return;
        }
        let Normalizer {
            cfg,
            root,
            budget,
            stats,
        } = self;
        if !root.built {
            root.start(cfg, location, chain);
            *budget = cfg.max_output;
        } else if root.pre != chain || root.base != location {
            root.pre = chain;
            root.base = location;
            let l = where_label(location, &chain.then(&root.applied));
            if root.labels.len() < 16 {
                root.labels.push((root.stream.offset(), l));
            }
        }
        let mut cx = Cx {
            scanner,
            sink,
            cfg,
            stats,
            budget,
        };
        root.push(&mut cx, data);
    }

    /// Ends the current content item (decides everything held).
    pub fn finish(&mut self, scanner: &mut Scanner, sink: &mut dyn WhereSink) {
        let Normalizer {
            cfg,
            root,
            budget,
            stats,
        } = self;
        let mut cx = Cx {
            scanner,
            sink,
            cfg,
            stats,
            budget,
        };
        root.finish(&mut cx);
    }

    /// Records with PI (see [`super::records`]) in the items scanned
    /// since the last call; resets the count.
    pub fn take_records(&mut self) -> u64 {
        self.root.rec.as_mut().map_or(0, |r| r.take())
    }

    /// Bytes of the current item were lost: what was held is decided
    /// (see [`Scanner::gap`]), nothing joins across.
    pub fn gap(&mut self, scanner: &mut Scanner, sink: &mut dyn WhereSink) {
        self.root.gap(scanner, sink);
    }

    /// Scans one whole message (a datagram) as its own item.
    pub fn scan_whole(
        &mut self,
        scanner: &mut Scanner,
        location: &'static str,
        chain: Chain,
        data: &[u8],
        sink: &mut dyn WhereSink,
    ) {
        self.finish(scanner, sink);
        self.push(scanner, location, chain, data, sink);
        self.finish(scanner, sink);
    }
}
