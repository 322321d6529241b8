//! Streaming text normalisers for extracted content: percent-decoding
//! (`+` as space in queries and forms), JSON string unescaping (`\uXXXX`
//! with surrogate pairs), and charset transcoding (declared or sniffed
//! GBK/GB18030 or Big5 to UTF-8). Each keeps only a few bytes of state between
//! calls, so content split anywhere decodes the same; runs without escapes
//! are passed on without copying.

use encoding_rs::{CoderResult, Decoder, Encoding, BIG5, GB18030};

/// Output callback of a stage.
pub type Out<'a> = dyn FnMut(&[u8]) + 'a;

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Streaming percent-decoder. Invalid escapes pass through unchanged, as
/// servers (PHP, Python, Java) do.
#[derive(Debug, Default)]
pub struct Percent {
    plus_space: bool,
    /// An escape to a byte that can be part of PI was decoded in this item.
    decoded: bool,
    pending: [u8; 2],
    npending: usize,
}

impl Percent {
    /// A decoder; with `plus_space`, `+` decodes to a space (queries, forms).
    pub fn new(plus_space: bool) -> Percent {
        Percent {
            plus_space,
            ..Percent::default()
        }
    }

    /// Decodes `data` into `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Out<'_>) {
        while !data.is_empty() {
            if self.npending == 0 {
                let next = if self.plus_space {
                    memchr::memchr2(b'%', b'+', data)
                } else {
                    memchr::memchr(b'%', data)
                };
                let Some(i) = next else {
                    out(data);
                    return;
                };
                let (run, rest) = data.split_at(i);
                if !run.is_empty() {
                    out(run);
                }
                if rest.first() == Some(&b'+') {
                    out(b" ");
                } else {
                    self.pending[0] = b'%';
                    self.npending = 1;
                }
                data = rest.get(1..).unwrap_or_default();
                continue;
            }
            let Some((&b, rest)) = data.split_first() else {
                return;
            };
            if hex_val(b).is_none() {
                // Not an escape: flush what was held and re-read `b`.
                self.flush(out);
                continue;
            }
            if self.npending == 1 {
                self.pending[1] = b;
                self.npending = 2;
            } else {
                let hi = hex_val(self.pending[1]).unwrap_or(0);
                let d = hi << 4 | hex_val(b).unwrap_or(0);
                out(&[d]);
                self.npending = 0;
                self.decoded |= super::pi_byte(d);
            }
            data = rest;
        }
    }

    /// Whether an escape to a byte that can be part of PI was decoded
    /// since the last [`Percent::reset`].
    pub fn decoded(&self) -> bool {
        self.decoded
    }

    /// Ready for a new content item (keeps the `+` setting).
    pub fn reset(&mut self) {
        *self = Percent::new(self.plus_space);
    }

    /// Whether bytes are held (an escape split across calls).
    pub fn busy(&self) -> bool {
        self.npending > 0
    }

    /// Emits a held incomplete escape as-is (end of the content item).
    pub fn flush(&mut self, out: &mut Out<'_>) {
        let n = self.npending.min(2);
        if n > 0 {
            out(self.pending.get(..n).unwrap_or_default());
        }
        self.npending = 0;
    }
}

/// State of a [`JsonUnescape`] inside an escape.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Esc {
    #[default]
    None,
    Backslash,
    /// `\u` with `n` hex digits read so far, value `acc`.
    Hex {
        n: u8,
        acc: u16,
    },
}

/// Streaming JSON unescaper: `\uXXXX` (surrogate pairs joined, lone
/// surrogates as U+FFFD), `\/`, `\"`, `\\`, `\n`, `\t`, ... Applied to the
/// whole text (escapes are only valid inside strings anyway).
#[derive(Debug, Default)]
pub struct JsonUnescape {
    esc: Esc,
    high: Option<u16>,
    /// A `\uXXXX` escape to a character that can be part of PI was
    /// decoded in this item.
    decoded: bool,
}

