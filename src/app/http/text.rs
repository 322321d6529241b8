//! Streaming text normalisers for extracted content: percent-decoding
//! (`+` as space in queries and forms), JSON string unescaping (`\uXXXX`
//! with surrogate pairs), and charset transcoding (declared or sniffed
//! GBK/GB18030 to UTF-8). Each keeps only a few bytes of state between
//! calls, so content split anywhere decodes the same; runs without escapes
//! are passed on without copying.

use encoding_rs::{CoderResult, Decoder, GB18030};

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
                out(&[hi << 4 | hex_val(b).unwrap_or(0)]);
                self.npending = 0;
            }
            data = rest;
        }
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
                emit_char(char::from_u32(c).unwrap_or('\u{FFFD}'), out);
                return;
            }
            emit_char('\u{FFFD}', out);
        }
        if (0xD800..=0xDBFF).contains(&u) {
            self.high = Some(u);
        } else {
            emit_char(char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}'), out);
        }
    }

    fn lone_high(&mut self, out: &mut Out<'_>) {
        if self.high.take().is_some() {
            emit_char('\u{FFFD}', out);
        }
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

enum Mode {
    Sniff,
    Utf8,
    Gbk(Box<Decoder>),
}

/// Charset stage: GBK-family content (declared, or sniffed because it is
/// not UTF-8) is transcoded to UTF-8; everything else passes unchanged.
/// Sniffing holds back at most [`SNIFF_BYTES`] from the first non-ASCII
/// byte, so the decision does not depend on how the content was split.
pub struct Charset {
    mode: Mode,
    held: Vec<u8>,
}

/// Bytes looked at (from the first non-ASCII byte) before deciding UTF-8.
pub const SNIFF_BYTES: usize = 16;

fn gbk_decoder() -> Mode {
    Mode::Gbk(Box::new(GB18030.new_decoder_without_bom_handling()))
}

impl Charset {
    /// A stage for content declared with `charset` (if any).
    pub fn new(charset: Option<&[u8]>) -> Charset {
        let mode = match charset {
            Some(l) if is_gbk_label(l) => gbk_decoder(),
            Some(l) if l.eq_ignore_ascii_case(b"utf-8") => Mode::Utf8,
            _ => Mode::Sniff,
        };
        Charset {
            mode,
            held: Vec::new(),
        }
    }

    /// Passes `data` on, transcoded if needed.
    pub fn push(&mut self, data: &[u8], out: &mut Out<'_>) {
        if let Mode::Sniff = self.mode {
            if self.held.is_empty() {
                let ascii = first_non_ascii(data);
                let (head, tail) = data.split_at(ascii);
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
            Mode::Gbk(d) => transcode(d, data, false, out),
            _ => out(data),
        }
    }

    /// Decides the charset once the held bytes tell (or at the end), then
    /// emits the held bytes and `rest`.
    fn sniff(&mut self, rest: &[u8], end: bool, out: &mut Out<'_>) {
        let decided = match std::str::from_utf8(&self.held) {
            Err(e) if e.error_len().is_some() => Some(gbk_decoder()),
            Err(_) if end => Some(gbk_decoder()),
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
        if let Mode::Gbk(d) = &mut self.mode {
            transcode(d, b"", true, out);
            // A finished decoder must not be used again (the item may go on
            // after a gap): start a fresh one.
            **d = GB18030.new_decoder_without_bom_handling();
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
