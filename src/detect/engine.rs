//! The engine: compiled detectors, per-thread [`Scanner`]s and per-stream
//! [`StreamState`]s.
//!
//! # Design note: one pass, bounded carry
//!
//! A scan call works on `work = carry ++ data`. Two families run over it:
//! the digit family (SIMD search for the next digit, then every digits
//! detector tries its forms at that run, in priority order) and the e-mail
//! family (`memchr(b'@')`). Each family keeps a *frontier*: the first
//! position it has not decided yet. A candidate is decided only once every
//! byte its decision depends on (value, one byte of look-behind, two bytes of
//! look-ahead) is present, so a stream gives exactly the matches of one
//! buffer. What is carried is `work[min(frontiers) - LB ..]`, where `LB`
//! covers the longest context word and the look-behind: a digit candidate
//! spans at most ~30 bytes and an e-mail at most [`email::MAX_EMAIL`], so the
//! carry stays under ~160 bytes (a free-text address match may be 128),
//! except while an HTML label waits for its value (up to
//! `fields::FIELD_AHEAD` after it); `MAX_CARRY` bounds it.
//!
//! Context words are looked up lazily, only for validated candidates, in the
//! `window` bytes before the value. Words that will leave the carry are
//! summarised per stream as "end offset of the last hit" per word group, so a
//! word in an earlier chunk still counts.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;

use super::blocks::BlockMasks;
use super::context::{Keywords, KwScratch};
use super::digits::{has_high, DigitMap, Gate};
use super::email::{self, EmailAt};
use super::exclude::{self, ExcludeList, Exclusions};
use super::fields_attr::SelectLog;
use super::hs_cache::{HsCache, HsCacheStats};
use super::keywords::{KeywordSet, Occ};
use super::regex::{RegexScratch, RegexSet, Window};
use super::signature::{self, DigitSpec, Family, MAX_DIGITS, MAX_WORD_LEN};
pub use super::signature::{Detector, Example, SignatureError};
use super::validators::Verdict;
use super::{Confidence, DetectorId, DetectorInfo, EngineOptions, Match, MatchSink};

/// Most runs of one separated digit form.
const MAX_RUNS: usize = 6;
/// Longest separated digit candidate in bytes.
const MAX_SPAN: usize = 32;
/// Bytes kept before the frontier: a context word or the look-behind.
const LB: usize = MAX_WORD_LEN;
/// Hard bound on the carry (never reached by construction; fits the `u16`
/// frontiers).
const MAX_CARRY: usize = 336;
// The field family's look-ahead must fit the carry.
const _: () = assert!(super::fields::FIELD_AHEAD + LB + 8 <= MAX_CARRY);
// The select log holds the events of a carry (at least 5 bytes apart) and
// one before them.
const _: () = assert!(MAX_CARRY / 5 < super::fields_attr::SELECT_LOG_MAX);

#[path = "fields_scan.rs"]
mod fields_scan;

#[path = "columns.rs"]
pub mod columns;

#[path = "gap.rs"]
mod gap;

/// Compiled detectors, shared read-only by all workers (`Arc<Engine>`).
pub struct Engine {
    detectors: Vec<DetectorInfo>,
    dets: Vec<Detector>,
    digit_order: Vec<DetectorId>,
    /// Fewest digits each entry of `digit_order` can match.
    digit_min: Vec<usize>,
    /// Bit n: some detector may claim a lone run of n digits.
    single_plain: u64,
    /// (prefix, bit n: a lone run of n digits starting with it may match).
    single_pref: Vec<(Vec<u8>, u64)>,
    /// The union of the masks in `single_pref`.
    single_pref_any: u64,
    email: Option<DetectorId>,
    /// Field names of the field detectors.
    fields: super::fields::FieldIndex,
    kw: Keywords,
    /// Stream history kept for context lookups: the longest window and a
    /// word (0: no context words).
    hist_len: usize,
    max_run: usize,
    min_digits: usize,
    seps: Vec<u8>,
    /// `is_sep[c]`: `c` is in `seps` (a lookup instead of a `memchr` call
    /// per digit run).
    is_sep: [bool; 256],
    min_conf: Confidence,
    today: NaiveDate,
    /// Regex detectors (one prefilter database).
    rx: RegexSet,
    /// Keyword detectors (one literal database).
    kws: KeywordSet,
    /// Longest regex/keyword match; 0 when there are none.
    pat_max: usize,
    /// Longest match of each regex/keyword detector (0 for others).
    pat_lens: Vec<usize>,
    /// Exclusion lists.
    allow: Exclusions,
    /// Some detector has `report = false`.
    has_suppress: bool,
    /// What the Hyperscan database cache did while this engine was built.
    hs_cache: HsCacheStats,
}

/// Per-thread scanning context (Hyperscan scratch, work buffers).
pub struct Scanner {
    engine: Arc<Engine>,
    kw: KwScratch,
    /// Context lookups: history and buffer joined.
    ctx_buf: Vec<u8>,
    work: Vec<u8>,
    found: Vec<Found>,
    vals: Vec<u8>,
    value: Vec<u8>,
    rxs: RegexScratch,
    kws: KwScratch,
    occ: Vec<Occ>,
    /// Field family buffer: the normalised key.
    field_key: Vec<u8>,
    /// Block masks of the current buffer (memory kept between calls).
    blocks: BlockMasks,
    /// Column mapping: the current item's slot (moved in for a call by
    /// [`Scanner::scan_stream_columns`]; `Off` otherwise), a spare box,
    /// counters.
    cols: columns::Slot,
    col_spare: Option<Box<columns::Columns>>,
    col_stats: columns::ColumnStats,
    /// The current stream's [`Reported`] entries and open `<select>`s
    /// (moved in from its `StreamState` for a call).
    extra: Option<Box<StreamExtra>>,
    /// Report every match: low ones and suppressors too (examples).
    report_all: bool,
    /// Use the block gate and the lone-run filter (tests compare with
    /// both off).
    fast: bool,
}

/// Per-stream carry-over (one per direction of a flow). Small when idle:
/// 80 bytes inline; the heap part is at most 336 bytes of carry plus the
/// longest context window (and a word) of history, and, boxed together
/// when first needed, the few reported matches that reach past a call's
/// decisions (`Reported`) and the log of an HTML form's selects
/// ([`StreamState::EXTRA_MAX`] in all).
#[derive(Default, Debug)]
pub struct StreamState {
    /// Stream offset one past the last byte passed in.
    end: u64,
    /// Undecided tail of the stream (at most `MAX_CARRY` bytes).
    carry: Vec<u8>,
    /// The stream bytes just before the carry, as many as the longest
    /// context window and a word need: context words are looked up here
    /// only when a candidate near the carry start needs them, instead of
    /// scanning every call's tail for words in case one does.
    hist: Vec<u8>,
    /// Digit-family frontier, relative to the carry start.
    num_from: u16,
    /// E-mail-family frontier, relative to the carry start.
    email_from: u16,
    /// Regex/keyword-family frontier, relative to the carry start.
    pat_from: u16,
    /// Field-family frontier, relative to the carry start.
    field_from: u16,
    /// The carry starts right after a gap (not a boundary).
    after_gap: bool,
    /// Reported matches that later calls may still find matches inside,
    /// and the `<select>` elements of an HTML form (allocated at the first
    /// of either, freed when the stream ends).
    extra: Option<Box<StreamExtra>>,
}

