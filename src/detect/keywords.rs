//! Keyword-dictionary detectors (`kind = "keywords"`): thousands of words,
//! ASCII case-insensitive, each matched as UTF-8 and as GBK, through one
//! literal database (Hyperscan, or `aho-corasick` without the feature; the
//! [`Keywords`] matcher shared with context words).
//!
//! # Semantics
//!
//! Every occurrence of every word is a candidate when it stands alone
//! (an ASCII alphanumeric edge must not touch another alphanumeric byte)
//! and, for a GBK form, starts on a GBK character boundary (an even number
//! of high bytes before it, counted back at most [`GBK_LOOKBACK`] bytes) and
//! matches case-exactly inside double-byte characters (the database matches
//! caselessly, which would also fold GBK trail bytes). Per detector, the
//! candidates are then taken in start order, longest first, skipping any
//! that overlap one already claimed. The reported value is the word as
//! listed (lowercased UTF-8), whatever encoding it was found in.

use super::context::{ContextBackend, Keywords, KwScratch};
use super::hs_cache::HsCache;
use super::regex::{whole_word, MAX_PATTERN_LEN};
use super::signature::SignatureError;

/// High bytes counted back to decide GBK alignment (at most the carry's
/// look-behind, so buffers and streams agree).
pub const GBK_LOOKBACK: usize = 32;
/// Most literals (words and their GBK forms) over all keyword detectors.
pub const MAX_LITERALS: usize = u16::MAX as usize;

/// How a keywords detector looks.
#[derive(Clone, Debug)]
pub struct KeywordSpec {
    /// Words, lowercased, deduplicated (1-[`MAX_PATTERN_LEN`] bytes each).
    pub words: Vec<String>,
    /// Also match each word's GBK encoding.
    pub gbk: bool,
}

/// One literal of the database.
#[derive(Clone, Debug)]
struct Lit {
    det: u16,
    word: u32,
    len: u32,
    /// The GBK form (bytes kept for the exact-case check).
    gbk: Option<Vec<u8>>,
}

/// One keyword candidate in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Occ {
    /// Detector.
    pub det: u16,
    /// Start in the buffer.
    pub start: u32,
    /// Negated length (so sorting puts the longest first).
    pub neg_len: i64,
    /// Word index within the detector's spec.
    pub word: u32,
}

impl Occ {
    /// End in the buffer.
    pub fn end(&self) -> usize {
        (i64::from(self.start) - self.neg_len) as usize
    }
}

/// All keyword detectors of an engine.
pub struct KeywordSet {
    lits: Vec<Lit>,
    kw: Keywords,
}

/// The GBK bytes of `word` when they differ from its UTF-8 bytes.
pub fn gbk_form(word: &str) -> Option<Vec<u8>> {
    let (bytes, _, bad) = encoding_rs::GBK.encode(word);
    (!bad && bytes.as_ref() != word.as_bytes()).then(|| bytes.into_owned())
}

impl KeywordSet {
    /// Compiles the words of `specs` (`(detector, spec)`).
    pub fn new(
        specs: &[(u16, &KeywordSpec)],
        backend: ContextBackend,
        cache: &HsCache,
    ) -> Result<KeywordSet, SignatureError> {
        let mut lits = Vec::new();
        let mut pats: Vec<(Vec<u8>, u16)> = Vec::new();
        for &(det, spec) in specs {
            for (wi, w) in spec.words.iter().enumerate() {
                let mut push = |bytes: Vec<u8>, gbk: Option<Vec<u8>>| {
                    let id = lits.len() as u16;
                    lits.push(Lit {
                        det,
                        word: wi as u32,
                        len: bytes.len() as u32,
                        gbk,
                    });
                    pats.push((bytes, id));
                };
                push(w.as_bytes().to_vec(), None);
                if let Some(g) = spec.gbk.then(|| gbk_form(w)).flatten() {
                    push(g.clone(), Some(g));
                }
                if lits.len() >= MAX_LITERALS {
                    return Err(SignatureError::backend(format!(
                        "more than {MAX_LITERALS} keyword literals (words plus GBK forms)"
                    )));
                }
            }
        }
        let kw = Keywords::new(&pats, backend, cache)?;
        Ok(KeywordSet { lits, kw })
    }

    /// A scratch for this set.
    pub fn scratch(&self) -> KwScratch {
        self.kw.scratch()
    }

    /// `true` when there are no keyword detectors.
    pub fn is_empty(&self) -> bool {
        self.lits.is_empty()
    }

