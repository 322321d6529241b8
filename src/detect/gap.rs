//! Deciding the carry at a sequence gap (see [`Scanner::gap`]).
//!
//! At a gap the bytes after the carry are lost. The carry is decided as if
//! the stream ended there (as [`Scanner::finish_stream`] does), and every
//! match whose decision may depend on the lost bytes is dropped: it may be
//! a prefix of a longer value. "Touches the end" per family:
//!
//! - digits: the chain of digits and separators (or a `.`) after the
//!   match's end reaches the end of the carry (`13800138000` may be the
//!   start of an 18-digit number, `6217 0000 0000 0000` of a 19-digit
//!   card); the chain is all a digit decision looks at after a value;
//! - e-mail: nothing but domain bytes follows the address up to the end
//!   (`u@example.com` of `u@example.com.cn`);
//! - regex and keywords: the byte after the detector's longest possible
//!   match is not in the carry (a regex may take more bytes, or fail its
//!   whole-word test, with more input; simple and exact, at the cost of
//!   matches in the last [`MAX_REGEX_LEN`](super::super::regex::MAX_REGEX_LEN)
//!   bytes for the free-text address detector);
//! - fields: the value has no end byte yet (the non-final scan would wait
//!   for one); a `Basic`/`Bearer` token runs to the end;
//! - column hits: kept (a hit is a cell already ended by its delimiter; the
//!   open cell is dropped by the column state's own gap).
//!
//! A match whose own bytes are complete is reported even if a suppressor or
//! a longer match of the same type could have covered it in the lost bytes:
//! that is unknowable.

use std::sync::Arc;

use super::super::digits::has_high;
use super::super::fields;
use super::super::keywords::gbk_form;
use super::{froms, Engine, Fam, Found, Scanner, StreamState, Work, NO_BLOCKS};
use crate::detect::signature::{Detector, Family};
use crate::detect::{Confidence, DetectorId, Match, MatchSink};