/// The rarely needed part of a [`StreamState`], boxed so that the state of
/// an idle stream stays small.
#[derive(Debug, Default)]
struct StreamExtra {
    reported: ReportedSet,
    selects: SelectLog,
}

/// A match reported by an earlier call of the stream that reaches past
/// the point where that call stopped deciding. A match of the same PI
/// type inside it that a later call decides (e.g. a free-text address
/// inside an `住址` value, whose regex family was still undecided there)
/// is shadowed, as it is when both are decided in one call.
#[derive(Clone, Copy, Debug, Default)]
struct Reported {
    offset: u64,
    /// Stream offset one past it (0: a free entry).
    end: u64,
    detector: DetectorId,
}

/// Most [`Reported`] entries per stream. Reported matches of one type
/// never nest, and a call's decisions stop at one point, so one or two
/// reach past it; the entry that ends first gives way.
const REPORTED_KEEP: usize = 4;

/// The [`Reported`] entries of a stream.
type ReportedSet = [Reported; REPORTED_KEEP];

impl StreamState {
    /// Most heap bytes of the carry.
    pub const CARRY_MAX: usize = MAX_CARRY;

    /// Most heap bytes of the boxed extra part ([`StreamState::heap_bytes`]
    /// adds the carry and the context history): the reported matches and
    /// a full select log.
    pub const EXTRA_MAX: usize = std::mem::size_of::<StreamExtra>() + SelectLog::MAX_HEAP;

    /// Heap bytes held by this state.
    pub fn heap_bytes(&self) -> usize {
        let extra = self.extra.as_ref().map_or(0, |x| {
            std::mem::size_of::<StreamExtra>() + x.selects.heap_bytes()
        });
        self.carry.capacity() + self.hist.capacity() + extra
    }

    /// Stream offset one past the last byte scanned.
    pub fn offset(&self) -> u64 {
        self.end
    }
}

/// A candidate decided in the current call.
#[derive(Clone, Copy, Debug)]
struct Found {
    offset: u64,
    detector: DetectorId,
    confidence: Confidence,
    val: (u32, u32),
    /// Where the family resumes to find this match again (relative).
    resume: usize,
    /// Stream offset one past the match.
    end: u64,
    /// From a suppressing detector: claims, never reported.
    suppress: bool,
}

/// Where each family stopped in `work`.
struct Frontiers {
    num: usize,
    email: usize,
    /// Earliest byte an undecided e-mail may still need.
    email_need: usize,
    /// Regex/keyword family: first start not decided.
    pat: usize,
    /// Field family (also the earliest byte it needs, less the key).
    field: usize,
    /// Column mapping: start of an undecided cell (`usize::MAX`: none).
    col: usize,
}

/// Result of trying the digit forms at one run.
enum DigitTry {
    NeedMore(usize),
    Next(usize),
}

/// Scan input common to the families.
struct Work<'a> {
    eng: &'a Engine,
    h: &'a [u8],
    base: u64,
    start_boundary: bool,
    eof: bool,
    /// Stream bytes just before `h` (see [`StreamState::hist`]).
    hist: &'a [u8],
    /// `h` holds no byte ≥ 0x80 (checked once per call; lets the
    /// matchers skip their non-ASCII parts).
    ascii: bool,
    /// Block masks of `h`: [`NO_BLOCKS`] until `scan_work` computes them.
    blocks: &'a BlockMasks,
}

/// Placeholder for [`Work::blocks`] before `scan_work` fills it in.
static NO_BLOCKS: BlockMasks = BlockMasks::EMPTY;

