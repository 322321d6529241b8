//! Finds base64 blobs in text and decodes them as derived items.
//!
//! A blob is a run of at least `min_run` base64 characters (standard or
//! URL-safe alphabet, ended by `=` padding or any other byte; CRLF line
//! breaks after long lines, as in MIME, continue it). Runs are found 64
//! bytes at a time with SIMD masks (`B64Map`). A run whose first `L`
//! characters are all hex digits (hashes, GUIDs, IDs; decided on the masks
//! too) or hold no digit, `+` or `/` and read as words (at most two
//! capitals, or `-`/`_`) is skipped, and a blob whose first decoded bytes are not text-like (control bytes)
//! is dropped, so tokens and binary are not scanned twice.

use crate::detect::digits::{is_b64 as is_b64_char, B64Map};

/// Decoded bytes looked at to decide whether a blob is text.
const PROBE: usize = 32;
/// Line length after which a line break continues a blob (MIME uses 76).
const LONG_LINE: usize = 60;

/// What the extractor reports.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Next decoded bytes of the current blob.
    Data(&'a [u8]),
    /// The current blob ended.
    End,
}

fn val(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Base64 characters (both alphabets) as a table: the run loops below
/// touch every byte of a blob, so this is hot.
static B64: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = is_b64_char(i as u8);
        i += 1;
    }
    t
};

#[inline]
fn is_b64(b: u8) -> bool {
    B64[usize::from(b)]
}

/// End of the run of base64 characters starting at `i`.
#[inline]
fn run_end(data: &[u8], i: usize) -> usize {
    let tail = data.get(i..).unwrap_or_default();
    i + tail.iter().position(|&b| !is_b64(b)).unwrap_or(tail.len())
}

/// Whether decoded bytes look like text (no control bytes; mostly
/// printable ASCII, or UTF-8, or GBK-shaped).
pub fn text_like(d: &[u8]) -> bool {
    if d.is_empty()
        || d.iter()
            .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7F)
    {
        return false;
    }
    let ascii = d.iter().filter(|b| b.is_ascii()).count();
    if ascii * 10 >= d.len() * 6 {
        return true;
    }
    match std::str::from_utf8(d) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() || gbk_shaped(d),
    }
}

/// High bytes come in (lead 0x81-0xFE, trail 0x40-0xFE) pairs.
fn gbk_shaped(d: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = d.get(i) {
        if b < 0x80 {
            i += 1;
            continue;
        }
        match d.get(i + 1) {
            Some(&t) if (0x81..=0xFE).contains(&b) && (0x40..=0xFE).contains(&t) && t != 0x7F => {
                i += 2
            }
            None => return true,
            _ => return false,
        }
    }
    true
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside a run.
    #[default]
    Out,
    /// In a run shorter than the minimum (bytes in `pend`).
    Short,
    /// In a decoded run.
    Active,
    /// In a run that is skipped (hex, or not text).
    Skip,
}

/// Streaming blob extractor.
#[derive(Debug)]
pub struct Base64Runs {
    min_run: usize,
    state: State,
    pend: Vec<u8>,
    quad: [u8; 4],
    nq: usize,
    probe: Vec<u8>,
    /// The blob was judged text and is being emitted.
    emitting: bool,
    line: usize,
    /// Blobs decoded (for stats).
    pub blobs: u64,
}

impl Base64Runs {
    /// An extractor for runs of at least `min_run` characters (at least 8).
    pub fn new(min_run: usize) -> Base64Runs {
        Base64Runs {
            min_run: min_run.max(8),
            state: State::Out,
            pend: Vec::new(),
            quad: [0; 4],
            nq: 0,
            probe: Vec::new(),
            emitting: false,
            line: 0,
            blobs: 0,
        }
    }

    /// Whether a run is open (state is held).
    pub fn busy(&self) -> bool {
        self.state != State::Out
    }