    /// Pushes the candidates starting at or after `from` to `out`, sorted
    /// by detector, start, longest first. `ascii_only` as for
    /// [`Keywords::scan`], about `h`.
    pub fn candidates(
        &self,
        scratch: &mut KwScratch,
        (h, ascii_only): (&[u8], Option<bool>),
        from: usize,
        start_boundary: bool,
        out: &mut Vec<Occ>,
    ) {
        out.clear();
        let hay = h.get(from..).unwrap_or_default();
        self.kw.scan(scratch, hay, ascii_only, &mut |id, end| {
            let Some(lit) = self.lits.get(usize::from(id)) else {
                return;
            };
            let e = from + end;
            let s = e.saturating_sub(lit.len as usize);
            if !whole_word(h, s, e, start_boundary) {
                return;
            }
            if let Some(g) = &lit.gbk {
                if !gbk_aligned(h, s) || !gbk_exact(h.get(s..e).unwrap_or_default(), g) {
                    return;
                }
            }
            out.push(Occ {
                det: lit.det,
                start: s as u32,
                neg_len: -i64::from(lit.len),
                word: lit.word,
            });
        });
        out.sort_unstable();
        out.dedup();
    }
}

/// An even number of bytes ≥ 0x81 right before `s`: `s` starts a character.
fn gbk_aligned(h: &[u8], s: usize) -> bool {
    let lo = s.saturating_sub(GBK_LOOKBACK);
    let before = h.get(lo..s).unwrap_or_default();
    before.iter().rev().take_while(|&&b| b >= 0x81).count() % 2 == 0
}

/// Compares a caseless hit with the GBK literal: ASCII letters fold, bytes
/// of double-byte characters must be equal.
fn gbk_exact(hit: &[u8], lit: &[u8]) -> bool {
    if hit.len() != lit.len() {
        return false;
    }
    let mut i = 0;
    while i < lit.len() {
        let (a, b) = (hit[i], lit[i]);
        if b >= 0x81 {
            if a != b || hit.get(i + 1) != lit.get(i + 1) {
                return false;
            }
            i += 2;
        } else {
            if !a.eq_ignore_ascii_case(&b) {
                return false;
            }
            i += 1;
        }
    }
    true
}

/// Normalises and checks a dictionary word; `Err` is the reason.
pub fn check_word(w: &str) -> Result<String, String> {
    let w = w.trim();
    if w.is_empty() || w.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "each word must be 1-{MAX_PATTERN_LEN} bytes (UTF-8)"
        ));
    }
    Ok(w.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(words: &[&str], backend: ContextBackend) -> KeywordSet {
        let spec = KeywordSpec {
            words: words.iter().map(|w| check_word(w).unwrap()).collect(),
            gbk: true,
        };
        KeywordSet::new(&[(3, &spec)], backend, &HsCache::off()).unwrap()
    }

    fn found(words: &[&str], h: &[u8]) -> Vec<(u32, u32)> {
        let mut all = Vec::new();
        for b in [ContextBackend::AhoCorasick, ContextBackend::default()] {
            let ks = set(words, b);
            let mut s = ks.scratch();
            let mut out = Vec::new();
            ks.candidates(&mut s, (h, None), 0, true, &mut out);
            all.push(out.iter().map(|o| (o.start, o.word)).collect::<Vec<_>>());
        }
        assert_eq!(all[0], all[1], "back-ends disagree");
        all.swap_remove(0)
    }

    #[test]
    fn caseless_whole_words_in_utf8_and_gbk() {
        let mut h = b"Project-X x projectx ".to_vec();
        h.extend_from_slice("机密 ".as_bytes());
        let (g, _, _) = encoding_rs::GBK.encode("机密");
        h.extend_from_slice(&g);
        let got = found(&["project-x", "机密"], &h);
        assert_eq!(got, vec![(0, 0), (21, 1), (28, 1)]);
    }

    #[test]
    fn misaligned_gbk_is_rejected() {
        // One stray high byte before the GBK word shifts the alignment.
        let (g, _, _) = encoding_rs::GBK.encode("机密");
        let mut h = vec![b' ', 0xB0];
        h.extend_from_slice(&g);
        assert!(found(&["机密"], &h).is_empty());
        let mut h2 = vec![b' ', 0xB0, 0xA1];
        h2.extend_from_slice(&g);
        assert_eq!(found(&["机密"], &h2), vec![(3, 0)]);
    }

    #[test]
    fn gbk_trail_bytes_do_not_fold_case() {
        // 丂 is 0x81 0x40; a caseless match must not accept 0x81 0x60.
        let lit = gbk_form("丂").unwrap();
        assert_eq!(lit, vec![0x81, 0x40]);
        assert!(gbk_exact(&[0x81, 0x40], &lit));
        assert!(!gbk_exact(&[0x81, 0x60], &lit));
        assert!(gbk_exact(b"AB", b"ab"));
    }

    #[test]
    fn words_are_checked() {
        assert!(check_word("  ").is_err());
        assert!(check_word(&"a".repeat(65)).is_err());
        assert_eq!(check_word(" ABC ").unwrap(), "abc");
    }
}