impl Engine {
    /// Loads every signature file in `dir` (or `dir/detectors`).
    ///
    /// # Errors
    /// A [`SignatureError`] naming the file, line, detector and field of the
    /// first bad signature, or the I/O problem.
    pub fn load_dir(dir: &Path, opts: &EngineOptions) -> Result<Engine, SignatureError> {
        let mut files = signature::read_dir(dir)?;
        let ex = dir.join(exclude::FILE_NAME);
        if ex.is_file() {
            let text = std::fs::read_to_string(&ex).map_err(|e| SignatureError::io(&ex, e))?;
            files.push((ex.display().to_string(), text));
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        Engine::from_sources(&refs, opts)
    }

    /// Builds an engine from `(file name, TOML text)` pairs. A file named
    /// `exclude.toml` is the global exclusion list.
    ///
    /// # Errors
    /// As [`Engine::load_dir`].
    pub fn from_sources(
        sources: &[(&str, &str)],
        opts: &EngineOptions,
    ) -> Result<Engine, SignatureError> {
        let mut dets: Vec<Detector> = Vec::with_capacity(sources.len());
        let mut global = ExcludeList::default();
        for (file, text) in sources {
            if Path::new(file)
                .file_name()
                .is_some_and(|n| n == exclude::FILE_NAME)
            {
                let g = exclude::parse_global(file, text)?;
                global.values.extend(g.values);
                global.hashes.extend(g.hashes);
                continue;
            }
            let d = signature::parse(file, text)?;
            if let Some(first) = dets.iter().find(|x| x.info.id == d.info.id) {
                return Err(SignatureError::duplicate(file, &d.info.id, &first.file));
            }
            dets.push(d);
        }
        if dets.len() > usize::from(u16::MAX / 2) {
            return Err(SignatureError::backend("too many detectors".to_string()));
        }
        let mut words = Vec::new();
        for (i, d) in dets.iter().enumerate() {
            let g = i as u16 * 2;
            words.extend(d.words.iter().map(|w| (w.clone(), g)));
            words.extend(d.exclude.iter().map(|w| (w.clone(), g + 1)));
        }
        let cache = opts
            .hs_cache
            .as_ref()
            .map_or_else(HsCache::off, HsCache::at);
        let kw = Keywords::new(&words, opts.context_backend, &cache)?;
        let mut digit_order: Vec<DetectorId> = (0..dets.len() as u16)
            .filter(|&i| matches!(dets[usize::from(i)].family, Family::Digits(_)))
            .collect();
        digit_order.sort_by_key(|&i| dets[usize::from(i)].priority);
        let digit_min = digit_order
            .iter()
            .map(|&i| match &dets[usize::from(i)].family {
                Family::Digits(ds) => {
                    ds.lengths.iter().min().copied().unwrap_or(0) - usize::from(ds.check_x)
                }
                _ => usize::MAX,
            })
            .collect();
        let email = (0..dets.len() as u16)
            .filter(|&i| matches!(dets[usize::from(i)].family, Family::Email(_)))
            .min_by_key(|&i| dets[usize::from(i)].priority);
        let mut seps = Vec::new();
        let mut max_run = 0;
        let mut min_digits = usize::MAX;
        for d in &dets {
            if let Family::Digits(ds) = &d.family {
                min_digits = min_digits.min(ds.lengths.iter().copied().min().unwrap_or(1));
                seps.extend_from_slice(&ds.separators);
                let pre = ds.prefixes.iter().map(|p| p.0.len()).max().unwrap_or(0);
                max_run = max_run.max(ds.lengths.iter().max().unwrap_or(&0) + pre);
            }
        }
        seps.sort_unstable();
        seps.dedup();
        let (single_plain, single_pref) = single_run_masks(&dets);
        let fields = fields_scan::index(&dets);
        let (rx, kws, pat_max) = pattern_sets(&dets, opts, &cache)?;
        let allow = Exclusions::new(
            global,
            dets.iter().map(|d| d.allow.clone()).collect(),
            opts.hash_key.as_deref(),
        );
        let min_conf = opts.min_confidence.unwrap_or(if opts.report_low {
            Confidence::Low
        } else {
            Confidence::Medium
        });
        Ok(Engine {
            rx,
            kws,
            pat_max,
            pat_lens: dets.iter().map(gap::pattern_len).collect(),
            allow,
            min_conf,
            has_suppress: dets.iter().any(|d| !d.report),
            hs_cache: cache.stats(),
            fields,
            single_plain,
            single_pref_any: single_pref.iter().fold(0, |a, p| a | p.1),
            single_pref,
            detectors: dets.iter().map(|d| d.info.clone()).collect(),
            hist_len: match dets.iter().map(|d| d.window as usize).max() {
                Some(win) if !kw.is_empty() => win + MAX_WORD_LEN,
                _ => 0,
            },
            digit_order,
            digit_min,
            email,
            kw,
            max_run: max_run.min(MAX_DIGITS + 4),
            min_digits: min_digits.clamp(2, MAX_DIGITS),
            is_sep: std::array::from_fn(|c| seps.contains(&(c as u8))),
            seps,
            today: opts.today.unwrap_or_else(super::validators::system_today),
            dets,
        })
    }

    /// What the Hyperscan database cache did while this engine was built.
    pub fn hs_cache_stats(&self) -> HsCacheStats {
        self.hs_cache
    }

    /// Static facts of every detector, indexed by [`DetectorId`].
    pub fn detectors(&self) -> &[DetectorInfo] {
        &self.detectors
    }

    /// Examples of each detector, indexed by [`DetectorId`].
    pub fn examples(&self) -> impl Iterator<Item = (DetectorId, &Example)> {
        self.dets
            .iter()
            .enumerate()
            .flat_map(|(i, d)| d.examples.iter().map(move |e| (i as DetectorId, e)))
    }

    /// Source file of a detector (for test messages).
    pub fn detector_file(&self, id: DetectorId) -> Option<&str> {
        self.dets.get(usize::from(id)).map(|d| d.file.as_str())
    }

    /// A scanner for one worker thread.
    pub fn scanner(self: &Arc<Self>) -> Scanner {
        Scanner {
            kw: self.kw.scratch(),
            ctx_buf: Vec::new(),
            engine: Arc::clone(self),
            work: Vec::new(),
            found: Vec::new(),
            vals: Vec::new(),
            value: Vec::new(),
            rxs: self.rx.scratch(),
            kws: self.kws.scratch(),
            occ: Vec::new(),
            field_key: Vec::new(),
            blocks: BlockMasks::default(),
            cols: columns::Slot::Off,
            col_spare: None,
            col_stats: columns::ColumnStats::default(),
            extra: None,
            report_all: false,
            fast: true,
        }
    }

    /// Lowest confidence reported.
    pub fn min_confidence(&self) -> Confidence {
        self.min_conf
    }

    /// Does detector `id` report its matches (`false`: suppress-only)?
    pub fn reports(&self, id: DetectorId) -> bool {
        self.dets.get(usize::from(id)).is_some_and(|d| d.report)
    }

    /// Scans a signature example: like [`Engine::scan_buffer`], but every
    /// match is reported, low-confidence ones and those of suppressing
    /// (`report = false`) detectors included, so examples can state them.
    pub fn scan_example(self: &Arc<Self>, data: &[u8], sink: &mut dyn MatchSink) {
        let mut s = self.scanner();
        s.report_all = true;
        s.scan_buffer(data, sink)
    }

    /// Convenience for tests: a scanner on a fresh state over one buffer.
    pub fn scan_buffer(self: &Arc<Self>, data: &[u8], sink: &mut dyn MatchSink) {
        let mut s = self.scanner();
        s.scan_buffer(data, sink)
    }
}

/// Compiles the regex and keyword detectors; also returns the longest
/// match any of them can produce.
fn pattern_sets(
    dets: &[Detector],
    opts: &EngineOptions,
    cache: &HsCache,
) -> Result<(RegexSet, KeywordSet, usize), SignatureError> {
    let mut rx = Vec::new();
    let mut kw = Vec::new();
    let mut max = 0;
    for (i, d) in dets.iter().enumerate() {
        match &d.family {
            Family::Regex(r) => rx.push((i as u16, r)),
            Family::Keywords(k) => kw.push((i as u16, k)),
            _ => {}
        }
        max = max.max(gap::pattern_len(d));
    }
    Ok((
        RegexSet::new(&rx, opts.context_backend, cache)?,
        KeywordSet::new(&kw, opts.context_backend, cache)?,
        max,
    ))
}

/// Which lone digit runs (no separators) any detector's forms can accept:
/// its lengths, one less with a check `X`, plus a leading prefix.
fn single_run_masks(dets: &[Detector]) -> (u64, Vec<(Vec<u8>, u64)>) {
    let mut plain = 0u64;
    let mut pref: Vec<(Vec<u8>, u64)> = Vec::new();
    for d in dets {
        let Family::Digits(ds) = &d.family else {
            continue;
        };
        let mut m = 0u64;
        for &l in &ds.lengths {
            m |= 1u64.checked_shl(l as u32).unwrap_or(0);
            if ds.check_x {
                m |= 1u64.checked_shl(l as u32 - 1).unwrap_or(0);
            }
        }
        plain |= m;
        for (pd, _) in &ds.prefixes {
            let pm = m.checked_shl(pd.len() as u32).unwrap_or(0);
            match pref.iter_mut().find(|x| x.0 == *pd) {
                Some(x) => x.1 |= pm,
                None => pref.push((pd.clone(), pm)),
            }
        }
    }
    (plain, pref)
}

impl Engine {
    /// May a lone run (no separators) be claimed by some detector?
    #[inline]
    fn single_run_may_match(&self, run: &[u8]) -> bool {
        let Some(bit) = 1u64.checked_shl(run.len() as u32) else {
            return true;
        };
        if self.single_plain & bit != 0 {
            return true;
        }
        // Prefixes are a few bytes: compared inline, not by a `memcmp`
        // call (this runs for every lone run of candidate length).
        let starts_with =
            |pd: &[u8]| pd.len() <= run.len() && pd.iter().zip(run).all(|(a, b)| a == b);
        self.single_pref_any & bit != 0
            && self
                .single_pref
                .iter()
                .any(|(pd, m)| m & bit != 0 && starts_with(pd))
    }
}

#[inline]
fn is_digit_at(h: &[u8], i: usize) -> bool {
    h.get(i).is_some_and(u8::is_ascii_digit)
}

/// Is the byte before `s` a boundary for a digit value?
fn digit_before_ok(w: &Work<'_>, s: usize) -> bool {
    let Some(&b) = s.checked_sub(1).and_then(|i| w.h.get(i)) else {
        return w.start_boundary;
    };
    let dot_after_digit = b == b'.'
        && match s.checked_sub(2) {
            Some(i) => is_digit_at(w.h, i),
            None => !w.start_boundary,
        };
    !(b.is_ascii_alphanumeric() || b == b'@' || dot_after_digit)
}

/// Is the byte at `e` a boundary after a digit value?
fn digit_after_ok(h: &[u8], e: usize) -> bool {
    match h.get(e) {
        None => true,
        Some(&b) => {
            !(b.is_ascii_alphanumeric() || b == b'@' || (b == b'.' && is_digit_at(h, e + 1)))
        }
    }
}

impl Scanner {
    /// Scans the next in-order bytes of one stream direction.
    pub fn scan_stream(&mut self, st: &mut StreamState, data: &[u8], sink: &mut dyn MatchSink) {
        if data.is_empty() {
            return;
        }
        let base = st.end - st.carry.len() as u64;
        let mut buf = std::mem::take(&mut self.work);
        let h: &[u8] = if st.carry.is_empty() {
            data
        } else {
            buf.clear();
            buf.extend_from_slice(&st.carry);
            buf.extend_from_slice(data);
            &buf
        };
        let eng = Arc::clone(&self.engine);
        self.columns_push(&eng, data, st.end);
        let w = Work {
            eng: &eng,
            h,
            base,
            start_boundary: !st.after_gap,
            eof: false,
            hist: &st.hist,
            ascii: !has_high(h),
            blocks: &NO_BLOCKS,
        };
        self.extra = st.extra.take();
        let f = self.scan_work(&w, froms(st), sink);
        st.extra = self.extra.take();
        let cut = f.num.min(f.email_need).min(f.pat).min(f.field);
        let cut = cut.min(f.col).min(h.len());
        let keep = cut.saturating_sub(LB);
        push_hist(
            &mut st.hist,
            h.get(..keep).unwrap_or_default(),
            eng.hist_len,
        );
        st.end += data.len() as u64;
        let tail = h.get(keep..).unwrap_or_default();
        st.carry.clear();
        if tail.len() <= MAX_CARRY {
            grow_carry(&mut st.carry, tail.len());
            st.carry.extend_from_slice(tail);
            st.num_from = (f.num - keep) as u16;
            st.email_from = (f.email.max(keep) - keep) as u16;
            st.pat_from = (f.pat.max(keep) - keep) as u16;
            st.field_from = (f.field.max(keep) - keep) as u16;
            if keep > 0 {
                st.after_gap = false;
            }
        } else {
            // Unreachable by construction; fail safe as if bytes were lost.
            st.num_from = 0;
            st.email_from = 0;
            st.pat_from = 0;
            st.field_from = 0;
            push_hist(&mut st.hist, tail, eng.hist_len);
            st.after_gap = true;
        }
        self.work = buf;
    }

