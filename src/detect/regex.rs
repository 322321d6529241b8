//! Regex detectors (`kind = "regex"`): Hyperscan-syntax patterns of bounded
//! length, found by one Hyperscan block database over all regex detectors
//! (feature `hyperscan`) used as a prefilter, and decided by the `regex`
//! crate, so both back-ends give identical results by construction.
//!
//! # Semantics
//!
//! For each detector, candidates are walked in start order: at position
//! `pos`, the leftmost-first match `[s, e)` at or after `pos` is taken. If
//! it is whole-word (an alphanumeric first/last byte must not touch another
//! alphanumeric byte) and its validators pass, it is claimed and the walk
//! resumes at `e`; otherwise the walk resumes at `s + 1`. Because a match
//! spans at most [`MAX_REGEX_LEN`] bytes, a candidate starting `MAX + 1`
//! bytes before the end of the buffer is fully decided, which is what lets
//! streams carry a bounded tail.
//!
//! Hyperscan reports the end of every match without start-of-match
//! tracking (no SOM is needed: the `regex` crate finds the start in the
//! `MAX_REGEX_LEN` bytes before a reported end).
//!
//! A pattern every match of which holds a byte ≥ 0x80 (free-text Chinese
//! addresses) cannot match ASCII-only text, which is most traffic: such
//! patterns have their own database, run only when the buffer holds such
//! a byte. The other database runs only when the buffer holds one of the
//! two-byte prefixes its matches can start with (passport and permit
//! numbers start with one of ~150 letter pairs such as `G1` or `EA`),
//! found with a SIMD first-byte mask ([`PrefixGate`]). Hyperscan costs
//! ~2-4 instructions per byte on digit-dense text however rare its
//! matches; the gate costs a fraction of one.

use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};

use super::digits::NibbleSet;

use super::context::ContextBackend;
use super::hs_cache::HsCache;
use super::signature::SignatureError;

/// Longest keyword a keyword detector may list, in bytes.
pub const MAX_PATTERN_LEN: usize = 64;

/// Longest match a regex detector may produce, in bytes (a free-text postal
/// address with an autonomous region and prefecture needs ~40 Han
/// characters; the field family already carries 96 + 8 bytes of value).
pub const MAX_REGEX_LEN: usize = 128;

/// Prefilter hits kept per scan call; more and the walk runs unfiltered.
#[cfg(feature = "hyperscan")]
const MAX_HITS: usize = 4096;

/// One compiled regex detector.
#[derive(Clone, Debug)]
pub struct RegexSpec {
    /// The pattern as written.
    #[cfg_attr(not(feature = "hyperscan"), allow(dead_code))]
    pub pattern: String,
    /// Compiled for the `regex` crate (bytes, ASCII classes).
    pub re: Regex,
    /// Index of the `value` capture group, if any.
    pub value_group: Option<usize>,
    /// Longest match in bytes.
    pub max_len: usize,
    /// Every match holds a byte ≥ 0x80 (see [`needs_high`]).
    pub needs_high: bool,
    /// Every match starts with one of these (one or two bytes each);
    /// `None`: unknown (see [`prefixes`]).
    pub prefixes: Option<Vec<Vec<u8>>>,
}

/// Checks and compiles one pattern. `Err` is a message for the
/// `regex.pattern` field.
pub fn compile(pattern: &str) -> Result<RegexSpec, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| format!("invalid pattern: {}", first_line(&e.to_string())))?;
    let props = hir.properties();
    if props.minimum_len().unwrap_or(0) == 0 {
        return Err("the pattern may match the empty string".to_string());
    }
    let max_len = match props.maximum_len() {
        Some(n) if n <= MAX_REGEX_LEN => n,
        _ => {
            return Err(format!(
                "the pattern must match at most {MAX_REGEX_LEN} bytes \
                 (bounded repeats like {{8}} or {{7,8}}, no `*` or `+`)"
            ))
        }
    };
    let re = RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .map_err(|e| format!("invalid pattern: {}", first_line(&e.to_string())))?;
    let value_group = re.capture_names().position(|n| n == Some("value"));
    #[cfg(feature = "hyperscan")]
    check_hs(&hs_expr(pattern)).map_err(|e| format!("Hyperscan rejects the pattern: {e}"))?;
    Ok(RegexSpec {
        pattern: pattern.to_string(),
        re,
        value_group,
        max_len,
        needs_high: needs_high(&hir),
        prefixes: prefixes(&hir),
    })
}

