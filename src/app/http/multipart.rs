//! Streaming `multipart/form-data` splitter: finds the boundary
//! delimiters across arbitrary splits, parses each part's headers
//! (bounded) for its name, filename and type, and hands each part's body
//! on as its own content item.

use super::parser::{header_param, parse_line, Headers, LineResult};
use crate::app::HttpPart;

/// What the splitter found.
pub enum PartEvent<'a> {
    /// A part begins (headers parsed).
    Start(&'a HttpPart),
    /// Bytes of the current part's body.
    Data(&'a [u8]),
    /// The current part ended.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Preamble,
    Delimiter,
    Headers,
    Body,
    Epilogue,
}

/// Longest part-header block kept.
const MAX_PART_HEADERS: usize = 8 * 1024;

/// Splits one multipart body.
pub struct Multipart {
    /// `\n--boundary`.
    delim: Vec<u8>,
    buf: Vec<u8>,
    state: State,
    part: HttpPart,
}

impl Multipart {
    /// A splitter for `boundary` (from the `Content-Type` parameter).
    pub fn new(boundary: &[u8]) -> Multipart {
        let mut delim = b"\n--".to_vec();
        delim.extend_from_slice(boundary);
        Multipart {
            delim,
            buf: Vec::new(),
            state: State::Preamble,
            part: HttpPart::default(),
        }
    }

    /// Feeds body bytes.
    pub fn push(&mut self, data: &[u8], ev: &mut dyn FnMut(PartEvent<'_>)) {
        if self.state == State::Epilogue {
            return;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.extend_from_slice(data);
        let mut pos = 0;
        while let Some(used) = self.step(buf.get(pos..).unwrap_or_default(), ev) {
            pos += used;
        }
        buf.drain(..pos.min(buf.len()));
        self.buf = buf;
    }

    /// The body ended: an open part ends too.
    pub fn finish(&mut self, ev: &mut dyn FnMut(PartEvent<'_>)) {
        if self.state == State::Body {
            let rest = self.buf.as_slice();
            if !rest.is_empty() {
                ev(PartEvent::Data(rest));
            }
            ev(PartEvent::End);
        }
        self.buf.clear();
        self.state = State::Epilogue;
    }

    /// One step over `buf[pos..]`; `Some(consumed)` to go on, `None` when
    /// more input is needed.
    fn step(&mut self, buf: &[u8], ev: &mut dyn FnMut(PartEvent<'_>)) -> Option<usize> {
        let dash_delim = self.delim.get(1..).unwrap_or_default();
        match self.state {
            State::Preamble => match memchr::memmem::find(buf, dash_delim) {
                Some(i) => {
                    let used = i + dash_delim.len();
                    self.state = State::Delimiter;
                    Some(used)
                }
                None => {
                    let keep = dash_delim.len();
                    (buf.len() > keep).then(|| buf.len() - keep)
                }
            },
            State::Delimiter => {
                if buf.len() < 2 {
                    return None;
                }
                if buf.starts_with(b"--") {
                    self.state = State::Epilogue;
                    return None;
                }
                match parse_line(buf, 1024) {
                    LineResult::Complete { consumed, .. } => {
                        self.state = State::Headers;
                        self.part = HttpPart::default();
                        Some(consumed)
                    }
                    LineResult::TooLong => {
                        self.state = State::Preamble;
                        Some(buf.len())
                    }
                    LineResult::Incomplete { .. } => None,
                }
            }
            State::Headers => self.header_line(buf, ev),
            State::Body => self.body(buf, ev),
            State::Epilogue => None,
        }
    }

    fn header_line(&mut self, buf: &[u8], ev: &mut dyn FnMut(PartEvent<'_>)) -> Option<usize> {
        match parse_line(buf, MAX_PART_HEADERS) {
            LineResult::Complete { line: [], consumed } => {
                ev(PartEvent::Start(&self.part));
                self.state = State::Body;
                Some(consumed)
            }
            LineResult::Complete { line, consumed } => {
                for h in Headers::new(line) {
                    note_part_header(&mut self.part, h.name, h.value);
                }
                Some(consumed)
            }
            LineResult::TooLong => {
                // Headers too long: treat the rest as the part's body.
                ev(PartEvent::Start(&self.part));
                self.state = State::Body;
                Some(0)
            }
            LineResult::Incomplete { .. } => None,
        }
    }

    fn body(&mut self, buf: &[u8], ev: &mut dyn FnMut(PartEvent<'_>)) -> Option<usize> {
        match memchr::memmem::find(buf, &self.delim) {
            Some(i) => {
                let data = buf.get(..i).unwrap_or_default();
                let data = data.strip_suffix(b"\r").unwrap_or(data);
                if !data.is_empty() {
                    ev(PartEvent::Data(data));
                }
                ev(PartEvent::End);
                self.state = State::Delimiter;
                Some(i + self.delim.len())
            }
            None => {
                // Keep a tail that may start a delimiter (plus its CR).
                let keep = self.delim.len();
                if buf.len() <= keep {
                    return None;
                }
                let n = buf.len() - keep;
                ev(PartEvent::Data(buf.get(..n).unwrap_or_default()));
                Some(n)
            }
        }
    }
}

fn note_part_header(part: &mut HttpPart, name: &[u8], value: &[u8]) {
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    if name.eq_ignore_ascii_case(b"content-disposition") {
        part.name = header_param(value, b"name").map(text);
        part.filename = header_param(value, b"filename")
            .or_else(|| header_param(value, b"filename*"))
            .map(text);
    } else if name.eq_ignore_ascii_case(b"content-type") {
        part.content_type = Some(text(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(body: &[u8], piece: usize) -> (Vec<HttpPart>, Vec<Vec<u8>>) {
        let mut m = Multipart::new(b"XyZ");
        let (mut parts, mut datas) = (Vec::new(), Vec::new());
        let mut cur = Vec::new();
        let mut ev = |e: PartEvent<'_>| match e {
            PartEvent::Start(p) => parts.push(p.clone()),
            PartEvent::Data(d) => cur.extend_from_slice(d),
            PartEvent::End => datas.push(std::mem::take(&mut cur)),
        };
        for p in body.chunks(piece) {
            m.push(p, &mut ev);
        }
        m.finish(&mut ev);
        (parts, datas)
    }

    #[test]
    fn parts_any_split() {
        let body = b"pre\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv1\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\n--Xy\r\n\r\n--XyZ--\r\n";
        for piece in [1, 2, 5, 1000] {
            let (parts, datas) = split(body, piece);
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[0].name.as_deref(), Some("a"));
            assert_eq!(parts[1].filename.as_deref(), Some("x.txt"));
            assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
            assert_eq!(datas, vec![b"v1".to_vec(), b"line1\r\n--Xy\r\n".to_vec()]);
        }
    }
}