    /// Ends a stream: decides what was carried as if the stream ended here.
    pub fn finish_stream(&mut self, st: &mut StreamState, sink: &mut dyn MatchSink) {
        self.columns_finish(&Arc::clone(&self.engine));
        if !st.carry.is_empty() {
            let carry = std::mem::take(&mut st.carry);
            let eng = Arc::clone(&self.engine);
            let w = Work {
                eng: &eng,
                h: &carry,
                base: st.end - carry.len() as u64,
                start_boundary: !st.after_gap,
                eof: true,
                hist: &st.hist,
                ascii: !has_high(&carry),
                blocks: &NO_BLOCKS,
            };
            self.extra = st.extra.take();
            self.scan_work(&w, froms(st), sink);
            self.extra = None;
            st.carry = carry;
        }
        self.reset(st);
    }

    /// Bytes were lost: decides what was carried as if the stream ended
    /// here, but reports no match the lost bytes could have changed (one
    /// touching the end of the carry, see `gap.rs`); then drops the carry
    /// so nothing joins across.
    pub fn gap(&mut self, st: &mut StreamState, sink: &mut dyn MatchSink) {
        self.extra = st.extra.take();
        self.decide_before_gap(st, sink);
        self.extra = None;
        self.reset(st);
        st.after_gap = true;
    }

    fn reset(&mut self, st: &mut StreamState) {
        st.carry.clear();
        st.hist.clear();
        st.extra = None;
        st.num_from = 0;
        st.email_from = 0;
        st.pat_from = 0;
        st.field_from = 0;
    }

    /// Scans one whole buffer on a fresh state.
    pub fn scan_buffer(&mut self, data: &[u8], sink: &mut dyn MatchSink) {
        let eng = Arc::clone(&self.engine);
        self.cols = columns::Slot::Fresh;
        self.columns_push(&eng, data, 0);
        self.columns_finish(&eng);
        let w = Work {
            eng: &eng,
            h: data,
            base: 0,
            start_boundary: true,
            eof: true,
            hist: &[],
            ascii: !has_high(data),
            blocks: &NO_BLOCKS,
        };
        self.extra = None;
        self.scan_work(&w, [0; 4], sink);
        let mut slot = std::mem::replace(&mut self.cols, columns::Slot::Off);
        self.columns_recycle(&mut slot);
    }

    /// Runs both families over `w`, emits decided matches in offset order.
    fn scan_work(
        &mut self,
        w: &Work<'_>,
        froms: [usize; 4],
        sink: &mut dyn MatchSink,
    ) -> Frontiers {
        // One classification pass feeds the digit and field families.
        let mut blocks = std::mem::take(&mut self.blocks);
        blocks.compute(w.h, &w.eng.seps);
        let f = self.scan_families(
            &Work {
                blocks: &blocks,
                ..*w
            },
            froms,
            sink,
        );
        self.blocks = blocks;
        f
    }

    /// [`Scanner::scan_work`] once the block masks are in `w`.
    fn scan_families(
        &mut self,
        w: &Work<'_>,
        [num_from, email_from, pat_from, field_from]: [usize; 4],
        sink: &mut dyn MatchSink,
    ) -> Frontiers {
        self.found.clear();
        self.vals.clear();
        let num = self.scan_digits(w, num_from);
        let (email, email_need) = self.scan_email(w, email_from);
        let pat = self.scan_patterns(w, pat_from);
        let field = self.scan_fields(w, field_from);
        let mut f = Frontiers {
            num,
            email,
            email_need,
            pat,
            field,
            col: self.columns_cut(w.base),
        };
        if !w.eof {
            self.defer_after_undecided(w, &mut f);
        }
        let all_cut = f.num.min(f.email_need).min(f.pat).min(f.field).min(f.col);
        self.columns_release(w, all_cut);
        self.found.sort_by_key(|m| m.offset);
        let eng = w.eng;
        if eng.has_suppress {
            self.apply_suppressors();
        }
        // Nothing decided from this call on starts before its buffer.
        if let Some(x) = &mut self.extra {
            x.reported
                .iter_mut()
                .filter(|x| x.end <= w.base)
                .for_each(|x| *x = Reported::default());
        }
        let decided_to = if w.eof {
            u64::MAX
        } else {
            w.base.saturating_add(all_cut as u64)
        };
        for i in 0..self.found.len() {
            let Some(&m) = self.found.get(i) else {
                break;
            };
            let val = self
                .vals
                .get(m.val.0 as usize..m.val.1 as usize)
                .unwrap_or_default();
            if self.report_all
                || (!m.suppress
                    && m.confidence >= eng.min_conf
                    && !self.shadowed(eng, i)
                    && !self.reported_shadows(eng, &m))
            {
                sink.on_match(&Match {
                    detector: m.detector,
                    value: val,
                    confidence: m.confidence,
                    offset: m.offset,
                });
                if m.end > decided_to {
                    self.remember_reported(&m);
                }
            }
        }
        f
    }