/// The one- or two-byte strings every match of `hir` starts with (at most
/// 512), or `None` when the syntax does not bound them.
pub fn prefixes(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let seq = Extractor::new()
        .kind(ExtractKind::Prefix)
        .limit_class(64)
        .limit_literal_len(2)
        .limit_total(512)
        .extract(hir);
    let lits = seq.literals()?;
    if lits.is_empty() || lits.iter().any(|l| l.as_bytes().is_empty()) {
        return None;
    }
    Some(lits.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// Whether a buffer can hold a match of a set of patterns, from the
/// prefixes their matches start with: first bytes by a SIMD mask, then
/// the second byte of each hit by a 64 Kib pair table.
pub struct PrefixGate {
    first: NibbleSet,
    /// First bytes that start a one-byte prefix (any second byte).
    single: [bool; 256],
    /// Bit `a << 8 | b`: `[a, b]` is a prefix.
    pairs: Vec<u64>,
}

impl PrefixGate {
    /// The gate of patterns with these prefix lists; `None` when one is
    /// unknown or the first bytes have no SIMD mask (the caller scans).
    pub fn new<'a>(lists: impl IntoIterator<Item = Option<&'a Vec<Vec<u8>>>>) -> Option<Self> {
        let mut first = [false; 256];
        let mut single = [false; 256];
        let mut pairs = vec![0u64; 1024];
        for list in lists {
            for p in list? {
                match p.as_slice() {
                    [a] => {
                        first[usize::from(*a)] = true;
                        single[usize::from(*a)] = true;
                    }
                    [a, b, ..] => {
                        first[usize::from(*a)] = true;
                        let i = usize::from(*a) << 8 | usize::from(*b);
                        *pairs.get_mut(i / 64)? |= 1 << (i % 64);
                    }
                    [] => return None,
                }
            }
        }
        Some(PrefixGate {
            first: NibbleSet::new(&first)?,
            single,
            pairs,
        })
    }

    /// Whether a prefix occurs in `h` (a match can start in it).
    pub fn may_match(&self, h: &[u8]) -> bool {
        self.first.any(h, |p| self.starts_at(h, p))
    }

    /// Whether a prefix starts at `p`, whose byte is a first byte.
    fn starts_at(&self, h: &[u8], p: usize) -> bool {
        let Some(&a) = h.get(p) else { return false };
        if self.single.get(usize::from(a)).copied().unwrap_or(true) {
            return true;
        }
        // A two-byte prefix cannot start at the last byte.
        let Some(&b) = h.get(p + 1) else { return false };
        let i = usize::from(a) << 8 | usize::from(b);
        self.pairs
            .get(i / 64)
            .is_none_or(|w| w >> (i % 64) & 1 == 1)
    }
}

/// Whether every match of `hir` holds a byte ≥ 0x80, so that it cannot
/// match ASCII-only text. Conservative: `false` when unsure.
pub fn needs_high(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Literal(l) => l.0.iter().any(|&b| b >= 0x80),
        HirKind::Class(Class::Bytes(c)) => c.ranges().iter().all(|r| r.start() >= 0x80),
        HirKind::Class(Class::Unicode(c)) => {
            c.ranges().iter().all(|r| u32::from(r.start()) >= 0x80)
        }
        HirKind::Repetition(r) => r.min >= 1 && needs_high(&r.sub),
        HirKind::Capture(c) => needs_high(&c.sub),
        HirKind::Concat(v) => v.iter().any(needs_high),
        HirKind::Alternation(v) => !v.is_empty() && v.iter().all(needs_high),
        HirKind::Empty | HirKind::Look(_) => false,
    }
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().trim().to_string()
}

