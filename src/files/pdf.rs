//! Best-effort text from PDFs (hand-written, no PDF library).
//!
//! Finds every `stream ... endstream`, inflates it when its dictionary names
//! `/FlateDecode` (other filters are skipped), and pulls the string operands
//! of the text operators `Tj`, `TJ`, `'` and `"` from the content. Literal
//! strings get their escapes decoded; hex strings are decoded as bytes.
//! This reads PDFs written with standard or simple fonts (most generators
//! of reports and forms, including Python and LibreOffice for ASCII text);
//! text drawn with CID fonts through a custom `ToUnicode` map, images of
//! text and encrypted PDFs are not readable this way.

use std::io::Read;

/// Appends the text of `pdf` to `out`, inflating at most `max` bytes in
/// total and writing at most `max` bytes. Returns false when a bound cut
/// the extraction short.
pub fn extract_text(pdf: &[u8], out: &mut Vec<u8>, max: usize) -> bool {
    let mut inflated_total = 0usize;
    let mut pos = 0;
    let mut content = Vec::new();
    while let Some((dict, data, next)) = next_stream(pdf, pos) {
        pos = next;
        content.clear();
        if has_filter(dict, b"/FlateDecode") || has_filter(dict, b"/Fl ") {
            let room = max.saturating_sub(inflated_total);
            let mut z = flate2::read::ZlibDecoder::new(data).take(room as u64 + 1);
            // A damaged stream still yields what inflated before the error.
            let _ = z.read_to_end(&mut content);
            if content.len() > room {
                return false;
            }
            inflated_total += content.len();
        } else if !dict.windows(7).any(|w| w == b"/Filter") {
            content.extend_from_slice(data);
        } else {
            continue;
        }
        text_operators(&content, out, max);
        if out.len() >= max {
            return false;
        }
    }
    true
}

/// The next stream at or after `from`: (dictionary, data, position after).
fn next_stream(pdf: &[u8], from: usize) -> Option<(&[u8], &[u8], usize)> {
    let rest = pdf.get(from..)?;
    let kw = memchr::memmem::find(rest, b"stream")?;
    let at = from + kw;
    // `endstream` also contains `stream`: skip it.
    if at >= 3 && pdf.get(at - 3..at) == Some(b"end") {
        return next_stream(pdf, at + 6);
    }
    let mut start = at + 6;
    if pdf.get(start) == Some(&b'\r') {
        start += 1;
    }
    if pdf.get(start) == Some(&b'\n') {
        start += 1;
    }
    let body = pdf.get(start..)?;
    let len = memchr::memmem::find(body, b"endstream").unwrap_or(body.len());
    let data = body.get(..len)?;
    let head = pdf.get(from..at)?;
    let dict_start = memchr::memmem::rfind(head, b"<<").unwrap_or(0);
    let dict = head.get(dict_start..)?;
    Some((dict, data, start + len))
}

fn has_filter(dict: &[u8], name: &[u8]) -> bool {
    memchr::memmem::find(dict, name).is_some()
}

/// Pulls text operands from a content stream.
fn text_operators(c: &[u8], out: &mut Vec<u8>, max: usize) {
    let mut strings: Vec<Vec<u8>> = Vec::new();
    let mut i = 0;
    while i < c.len() && out.len() < max {
        let b = c.get(i).copied().unwrap_or(0);
        match b {
            b'(' => {
                let (s, used) = literal(c.get(i..).unwrap_or_default());
                strings.push(s);
                i += used;
            }
            b'<' if c.get(i + 1) != Some(&b'<') => {
                let (s, used) = hex_string(c.get(i..).unwrap_or_default());
                strings.push(s);
                i += used;
            }
            b'%' => {
                i += memchr::memchr(b'\n', c.get(i..).unwrap_or_default()).unwrap_or(c.len());
            }
            _ if b.is_ascii_alphabetic() || b == b'\'' || b == b'"' => {
                let end = c
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .position(|&x| {
                        !(x.is_ascii_alphanumeric() || x == b'*' || x == b'\'' || x == b'"')
                    })
                    .map_or(c.len(), |e| i + e);
                operator(c.get(i..end).unwrap_or_default(), &mut strings, out, max);
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
}

/// An operator: text-showing ones emit the pending strings, positioning
/// ones end a word, anything else drops them.
fn operator(op: &[u8], strings: &mut Vec<Vec<u8>>, out: &mut Vec<u8>, max: usize) {
    match op {
        b"Tj" | b"TJ" | b"'" | b"\"" => {
            for s in strings.drain(..) {
                let room = max.saturating_sub(out.len()).min(s.len());
                out.extend_from_slice(s.get(..room).unwrap_or_default());
            }
        }
        b"Td" | b"TD" | b"T*" | b"Tm" | b"ET" | b"BT" => {
            strings.clear();
            if out.last().is_some_and(|&b| b != b'\n') {
                out.push(b'\n');
            }
        }
        _ => strings.clear(),
    }
}

/// A literal string `( ... )` with nesting and escapes; (bytes, span).
fn literal(s: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        i += 1;
        match b {
            b'(' if depth == 0 => depth = 1,
            b'(' => {
                depth += 1;
                out.push(b);
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
                out.push(b);
            }
            b'\\' => {
                let e = s.get(i).copied().unwrap_or(b'\\');
                i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' | b'f' => {}
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            match s.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push((v & 0xff) as u8);
                    }
                    b'\r' | b'\n' => {}
                    other => out.push(other),
                }
            }
            _ => out.push(b),
        }
    }
    (out, i)
}