    /// Whether `m` lies inside a match of the same PI type reported by an
    /// earlier call of the stream ([`Reported`]).
    fn reported_shadows(&self, eng: &Engine, m: &Found) -> bool {
        let Some(x) = &self.extra else {
            return false;
        };
        let ty = |d| eng.pi_type_of(d);
        x.reported.iter().any(|o| {
            o.end != 0
                && o.offset <= m.offset
                && m.end <= o.end
                && (o.offset, o.end, o.detector) != (m.offset, m.end, m.detector)
                && ty(o.detector) == ty(m.detector)
        })
    }

    /// Keeps `m` (reported, reaching past this call's decisions) for the
    /// next calls: in a free entry, else in place of the one that ends
    /// first.
    fn remember_reported(&mut self, m: &Found) {
        let r = &mut self.extra.get_or_insert_with(Box::default).reported;
        let slot = r.iter().position(|x| x.end == 0).unwrap_or_else(|| {
            (0..REPORTED_KEEP)
                .min_by_key(|&k| r.get(k).map_or(0, |x| x.end))
                .unwrap_or(0)
        });
        if let Some(x) = r.get_mut(slot) {
            *x = Reported {
                offset: m.offset,
                end: m.end,
                detector: m.detector,
            };
        }
    }

    /// Keeps emission in stream order: a match that starts at or after
    /// the point where another family is still undecided waits for the
    /// next call (its family resumes there and finds it again). A
    /// regex/keyword match may not straddle its family's frontier, and a
    /// suppressor waits until everything starting inside it is decided.
    /// Dropping lowers frontiers, so repeat until nothing moves.
    fn defer_after_undecided(&mut self, w: &Work<'_>, f: &mut Frontiers) {
        let eng = w.eng;
        loop {
            let (num_cut, email_cut, pat_cut, field_cut) = (f.num, f.email_need, f.pat, f.field);
            let all_cut = num_cut.min(email_cut).min(pat_cut).min(field_cut);
            // An open cell of a field column is undecided for every family.
            let all_cut = all_cut.min(f.col);
            let mut first = [usize::MAX; 5];
            self.found.retain(|m| {
                let rel = (m.offset - w.base) as usize;
                let end = (m.end - w.base) as usize;
                let fam = eng.family_of(m.detector);
                let late = match fam {
                    Fam::Email => rel >= num_cut || rel >= pat_cut || rel >= field_cut,
                    Fam::Pattern => rel >= all_cut || end > pat_cut,
                    Fam::Digits => rel >= all_cut,
                    // A field's value may lie after a later separator's
                    // (`住址：<a …>` then `密码:x`): once a deferred value
                    // moved the field frontier back to its separator,
                    // every match whose separator is at or after it is
                    // found again from there, so it waits too.
                    Fam::Field => {
                        rel >= num_cut.min(email_cut).min(pat_cut) || m.resume >= field_cut
                    }
                };
                if late || rel >= f.col || (m.suppress && end > all_cut) {
                    match fam {
                        Fam::Email => {
                            first[1] = first[1].min(m.resume);
                            first[2] = first[2].min(rel);
                        }
                        Fam::Digits => first[0] = first[0].min(m.resume),
                        Fam::Pattern => first[3] = first[3].min(rel),
                        Fam::Field => first[4] = first[4].min(m.resume),
                    }
                    return false;
                }
                true
            });
            if first == [usize::MAX; 5] {
                break;
            }
            f.num = f.num.min(first[0]);
            f.email = f.email.min(first[1]);
            f.email_need = f.email_need.min(first[2]);
            f.pat = f.pat.min(first[3]);
            f.field = f.field.min(first[4]);
        }
    }

    /// Whether match `i` lies inside another reported match of the same PI
    /// type (e.g. a free-text address inside an `地址` field's value), so
    /// one value is not counted twice. Looks at close neighbours only
    /// (found is sorted by offset). Of identical spans the more confident
    /// is kept (a field's value over the same free text), else the first.
    fn shadowed(&self, eng: &Engine, i: usize) -> bool {
        let Some(m) = self.found.get(i) else {
            return false;
        };
        let ty = |d| eng.pi_type_of(d);
        let (lo, hi) = (i.saturating_sub(8), (i + 8).min(self.found.len()));
        (lo..hi).any(|j| {
            self.found.get(j).is_some_and(|o| {
                j != i
                    && !o.suppress
                    && o.confidence >= eng.min_conf
                    && o.offset <= m.offset
                    && o.end >= m.end
                    && (o.offset < m.offset
                        || o.end > m.end
                        || o.confidence > m.confidence
                        || (o.confidence == m.confidence && j < i))
                    && ty(o.detector) == ty(m.detector)
            })
        })
    }

    /// Drops matches that start inside a suppressor's span (found is
    /// sorted by offset).
    fn apply_suppressors(&mut self) {
        let spans: Vec<(u64, u64, DetectorId)> = self
            .found
            .iter()
            .filter(|m| m.suppress)
            .map(|m| (m.offset, m.end, m.detector))
            .collect();
        if spans.is_empty() {
            return;
        }
        self.found.retain(|m| {
            m.suppress || !spans.iter().any(|&(a, b, _)| m.offset >= a && m.offset < b)
        });
    }

    /// Regex and keyword families from `from`; returns their frontier.
    fn scan_patterns(&mut self, w: &Work<'_>, from: usize) -> usize {
        let eng = w.eng;
        let h = w.h;
        if eng.pat_max == 0 {
            return h.len();
        }
        let limit = if w.eof {
            h.len()
        } else {
            h.len().saturating_sub(eng.pat_max + 1)
        };
        if from >= limit {
            return from;
        }
        if !eng.rx.dets.is_empty() {
            let mut sc = std::mem::take(&mut self.rxs);
            eng.rx.prefilter(&mut sc, h, w.ascii);
            let win = Window {
                h,
                from,
                limit,
                start_boundary: w.start_boundary,
            };
            for (i, &d) in eng.rx.dets.iter().enumerate() {
                let Some(Family::Regex(spec)) = eng.dets.get(usize::from(d)).map(|x| &x.family)
                else {
                    continue;
                };
                let claim = &mut |s: usize, e: usize, (a, b): (usize, usize)| {
                    self.value.clear();
                    self.value
                        .extend_from_slice(h.get(a..b).unwrap_or_default());
                    self.judge_pattern(w, d, s, e)
                };
                eng.rx.walk(&sc, i, spec, &win, claim);
            }
            self.rxs = sc;
        }
        if !eng.kws.is_empty() {
            self.scan_keywords(w, from, limit);
        }
        limit
    }

    /// Keyword candidates, per detector in start order without overlaps.
    fn scan_keywords(&mut self, w: &Work<'_>, from: usize, limit: usize) {
        let eng = w.eng;
        let mut occ = std::mem::take(&mut self.occ);
        eng.kws.candidates(
            &mut self.kws,
            (w.h, Some(w.ascii)),
            from,
            w.start_boundary,
            &mut occ,
        );
        let mut cur = (u16::MAX, from);
        for o in &occ {
            if o.det != cur.0 {
                cur = (o.det, from);
            }
            let (s, e) = (o.start as usize, o.end());
            if s < cur.1 || s >= limit {
                continue;
            }
            let Some(Family::Keywords(spec)) = eng.dets.get(usize::from(o.det)).map(|x| &x.family)
            else {
                continue;
            };
            let word = spec.words.get(o.word as usize).map_or("", String::as_str);
            self.value.clear();
            self.value.extend_from_slice(word.as_bytes());
            if self.judge_pattern(w, o.det, s, e) {
                cur.1 = e;
            }
        }
        self.occ = occ;
    }

