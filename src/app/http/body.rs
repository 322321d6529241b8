//! Body delimiting (Content-Length, chunked, connection close) and the
//! body pipeline: de-framing -> decoding chain -> depth budget ->
//! form / JSON / multipart / plain extraction -> charset -> sink.

use super::decode::{Chain, ChainLimits, Coding};
use super::multipart::{Multipart, PartEvent};
use super::parser::{is_strict_chunk_size, parse_chunk_size, trim_cr};
use super::text::{Charset, JsonUnescape, Percent};
use crate::app::{ContentSink, HttpPart};
use crate::detect::normalize::{Chain as Where, Step};
use crate::flow::Direction;

/// Longest chunk-size or trailer line kept (the rest of a longer line is
/// skipped: extensions are ignored anyway).
const MAX_CHUNK_LINE: usize = 256;
/// Trailer bytes accepted before the body is declared finished.
const MAX_TRAILERS: usize = 16 * 1024;

/// How a body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`: bytes left.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked(Chunk),
    /// Until the sender closes (responses only).
    UntilClose,
}

/// Position inside a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// Reading a chunk-size line.
    Size,
    /// Inside chunk data: bytes left.
    Data(u64),
    /// After chunk data, expecting its line end.
    DataEnd,
    /// After the last chunk, reading trailer lines (bytes seen so far).
    Trailers(usize),
}

/// What kind of content extraction a body gets.
pub enum Kind {
    /// Decoded bytes as they are.
    Plain,
    /// `application/x-www-form-urlencoded`.
    Form(Percent),
    /// JSON.
    Json(JsonUnescape),
    /// `multipart/form-data`.
    Multipart(Box<Multipart>),
}

/// The extraction end of a body pipeline.
struct Extract {
    loc: &'static str,
    /// Decoding applied before the charset stage (codings, form, JSON).
    pre: Where,
    kind: Kind,
    charset: Charset,
    budget: u64,
    parts: Vec<HttpPart>,
    max_parts: usize,
    limits: Vec<&'static str>,
}

/// Limits applied to one body.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Decoded bytes inspected.
    pub depth: u64,
    /// Decoder chain limits.
    pub chain: ChainLimits,
    /// Multipart parts recorded.
    pub max_parts: usize,
}

/// One body being read.
pub struct Body {
    framing: Framing,
    line: Vec<u8>,
    chain: Chain,
    /// Decoding broke (gap inside compressed data): nothing more is decoded.
    damaged: bool,
    /// The framing said the body ended (not cut short by a close).
    complete: bool,
    extract: Extract,
}

impl Body {
    /// A body delimited by `framing`, decoded by `codings` (decoding
    /// order), extracted as `kind` with `charset`, labelled `loc`.
    pub fn new(
        framing: Framing,
        codings: &[Coding],
        kind: Kind,
        charset: Option<&[u8]>,
        loc: &'static str,
        limits: BodyLimits,
    ) -> Body {
        Body {
            framing,
            line: Vec::new(),
            chain: Chain::new(codings, limits.chain),
            damaged: false,
            complete: false,
            extract: Extract {
                loc,
                pre: body_chain(codings, &kind),
                kind,
                charset: Charset::new(charset),
                budget: limits.depth,
                parts: Vec::new(),
                max_parts: limits.max_parts,
                limits: Vec::new(),
            },
        }
    }

    /// Feeds wire bytes; returns the bytes used and whether the body is
    /// complete.
    pub fn push(
        &mut self,
        data: &[u8],
        dir: Direction,
        sink: &mut dyn ContentSink,
    ) -> (usize, bool) {
        let (used, done) = self.push_framed(data, dir, sink);
        self.complete |= done;
        (used, done)
    }

    fn push_framed(
        &mut self,
        data: &[u8],
        dir: Direction,
        sink: &mut dyn ContentSink,
    ) -> (usize, bool) {
        match self.framing {
            Framing::Length(left) => {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                self.content(data.get(..n).unwrap_or_default(), dir, sink);
                let left = left - n as u64;
                self.framing = Framing::Length(left);
                (n, left == 0)
            }
            Framing::UntilClose => {
                self.content(data, dir, sink);
                (data.len(), false)
            }
            Framing::Chunked(_) => self.chunked(data, dir, sink),
        }
    }