    /// Scans `data` (the next bytes of the item).
    pub fn push(&mut self, data: &[u8], ev: &mut dyn FnMut(Event<'_>)) {
        let mut i = 0;
        if self.state != State::Out {
            i = self.cont(data, ev);
        }
        let l = self.min_run;
        // Runs of `l` or more characters, found 64 bytes at a time; hex
        // runs are no candidates unless the checks below could keep them
        // (long lines) or they reach the end (the trailing case below).
        let mut map = B64Map::candidates(data, l, LONG_LINE);
        loop {
            // `i` is 0 (nothing open before `data`) or follows a run's end.
            let s = map.next_candidate(i);
            if s >= data.len() {
                break;
            }
            let e = map.run_end(s);
            if e < data.len() && (e - s < l || self.skippable(data, &mut map, s, e)) {
                // Most runs in text are shorter than the minimum, or hex
                // tokens (hashes, order numbers) ended in this chunk: step
                // over them without entering a state.
                i = e + 1;
                continue;
            }
            self.state = State::Short;
            self.pend.clear();
            self.line = 0;
            i = s + self.cont(data.get(s..).unwrap_or_default(), ev);
        }
        // A trailing run shorter than the minimum waits for more bytes.
        if self.state == State::Out {
            let mut s = data.len();
            while s > i && data.get(s - 1).copied().is_some_and(is_b64) {
                s -= 1;
            }
            if s < data.len() {
                self.state = State::Short;
                self.pend.clear();
                self.line = 0;
                self.cont(data.get(s..).unwrap_or_default(), ev);
            }
        }
    }

    /// Whether the run `s..e`, ended by `data[e]`, is a hex token that the
    /// state machine would skip whole: its first `min_run` (at most 64)
    /// characters are hex digits, and no line break could continue it.
    fn skippable(&self, data: &[u8], map: &mut B64Map<'_>, s: usize, e: usize) -> bool {
        self.min_run <= 64
            && map.hex_window(s)
            && (e - s < LONG_LINE || !matches!(data.get(e), Some(b'\r' | b'\n')))
    }

    /// Continues the open run over `data`; returns bytes consumed (the run
    /// end, or all).
    fn cont(&mut self, data: &[u8], ev: &mut dyn FnMut(Event<'_>)) -> usize {
        let mut i = 0;
        while let Some(&b) = data.get(i) {
            if is_b64(b) {
                i = self.chars(data, i, ev);
                continue;
            }
            if matches!(b, b'\r' | b'\n') && self.line >= LONG_LINE && self.state != State::Short {
                self.line = 0;
                i += 1;
                continue;
            }
            if b == b'\n' && self.line == 0 {
                i += 1;
                continue;
            }
            self.end(ev);
            return i + 1;
        }
        data.len()
    }

    /// Consumes base64 characters from `i` (at least one) as far as the
    /// state allows in bulk; returns the next position.
    fn chars(&mut self, data: &[u8], i: usize, ev: &mut dyn FnMut(Event<'_>)) -> usize {
        let e = run_end(data, i).max(i + 1).min(data.len());
        let run = data.get(i..e).unwrap_or_default();
        match self.state {
            State::Short => {
                let take = (self.min_run - self.pend.len().min(self.min_run)).clamp(1, run.len());
                let (head, _) = run.split_at(take);
                self.line += take;
                self.pend.extend_from_slice(head);
                if self.pend.len() >= self.min_run {
                    self.decide(ev);
                }
                i + take
            }
            State::Active => {
                let mut n = 0;
                for &c in run {
                    n += 1;
                    self.line += 1;
                    self.decode(c, ev);
                    if self.state != State::Active {
                        break;
                    }
                }
                i + n
            }
            State::Skip | State::Out => {
                self.line += run.len();
                e
            }
        }
    }

    /// A run reached the minimum length: skip it or start decoding.
    fn decide(&mut self, ev: &mut dyn FnMut(Event<'_>)) {
        // Hex tokens and plain words (no digit or `+/`) are not base64
        // worth decoding. One pass: this runs for every long token.
        let (mut hex, mut upper, mut digit_or_slash, mut dash) = (true, 0usize, false, false);
        for &b in &self.pend {
            hex &= b.is_ascii_hexdigit();
            upper += usize::from(b.is_ascii_uppercase());
            digit_or_slash |= b.is_ascii_digit() || matches!(b, b'+' | b'/');
            dash |= matches!(b, b'-' | b'_');
        }
        let word = !digit_or_slash && (upper <= 2 || dash);
        if hex || word {
            self.state = State::Skip;
            return;
        }
        self.state = State::Active;
        self.nq = 0;
        self.probe.clear();
        self.emitting = false;
        let pend = std::mem::take(&mut self.pend);
        for &c in &pend {
            self.decode(c, ev);
        }
        self.pend = pend;
    }

    fn decode(&mut self, c: u8, ev: &mut dyn FnMut(Event<'_>)) {
        let Some(v) = val(c) else { return };
        if let Some(q) = self.quad.get_mut(self.nq) {
            *q = v;
        }
        self.nq += 1;
        if self.nq == 4 {
            let [a, b, c, d] = self.quad;
            let out = [a << 2 | b >> 4, b << 4 | c >> 2, c << 6 | d];
            self.nq = 0;
            self.bytes(&out, ev);
        }
    }

    fn bytes(&mut self, out: &[u8], ev: &mut dyn FnMut(Event<'_>)) {
        if self.emitting {
            ev(Event::Data(out));
            return;
        }
        self.probe.extend_from_slice(out);
        if self.probe.len() >= PROBE {
            self.judge(ev);
        }
    }

    /// Decides on the probe: emit it and go on, or skip the blob.
    fn judge(&mut self, ev: &mut dyn FnMut(Event<'_>)) {
        if text_like(&self.probe) {
            self.emitting = true;
            self.blobs += 1;
            ev(Event::Data(&self.probe));
        } else {
            self.state = State::Skip;
        }
        self.probe.clear();
    }

    /// The run ended.
    fn end(&mut self, ev: &mut dyn FnMut(Event<'_>)) {
        if self.state == State::Active {
            // Tail bits of an unpadded run.
            let tail = match self.nq {
                2 => vec![self.quad[0] << 2 | self.quad[1] >> 4],
                3 => vec![
                    self.quad[0] << 2 | self.quad[1] >> 4,
                    self.quad[1] << 4 | self.quad[2] >> 2,
                ],
                _ => Vec::new(),
            };
            self.nq = 0;
            if !tail.is_empty() {
                self.bytes(&tail, ev);
            }
            if !self.emitting && self.state == State::Active {
                self.judge(ev);
            }
            if self.emitting {
                ev(Event::End);
            }
        }
        self.state = State::Out;
        self.emitting = false;
        self.pend.clear();
        self.probe.clear();
    }

    /// Ends the item: an open blob is finished.
    pub fn flush(&mut self, ev: &mut dyn FnMut(Event<'_>)) {
        self.end(ev);
    }

    /// Ready for a new item (drops an open blob).
    pub fn reset(&mut self) {
        self.state = State::Out;
        self.emitting = false;
        self.pend.clear();
        self.probe.clear();
        self.nq = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(data: &[u8], piece: usize) -> Vec<Vec<u8>> {
        let mut r = Base64Runs::new(16);
        let mut blobs: Vec<Vec<u8>> = Vec::new();
        let mut cur: Option<Vec<u8>> = None;
        let mut ev = |e: Event<'_>| match e {
            Event::Data(d) => cur.get_or_insert_with(Vec::new).extend_from_slice(d),
            Event::End => blobs.push(cur.take().unwrap_or_default()),
        };
        for p in data.chunks(piece.max(1)) {
            r.push(p, &mut ev);
        }
        r.flush(&mut ev);
        blobs
    }

    #[test]
    fn finds_text_blobs_skips_tokens() {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD;
        let payload = "{\"idCard\":\"11010519491231002X\",\"name\":\"张三\"}";
        let text = format!(
            "x=1 data={} hash=d41d8cd98f00b204e9800998ecf8427e bin={} word=internationalization end",
            b.encode(payload),
            b.encode([0u8, 1, 2, 3, 250, 251, 252, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]),
        );
        for piece in [1, 3, 7, 1000] {
            let got = run(text.as_bytes(), piece);
            assert_eq!(got, vec![payload.as_bytes().to_vec()], "piece {piece}");
        }
    }

    #[test]
    fn mime_lines_join() {
        use base64::Engine as _;
        let payload = "手机 13800138000 ".repeat(8);
        let enc = base64::engine::general_purpose::STANDARD.encode(&payload);
        let wrapped: Vec<String> = enc
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let text = format!(
            "Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\r\n--b--",
            wrapped.join("\r\n")
        );
        assert_eq!(run(text.as_bytes(), 5), vec![payload.into_bytes()]);
    }

    proptest! {
        /// Hex tokens, long lines and CRLF around blobs: the SIMD candidate
        /// search (whole buffer) against the byte-wise state machine
        /// (one byte per push).
        #[test]
        fn candidates_match_state_machine(parts in proptest::collection::vec(prop_oneof![
            Just(&b"0123456789abcdef"[..]), Just(&b"FEDCBA9876543210"[..]), Just(&b"QUJD"[..]),
            Just(&b"\r\n"[..]), Just(&b" "[..]), Just(&b"="[..]), Just(&b"x"[..]), Just(&b"+/"[..]),
            Just(&b"aGVsbG8gd29ybGQgMTM4MDAxMzgwMDA"[..])], 0..60)) {
            let data = parts.concat();
            prop_assert_eq!(run(&data, 1), run(&data, data.len().max(1)));
            prop_assert_eq!(run(&data, 61), run(&data, data.len().max(1)));
        }

        #[test]
        fn split_invariant(data in proptest::collection::vec(prop_oneof![Just(b'Q'), Just(b'='), Just(b'\n'), Just(b'5'), any::<u8>()], 0..300), piece in 1usize..40) {
            prop_assert_eq!(run(&data, piece), run(&data, data.len().max(1)));
        }
    }
}