    /// Validators, required context and recording for a regex/keyword
    /// candidate in `self.value`; `true` when claimed.
    fn judge_pattern(&mut self, w: &Work<'_>, d: DetectorId, s: usize, e: usize) -> bool {
        let eng = w.eng;
        let det = &eng.dets[usize::from(d)];
        let mut weak = false;
        for v in &det.validators {
            match v.check(&self.value, eng.today) {
                Verdict::Fail => return false,
                Verdict::Weak => weak = true,
                Verdict::Pass => {}
            }
        }
        if det.require_context && !self.context_at(w, d, s).0 {
            return false;
        }
        self.record(w, d, s, e, weak, s);
        true
    }
}

/// Appends `bytes` to a stream's history, keeping the last `cap` bytes.
fn push_hist(hist: &mut Vec<u8>, bytes: &[u8], cap: usize) {
    if hist.capacity() < cap {
        // Exactly: one allocation per stream, never more than `cap`.
        hist.reserve_exact(cap - hist.len());
    }
    if bytes.len() >= cap {
        hist.clear();
        hist.extend_from_slice(bytes.get(bytes.len() - cap..).unwrap_or_default());
    } else {
        let excess = (hist.len() + bytes.len()).saturating_sub(cap);
        hist.drain(..excess.min(hist.len()));
        hist.extend_from_slice(bytes);
    }
}

/// Makes room for `need` (at most [`MAX_CARRY`]) bytes in the empty
/// `carry`: doubling as `Vec` does, but never past the bound, so a
/// stream's carry holds at most `MAX_CARRY` bytes of heap.
fn grow_carry(carry: &mut Vec<u8>, need: usize) {
    if carry.capacity() < need {
        let cap = need.max(carry.capacity() * 2).min(MAX_CARRY);
        carry.reserve_exact(cap);
    }
}

/// The four family frontiers of a state.
fn froms(st: &StreamState) -> [usize; 4] {
    [
        usize::from(st.num_from),
        usize::from(st.email_from),
        usize::from(st.pat_from),
        usize::from(st.field_from),
    ]
}

/// Scan families (for ordering and frontiers).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fam {
    Digits,
    Email,
    Pattern,
    Field,
}

impl Engine {
    /// The PI type of detector `d`.
    fn pi_type_of(&self, d: DetectorId) -> Option<&str> {
        self.detectors
            .get(usize::from(d))
            .map(|x| x.pi_type.as_str())
    }

    fn family_of(&self, d: DetectorId) -> Fam {
        match self.dets.get(usize::from(d)).map(|x| &x.family) {
            Some(Family::Email(_)) => Fam::Email,
            Some(Family::Regex(_) | Family::Keywords(_)) => Fam::Pattern,
            Some(Family::Field(_)) => Fam::Field,
            _ => Fam::Digits,
        }
    }
}

impl Scanner {
    /// Digit family from `from`; returns its frontier.
    fn scan_digits(&mut self, w: &Work<'_>, from: usize) -> usize {
        let h = w.h;
        let mut pos = from;
        if w.eng.digit_order.is_empty() {
            return h.len();
        }
        let mut map = DigitMap::new(h, w.blocks);
        // Resuming inside a run that was already judged (too long): skip it.
        if pos > 0 && is_digit_at(h, pos - 1) {
            pos = map.run_end(pos);
        }
        // Gated part: a position the gate rejects has fewer than
        // `min_digits` digits in its chain, so `try_digits` would skip it
        // without effect, except where the chain may reach the end of a
        // non-final buffer (`NeedMore`): from `guard` on, visit every run.
        let eng = w.eng;
        let guard = if w.eof {
            h.len()
        } else {
            h.len().saturating_sub(eng.min_digits + 3)
        };
        if self.fast {
            let mut gate = Gate::new(h, w.blocks, eng.min_digits);
            loop {
                let p = gate.next(pos);
                if p >= guard {
                    break;
                }
                match self.try_digits(w, &mut map, p) {
                    DigitTry::NeedMore(s) => return s,
                    DigitTry::Next(n) => pos = n,
                }
            }
            if w.eof {
                return h.len();
            }
            // Resume at the last byte before `guard` that no chain crosses:
            // every run before it is one the gate rejected.
            let gap = h.get(pos..guard).unwrap_or_default();
            if let Some(i) = gap
                .iter()
                .rposition(|&c| !c.is_ascii_digit() && !eng.is_sep[usize::from(c)])
            {
                pos += i;
            }
        }
        // Single digits decide nothing (every form starts with a run of ≥ 2)
        // except near the end of a non-final buffer, where they may grow.
        let tail = if w.eof {
            h.len()
        } else {
            h.len().saturating_sub(3)
        };
        loop {
            let mut p = map.next_pair(pos);
            if p >= tail {
                p = map.next_digit(pos.max(tail)).min(p);
            }
            if p >= h.len() {
                return h.len();
            }
            match self.try_digits(w, &mut map, p) {
                DigitTry::NeedMore(s) => return s,
                DigitTry::Next(n) => pos = n,
            }
        }
    }

    /// Tries every digits detector at the run starting at `p`.
    fn try_digits(&mut self, w: &Work<'_>, map: &mut DigitMap<'_>, p: usize) -> DigitTry {
        let h = w.h;
        let e0 = map.run_end(p);
        let eng = w.eng;
        if e0 - p > eng.max_run {
            return DigitTry::Next(e0);
        }
        if !w.eof && e0 + 3 > h.len() {
            return DigitTry::NeedMore(self.candidate_start(h, p));
        }
        // A form starts with a run of ≥ 3 digits, or a 2-digit prefix
        // followed by a separator.
        let n0 = e0 - p;
        if n0 < 2 || (n0 == 2 && !h.get(e0).is_some_and(|&c| eng.is_sep[usize::from(c)])) {
            return DigitTry::Next(e0);
        }
        let mut runs = [(0usize, 0usize); MAX_RUNS];
        runs[0] = (p, e0);
        let mut k = 1;
        let mut e = e0;
        let mut total = e0 - p;
        let mut natural_end = false;
        while k < MAX_RUNS && e - p <= MAX_SPAN {
            match (h.get(e), h.get(e + 1)) {
                (Some(&s), Some(d)) if eng.is_sep[usize::from(s)] && d.is_ascii_digit() => {
                    let e2 = map.run_end(e + 1);
                    runs[k] = (e + 1, e2);
                    total += e2 - e - 1;
                    k += 1;
                    e = e2;
                }
                _ => {
                    natural_end = true;
                    break;
                }
            }
        }
        if !w.eof && e + 3 > h.len() {
            return DigitTry::NeedMore(self.candidate_start(h, p));
        }
        if total < eng.min_digits {
            // Later runs of a group that ended naturally have fewer digits.
            return DigitTry::Next(if natural_end { e } else { e0 });
        }
        if self.fast && k == 1 && !eng.single_run_may_match(h.get(p..e0).unwrap_or_default()) {
            return DigitTry::Next(e0);
        }
        let runs = &runs[..k];
        for (&d, &min) in eng.digit_order.iter().zip(&eng.digit_min) {
            if total < min {
                continue;
            }
            let det = &eng.dets[usize::from(d)];
            let Family::Digits(ds) = &det.family else {
                continue;
            };
            if let Some(end) = self.try_detector(w, d, ds, runs) {
                return DigitTry::Next(end);
            }
        }
        DigitTry::Next(e0)
    }