impl JsonUnescape {
    /// Unescapes `data` into `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Out<'_>) {
        while !data.is_empty() {
            if self.esc == Esc::None {
                let Some(i) = memchr::memchr(b'\\', data) else {
                    self.lone_high(out);
                    out(data);
                    return;
                };
                let (run, rest) = data.split_at(i);
                if !run.is_empty() {
                    self.lone_high(out);
                    out(run);
                }
                self.esc = Esc::Backslash;
                data = rest.get(1..).unwrap_or_default();
                continue;
            }
            let Some((&b, rest)) = data.split_first() else {
                return;
            };
            data = rest;
            self.byte(b, out);
        }
    }

    fn byte(&mut self, b: u8, out: &mut Out<'_>) {
        match self.esc {
            Esc::Backslash if b == b'u' => self.esc = Esc::Hex { n: 0, acc: 0 },
            Esc::Backslash => {
                self.lone_high(out);
                let c = match b {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    other => other,
                };
                out(&[c]);
                self.esc = Esc::None;
            }
            Esc::Hex { n, acc } => match hex_val(b) {
                Some(d) if n == 3 => {
                    self.esc = Esc::None;
                    self.unit(acc << 4 | u16::from(d), out);
                }
                Some(d) => {
                    self.esc = Esc::Hex {
                        n: n + 1,
                        acc: acc << 4 | u16::from(d),
                    }
                }
                None => {
                    // Broken escape: keep the text as sent.
                    self.lone_high(out);
                    out(b"\\u");
                    self.esc = Esc::None;
                    self.push(&[b], out);
                }
            },
            Esc::None => out(&[b]),
        }
    }

    fn unit(&mut self, u: u16, out: &mut Out<'_>) {
        if let Some(h) = self.high.take() {
            if (0xDC00..=0xDFFF).contains(&u) {
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                self.emit(char::from_u32(c).unwrap_or('\u{FFFD}'), out);
                return;
            }
            emit_char('\u{FFFD}', out);
        }
        if (0xD800..=0xDBFF).contains(&u) {
            self.high = Some(u);
        } else {
            self.emit(char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}'), out);
        }
    }

    /// A decoded character; one that can be part of PI names the step.
    fn emit(&mut self, c: char, out: &mut Out<'_>) {
        self.decoded |= super::pi_char(c);
        emit_char(c, out);
    }

    fn lone_high(&mut self, out: &mut Out<'_>) {
        if self.high.take().is_some() {
            emit_char('\u{FFFD}', out);
        }
    }

    /// Whether a `\uXXXX` escape was decoded in this item.
    pub fn decoded(&self) -> bool {
        self.decoded
    }

    /// Whether state is held (an escape split across calls).
    pub fn busy(&self) -> bool {
        self.esc != Esc::None || self.high.is_some()
    }

    /// Ends the content item: a pending escape is emitted as sent.
    pub fn flush(&mut self, out: &mut Out<'_>) {
        self.lone_high(out);
        if self.esc != Esc::None {
            out(b"\\");
        }
        self.esc = Esc::None;
    }
}

fn emit_char(c: char, out: &mut Out<'_>) {
    let mut b = [0u8; 4];
    out(c.encode_utf8(&mut b).as_bytes());
}

/// Whether a charset label names the GBK family.
pub fn is_gbk_label(label: &[u8]) -> bool {
    ["gbk", "gb2312", "gb18030", "x-gbk", "cp936"]
        .iter()
        .any(|l| label.eq_ignore_ascii_case(l.as_bytes()))
}

/// Whether a charset label names Big5.
pub fn is_big5_label(label: &[u8]) -> bool {
    ["big5", "big5-hkscs", "cn-big5", "x-x-big5", "csbig5"]
        .iter()
        .any(|l| label.eq_ignore_ascii_case(l.as_bytes()))
}

