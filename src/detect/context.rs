//! Context-word database: Hyperscan literal set (feature `hyperscan`) or an
//! `aho-corasick` automaton with identical results (all occurrences, ASCII
//! case-insensitive). Each word belongs to a group (a detector's context
//! or exclusion list); callers only need `(group, end offset)` pairs.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

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
    ac: Option<AhoCorasick>,
    #[cfg(feature = "hyperscan")]
    hs: Option<hyperscan::BlockDatabase>,
}

/// Per-thread scratch for [`Keywords::scan`].
#[derive(Default)]
pub struct KwScratch {
    #[cfg(feature = "hyperscan")]
    hs: Option<hyperscan::Scratch>,
}

impl Keywords {
    /// Compiles `(word, group)` pairs for `backend`.
    pub fn new<W: AsRef<[u8]>>(
        words: &[(W, u16)],
        backend: ContextBackend,
    ) -> Result<Self, SignatureError> {
        let groups = words.iter().map(|w| w.1).collect();
        let mut kw = Keywords {
            groups,
            ac: None,
            #[cfg(feature = "hyperscan")]
            hs: None,
        };
        if words.is_empty() {
            return Ok(kw);
        }
        match backend {
            #[cfg(feature = "hyperscan")]
            ContextBackend::Hyperscan => kw.hs = Some(build_hs(words)?),
            _ => {
                let ac = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(words.iter().map(|w| w.0.as_ref()))
                    .map_err(|e| SignatureError::backend(e.to_string()))?;
                kw.ac = Some(ac);
            }
        }
        Ok(kw)
    }

    /// `true` when no words were given.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// A scratch for this database.
    pub fn scratch(&self) -> KwScratch {
        #[cfg(feature = "hyperscan")]
        {
            KwScratch {
                hs: self.hs.as_ref().and_then(|db| db.alloc_scratch().ok()),
            }
        }
        #[cfg(not(feature = "hyperscan"))]
        KwScratch::default()
    }

    /// Calls `f(group, end)` for every occurrence of every word in `hay`
    /// (end is exclusive, relative to `hay`).
    pub fn scan(&self, scratch: &mut KwScratch, hay: &[u8], f: &mut dyn FnMut(u16, usize)) {
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(hay) {
                if let Some(&g) = self.groups.get(m.pattern().as_usize()) {
                    f(g, m.end());
                }
            }
        }
        #[cfg(feature = "hyperscan")]
        if let (Some(db), Some(s)) = (&self.hs, &scratch.hs) {
            let groups = &self.groups;
            // A scan error (only possible on internal faults) loses context
            // for this lookup, which lowers confidence but never panics.
            let _ = db.scan(hay, s, |id: u32, _from: u64, to: u64, _flags: u32| {
                if let (Some(&g), Ok(end)) = (groups.get(id as usize), usize::try_from(to)) {
                    f(g, end);
                }
                hyperscan::Matching::Continue
            });
        }
        #[cfg(not(feature = "hyperscan"))]
        let _ = scratch;
    }
}

#[cfg(feature = "hyperscan")]
fn build_hs<W: AsRef<[u8]>>(
    words: &[(W, u16)],
) -> Result<hyperscan::BlockDatabase, SignatureError> {
    use hyperscan::prelude::*;
    use std::fmt::Write;
    let mut pats = Vec::with_capacity(words.len());
    for (i, (w, _)) in words.iter().enumerate() {
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
    Patterns(pats)
        .build()
        .map_err(|e| SignatureError::backend(e.to_string()))
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
        let kw = Keywords::new(&words, backend).unwrap();
        let mut s = kw.scratch();
        let mut v = Vec::new();
        kw.scan(&mut s, hay, &mut |g, e| v.push((g, e)));
        v.sort_unstable();
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