    /// First byte a candidate at run `p` may start at (a `+` prefix).
    fn candidate_start(&self, h: &[u8], p: usize) -> usize {
        if p > 0 && h.get(p - 1) == Some(&b'+') {
            p - 1
        } else {
            p
        }
    }

    /// Tries one detector's forms; `Some(end)` when it claims the digits.
    fn try_detector(
        &mut self,
        w: &Work<'_>,
        d: DetectorId,
        ds: &DigitSpec,
        runs: &[(usize, usize)],
    ) -> Option<usize> {
        let h = w.h;
        let (p, e0) = runs[0];
        let plus = p > 0 && h.get(p - 1) == Some(&b'+');
        for (pd, need_plus) in &ds.prefixes {
            if *need_plus && !plus {
                continue;
            }
            let s = if plus { p - 1 } else { p };
            let run0 = h.get(p..e0).unwrap_or_default();
            if run0 == pd.as_slice() && runs.len() >= 2 {
                if let Some(end) = self.try_forms(w, d, ds, &runs[1..], s, true) {
                    return Some(end);
                }
            } else if run0.len() > pd.len() && run0.starts_with(pd) {
                let inner = [(p + pd.len(), e0)];
                if let Some(end) = self.try_forms(w, d, ds, &inner, s, true) {
                    return Some(end);
                }
            }
        }
        self.try_forms(w, d, ds, runs, p, false)
    }