enum Mode {
    Sniff,
    Utf8,
    Decode { dec: Box<Decoder>, big5: bool },
}

/// Charset stage: GBK-family or Big5 content (declared, named by an HTML
/// `<meta charset>` / XML prolog early in the item, or sniffed because it
/// is not UTF-8) is transcoded to UTF-8; everything else passes unchanged.
/// Sniffing holds back at most [`SNIFF_BYTES`] from the first non-ASCII
/// byte, so the decision does not depend on how the content was split.
pub struct Charset {
    mode: Mode,
    held: Vec<u8>,
    /// ASCII bytes passed while sniffing (a `charset=` is looked for in the
    /// first [`META_BYTES`]).
    seen: usize,
}

/// Bytes looked at (from the first non-ASCII byte) before deciding UTF-8.
pub const SNIFF_BYTES: usize = 16;
/// Leading bytes of an item searched for `charset=` (HTML meta, XML prolog).
pub const META_BYTES: usize = 1024;

fn decoder(enc: &'static Encoding) -> Mode {
    Mode::Decode {
        dec: Box::new(enc.new_decoder_without_bom_handling()),
        big5: enc == BIG5,
    }
}

fn mode_for_label(label: &[u8]) -> Option<Mode> {
    if is_gbk_label(label) {
        Some(decoder(GB18030))
    } else if is_big5_label(label) {
        Some(decoder(BIG5))
    } else if label.eq_ignore_ascii_case(b"utf-8") || label.eq_ignore_ascii_case(b"utf8") {
        Some(Mode::Utf8)
    } else {
        None
    }
}

/// Whether `enc` decodes `held` without a malformed sequence (a cut
/// character at the end is fine).
fn decodes_cleanly(enc: &'static Encoding, held: &[u8]) -> bool {
    let mut d = enc.new_decoder_without_bom_handling();
    let mut buf = [0u8; SNIFF_BYTES * 3 + 8];
    let (_, _, written, _) = d.decode_to_utf8(held, &mut buf, false);
    let out = buf.get(..written).unwrap_or_default();
    !out.windows(3).any(|w| w == "\u{FFFD}".as_bytes())
}

/// The label after `charset=` in `head`, if any.
fn meta_label(head: &[u8]) -> Option<&[u8]> {
    let i = memchr::memmem::find(head, b"charset=")
        .or_else(|| memchr::memmem::find(head, b"encoding="))?;
    let rest = head.get(i..)?;
    let rest = rest.get(memchr::memchr(b'=', rest)? + 1..)?;
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let n = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
        .unwrap_or(rest.len());
    rest.get(..n).filter(|l| !l.is_empty())
}

impl Charset {
    /// A stage for content declared with `charset` (if any).
    pub fn new(charset: Option<&[u8]>) -> Charset {
        Charset {
            mode: charset.and_then(mode_for_label).unwrap_or(Mode::Sniff),
            held: Vec::new(),
            seen: 0,
        }
    }

    /// The transcoding applied so far: `Some(false)` GBK, `Some(true)`
    /// Big5, `None` none.
    pub fn transcoding(&self) -> Option<bool> {
        match &self.mode {
            Mode::Decode { big5, .. } => Some(*big5),
            _ => None,
        }
    }

    /// Whether leading bytes are still searched for a `charset=`.
    pub fn wants_meta(&self) -> bool {
        matches!(self.mode, Mode::Sniff) && self.seen < META_BYTES
    }

    /// Whether bytes are held (sniffing, or a character split across calls).
    pub fn busy(&self) -> bool {
        !self.held.is_empty() || matches!(self.mode, Mode::Decode { .. })
    }

