//! XML/HTML to text: tags stripped, entities decoded, CDATA kept.
//!
//! Office documents split one word over several runs (`<w:r><w:t>138</w:t>
//! </w:r><w:r><w:t>0013</w:t>...`), so in [`Mode::Office`] only block tags
//! (paragraphs, cells, rows, breaks, shared strings) separate text; in
//! [`Mode::Markup`] every tag does (generic XML/HTML fields must not run
//! together into one long digit string).

/// Where separators go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// OOXML parts: only block-level tags separate.
    Office,
    /// Any XML/HTML: every tag separates.
    Markup,
}

/// Local names (after any `prefix:`) of OOXML tags that end a block of text.
const BLOCK_TAGS: [&[u8]; 12] = [
    b"p", b"br", b"tab", b"tc", b"tr", b"si", b"c", b"row", b"cr", b"is", b"td", b"th",
];

/// Appends the text of `xml` to `out`, at most `max` bytes (`false` when cut).
pub fn to_text(xml: &[u8], mode: Mode, out: &mut Vec<u8>, max: usize) -> bool {
    let mut i = 0;
    while i < xml.len() {
        let rest = xml.get(i..).unwrap_or_default();
        let next = memchr::memchr2(b'<', b'&', rest).unwrap_or(rest.len());
        if !push_bounded(out, rest.get(..next).unwrap_or_default(), max) {
            return false;
        }
        i += next;
        match xml.get(i) {
            Some(b'<') => match markup(xml.get(i..).unwrap_or_default(), mode, out, max) {
                Some(used) => i += used,
                None => return false,
            },
            Some(b'&') => {
                let (used, text) = entity(xml.get(i..).unwrap_or_default());
                if !push_bounded(out, text.as_bytes(), max) {
                    return false;
                }
                i += used;
            }
            _ => {}
        }
    }
    true
}

/// Appends what fits under `max`; false when `data` was cut.
fn push_bounded(out: &mut Vec<u8>, data: &[u8], max: usize) -> bool {
    let room = max.saturating_sub(out.len()).min(data.len());
    out.extend_from_slice(data.get(..room).unwrap_or_default());
    room == data.len()
}

/// A `<...>` construct at the start of `s`; returns the bytes it spans,
/// `None` when its text (CDATA) was cut at `max`.
fn markup(s: &[u8], mode: Mode, out: &mut Vec<u8>, max: usize) -> Option<usize> {
    if let Some(body) = s.strip_prefix(b"<![CDATA[") {
        let end = memchr::memmem::find(body, b"]]>").unwrap_or(body.len());
        return push_bounded(out, body.get(..end).unwrap_or_default(), max)
            .then_some((9 + end + 3).min(s.len()));
    }
    if let Some(body) = s.strip_prefix(b"<!--") {
        let end = memchr::memmem::find(body, b"-->").map_or(body.len(), |e| e + 3);
        return Some(4 + end);
    }
    let end = memchr::memchr(b'>', s).map_or(s.len(), |e| e + 1);
    let tag = s.get(1..end.saturating_sub(1)).unwrap_or_default();
    let separates = match mode {
        Mode::Markup => true,
        Mode::Office => is_block(tag),
    };
    if separates && out.last().is_some_and(|&b| b != b'\n') {
        let _ = push_bounded(out, b"\n", max);
    }
    Some(end)
}

/// Whether a tag (without `<>`) is a block tag, opening or closing.
fn is_block(tag: &[u8]) -> bool {
    let tag = tag.strip_prefix(b"/").unwrap_or(tag);
    let name_end = tag
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'/')
        .unwrap_or(tag.len());
    let name = tag.get(..name_end).unwrap_or_default();
    let local = match memchr::memrchr(b':', name) {
        Some(c) => name.get(c + 1..).unwrap_or_default(),
        None => name,
    };
    BLOCK_TAGS.contains(&local)
}

/// An entity at the start of `s` (`&amp;`, `&#20013;`, `&#x4E2D;`): its
/// text is appended; returns the bytes it spans (1 for a lone `&`).
fn entity(s: &[u8]) -> (usize, EntityText) {
    let literal = (1, EntityText::new('&'));
    let Some(end) = s.iter().take(12).position(|&b| b == b';') else {
        return literal;
    };
    let name = s.get(1..end).unwrap_or_default();
    let ch = match name {
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"amp" => Some('&'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        b"nbsp" => Some(' '),
        _ => numeric(name),
    };
    ch.map_or(literal, |c| (end + 1, EntityText::new(c)))
}

/// The UTF-8 bytes of one decoded character, kept on the stack.
struct EntityText {
    buf: [u8; 4],
    len: usize,
}

impl EntityText {
    fn new(c: char) -> EntityText {
        let mut buf = [0u8; 4];
        let len = c.encode_utf8(&mut buf).len();
        EntityText { buf, len }
    }
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

fn numeric(name: &[u8]) -> Option<char> {
    let digits = name.strip_prefix(b"#")?;
    let text = std::str::from_utf8(digits).ok()?;
    let n = match text.strip_prefix('x').or_else(|| text.strip_prefix('X')) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => text.parse().ok()?,
    };
    char::from_u32(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(xml: &str, mode: Mode) -> String {
        let mut out = Vec::new();
        to_text(xml.as_bytes(), mode, &mut out, 1 << 20);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn office_runs_join_paragraphs_split() {
        let x = "<w:p><w:r><w:t>138</w:t></w:r><w:r><w:t xml:space=\"preserve\">00138000</w:t></w:r></w:p><w:p><w:r><w:t>a&amp;b &#x4E2D;&#25991;</w:t></w:r></w:p>";
        assert_eq!(text(x, Mode::Office), "13800138000\na&b 中文\n");
    }

    #[test]
    fn markup_tags_separate_and_cdata_kept() {
        let x = "<a>1</a><b>2</b><!-- 3 --><c><![CDATA[<4>]]></c> &bogus; &";
        assert_eq!(text(x, Mode::Markup), "1\n2\n<4>\n &bogus; &");
    }

    #[test]
    fn output_is_bounded() {
        let mut out = Vec::new();
        assert!(!to_text(
            b"<a>0123456789</a><b>0123456789</b>",
            Mode::Markup,
            &mut out,
            8
        ));
        assert!(out.len() <= 8);
    }
    #[test]
    fn entities_and_separators_stay_under_the_bound() {
        for xml in [
            "0123456789&&&&&&&&&&&&".to_string(),
            format!("01234567{}", "&#x4E2D;".repeat(5)),
            "0123456<p>7<p>8".to_string(),
            "0123456<![CDATA[789]]>".to_string(),
        ] {
            let mut out = Vec::new();
            assert!(!to_text(xml.as_bytes(), Mode::Office, &mut out, 8), "{xml}");
            assert!(out.len() <= 8, "{xml}: {} bytes", out.len());
        }
        let mut out = Vec::new();
        assert!(to_text(b"a&amp;b", Mode::Office, &mut out, 3));
        assert_eq!(out, b"a&b");
    }
}