/// Longest match a regex or keyword detector can produce (0 for others).
pub(super) fn pattern_len(d: &Detector) -> usize {
    match &d.family {
        Family::Regex(r) => r.max_len,
        Family::Keywords(k) => k
            .words
            .iter()
            .map(|w| w.len().max(gbk_form(w).map_or(0, |g| g.len())))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

/// Matches of the carry, held until checked.
#[derive(Default)]
struct Held {
    ms: Vec<(u64, DetectorId, Confidence, (usize, usize))>,
    vals: Vec<u8>,
}

impl MatchSink for Held {
    fn on_match(&mut self, m: &Match<'_>) {
        let a = self.vals.len();
        self.vals.extend_from_slice(m.value);
        self.ms
            .push((m.offset, m.detector, m.confidence, (a, self.vals.len())));
    }
}

impl Scanner {
    /// Decides the carry of `st` before a gap; reports what the lost bytes
    /// cannot change.
    pub(super) fn decide_before_gap(&mut self, st: &StreamState, sink: &mut dyn MatchSink) {
        if st.carry.is_empty() {
            return;
        }
        let eng = Arc::clone(&self.engine);
        let w = Work {
            eng: &eng,
            h: &st.carry,
            base: st.end - st.carry.len() as u64,
            start_boundary: !st.after_gap,
            eof: true,
            hist: &st.hist,
            ascii: !has_high(&st.carry),
            blocks: &NO_BLOCKS,
        };
        // Rare (once per gap): a small allocation is fine here.
        let mut held = Held::default();
        self.scan_work(&w, froms(st), &mut held);
        for &(offset, detector, confidence, (a, b)) in &held.ms {
            let found = self
                .found
                .iter()
                .find(|m| m.offset == offset && m.detector == detector);
            if found.is_some_and(|m| closed(&w, m)) {
                sink.on_match(&Match {
                    detector,
                    value: held.vals.get(a..b).unwrap_or_default(),
                    confidence,
                    offset,
                });
            }
        }
    }
}

/// Is the decision of `m` independent of bytes after the carry `w.h`?
fn closed(w: &Work<'_>, m: &Found) -> bool {
    let h = w.h;
    let s = usize::try_from(m.offset - w.base).unwrap_or(usize::MAX);
    let e = usize::try_from(m.end - w.base).unwrap_or(usize::MAX);
    match w.eng.family_of(m.detector) {
        Fam::Digits => digits_closed(w.eng, h, e),
        Fam::Email => h.get(e..).is_some_and(|t| t.iter().any(|&b| !is_domain(b))),
        Fam::Pattern => {
            let n = w.eng.pat_lens.get(usize::from(m.detector)).copied();
            n.is_some_and(|n| s.saturating_add(n) < h.len())
        }
        // A column hit resumes at its own start (a field at its separator).
        Fam::Field if m.resume == s => true,
        Fam::Field => field_closed(h, m.resume, e),
    }
}

/// Does the digit chain after `e` end inside `h` (a byte that is neither a
/// digit nor a separator or `.` followed by a digit)?
fn digits_closed(eng: &Engine, h: &[u8], e: usize) -> bool {
    let mut i = e;
    while let Some(&b) = h.get(i) {
        if b.is_ascii_digit() {
            i += 1;
        } else if b == b'.' || eng.seps.contains(&b) {
            match h.get(i + 1) {
                Some(c) if c.is_ascii_digit() => i += 1,
                Some(_) => return true,
                None => return false,
            }
        } else {
            return true;
        }
    }
    false
}

/// Bytes that may continue an e-mail domain.
fn is_domain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

/// Has the value of the field whose separator (or scheme) is at `p` and
/// whose value ends at `e` found its end byte inside `h`?
fn field_closed(h: &[u8], p: usize, e: usize) -> bool {
    let fw = "：".as_bytes();
    let (len, sep) = if h.get(p..).is_some_and(|t| t.starts_with(fw)) {
        (fw.len(), b':')
    } else {
        match h.get(p) {
            Some(&c @ (b':' | b'=' | b'>')) => (1, c),
            // A scheme token ends at a byte after it (or is cut at its bound).
            _ => return e < h.len(),
        }
    };
    fields::value_after(h, p, len, sep, false).is_ok()
}

#[cfg(test)]
mod tests {
    use super::super::super::validators::mod11_2_check;
    use super::super::columns::tests::{engine, All};
    use super::*;

    /// (offset, value) of the matches of `before`, a gap, then `after`.
    fn across_gap(before: &str, after: &str) -> Vec<(u64, String)> {
        let e = engine();
        let mut s = e.scanner();
        let mut st = StreamState::default();
        let mut a = All::default();
        s.scan_stream(&mut st, before.as_bytes(), &mut a);
        s.gap(&mut st, &mut a);
        s.scan_stream(&mut st, after.as_bytes(), &mut a);
        s.finish_stream(&mut st, &mut a);
        a.0.into_iter().map(|m| (m.0, m.2)).collect()
    }

    fn id18() -> String {
        let first = "11010519491231002";
        let c = mod11_2_check(first.as_bytes()).unwrap_or(b'0');
        format!("{first}{}", c as char)
    }

    #[test]
    fn complete_values_before_a_gap_are_reported_once() {
        let id = id18();
        let text = format!("x 13800138000 and {id} mail u@example.com, ok");
        let got = across_gap(&text, " tail");
        let vals: Vec<&str> = got.iter().map(|m| m.1.as_str()).collect();
        assert_eq!(vals, ["13800138000", id.as_str(), "u@example.com"]);
        assert_eq!(got[0].0, 2);
        assert_eq!(got[1].0, text.find(&id).map_or(0, |i| i as u64));
    }

    #[test]
    fn values_touching_the_gap_are_not_reported() {
        // A number, a grouped card, a separator, a domain: each may go on.
        for before in [
            "x 13800138000",
            "x 13800138000 12",
            "card 6217 0000 0000 0000 ",
            "x 13800138000.",
            "mail u@example.com",
            "mail u@example.com.",
        ] {
            assert!(across_gap(before, "z").is_empty(), "{before:?}");
        }
        // A hard stop after the value: decided.
        assert_eq!(across_gap("x 13800138000 y", "z").len(), 1);
        assert_eq!(across_gap("mail u@example.com y", "z").len(), 1);
    }

    #[test]
    fn fields_need_their_end_byte() {
        let got = across_gap("姓名：张伟\n", "x");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(across_gap("姓名：张伟", "x").is_empty());
        assert!(across_gap("name=张", "x").is_empty());
    }

    #[test]
    fn patterns_need_their_longest_match() {
        // A passport number (at most 9 bytes) followed by 3 bytes: decided;
        // at the gap it may go on (`E123456789` is no passport).
        let got = across_gap("护照号码：E12345678 ok", "x");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].1, "E12345678");
        assert!(across_gap("护照号码：E12345678", "x").is_empty());
        // The free-text address may take 128 bytes: one near the gap waits.
        assert!(across_gap("住在北京市朝阳区建国路88号。", "x").is_empty());
    }

    const PIECES: &[&str] = &[
        "13800138000",
        "110105194912310021",
        "6217000000000000004",
        "138 0013 8000",
        "6217 0000 0000 0000 004",
        "+86 138-0013-8000",
        "12",
        "7",
        " ",
        "-",
        ".",
        "X",
        "a",
        "@",
        "u@example.com",
        ".cn",
        "tel:",
        "姓名：",
        "张伟",
        "name=",
        "\n",
        "\"",
        ",",
        "护照号码：",
        "E12345678",
        "北京市朝阳区建国路88号",
        "Basic dXNlcjpwYXNz",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 64,
            ..proptest::prelude::ProptestConfig::default()
        })]
        /// Whatever is reported at a gap is what the stream without the
        /// gap reports there too: the lost bytes could not change it.
        #[test]
        fn reported_at_a_gap_is_reported_without_it(
            idx in proptest::collection::vec(0..PIECES.len(), 1..60),
            cut in 0usize..2000,
            at in 0usize..2000,
        ) {
            let data: Vec<u8> = idx.iter().flat_map(|&i| PIECES[i].bytes()).collect();
            let g = at % (data.len() + 1);
            let c = cut % (g + 1);
            let e = engine();
            let mut s = e.scanner();
            let mut st = StreamState::default();
            let mut before = All(Vec::new(), Some(Arc::clone(&e)));
            s.scan_stream(&mut st, &data[..c], &mut before);
            s.scan_stream(&mut st, &data[c..g], &mut before);
            let mut at_gap = All(Vec::new(), Some(Arc::clone(&e)));
            s.gap(&mut st, &mut at_gap);
            // The same stream without the gap (`scan_buffer` would also
            // map columns, which plain streams do not).
            let mut whole = All(Vec::new(), Some(Arc::clone(&e)));
            let mut st = StreamState::default();
            s.scan_stream(&mut st, &data, &mut whole);
            s.finish_stream(&mut st, &mut whole);
            for m in &at_gap.0 {
                proptest::prop_assert!(whole.0.contains(m), "{m:?} not in {:?}", whole.0);
            }
            for m in &before.0 {
                proptest::prop_assert!(!at_gap.0.contains(m), "{m:?} reported twice");
            }
        }
    }
}