    /// Passes `data` on, transcoded if needed.
    pub fn push(&mut self, data: &[u8], out: &mut Out<'_>) {
        if let Mode::Sniff = self.mode {
            if self.held.is_empty() {
                let ascii = first_non_ascii(data);
                let (head, tail) = data.split_at(ascii);
                if self.seen < META_BYTES {
                    self.meta(head);
                    if !matches!(self.mode, Mode::Sniff) {
                        return self.push(data, out);
                    }
                }
                if !head.is_empty() {
                    out(head);
                }
                if tail.is_empty() {
                    return;
                }
                self.held
                    .extend_from_slice(tail.get(..SNIFF_BYTES.min(tail.len())).unwrap_or_default());
                let rest = tail.get(self.held.len()..).unwrap_or_default();
                return self.sniff(rest, false, out);
            }
            let room = SNIFF_BYTES.saturating_sub(self.held.len()).min(data.len());
            self.held
                .extend_from_slice(data.get(..room).unwrap_or_default());
            return self.sniff(data.get(room..).unwrap_or_default(), false, out);
        }
        match &mut self.mode {
            Mode::Decode { dec, .. } => transcode(dec, data, false, out),
            _ => out(data),
        }
    }

    /// Looks for a charset declaration in leading ASCII bytes.
    fn meta(&mut self, head: &[u8]) {
        let n = (META_BYTES - self.seen).min(head.len());
        self.seen += head.len();
        let head = head.get(..n).unwrap_or_default();
        if memchr::memchr(b'=', head).is_none() {
            return;
        }
        if let Some(m) = meta_label(head).and_then(mode_for_label) {
            self.mode = m;
        }
    }

    /// Decides the charset once the held bytes tell (or at the end), then
    /// emits the held bytes and `rest`. Not UTF-8: GBK, unless only Big5
    /// decodes the bytes cleanly.
    fn sniff(&mut self, rest: &[u8], end: bool, out: &mut Out<'_>) {
        let legacy = |held: &[u8]| {
            if !decodes_cleanly(GB18030, held) && decodes_cleanly(BIG5, held) {
                decoder(BIG5)
            } else {
                decoder(GB18030)
            }
        };
        let decided = match std::str::from_utf8(&self.held) {
            Err(e) if e.error_len().is_some() => Some(legacy(&self.held)),
            Err(_) if end => Some(legacy(&self.held)),
            _ if end || self.held.len() >= SNIFF_BYTES => Some(Mode::Utf8),
            _ => None,
        };
        let Some(mode) = decided else { return };
        self.mode = mode;
        let held = std::mem::take(&mut self.held);
        self.push(&held, out);
        if !rest.is_empty() {
            self.push(rest, out);
        }
    }

    /// Ends the content item (flushes held or partial characters).
    pub fn flush(&mut self, out: &mut Out<'_>) {
        if !self.held.is_empty() {
            self.sniff(b"", true, out);
        }
        if let Mode::Decode { dec, big5 } = &mut self.mode {
            transcode(dec, b"", true, out);
            // A finished decoder must not be used again (the item may go on
            // after a gap): start a fresh one.
            let enc = if *big5 { BIG5 } else { GB18030 };
            **dec = enc.new_decoder_without_bom_handling();
        }
    }
}

/// Index of the first non-ASCII byte (or the length): whole 64-byte chunks
/// are checked with the word-at-a-time `is_ascii`, since bodies are mostly
/// ASCII and this runs over every body byte.
fn first_non_ascii(data: &[u8]) -> usize {
    let mut skipped = 0;
    for chunk in data.chunks(64) {
        if !chunk.is_ascii() {
            return skipped
                + chunk
                    .iter()
                    .position(|b| !b.is_ascii())
                    .unwrap_or(chunk.len());
        }
        skipped += chunk.len();
    }
    data.len()
}