/// A hex string `<48 65>`; (bytes, span).
fn hex_string(s: &[u8]) -> (Vec<u8>, usize) {
    let end = memchr::memchr(b'>', s).map_or(s.len(), |e| e + 1);
    let digits: Vec<u8> = s
        .get(1..end.saturating_sub(1))
        .unwrap_or_default()
        .iter()
        .filter_map(|&b| (b as char).to_digit(16).map(|d| d as u8))
        .collect();
    let bytes = digits
        .chunks(2)
        .map(|p| (p.first().copied().unwrap_or(0) << 4) | p.get(1).copied().unwrap_or(0))
        .collect();
    (bytes, end)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal one-page PDF whose content stream shows `text` lines,
    /// FlateDecode-compressed when `deflate`.
    pub fn make_pdf(lines: &[&str], deflate: bool) -> Vec<u8> {
        let mut content = String::from("BT /F1 12 Tf 72 720 Td\n");
        for (i, l) in lines.iter().enumerate() {
            let esc = l
                .replace('\\', "\\\\")
                .replace('(', "\\(")
                .replace(')', "\\)");
            if i % 2 == 0 {
                content.push_str(&format!("({esc}) Tj 0 -14 Td\n"));
            } else {
                content.push_str(&format!("[({esc})] TJ 0 -14 Td\n"));
            }
        }
        content.push_str("ET\n");
        let (data, filter) = if deflate {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(content.as_bytes()).unwrap();
            (z.finish().unwrap(), " /Filter /FlateDecode")
        } else {
            (content.into_bytes(), "")
        };
        let mut pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
            .to_vec();
        pdf.extend_from_slice(
            format!("4 0 obj << /Length {}{filter} >>\nstream\n", data.len()).as_bytes(),
        );
        pdf.extend_from_slice(&data);
        pdf.extend_from_slice(b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        pdf
    }

    #[test]
    fn text_from_flate_and_plain_streams() {
        for deflate in [true, false] {
            let pdf = make_pdf(&["phone 13800138000", "id (x) \\ y"], deflate);
            let mut out = Vec::new();
            assert!(extract_text(&pdf, &mut out, 1 << 20));
            let text = String::from_utf8_lossy(&out);
            assert!(text.contains("phone 13800138000"), "{text}");
            assert!(text.contains("id (x) \\ y"), "{text}");
        }
    }

    #[test]
    fn hex_and_octal_strings() {
        let mut out = Vec::new();
        text_operators(b"BT <3133 38> Tj (\\0611\\062) Tj ET", &mut out, 100);
        assert_eq!(out, b"138112\n");
    }

    #[test]
    fn inflation_is_bounded() {
        let big = vec![b'7'; 1 << 20];
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&big).unwrap();
        let data = z.finish().unwrap();
        let mut pdf = b"%PDF-1.4\n<< /Filter /FlateDecode >>\nstream\n".to_vec();
        pdf.extend_from_slice(&data);
        pdf.extend_from_slice(b"\nendstream\n");
        let mut out = Vec::new();
        assert!(!extract_text(&pdf, &mut out, 4096));
        assert!(out.len() <= 4096);
    }
}