    /// Grouped forms, then the single run (with an optional check `X`).
    /// `prefixed`: a country prefix was stripped (the trunk goes in front).
    fn try_forms(
        &mut self,
        w: &Work<'_>,
        d: DetectorId,
        ds: &DigitSpec,
        runs: &[(usize, usize)],
        s: usize,
        prefixed: bool,
    ) -> Option<usize> {
        let trunk: &[u8] = if prefixed { &ds.trunk } else { &[] };
        let h = w.h;
        'g: for g in &ds.groupings {
            if runs.len() < g.len() {
                continue;
            }
            let sep = h.get(runs[0].1).copied();
            for (i, (&(a, b), &n)) in runs.iter().zip(g).enumerate() {
                if b - a != n || (i + 1 < g.len() && h.get(b).copied() != sep) {
                    continue 'g;
                }
                if i + 1 < g.len() && !sep.is_some_and(|c| ds.separators.contains(&c)) {
                    continue 'g;
                }
            }
            let end = runs[g.len() - 1].1;
            self.value.clear();
            self.value.extend_from_slice(trunk);
            for &(a, b) in &runs[..g.len()] {
                self.value
                    .extend_from_slice(h.get(a..b).unwrap_or_default());
            }
            if self.judge(w, d, s, end, false) {
                return Some(end);
            }
        }
        let (a, b) = runs[0];
        let n = b - a;
        self.value.clear();
        self.value.extend_from_slice(trunk);
        self.value
            .extend_from_slice(h.get(a..b).unwrap_or_default());
        let mut end = b;
        if ds.check_x && matches!(h.get(b), Some(b'X' | b'x')) && ds.lengths.contains(&(n + 1)) {
            self.value.push(b'X');
            end = b + 1;
        } else if !ds.lengths.contains(&n) {
            return None;
        }
        let weak = ds.single_weak && !prefixed;
        self.judge(w, d, s, end, weak).then_some(end)
    }

    /// Boundaries, validators, context; records the match. `true` when the
    /// detector claims `[s, end)` (reported or not).
    fn judge(&mut self, w: &Work<'_>, d: DetectorId, s: usize, end: usize, weak: bool) -> bool {
        let eng = w.eng;
        let det = &eng.dets[usize::from(d)];
        if !digit_before_ok(w, s) || !digit_after_ok(w.h, end) {
            return false;
        }
        if let Family::Digits(ds) = &det.family {
            if !ds.lengths.contains(&self.value.len()) {
                return false;
            }
        }
        let mut weak = weak;
        for v in &det.validators {
            match v.check(&self.value, eng.today) {
                Verdict::Fail => return false,
                Verdict::Weak => weak = true,
                Verdict::Pass => {}
            }
        }
        if det.require_context && !self.context_at(w, d, s).0 {
            return false;
        }
        self.record(w, d, s, end, weak, s);
        true
    }

    /// Context lookup, exclusion lists and the final confidence; pushes a
    /// [`Found`].
    fn record(
        &mut self,
        w: &Work<'_>,
        d: DetectorId,
        s: usize,
        end: usize,
        weak: bool,
        resume: usize,
    ) {
        let eng = w.eng;
        let det = &eng.dets[usize::from(d)];
        let (mut ctx, excl) = self.context_at(w, d, s);
        if excl || eng.allow.excluded(d, &self.value) {
            return;
        }
        if !ctx && det.window > 0 {
            ctx = self.column_boost(d, w.base + s as u64);
        }
        let confidence = match (weak, ctx) {
            (true, false) => Confidence::Low,
            (true, true) | (false, false) => det.base,
            (false, true) => det.with_context,
        };
        let a = self.vals.len() as u32;
        self.vals.extend_from_slice(&self.value);
        self.found.push(Found {
            offset: w.base + s as u64,
            detector: d,
            confidence,
            val: (a, self.vals.len() as u32),
            resume,
            end: w.base + end as u64,
            suppress: !det.report,
        });
    }

    /// (context word hit, exclusion word hit) in the window before `s`:
    /// words ending at most `window` bytes before it, looked up in `h` and,
    /// when the window reaches before `h`, in the stream history too.
    fn context_at(&mut self, w: &Work<'_>, d: DetectorId, s: usize) -> (bool, bool) {
        let eng = w.eng;
        let Some(det) = eng.dets.get(usize::from(d)) else {
            return (false, false);
        };
        let win = det.window as usize;
        if win == 0 || eng.kw.is_empty() {
            return (false, false);
        }
        let g = d * 2;
        let span = win + MAX_WORD_LEN;
        let before = w.h.get(..s).unwrap_or_default();
        let from_hist = span.saturating_sub(before.len()).min(w.hist.len());
        let mut joined = std::mem::take(&mut self.ctx_buf);
        let (hay, ascii) = if from_hist == 0 {
            let hay = before.get(before.len().saturating_sub(span)..);
            (hay.unwrap_or_default(), w.ascii)
        } else {
            let older = w.hist.get(w.hist.len() - from_hist..).unwrap_or_default();
            joined.clear();
            joined.extend_from_slice(older);
            joined.extend_from_slice(before);
            (&joined[..], w.ascii && !has_high(older))
        };
        let mut hit = [false; 2];
        eng.kw.scan(&mut self.kw, hay, Some(ascii), &mut |rg, end| {
            if (rg == g || rg == g + 1) && end + win >= hay.len() {
                hit[usize::from(rg - g)] = true;
            }
        });
        self.ctx_buf = joined;
        (hit[0], hit[1])
    }

    /// E-mail family from `from`; returns (frontier, earliest byte needed).
    fn scan_email(&mut self, w: &Work<'_>, from: usize) -> (usize, usize) {
        let h = w.h;
        let len = h.len();
        let Some(d) = w.eng.email else {
            return (len, len);
        };
        let eng = w.eng;
        let Family::Email(es) = &eng.dets[usize::from(d)].family else {
            return (len, len);
        };
        let mut pos = from;
        while let Some(i) = h.get(pos..).and_then(|t| memchr::memchr(b'@', t)) {
            let a = pos + i;
            match email::at(h, a, w.start_boundary, w.eof, &es.exclude_tlds) {
                EmailAt::No => {}
                EmailAt::NeedMore { local_start } => return (a, local_start),
                EmailAt::Yes { start, end } => {
                    self.value.clear();
                    self.value.extend(
                        h.get(start..end)
                            .unwrap_or_default()
                            .iter()
                            .map(u8::to_ascii_lowercase),
                    );
                    self.record(w, d, start, end, false, a);
                }
            }
            pos = a + 1;
        }
        // A trailing run of local-part bytes may still meet its `@`.
        let mut s = len;
        while s > 0
            && len - s <= email::MAX_LOCAL
            && h.get(s - 1).copied().is_some_and(email::is_local)
        {
            s -= 1;
        }
        (len, if w.eof { len } else { s })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(src: &str) -> Arc<Engine> {
        Arc::new(Engine::from_sources(&[("t.toml", src)], &EngineOptions::default()).unwrap())
    }

    const MOBILE: &str = r#"
id = "m"
pi_type = "cn_mobile"
category = "contact"
kind = "digits"
validators = ["mobile_segment"]
confidence = "medium"
context_confidence = "high"
[digits]
lengths = [11]
[context]
window = 16
words = ["tel"]
"#;

    struct V(Vec<(u64, Confidence)>);
    impl MatchSink for V {
        fn on_match(&mut self, m: &Match<'_>) {
            self.0.push((m.offset, m.confidence));
        }
    }

    #[test]
    fn thread_safety() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Engine>();
        send::<Scanner>();
        send::<StreamState>();
    }

    #[test]
    fn context_window_is_bounded() {
        let e = engine(MOBILE);
        let mut v = V(Vec::new());
        e.scan_buffer(
            b"tel 13800138000 ........................ 13900139000",
            &mut v,
        );
        assert_eq!(v.0, vec![(4, Confidence::High), (41, Confidence::Medium)]);
    }

    #[test]
    fn carry_capacity_stays_within_its_bound() {
        // An address field still open at each call keeps a long carry;
        // fed in small pieces it grows a little at a time, which with
        // `Vec`'s doubling once reached twice the bound.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures/detectors");
        let e = Arc::new(Engine::load_dir(&dir, &EngineOptions::default()).unwrap());
        let doc = format!("{{\"address\":\"{}\"}}", "北京市海淀区".repeat(40));
        for piece in [1, 3, 7] {
            let mut s = e.scanner();
            let mut st = StreamState::default();
            let mut v = V(Vec::new());
            let mut longest = 0;
            for chunk in doc.as_bytes().chunks(piece) {
                s.scan_stream(&mut st, chunk, &mut v);
                longest = longest.max(st.carry.len());
                assert!(st.carry.capacity() <= MAX_CARRY, "{}", st.carry.capacity());
            }
            // Past a power of two: doubling would have passed the bound.
            assert!(longest > 128, "carry only reached {longest} bytes");
        }
    }

    #[test]
    fn duplicate_ids_rejected() {
        let r = Engine::from_sources(
            &[("a.toml", MOBILE), ("b.toml", MOBILE)],
            &EngineOptions::default(),
        );
        let e = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("b.toml") && e.contains("a.toml") && e.contains("`m`"),
            "{e}"
        );
    }

    #[test]
    fn long_runs_across_chunks_are_skipped() {
        let e = engine(MOBILE);
        let mut s = e.scanner();
        let mut st = StreamState::default();
        let mut v = V(Vec::new());
        s.scan_stream(&mut st, &[b'1'; 30], &mut v);
        s.scan_stream(&mut st, b"3800138000 x", &mut v);
        s.finish_stream(&mut st, &mut v);
        assert!(v.0.is_empty());
        // Carry (< 256) plus the history: window 16 and a word.
        assert!(st.heap_bytes() <= 256 + 48, "{}", st.heap_bytes());
    }

    fn real_engine() -> Arc<Engine> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
        Arc::new(Engine::load_dir(&dir, &EngineOptions::default()).unwrap())
    }

    #[derive(Default)]
    struct All(Vec<(u64, DetectorId, Vec<u8>, Confidence)>);
    impl MatchSink for All {
        fn on_match(&mut self, m: &Match<'_>) {
            self.0
                .push((m.offset, m.detector, m.value.to_vec(), m.confidence));
        }
    }

    fn run(e: &Arc<Engine>, fast: bool, data: &[u8], cuts: &[usize]) -> (All, All) {
        let mut s = e.scanner();
        s.fast = fast;
        let mut whole = All::default();
        s.scan_buffer(data, &mut whole);
        let mut st = StreamState::default();
        let mut streamed = All::default();
        let mut at = 0;
        for &c in cuts {
            let c = c.min(data.len()).max(at);
            s.scan_stream(&mut st, &data[at..c], &mut streamed);
            at = c;
        }
        s.scan_stream(&mut st, &data[at..], &mut streamed);
        s.finish_stream(&mut st, &mut streamed);
        (whole, streamed)
    }

    const PIECES: &[&str] = &[
        "13800138000",
        "11010519491231002X",
        "6217000000000000004",
        "138 0013 8000",
        "+86 138-0013-8000",
        "8613800138000",
        "008613800138000",
        "6217 0000 0000 0000 004",
        "110105491231002",
        "1763000000123",
        "0",
        "12",
        "123",
        "4567",
        "99999",
        " ",
        "-",
        ".",
        "/",
        "+",
        "X",
        "x",
        "@",
        "a",
        "tel:",
        "id ",
        "\n",
        "\"",
        "2026-11-22",
        "u@example.com",
    ];

    proptest::proptest! {
        #[test]
        fn fast_paths_change_nothing(
            idx in proptest::collection::vec(0..PIECES.len(), 0..120),
            cuts in proptest::collection::vec(0usize..2000, 0..6),
        ) {
            let data: Vec<u8> = idx.iter().flat_map(|&i| PIECES[i].bytes()).collect();
            let mut cuts = cuts;
            cuts.sort_unstable();
            let e = real_engine();
            let (fw, fs) = run(&e, true, &data, &cuts);
            let (sw, ss) = run(&e, false, &data, &cuts);
            proptest::prop_assert_eq!(fw.0, sw.0);
            proptest::prop_assert_eq!(fs.0, ss.0);
        }
    }

    #[test]
    fn fast_paths_change_nothing_on_long_text() {
        let e = real_engine();
        let mut data = Vec::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(PIECES[(x % PIECES.len() as u64) as usize].as_bytes());
            if i % 7 == 0 {
                data.extend_from_slice(format!("{}", x % 100_000_000_000_000).as_bytes());
            }
        }
        let cuts: Vec<usize> = (1..200).map(|i| i * 997).collect();
        let (fw, fs) = run(&e, true, &data, &cuts);
        let (sw, ss) = run(&e, false, &data, &cuts);
        assert!(sw.0.len() > 100, "{} matches", sw.0.len());
        assert_eq!(fw.0, sw.0);
        assert_eq!(fs.0, ss.0);
    }
}