fn transcode(d: &mut Decoder, mut src: &[u8], last: bool, out: &mut Out<'_>) {
    let mut buf = [0u8; 2048];
    loop {
        let (res, read, written, _) = d.decode_to_utf8(src, &mut buf, last);
        if written > 0 {
            out(buf.get(..written).unwrap_or_default());
        }
        src = src.get(read..).unwrap_or_default();
        if res == CoderResult::InputEmpty {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_run<F: FnMut(&[u8], &mut Out<'_>), G: FnMut(&mut Out<'_>)>(
        data: &[u8],
        piece: usize,
        mut push: F,
        mut flush: G,
    ) -> Vec<u8> {
        let mut v = Vec::new();
        for p in data.chunks(piece.max(1)) {
            push(p, &mut |d: &[u8]| v.extend_from_slice(d));
        }
        flush(&mut |d: &[u8]| v.extend_from_slice(d));
        v
    }

    fn percent(data: &[u8], plus: bool, piece: usize) -> Vec<u8> {
        let p = std::cell::RefCell::new(Percent::new(plus));
        split_run(
            data,
            piece,
            |d, o| p.borrow_mut().push(d, o),
            |o| p.borrow_mut().flush(o),
        )
    }

    fn json(data: &[u8], piece: usize) -> Vec<u8> {
        let j = std::cell::RefCell::new(JsonUnescape::default());
        split_run(
            data,
            piece,
            |d, o| j.borrow_mut().push(d, o),
            |o| j.borrow_mut().flush(o),
        )
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent(b"a+b%20c%E5%BC%A0%zz%4", true, 1),
            "a b c张%zz%4".as_bytes()
        );
        assert_eq!(percent(b"a+b%2", false, 100), b"a+b%2");
        assert_eq!(percent(b"%D5%C5", true, 2), b"\xD5\xC5");
    }

    #[test]
    fn json_unescaping() {
        let s = br#"{"n":"\u5f20\u4e09","id":"\u0031\u0031\u0030","e":"\ud83d\ude00","u":"a\/b\"\n","x":"\uzz","l":"\ud800x"}"#;
        let want = "{\"n\":\"张三\",\"id\":\"110\",\"e\":\"😀\",\"u\":\"a/b\"\n\",\"x\":\"\\uzz\",\"l\":\"\u{FFFD}x\"}";
        for piece in [1, 2, 7, 1000] {
            assert_eq!(String::from_utf8_lossy(&json(s, piece)), want);
        }
    }

    #[test]
    fn gbk_declared_and_sniffed() {
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名张三 110");
        for label in [Some(&b"gb2312"[..]), None] {
            let c = std::cell::RefCell::new(Charset::new(label));
            let got = split_run(
                &gbk,
                3,
                |d, o| c.borrow_mut().push(d, o),
                |o| c.borrow_mut().flush(o),
            );
            assert_eq!(String::from_utf8_lossy(&got), "姓名张三 110");
        }
        let c = std::cell::RefCell::new(Charset::new(None));
        let utf = "张三".as_bytes();
        assert_eq!(
            split_run(
                utf,
                1,
                |d, o| c.borrow_mut().push(d, o),
                |o| c.borrow_mut().flush(o)
            ),
            utf
        );
    }

    #[test]
    fn push_after_flush_is_fine() {
        let mut c = Charset::new(Some(b"gbk"));
        let mut v = Vec::new();
        c.push(b"\xD5", &mut |d: &[u8]| v.extend_from_slice(d));
        c.flush(&mut |d: &[u8]| v.extend_from_slice(d));
        c.push(b"\xD5\xC5", &mut |d: &[u8]| v.extend_from_slice(d));
        c.flush(&mut |d: &[u8]| v.extend_from_slice(d));
        assert_eq!(String::from_utf8_lossy(&v), "\u{FFFD}张");
    }

    proptest! {
        #[test]
        fn split_invariant(data in proptest::collection::vec(any::<u8>(), 0..300), piece in 1usize..20) {
            prop_assert_eq!(percent(&data, true, piece), percent(&data, true, data.len()));
            prop_assert_eq!(json(&data, piece), json(&data, data.len()));
        }
    }
}
