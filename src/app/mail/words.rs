//! Header-level decoding for mail: unfolding, RFC 2047 encoded-words,
//! `Content-Type`/`Content-Disposition` parameters with RFC 2231
//! (`filename*=gbk''%D5%C5`, continuations `name*0*=`), charset conversion
//! to UTF-8, and the streaming base64 / quoted-printable body decoders.
//!
//! All functions are pure and bounded by their input size.

use encoding_rs::{Encoding, GB18030, UTF_8};

/// Longest decoded header value kept (bytes); the rest is dropped.
pub const MAX_VALUE: usize = 16 * 1024;

/// Parameters kept per header value.
const MAX_PARAMS: usize = 32;

/// Continuation pieces kept per RFC 2231 parameter.
const MAX_PIECES: usize = 64;

/// The encoding of a charset label (`utf-8`, `gbk`, `gb2312`, `big5`, ...).
pub fn encoding_for(label: &[u8]) -> Option<&'static Encoding> {
    Encoding::for_label(trim(label))
}

/// `bytes` in `charset` as UTF-8. Unknown or absent charsets: UTF-8 when
/// valid, else GB18030 (8-bit Chinese mail often omits its charset).
pub fn to_utf8(charset: Option<&[u8]>, bytes: &[u8]) -> String {
    let enc = match charset.and_then(encoding_for) {
        Some(e) => e,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => GB18030,
    };
    let (text, _) = enc.decode_without_bom_handling(bytes);
    text.into_owned()
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Header fields of a header block (`Name: value` lines, folded lines
/// joined with their leading whitespace), in order.
pub fn fields(block: &[u8]) -> Vec<(&[u8], Vec<u8>)> {
    let mut out: Vec<(&[u8], Vec<u8>)> = Vec::new();
    for raw in block.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some((_, v)) = out.last_mut() {
                if v.len() < MAX_VALUE {
                    v.extend_from_slice(line);
                }
            }
            continue;
        }
        if let Some(colon) = memchr::memchr(b':', line) {
            let name = trim(line.get(..colon).unwrap_or_default());
            let value = trim(line.get(colon + 1..).unwrap_or_default());
            out.push((name, value.to_vec()));
        }
    }
    out
}

/// One RFC 2047 encoded-word found at the start of `s`:
/// (charset, decoded bytes, length in `s`).
fn encoded_word(s: &[u8]) -> Option<(&[u8], Vec<u8>, usize)> {
    let rest = s.strip_prefix(b"=?")?;
    let q1 = memchr::memchr(b'?', rest)?;
    let charset = rest.get(..q1)?;
    // RFC 2231 language suffix: `utf-8*zh`.
    let charset = charset.split(|&b| b == b'*').next().unwrap_or(charset);
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let tail = rest.get(text_start..)?;
    let end = memchr::memmem::find(tail, b"?=")?;
    let text = tail.get(..end)?;
    if text.contains(&b' ') {
        return None;
    }
    let decoded = match enc.to_ascii_lowercase() {
        b'b' => {
            let mut b = Base64::default();
            let mut out = Vec::with_capacity(text.len());
            b.push(text, &mut out);
            out
        }
        b'q' => q_decode(text),
        _ => return None,
    };
    Some((charset, decoded, 2 + text_start + end + 2))
}

/// RFC 2047 `Q` encoding: `_` is a space, `=XX` a byte.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'_' => out.push(b' '),
            b'=' => match (
                text.get(i + 1).copied().and_then(hex_val),
                text.get(i + 2).copied().and_then(hex_val),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b),
            },
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// A header value with its RFC 2047 encoded-words decoded, as UTF-8.
/// Adjacent encoded-words in one charset are joined before conversion (a
/// GBK character may be split across two words) and the whitespace between
/// them dropped; raw 8-bit text is taken as UTF-8, else GB18030.
pub fn decode_words(value: &[u8]) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut pending_cs: Vec<u8> = Vec::new();
    let mut gap: &[u8] = b"";
    let mut i = 0;
    while i < value.len() && out.len() < MAX_VALUE {
        let rest = value.get(i..).unwrap_or_default();
        if let Some((cs, bytes, len)) = encoded_word(rest) {
            if !pending.is_empty() && !cs.eq_ignore_ascii_case(&pending_cs) {
                out.push_str(&to_utf8(Some(&pending_cs), &pending));
                pending.clear();
            }
            pending_cs.clear();
            pending_cs.extend_from_slice(cs);
            pending.extend_from_slice(&bytes);
            gap = b"";
            i += len;
            continue;
        }
        let next = memchr::memmem::find(rest, b"=?").map_or(rest.len(), |p| p.max(1));
        let plain = rest.get(..next).unwrap_or_default();
        if !pending.is_empty() && plain.iter().all(|b| b.is_ascii_whitespace()) {
            // Whitespace between two encoded words is dropped (RFC 2047 6.2),
            // unless no word follows.
            gap = plain;
        } else {
            if !pending.is_empty() {
                out.push_str(&to_utf8(Some(&pending_cs), &pending));
                pending.clear();
            }
            out.push_str(&to_utf8(None, plain));
            gap = b"";
        }
        i += next;
    }
    if !pending.is_empty() {
        out.push_str(&to_utf8(Some(&pending_cs), &pending));
    }
    out.push_str(&String::from_utf8_lossy(gap));
    out
}

