//! Context-word database: Hyperscan literal set (feature `hyperscan`) or an
//! `aho-corasick` automaton with identical results (all occurrences, ASCII
//! case-insensitive). Each word belongs to a group (a detector's context
//! or exclusion list); callers only need `(group, end offset)` pairs, in
//! any order.
//!
//! Words holding a byte ≥ 0x80 (Chinese words, GBK literals) cannot occur
//! in ASCII-only text, which is most traffic: they are a separate part,
//! run only when the haystack holds such a byte.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::digits::has_high;
use super::hs_cache::HsCache;
use super::signature::SignatureError;

/// Which matcher runs the context words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextBackend {
    /// Hyperscan literal database (needs the `hyperscan` feature).
    Hyperscan,
    /// Pure-Rust `aho-corasick`.
    AhoCorasick,
}

impl Default for ContextBackend {
    fn default() -> Self {
        if cfg!(feature = "hyperscan") {
            ContextBackend::Hyperscan
        } else {
            ContextBackend::AhoCorasick
        }
    }
}

/// Compiled context words.
pub struct Keywords {
    groups: Vec<u16>,
    /// ASCII-only words, then words holding a byte ≥ 0x80 (empty parts
    /// left out).
    parts: Vec<Part>,
}

/// The words of one part, compiled.
struct Part {
    /// Every word holds a byte ≥ 0x80.
    high: bool,
    /// Word index of each automaton pattern (Hyperscan ids are word
    /// indexes already).
    ids: Vec<usize>,
    ac: Option<AhoCorasick>,
    #[cfg(feature = "hyperscan")]
    hs: Option<hyperscan::BlockDatabase>,
}

/// Per-thread scratch for [`Keywords::scan`].
#[derive(Default)]
pub struct KwScratch {
    /// One per part.
    #[cfg(feature = "hyperscan")]
    hs: Vec<Option<hyperscan::Scratch>>,
}

impl Keywords {
    /// Compiles `(word, group)` pairs for `backend`.
    pub fn new<W: AsRef<[u8]>>(
        words: &[(W, u16)],
        backend: ContextBackend,
        cache: &HsCache,
    ) -> Result<Self, SignatureError> {
        let groups = words.iter().map(|w| w.1).collect();
        let mut parts = Vec::new();
        for high in [false, true] {
            let ids: Vec<usize> = (0..words.len())
                .filter(|&i| has_high(words[i].0.as_ref()) == high)
                .collect();
            if !ids.is_empty() {
                parts.push(Part::new(words, ids, high, backend, cache)?);
            }
        }
        Ok(Keywords { groups, parts })
    }

    /// `true` when no words were given.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// A scratch for this database.
    pub fn scratch(&self) -> KwScratch {
        #[cfg(feature = "hyperscan")]
        {
            let scratch = |p: &Part| p.hs.as_ref().and_then(|db| db.alloc_scratch().ok());
            KwScratch {
                hs: self.parts.iter().map(scratch).collect(),
            }
        }
        #[cfg(not(feature = "hyperscan"))]
        KwScratch::default()
    }

    /// Calls `f(group, end)` for every occurrence of every word in `hay`
    /// (end is exclusive, relative to `hay`), in no particular order.
    /// `ascii_only`: whether `hay` holds no byte ≥ 0x80, when the caller
    /// knows (a part of a buffer it checked once); `None`: look.
    pub fn scan(
        &self,
        scratch: &mut KwScratch,
        hay: &[u8],
        ascii_only: Option<bool>,
        f: &mut dyn FnMut(u16, usize),
    ) {
        let high_part = self.parts.last().is_some_and(|p| p.high);
        let ascii_only = high_part && ascii_only.unwrap_or_else(|| !has_high(hay));
        for (k, p) in self.parts.iter().enumerate() {
            if p.high && ascii_only {
                continue;
            }
            let mut hit = |id: usize, end: usize| {
                if let Some(&g) = self.groups.get(id) {
                    f(g, end);
                }
            };
            if let Some(ac) = &p.ac {
                for m in ac.find_overlapping_iter(hay) {
                    if let Some(&id) = p.ids.get(m.pattern().as_usize()) {
                        hit(id, m.end());
                    }
                }
            }
            #[cfg(feature = "hyperscan")]
            if let (Some(db), Some(Some(s))) = (&p.hs, scratch.hs.get(k)) {
                // A scan error (only possible on internal faults) loses
                // context for this lookup, which lowers confidence but
                // never panics.
                let _ = db.scan(hay, s, |id: u32, _from: u64, to: u64, _flags: u32| {
                    if let Ok(end) = usize::try_from(to) {
                        hit(id as usize, end);
                    }
                    hyperscan::Matching::Continue
                });
            }
            #[cfg(not(feature = "hyperscan"))]
            let _ = (k, &scratch);
        }
    }
}