    fn chunked(
        &mut self,
        data: &[u8],
        dir: Direction,
        sink: &mut dyn ContentSink,
    ) -> (usize, bool) {
        let mut pos = 0;
        while pos < data.len() {
            let rest = data.get(pos..).unwrap_or_default();
            let Framing::Chunked(st) = self.framing else {
                break;
            };
            match st {
                Chunk::Data(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    self.content(rest.get(..n).unwrap_or_default(), dir, sink);
                    let left = left - n as u64;
                    self.framing = Framing::Chunked(if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    });
                    pos += n;
                }
                Chunk::DataEnd => match rest.first() {
                    Some(b'\r') => pos += 1,
                    Some(b'\n') => {
                        pos += 1;
                        self.framing = Framing::Chunked(Chunk::Size);
                    }
                    // Lenient: no line end after the data; the size follows.
                    _ => self.framing = Framing::Chunked(Chunk::Size),
                },
                Chunk::Size | Chunk::Trailers(_) => {
                    let Some(i) = memchr::memchr(b'\n', rest) else {
                        self.keep_line(rest);
                        return (data.len(), false);
                    };
                    self.keep_line(rest.get(..i).unwrap_or_default());
                    pos += i + 1;
                    if self.line_done(st) {
                        return (pos, true);
                    }
                }
            }
        }
        (pos, false)
    }

    fn keep_line(&mut self, part: &[u8]) {
        let room = MAX_CHUNK_LINE.saturating_sub(self.line.len());
        self.line
            .extend_from_slice(part.get(..room.min(part.len())).unwrap_or_default());
        if let Framing::Chunked(Chunk::Trailers(n)) = &mut self.framing {
            *n = n.saturating_add(part.len());
        }
    }

    /// A complete chunk-size or trailer line; true when the body ended.
    fn line_done(&mut self, st: Chunk) -> bool {
        let line = trim_cr(&self.line);
        let done = match st {
            Chunk::Size => match parse_chunk_size(line) {
                Some(0) => {
                    if !is_strict_chunk_size(line) {
                        self.extract.note("lenient_chunk_size");
                    }
                    self.framing = Framing::Chunked(Chunk::Trailers(0));
                    false
                }
                Some(n) => {
                    if !is_strict_chunk_size(line) {
                        self.extract.note("lenient_chunk_size");
                    }
                    self.framing = Framing::Chunked(Chunk::Data(n));
                    false
                }
                // An empty line between chunks is skipped; junk ends the body
                // (a browser would stop decoding there too).
                None => !line.is_empty(),
            },
            Chunk::Trailers(n) => line.is_empty() || n > MAX_TRAILERS,
            _ => false,
        };
        self.line.clear();
        done
    }

    /// `len` bytes of the body were lost. Returns false when the body's
    /// position is unknown and the caller must resynchronise.
    pub fn gap(&mut self, len: u64, dir: Direction, sink: &mut dyn ContentSink) -> bool {
        let left = match &mut self.framing {
            Framing::Length(left) | Framing::Chunked(Chunk::Data(left)) if len < *left => left,
            Framing::UntilClose => {
                self.mark_damaged(dir, sink);
                return true;
            }
            _ => return false,
        };
        *left -= len;
        self.mark_damaged(dir, sink);
        true
    }

    fn mark_damaged(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        self.damaged = true;
        self.extract.flush(dir, sink);
        sink.end_content(dir);
    }

    /// De-framed body bytes: through the decoders into extraction.
    fn content(&mut self, data: &[u8], dir: Direction, sink: &mut dyn ContentSink) {
        if data.is_empty() || (self.damaged && self.chain_has_layers()) {
            return;
        }
        let ex = &mut self.extract;
        self.chain.push(data, &mut |d| ex.push(d, dir, sink));
    }

    fn chain_has_layers(&self) -> bool {
        !self.chain.is_plain()
    }

    /// The body ended: flush everything; returns the parts and limits hit.
    pub fn finish(
        mut self,
        dir: Direction,
        sink: &mut dyn ContentSink,
    ) -> (Vec<HttpPart>, Vec<&'static str>) {
        self.extract.flush(dir, sink);
        sink.end_content(dir);
        if !self.complete && matches!(self.framing, Framing::Chunked(_)) {
            // Cut short (close, gap) before the last chunk's end: some
            // clients show what came, others (Chromium) an error page.
            self.extract.note("truncated_chunked");
        }
        let mut limits = std::mem::take(&mut self.extract.limits);
        if let Some(h) = self.chain.hit {
            if !limits.contains(&h) {
                limits.push(h);
            }
        }
        (std::mem::take(&mut self.extract.parts), limits)
    }
}