/// A parsed structured header value (`Content-Type`, `Content-Disposition`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Structured {
    /// The main value, lowercased (`multipart/mixed`, `attachment`).
    pub value: String,
    /// Parameters: lowercased name, decoded value (RFC 2231/2047).
    pub params: Vec<(String, String)>,
}

impl Structured {
    /// The value of parameter `name` (lowercase).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits `v` at `;` outside quotes.
fn split_params(v: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut esc) = (0, false, false);
    for (i, &b) in v.iter().enumerate() {
        match b {
            _ if esc => esc = false,
            b'\\' if quoted => esc = true,
            b'"' => quoted = !quoted,
            b';' if !quoted => {
                out.push(v.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(v.get(start..).unwrap_or_default());
    out
}

fn unquote(v: &[u8]) -> Vec<u8> {
    let v = trim(v);
    let Some(inner) = v.strip_prefix(b"\"") else {
        return v.to_vec();
    };
    let inner = inner.strip_suffix(b"\"").unwrap_or(inner);
    let mut out = Vec::with_capacity(inner.len());
    let mut esc = false;
    for &b in inner {
        if b == b'\\' && !esc {
            esc = true;
            continue;
        }
        esc = false;
        out.push(b);
    }
    out
}

fn percent_decode(v: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                v.get(i + 1).copied().and_then(hex_val),
                v.get(i + 2).copied().and_then(hex_val),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
}

/// One RFC 2231 piece: (section, extended, raw value).
type Piece = (u32, bool, Vec<u8>);

/// Parses `type/subtype; a=b; c*=utf-8''%E5; d*0="x"; d*1*=%41`.
pub fn structured(v: &[u8]) -> Structured {
    let parts = split_params(v);
    let mut it = parts.into_iter();
    let value = String::from_utf8_lossy(trim(it.next().unwrap_or_default())).to_ascii_lowercase();
    // name -> pieces
    let mut raw: Vec<(String, Vec<Piece>)> = Vec::new();
    for p in it.take(MAX_PARAMS) {
        let Some(eq) = memchr::memchr(b'=', p) else {
            continue;
        };
        let key =
            String::from_utf8_lossy(trim(p.get(..eq).unwrap_or_default())).to_ascii_lowercase();
        let val = unquote(p.get(eq + 1..).unwrap_or_default());
        let (key, extended) = match key.strip_suffix('*') {
            Some(k) => (k.to_string(), true),
            None => (key, false),
        };
        let (name, section) = match key.rsplit_once('*') {
            Some((n, s)) if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() => {
                (n.to_string(), s.parse().unwrap_or(0))
            }
            _ => (key, 0),
        };
        match raw.iter_mut().find(|(n, _)| *n == name) {
            Some((_, pieces)) if pieces.len() < MAX_PIECES => pieces.push((section, extended, val)),
            Some(_) => {}
            None => raw.push((name, vec![(section, extended, val)])),
        }
    }
    let params = raw
        .into_iter()
        .map(|(name, pieces)| {
            let v = join_pieces(pieces);
            (name, v)
        })
        .collect();
    Structured { value, params }
}

/// Joins RFC 2231 continuation pieces in section order and decodes them:
/// extended pieces are percent-encoded in the charset named by the first
/// (`charset'lang'value`); plain ones may hold RFC 2047 words.
fn join_pieces(mut pieces: Vec<Piece>) -> String {
    pieces.sort_by_key(|p| p.0);
    let any_extended = pieces.iter().any(|p| p.1);
    if !any_extended {
        let joined: Vec<u8> = pieces.into_iter().flat_map(|p| p.2).collect();
        return decode_words(&joined);
    }
    let mut charset: Option<Vec<u8>> = None;
    let mut bytes = Vec::new();
    for (i, (_, extended, val)) in pieces.into_iter().enumerate() {
        let mut val = val.as_slice();
        if i == 0 && extended {
            let mut sp = val.splitn(3, |&b| b == b'\'');
            if let (Some(cs), Some(_lang), Some(rest)) = (sp.next(), sp.next(), sp.next()) {
                charset = Some(cs.to_vec());
                val = rest;
            }
        }
        if extended {
            percent_decode(val, &mut bytes);
        } else {
            bytes.extend_from_slice(val);
        }
    }
    to_utf8(charset.as_deref().filter(|c| !c.is_empty()), &bytes)
}

/// Streaming base64 decoder: skips characters outside the alphabet (line
/// breaks), stops at padding; any split of the input decodes the same.
#[derive(Debug, Default, Clone)]
pub struct Base64 {
    acc: u32,
    n: u8,
    done: bool,
}

fn b64_val(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

impl Base64 {
    /// Decodes `data`, appending to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) {
        for &b in data {
            if self.done {
                // A new base64 run after padding (concatenated encodings).
                if b64_val(b).is_none() {
                    continue;
                }
                self.done = false;
            }
            if b == b'=' {
                self.finish(out);
                continue;
            }
            let Some(v) = b64_val(b) else { continue };
            self.acc = self.acc << 6 | v;
            self.n += 1;
            if self.n == 4 {
                let [_, a, b, c] = self.acc.to_be_bytes();
                out.extend_from_slice(&[a, b, c]);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    /// Emits what a partial quad holds (at padding or the end).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        match self.n {
            2 => out.push((self.acc >> 4) as u8),
            3 => {
                let v = self.acc >> 2;
                out.extend_from_slice(&[(v >> 8) as u8, v as u8]);
            }
            _ => {}
        }
        self.acc = 0;
        self.n = 0;
        self.done = true;
    }
}

/// Decodes one quoted-printable line (without its line break) to `out`;
/// `newline` says whether a line break followed. A soft break (`=` at
/// the end) joins the next line; trailing whitespace is dropped.
pub fn qp_line(line: &[u8], newline: bool, out: &mut Vec<u8>) {
    let line = if newline { line.trim_ascii_end() } else { line };
    let (body, soft) = match line.strip_suffix(b"=") {
        Some(b) if newline => (b, true),
        _ => (line, false),
    };
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if b == b'=' {
            if let (Some(h), Some(l)) = (
                body.get(i + 1).copied().and_then(hex_val),
                body.get(i + 2).copied().and_then(hex_val),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    if newline && !soft {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        GB18030.encode(s).0.into_owned()
    }

    #[test]
    fn encoded_words_in_utf8_gbk_big5() {
        assert_eq!(
            decode_words(b"=?UTF-8?B?5byg5LiJ?= <zs@example.cn>"),
            "张三 <zs@example.cn>"
        );
        let b = base64_encode(&gbk("身份证号码"));
        let v = format!("=?gbk?B?{b}?=");
        assert_eq!(decode_words(v.as_bytes()), "身份证号码");
        assert_eq!(decode_words(b"=?gb2312?Q?=D5=C5=C8=FD?="), "张三");
        assert_eq!(decode_words(b"=?big5?B?sWmkVA==?="), "張三");
        // A GBK character split across two words, whitespace dropped.
        let g = gbk("张三");
        let v = format!(
            "=?GBK?B?{}?=\r\n =?GBK?B?{}?= x",
            base64_encode(&g[..3]),
            base64_encode(&g[3..])
        );
        assert_eq!(decode_words(v.as_bytes()), "张三 x");
        assert_eq!(decode_words(b"a =?utf-8?q?b_c?= d"), "a b c d");
        // Malformed words stay as they are.
        assert_eq!(decode_words(b"=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
        assert_eq!(decode_words(b"=?utf-8?b?"), "=?utf-8?b?");
        // Raw GBK header bytes.
        assert_eq!(decode_words(&gbk("主题")), "主题");
    }

    fn base64_encode(b: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn rfc2231_filenames() {
        let s = structured(b"attachment; filename*=gbk''%D5%C5%C8%FD.docx");
        assert_eq!(s.value, "attachment");
        assert_eq!(s.param("filename"), Some("张三.docx"));
        let s = structured(
            b"attachment; filename*0*=utf-8''%E5%BC%A0; filename*1*=%E4%B8%89; filename*2=\".csv\"",
        );
        assert_eq!(s.param("filename"), Some("张三.csv"));
        let s = structured(b"multipart/Mixed; boundary=\"==a;b==\"; charset=GBK");
        assert_eq!(s.value, "multipart/mixed");
        assert_eq!(s.param("boundary"), Some("==a;b=="));
        assert_eq!(s.param("charset"), Some("GBK"));
        let s = structured(b"attachment; filename=\"=?utf-8?B?5byg5LiJ?=.xlsx\"");
        assert_eq!(s.param("filename"), Some("张三.xlsx"));
        assert_eq!(structured(b"").value, "");
    }

    #[test]
    fn base64_any_split() {
        let text = b"11010519491231002X and more";
        let enc = base64_encode(text);
        let wrapped: Vec<u8> = enc
            .as_bytes()
            .chunks(7)
            .flat_map(|c| [c, b"\r\n"].concat())
            .collect();
        for cut in 0..wrapped.len() {
            let mut b = Base64::default();
            let mut out = Vec::new();
            b.push(&wrapped[..cut], &mut out);
            b.push(&wrapped[cut..], &mut out);
            b.finish(&mut out);
            assert_eq!(out, text, "cut {cut}");
        }
    }

    #[test]
    fn quoted_printable() {
        let mut out = Vec::new();
        qp_line(b"id=3D1101051949=", true, &mut out);
        qp_line(b"1231002X  ", true, &mut out);
        qp_line(b"=E5=BC=A0 =ZZ", true, &mut out);
        assert_eq!(out, "id=11010519491231002X\n张 =ZZ\n".as_bytes());
    }

    #[test]
    fn header_fields_unfold() {
        let f = fields(b"Subject: a\r\n b\r\nFrom:x\r\nbad line\r\n");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].0, b"Subject");
        assert_eq!(f[0].1, b"a b");
        assert_eq!(f[1].1, b"x");
    }
}