/// The pattern for Hyperscan: named groups become plain groups (Hyperscan
/// reports no captures).
#[cfg_attr(not(feature = "hyperscan"), allow(dead_code))]
fn hs_expr(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(i) = rest.find("(?") {
        let escaped = rest[..i].chars().rev().take_while(|&c| c == '\\').count() % 2 == 1;
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let name_at = ["(?P<", "(?<"].iter().find(|p| tail.starts_with(**p));
        match (escaped, name_at, tail.find('>')) {
            (false, Some(_), Some(close)) => {
                out.push_str("(?:");
                rest = &tail[close + 1..];
            }
            _ => {
                out.push_str("(?");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Checks that Hyperscan accepts one pattern: its expression analysis, not a
/// database build (the set is compiled once, in [`RegexSet::new`]; a build
/// costs as much as the rest of start-up for a large pattern).
#[cfg(feature = "hyperscan")]
fn check_hs(expr: &str) -> Result<(), String> {
    use hyperscan::prelude::*;
    let p = Pattern::new(expr).map_err(|e| e.to_string())?;
    p.info().map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(feature = "hyperscan")]
fn build_hs(
    exprs: &[(usize, String)],
    cache: &HsCache,
) -> Result<hyperscan::BlockDatabase, String> {
    use hyperscan::prelude::*;
    let pats = exprs
        .iter()
        .map(|(i, e)| {
            let mut p = Pattern::new(e.clone()).map_err(|e| e.to_string())?;
            p.id = Some(*i);
            Ok(p)
        })
        .collect::<Result<Vec<_>, String>>()?;
    cache.block_database(Patterns(pats))
}

/// The part of a buffer a walk decides.
#[derive(Clone, Copy)]
pub struct Window<'a> {
    /// The buffer (carry plus new bytes).
    pub h: &'a [u8],
    /// First start to consider.
    pub from: usize,
    /// Candidates starting here or later are left undecided.
    pub limit: usize,
    /// The buffer start is a boundary (stream start, not after a gap).
    pub start_boundary: bool,
}

/// All regex detectors of an engine.
pub struct RegexSet {
    /// Detector of each pattern.
    pub dets: Vec<u16>,
    /// Hyperscan databases: (patterns that can match ASCII text, patterns
    /// needing a byte ≥ 0x80), empty parts left out; ids are pattern indexes.
    #[cfg(feature = "hyperscan")]
    hs: Vec<HsPart>,
    /// Prefixes of the patterns that can match ASCII text: a buffer
    /// without one holds no match of them (both back-ends skip them).
    gate: Option<PrefixGate>,
}

/// One Hyperscan database of a [`RegexSet`].
#[cfg(feature = "hyperscan")]
struct HsPart {
    db: hyperscan::BlockDatabase,
    /// Its patterns need a byte ≥ 0x80.
    high: bool,
}

/// Per-thread scratch for [`RegexSet`].
#[derive(Default)]
pub struct RegexScratch {
    /// One per database of the set.
    #[cfg(feature = "hyperscan")]
    hs: Vec<Option<hyperscan::Scratch>>,
    /// The last prefiltered buffer holds no byte ≥ 0x80.
    ascii_only: bool,
    /// The last prefiltered buffer holds no prefix of the patterns that
    /// can match ASCII text (see [`RegexSet::gate`]).
    no_prefix: bool,
    /// (pattern index, end) reported by the prefilter.
    hits: Vec<(u16, u32)>,
    /// The prefilter overflowed or failed: walk every pattern unfiltered.
    unfiltered: bool,
}

impl RegexScratch {
    /// Whether the last prefiltered buffer can hold no match of the
    /// patterns needing a byte ≥ 0x80 (`high`) or of the others (no
    /// prefix of theirs in it): Hyperscan would report nothing.
    fn skips(&self, high: bool) -> bool {
        if high {
            self.ascii_only
        } else {
            self.no_prefix
        }
    }
}

impl RegexSet {
    /// Compiles the patterns of `specs` (`(detector, spec)`) for `backend`.
    pub fn new(
        specs: &[(u16, &RegexSpec)],
        backend: ContextBackend,
        cache: &HsCache,
    ) -> Result<RegexSet, SignatureError> {
        let _ = (backend, cache);
        #[allow(unused_mut)]
        let mut set = RegexSet {
            dets: specs.iter().map(|s| s.0).collect(),
            #[cfg(feature = "hyperscan")]
            hs: Vec::new(),
            gate: PrefixGate::new(
                (specs.iter())
                    .filter(|s| !s.1.needs_high)
                    .map(|s| s.1.prefixes.as_ref()),
            ),
        };
        #[cfg(feature = "hyperscan")]
        if backend == ContextBackend::Hyperscan {
            for high in [false, true] {
                let exprs: Vec<(usize, String)> = (specs.iter().enumerate())
                    .filter(|(_, s)| s.1.needs_high == high)
                    .map(|(i, s)| (i, hs_expr(&s.1.pattern)))
                    .collect();
                if exprs.is_empty() {
                    continue;
                }
                set.hs.push(HsPart {
                    db: build_hs(&exprs, cache).map_err(SignatureError::backend)?,
                    high,
                });
            }
        }
        Ok(set)
    }

    /// A scratch for this set.
    pub fn scratch(&self) -> RegexScratch {
        RegexScratch {
            #[cfg(feature = "hyperscan")]
            hs: self.hs.iter().map(|p| p.db.alloc_scratch().ok()).collect(),
            ..RegexScratch::default()
        }
    }

    /// Runs the prefilter over `h`; `ascii_only`: `h` holds no byte ≥ 0x80
    /// (without Hyperscan, only that is noted).
    pub fn prefilter(&self, s: &mut RegexScratch, h: &[u8], ascii_only: bool) {
        s.hits.clear();
        s.unfiltered = true;
        s.ascii_only = ascii_only;
        s.no_prefix = self.gate.as_ref().is_some_and(|g| !g.may_match(h));
        #[cfg(feature = "hyperscan")]
        if !self.hs.is_empty() {
            s.unfiltered = !self.prefilter_hs(s, h);
            // Hits arrive in end order per database; group them per pattern.
            s.hits.sort_unstable();
        }
        #[cfg(not(feature = "hyperscan"))]
        let _ = h;
    }

    /// Runs the databases `h` can match into `s.hits`; `false` when one
    /// failed or overflowed (walk unfiltered).
    #[cfg(feature = "hyperscan")]
    fn prefilter_hs(&self, s: &mut RegexScratch, h: &[u8]) -> bool {
        for (part, hs) in self.hs.iter().zip(&s.hs) {
            if s.skips(part.high) {
                continue;
            }
            let Some(hs) = hs else {
                return false;
            };
            let hits = &mut s.hits;
            let mut over = false;
            let r = part
                .db
                .scan(h, hs, |id: u32, _from: u64, to: u64, _flags: u32| {
                    if hits.len() >= MAX_HITS {
                        over = true;
                        return hyperscan::Matching::Terminate;
                    }
                    hits.push((id as u16, to as u32));
                    hyperscan::Matching::Continue
                });
            if over || r.is_err() {
                return false;
            }
        }
        true
    }

    /// Walks pattern `i` (spec `spec`) over `win`. `claim(start, end, value)`
    /// applies validators etc. and returns whether the match is claimed.
    /// Returns the end of the last claimed match (or `from`).
    pub fn walk(
        &self,
        s: &RegexScratch,
        i: usize,
        spec: &RegexSpec,
        win: &Window<'_>,
        claim: &mut dyn FnMut(usize, usize, (usize, usize)) -> bool,
    ) {
        let Window {
            h,
            from,
            limit,
            start_boundary,
        } = *win;
        if s.skips(spec.needs_high) {
            return;
        }
        let ends = if s.unfiltered {
            None
        } else {
            let lo = s.hits.partition_point(|x| usize::from(x.0) < i);
            let hi = s.hits.partition_point(|x| usize::from(x.0) <= i);
            Some(s.hits.get(lo..hi).unwrap_or_default())
        };
        let mut pos = from;
        let mut k = 0;
        while pos < limit {
            if let Some(ends) = ends {
                // Skip to the first reported end after `pos`.
                while ends.get(k).is_some_and(|x| (x.1 as usize) <= pos) {
                    k += 1;
                }
                let Some(&(_, e)) = ends.get(k) else {
                    return;
                };
                pos = pos.max((e as usize).saturating_sub(MAX_REGEX_LEN));
                if pos >= limit {
                    return;
                }
            }
            // Capture groups cost an NFA pass: only with a `value` group.
            let (ms, me, val) = match spec.value_group {
                None => {
                    let Some(m) = spec.re.find_at(h, pos) else {
                        return;
                    };
                    (m.start(), m.end(), (m.start(), m.end()))
                }
                Some(g) => {
                    let Some(caps) = spec.re.captures_at(h, pos) else {
                        return;
                    };
                    let Some(m) = caps.get(0) else {
                        return;
                    };
                    let val = caps
                        .get(g)
                        .map_or((m.start(), m.end()), |c| (c.start(), c.end()));
                    (m.start(), m.end(), val)
                }
            };
            if ms >= limit {
                return;
            }
            if whole_word(h, ms, me, start_boundary) && val.1 > val.0 && claim(ms, me, val) {
                pos = me;
            } else {
                pos = ms + 1;
            }
        }
    }
}

/// Does `[s, e)` stand alone: an alphanumeric edge byte must not touch
/// another alphanumeric byte. At `s == 0` the stream start counts as a
/// boundary only when `start_boundary`.
pub fn whole_word(h: &[u8], s: usize, e: usize, start_boundary: bool) -> bool {
    let alnum = |i: usize| h.get(i).is_some_and(u8::is_ascii_alphanumeric);
    let before_ok = !alnum(s)
        || if s == 0 {
            start_boundary
        } else {
            !alnum(s - 1)
        };
    let after_ok = e == 0 || !alnum(e - 1) || !alnum(e);
    before_ok && after_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::digits::has_high;

    fn walk_all(backend: ContextBackend, pat: &str, h: &[u8]) -> Vec<(usize, usize, Vec<u8>)> {
        walk_gated(backend, true, pat, h)
    }

    /// `gated: false`: the regex walk alone, the reference for the gate.
    fn walk_gated(
        backend: ContextBackend,
        gated: bool,
        pat: &str,
        h: &[u8],
    ) -> Vec<(usize, usize, Vec<u8>)> {
        let spec = compile(pat).unwrap();
        let mut set = RegexSet::new(&[(0, &spec)], backend, &HsCache::off()).unwrap();
        if !gated {
            set.gate = None;
        }
        let mut s = set.scratch();
        set.prefilter(&mut s, h, !has_high(h));
        let mut out = Vec::new();
        let win = Window {
            h,
            from: 0,
            limit: h.len(),
            start_boundary: true,
        };
        set.walk(&s, 0, &spec, &win, &mut |a, b, v| {
            out.push((a, b, h[v.0..v.1].to_vec()));
            true
        });
        out
    }

    fn backends() -> Vec<ContextBackend> {
        vec![ContextBackend::AhoCorasick, ContextBackend::default()]
    }

    #[test]
    fn whole_words_only_and_value_group() {
        let h = b"E12345678 xE12345678 E123456789 no:G87654321.";
        for b in backends() {
            let got = walk_all(b, r"(?P<value>[EG]\d{8})", h);
            let starts: Vec<usize> = got.iter().map(|x| x.0).collect();
            assert_eq!(starts, vec![0, 35], "{b:?}");
            assert_eq!(got[1].2, b"G87654321");
        }
    }

    #[test]
    fn rejected_candidate_resumes_one_byte_later() {
        // `\d{7,8}` inside a 9-digit run never stands alone.
        for b in backends() {
            assert!(walk_all(b, r"\d{7,8}", b"123456789").is_empty());
            assert_eq!(walk_all(b, r"\d{7,8}", b"a 1234567 b").len(), 1);
        }
    }

    #[test]
    fn unbounded_and_empty_patterns_are_rejected() {
        assert!(compile(r"E\d+").unwrap_err().contains("at most"));
        assert!(compile(r"a?").unwrap_err().contains("empty"));
        assert!(compile(r"(").unwrap_err().contains("invalid"));
        assert!(compile(&format!("a{{{}}}", MAX_REGEX_LEN + 1)).is_err());
        assert!(compile(&format!("a{{{}}}", MAX_REGEX_LEN)).is_ok());
    }

    #[test]
    fn needs_high_only_when_every_match_has_a_high_byte() {
        let high = |p: &str| compile(p).unwrap().needs_high;
        assert!(high(
            r"(?:[\xe4-\xe9][\x80-\xbf]{2}){1,4}\xe8\xb7\xaf[0-9]{1,4}"
        ));
        assert!(high("(?:北京|上海)[0-9]{2}"));
        assert!(high("(?:省)?市"));
        assert!(!high("(?:省)?[0-9]{2}"));
        assert!(!high("(?:北京|AB)[0-9]{2}"));
        assert!(!high(r"(?:E[0-9A-HJ-NP-Z]|[GD][0-9])[0-9]{7}"));
        assert!(!high(r"[\x00-\xff]{3}"));
    }

    #[test]
    fn high_patterns_skip_ascii_text_only() {
        let pat = "(?P<value>(?:北京|上海)[0-9]{2})";
        for b in backends() {
            assert!(walk_all(b, pat, b"beijing 12 shanghai 34").is_empty());
            let h = "x 北京12 y".as_bytes();
            assert_eq!(walk_all(b, pat, h).len(), 1, "{b:?}");
        }
        let h: Vec<u8> = (0..100u8)
            .map(|i| if i == 77 { 0x80 } else { b'a' })
            .collect();
        assert!(has_high(&h) && !has_high(&h[..77]) && has_high(&h[70..]));
    }

    const PASSPORT: &str = r"(?:E[0-9A-HJ-NP-Z]|[GDSPK][0-9]|DE|SE|PE|KJ|MA|MB)[0-9]{7}";
    const PERMIT: &str = r"(?P<value>[HM][0-9]{8})(?:[0-9]{2})?";

    #[test]
    fn prefix_gate_passes_buffers_with_a_prefix_only() {
        let p = compile(PASSPORT).unwrap().prefixes.unwrap();
        for want in [&b"G1"[..], b"EA", b"DE", b"KJ"] {
            assert!(p.iter().any(|x| x == want), "{want:?}");
        }
        assert!(!p.iter().any(|x| x == b"SK" || x == b"EI"));
        let specs = [compile(PASSPORT).unwrap(), compile(PERMIT).unwrap()];
        let Some(g) = PrefixGate::new(specs.iter().map(|s| s.prefixes.as_ref())) else {
            return; // no AVX2: the set scans every buffer
        };
        let filler = "\"sku\":\"SKU-12345678\",\"ts\":1653487487437,".repeat(3);
        assert!(!g.may_match(filler.as_bytes()));
        assert!(!g.may_match(format!("{filler}G").as_bytes()), "last byte");
        assert!(g.may_match(format!("{filler}G1").as_bytes()));
        assert!(g.may_match(format!("{filler}M9 ").as_bytes()));
        assert!(compile(r"\d{3}x").unwrap().prefixes.is_some());
        assert!(
            compile(r"[^a]b").unwrap().prefixes.is_none(),
            "255 first bytes"
        );
    }

    proptest::proptest! {
        /// The gated Hyperscan prefilter finds what the ungated regex walk
        /// finds: tokens of a letter, a letter or digit and 6-9 digits.
        #[test]
        fn gated_prefilter_loses_nothing(parts in proptest::collection::vec(
            (b'A'..=b'Z', proptest::prop_oneof![b'A'..=b'Z', b'0'..=b'9'], 6usize..10, proptest::prelude::any::<u8>()),
            0..20)) {
            let mut h = Vec::new();
            for (a, b, n, sep) in parts {
                h.extend([a, b]);
                h.extend((0..n).map(|i| b'0' + (i as u8 * 7 + a) % 10));
                h.push(sep);
            }
            for pat in [PASSPORT, PERMIT] {
                let want = walk_gated(ContextBackend::AhoCorasick, false, pat, &h);
                for b in backends() {
                    proptest::prop_assert_eq!(&walk_all(b, pat, &h), &want);
                }
            }
        }
    }

    #[test]
    fn hs_expr_drops_names_only() {
        assert_eq!(
            hs_expr(r"x(?P<value>\d)(?:a)(?<b>c)\(?P<"),
            r"x(?:\d)(?:a)(?:c)\(?P<"
        );
    }
}