/// The decoding chain of a body's content (for `where`).
fn body_chain(codings: &[Coding], kind: &Kind) -> Where {
    let mut c = codings.iter().fold(Where::EMPTY, |c, k| {
        c.with(match k {
            Coding::Gzip => Step::Gzip,
            Coding::Deflate => Step::Deflate,
            Coding::Brotli => Step::Brotli,
            Coding::Zstd => Step::Zstd,
        })
    });
    match kind {
        Kind::Form(_) => c = c.with(Step::Urlencoded),
        Kind::Json(_) => c = c.with(Step::Json),
        Kind::Plain | Kind::Multipart(_) => {}
    }
    c
}

/// `pre` plus the charset stage's transcoding, if any.
fn with_charset(pre: Where, cs: &Charset) -> Where {
    match cs.transcoding() {
        Some(true) => pre.with(Step::Big5),
        Some(false) => pre.with(Step::Gbk),
        None => pre,
    }
}

impl Extract {
    /// Decoded body bytes, within the depth budget. False once spent.
    fn push(&mut self, data: &[u8], dir: Direction, sink: &mut dyn ContentSink) -> bool {
        if self.budget == 0 {
            return false;
        }
        let n = usize::try_from(self.budget)
            .unwrap_or(usize::MAX)
            .min(data.len());
        self.budget -= n as u64;
        let data = data.get(..n).unwrap_or_default();
        let ch = with_charset(self.pre, &self.charset);
        let (loc, charset) = (self.loc, &mut self.charset);
        let mut out = |d: &[u8]| charset.push(d, &mut |e| sink.on_content_chain(dir, loc, ch, e));
        match &mut self.kind {
            Kind::Plain => out(data),
            Kind::Form(p) => p.push(data, &mut out),
            Kind::Json(j) => j.push(data, &mut out),
            Kind::Multipart(m) => {
                let (parts, max) = (&mut self.parts, self.max_parts);
                let limits = &mut self.limits;
                m.push(data, &mut |ev| {
                    part_event(ev, charset, parts, max, limits, dir, loc, sink)
                });
            }
        }
        if self.budget == 0 {
            self.note("body_depth");
            return false;
        }
        true
    }

    /// Records a limit hit or a lenient reading, once.
    fn note(&mut self, what: &'static str) {
        if !self.limits.contains(&what) {
            self.limits.push(what);
        }
    }

    fn flush(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        let ch = with_charset(self.pre, &self.charset);
        let (loc, charset) = (self.loc, &mut self.charset);
        match &mut self.kind {
            Kind::Plain => {}
            Kind::Form(p) => p.flush(&mut |d: &[u8]| {
                charset.push(d, &mut |e| sink.on_content_chain(dir, loc, ch, e))
            }),
            Kind::Json(j) => j.flush(&mut |d: &[u8]| {
                charset.push(d, &mut |e| sink.on_content_chain(dir, loc, ch, e))
            }),
            Kind::Multipart(m) => {
                let (parts, max) = (&mut self.parts, self.max_parts);
                let limits = &mut self.limits;
                m.finish(&mut |ev| part_event(ev, charset, parts, max, limits, dir, loc, sink));
            }
        }
        charset.flush(&mut |e| sink.on_content_chain(dir, loc, ch, e));
    }
}