impl Part {
    /// Compiles the words `ids` of `words` for `backend`.
    fn new<W: AsRef<[u8]>>(
        words: &[(W, u16)],
        ids: Vec<usize>,
        high: bool,
        backend: ContextBackend,
        cache: &HsCache,
    ) -> Result<Part, SignatureError> {
        let mut part = Part {
            high,
            ids,
            ac: None,
            #[cfg(feature = "hyperscan")]
            hs: None,
        };
        let words = part.ids.iter().filter_map(|&i| words.get(i));
        #[cfg(not(feature = "hyperscan"))]
        let _ = cache;
        match backend {
            #[cfg(feature = "hyperscan")]
            ContextBackend::Hyperscan => part.hs = Some(build_hs(words.zip(&part.ids), cache)?),
            _ => {
                let ac = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(words.map(|w| w.0.as_ref()))
                    .map_err(|e| SignatureError::backend(e.to_string()))?;
                part.ac = Some(ac);
            }
        }
        Ok(part)
    }
}

/// Compiles `((word, group), word index)` pairs; ids are word indexes.
#[cfg(feature = "hyperscan")]
fn build_hs<'a, W: AsRef<[u8]> + 'a>(
    words: impl Iterator<Item = (&'a (W, u16), &'a usize)>,
    cache: &HsCache,
) -> Result<hyperscan::BlockDatabase, SignatureError> {
    use hyperscan::prelude::*;
    use std::fmt::Write;
    let mut pats = Vec::new();
    for ((w, _), &i) in words {
        let w = w.as_ref();
        let mut expr = String::with_capacity(w.len() * 4);
        for &b in w {
            let _ = write!(expr, "\\x{b:02x}");
        }
        let mut p = Pattern::with_flags(expr, CompileFlags::CASELESS)
            .map_err(|e| SignatureError::backend(e.to_string()))?;
        p.id = Some(i);
        pats.push(p);
    }
    cache
        .block_database(Patterns(pats))
        .map_err(SignatureError::backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(backend: ContextBackend, hay: &[u8]) -> Vec<(u16, usize)> {
        let words = vec![
            ("card".to_string(), 0),
            ("idCard".to_string(), 1),
            ("身份证".to_string(), 2),
        ];
        let kw = Keywords::new(&words, backend, &HsCache::off()).unwrap();
        let mut s = kw.scratch();
        let mut v = Vec::new();
        kw.scan(&mut s, hay, None, &mut |g, e| v.push((g, e)));
        let mut all = Vec::new();
        kw.scan(&mut s, hay, Some(false), &mut |g, e| all.push((g, e)));
        all.sort_unstable();
        v.sort_unstable();
        assert_eq!(v, all, "a known-high haystack scans every part");
        v
    }

    #[test]
    fn overlapping_caseless_utf8() {
        let hay = "x IDCARD=1 身份证 card".as_bytes();
        let want = vec![(0, 8), (0, 25), (1, 8), (2, 20)];
        assert_eq!(hits(ContextBackend::AhoCorasick, hay), want);
        assert_eq!(hits(ContextBackend::default(), hay), want);
    }
}