/// One multipart event: parts are recorded (bounded) and each part's body
/// becomes its own content item.
#[allow(clippy::too_many_arguments)]
fn part_event(
    ev: PartEvent<'_>,
    charset: &mut Charset,
    parts: &mut Vec<HttpPart>,
    max: usize,
    limits: &mut Vec<&'static str>,
    dir: Direction,
    loc: &'static str,
    sink: &mut dyn ContentSink,
) {
    match ev {
        PartEvent::Start(p) => {
            if parts.len() < max {
                parts.push(p.clone());
            } else if !limits.contains(&"multipart_parts") {
                limits.push("multipart_parts");
            }
            let cs = p
                .content_type
                .as_deref()
                .and_then(|ct| super::parser::header_param(ct.as_bytes(), b"charset"));
            match super::file::part_file(p) {
                Some(f) => {
                    // File bytes go on as they are (hashes match the file).
                    *charset = Charset::new(Some(b"utf-8"));
                    sink.begin_file(dir, &f);
                }
                None => *charset = Charset::new(cs),
            }
        }
        PartEvent::Data(d) => charset.push(d, &mut |e| sink.on_content(dir, loc, e)),
        PartEvent::End => {
            charset.flush(&mut |e| sink.on_content(dir, loc, e));
            sink.end_content(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::TxMeta;

    #[derive(Default)]
    struct Sink(Vec<u8>);

    impl ContentSink for Sink {
        fn on_content(&mut self, _dir: Direction, _location: &'static str, data: &[u8]) {
            self.0.extend_from_slice(data);
        }
        fn end_content(&mut self, _dir: Direction) {}
        fn end_transaction(&mut self, _dir: Direction, _meta: &TxMeta) {}
    }

    fn limits() -> BodyLimits {
        BodyLimits {
            depth: 1 << 20,
            chain: ChainLimits {
                max_output: 1 << 20,
                max_ratio: 100,
                ratio_floor: 1 << 16,
            },
            max_parts: 8,
        }
    }

    fn dechunk(wire: &[u8], piece: usize) -> (Vec<u8>, usize, bool) {
        let mut b = Body::new(
            Framing::Chunked(Chunk::Size),
            &[],
            Kind::Plain,
            None,
            "x",
            limits(),
        );
        let mut s = Sink::default();
        let (mut used, mut done) = (0, false);
        for p in wire.chunks(piece) {
            let (u, d) = b.push(p, Direction::ToClient, &mut s);
            used += u;
            done = d;
            if d {
                break;
            }
        }
        (s.0, used, done)
    }

    #[test]
    fn chunked_variants_any_split() {
        let wire = b"3;ext=1\r\nabc\r\n0x2 junk\r\nde\n\n1\r\nf\r\n0\r\nTrailer: t\r\n\r\nNEXT";
        for piece in [1, 2, 5, wire.len()] {
            let (out, used, done) = dechunk(wire, piece);
            assert_eq!(out, b"abcdef");
            assert!(done);
            assert_eq!(wire.get(used..), Some(&b"NEXT"[..]), "piece {piece}");
        }
    }

    #[test]
    fn junk_size_ends_body() {
        let (out, _, done) = dechunk(b"2\r\nab\r\nzz\r\n2\r\ncd\r\n", 100);
        assert_eq!(out, b"ab");
        assert!(done);
    }

    #[test]
    fn depth_budget_truncates_and_notes() {
        let l = BodyLimits {
            depth: 4,
            ..limits()
        };
        let mut b = Body::new(Framing::Length(10), &[], Kind::Plain, None, "x", l);
        let mut s = Sink::default();
        let (used, done) = b.push(b"0123456789", Direction::ToServer, &mut s);
        assert_eq!((used, done), (10, true));
        let (_, hit) = b.finish(Direction::ToServer, &mut s);
        assert_eq!(s.0, b"0123");
        assert!(hit.contains(&"body_depth"));
    }
}
