//! Streaming MIME decoder shared by SMTP, POP3 and IMAP.
//!
//! A message arrives in pieces (after the protocol's own framing: SMTP
//! dot-unstuffing, BDAT chunks, POP3 multi-line responses, IMAP literals)
//! and is decoded line by line with bounded memory: one line buffer
//! ([`MAX_LINE`]; longer lines are passed on in pieces), one header block
//! (`max_header_bytes`), and the stack of open multipart boundaries
//! (`max_depth`). Each entity's headers are decoded (folding, RFC 2047,
//! RFC 2231) and the interesting ones emitted to
//! [`super::location::MAIL_HEADERS`]; text parts
//! are decoded (base64, quoted-printable) and converted to UTF-8 into
//! [`MAIL_BODY`](super::location::MAIL_BODY); attachments are announced with
//! [`ContentSink::begin_file`] and their decoded bytes go to
//! [`MAIL_ATTACHMENT`](super::location::MAIL_ATTACHMENT).

use encoding_rs::Decoder;

use super::words::{self, Base64, Structured};
use super::{location, MailConfig, MailTx};
use crate::app::http::text::Charset;
use crate::app::{ContentSink, FileMeta};
use crate::flow::Direction;

/// Longest line assembled; longer lines are passed on in pieces (a piece
/// that does not start a line is never taken for a boundary).
pub const MAX_LINE: usize = 8 * 1024;

/// Longest boundary kept (RFC 2046 allows 70).
const MAX_BOUNDARY: usize = 200;

/// Attachment descriptions kept per message.
const MAX_FILES: usize = 64;

/// Recipients/addresses kept per header.
const MAX_SUMMARY: usize = 512;

/// Headers whose decoded values are scanned.
const SCANNED_HEADERS: &[&str] = &[
    "subject",
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "sender",
    "comments",
    "keywords",
    "organization",
    "content-description",
    "disposition-notification-to",
    "return-path",
];

/// Content transfer encoding of the current part.
enum Cte {
    Identity,
    Base64(Base64),
    Qp,
}

/// Where a part's decoded bytes go.
enum Target {
    /// Preamble, epilogue, a container, or past a limit.
    Ignore,
    /// Text: charset-converted into `mail.body`.
    Text(TextCs),
    /// An attachment's bytes into `mail.attachment`.
    File,
}

/// Charset conversion of a text part.
enum TextCs {
    Utf8,
    Decoder(Box<Decoder>),
    Sniff(Charset),
}

impl TextCs {
    fn new(charset: Option<&str>) -> TextCs {
        match charset {
            Some(c) if c.eq_ignore_ascii_case("us-ascii") => TextCs::Sniff(Charset::new(None)),
            Some(c) => match words::encoding_for(c.as_bytes()) {
                Some(e) if e == encoding_rs::UTF_8 => TextCs::Utf8,
                Some(e) => TextCs::Decoder(Box::new(e.new_decoder_without_bom_handling())),
                None => TextCs::Sniff(Charset::new(None)),
            },
            None => TextCs::Sniff(Charset::new(None)),
        }
    }
}

/// Where the decoder is in the current entity.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Headers,
    Body,
}

/// The streaming MIME decoder of one message.
pub struct MimeDecoder {
    cfg: MailConfig,
    dir: Direction,
    phase: Phase,
    /// Partial line (bounded by [`MAX_LINE`]).
    line: Vec<u8>,
    /// The buffered line does not start a line (a long line's tail).
    mid_line: bool,
    /// Header block of the current entity (bounded).
    header: Vec<u8>,
    header_full: bool,
    /// Open multipart boundaries, outermost first.
    bounds: Vec<Vec<u8>>,
    /// Nesting depth of the current entity (message/rfc822 counts too).
    depth: usize,
    parts: usize,
    decoded: u64,
    cte: Cte,
    target: Target,
    /// Decoded bytes of the current line (reused).
    scratch: Vec<u8>,
    /// UTF-8 text (reused).
    text: Vec<u8>,
    /// The top-level headers were seen.
    top_done: bool,
    /// What the message's event says.
    tx: MailTx,
}

impl MimeDecoder {
    /// A decoder for a message sent by `dir`.
    pub fn new(cfg: MailConfig, dir: Direction) -> MimeDecoder {
        MimeDecoder {
            cfg,
            dir,
            phase: Phase::Headers,
            line: Vec::new(),
            mid_line: false,
            header: Vec::new(),
            header_full: false,
            bounds: Vec::new(),
            depth: 0,
            parts: 1,
            decoded: 0,
            cte: Cte::Identity,
            target: Target::Ignore,
            scratch: Vec::new(),
            text: Vec::new(),
            top_done: false,
            tx: MailTx::default(),
        }
    }

    /// Starts a new message (buffers are kept for reuse).
    pub fn reset(&mut self) {
        self.phase = Phase::Headers;
        self.line.clear();
        self.mid_line = false;
        self.header.clear();
        self.header_full = false;
        self.bounds.clear();
        self.depth = 0;
        self.parts = 1;
        self.decoded = 0;
        self.cte = Cte::Identity;
        self.target = Target::Ignore;
        self.top_done = false;
        self.tx = MailTx::default();
    }

    /// Next bytes of the message.
    pub fn push(&mut self, mut data: &[u8], sink: &mut dyn ContentSink) {
        while !data.is_empty() {
            let nl = memchr::memchr(b'\n', data);
            let take = nl.map_or(data.len(), |i| i + 1);
            let (chunk, rest) = data.split_at(take);
            data = rest;
            if nl.is_none() {
                if self.line.len() + chunk.len() <= MAX_LINE {
                    self.line.extend_from_slice(chunk);
                } else {
                    self.flush_partial(chunk, sink);
                }
                continue;
            }
            if self.line.is_empty() {
                let mid = std::mem::take(&mut self.mid_line);
                self.on_line(chunk, true, mid, sink);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(chunk);
                let mid = std::mem::take(&mut self.mid_line);
                self.on_line(&line, true, mid, sink);
                line.clear();
                self.line = line;
            }
        }
    }

    /// A line grew past [`MAX_LINE`]: pass on what is held as an
    /// unterminated piece.
    fn flush_partial(&mut self, chunk: &[u8], sink: &mut dyn ContentSink) {
        let mut line = std::mem::take(&mut self.line);
        line.extend_from_slice(chunk);
        let mid = self.mid_line;
        self.on_line(&line, false, mid, sink);
        self.mid_line = true;
        line.clear();
        self.line = line;
    }

    /// Bytes were lost: the current part cannot be decoded on (base64
    /// would be misaligned), so it ends; decoding resumes at the next
    /// boundary.
    pub fn gap(&mut self, sink: &mut dyn ContentSink) {
        self.end_part(sink);
        self.line.clear();
        self.mid_line = true;
        self.phase = Phase::Body;
        self.target = Target::Ignore;
        self.note("gap");
    }

    /// The message ended: flushes what is pending and returns its summary.
    pub fn finish(&mut self, sink: &mut dyn ContentSink) -> MailTx {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            let mid = self.mid_line;
            self.on_line(&line, false, mid, sink);
        }
        if self.phase == Phase::Headers && !self.header.is_empty() {
            self.end_headers(sink);
        }
        self.end_part(sink);
        let tx = std::mem::take(&mut self.tx);
        self.reset();
        tx
    }

    fn note(&mut self, what: &'static str) {
        if !self.tx.limits_hit.contains(&what) {
            self.tx.limits_hit.push(what);
        }
    }

    /// One line (with its terminator when `complete`); `mid` when it
    /// continues a longer line.
    fn on_line(&mut self, line: &[u8], complete: bool, mid: bool, sink: &mut dyn ContentSink) {
        if !mid && self.boundary(line, sink) {
            return;
        }
        match self.phase {
            Phase::Headers => self.header_line(line, complete, mid, sink),
            Phase::Body => self.body_line(line, complete, sink),
        }
    }

    /// Handles `line` if it is a boundary of an open multipart.
    fn boundary(&mut self, line: &[u8], sink: &mut dyn ContentSink) -> bool {
        let Some(rest) = line.strip_prefix(b"--") else {
            return false;
        };
        let rest = rest.trim_ascii_end();
        let Some(i) = self.bounds.iter().rposition(|b| rest.starts_with(b)) else {
            return false;
        };
        let blen = self.bounds.get(i).map_or(0, Vec::len);
        let after = rest.get(blen..).unwrap_or_default();
        let close = after.starts_with(b"--");
        if !close && !after.is_empty() {
            return false;
        }
        if self.phase == Phase::Headers && !self.header.is_empty() {
            self.end_headers(sink);
        }
        self.end_part(sink);
        self.bounds.truncate(i + 1);
        self.depth = i + 1;
        if close {
            self.bounds.truncate(i);
            self.phase = Phase::Body;
            self.target = Target::Ignore;
        } else if self.parts >= self.cfg.max_parts {
            self.note("mime_parts");
            self.phase = Phase::Body;
            self.target = Target::Ignore;
        } else {
            self.parts += 1;
            self.phase = Phase::Headers;
        }
        true
    }

    fn header_line(&mut self, line: &[u8], complete: bool, mid: bool, sink: &mut dyn ContentSink) {
        let blank = !mid && complete && line.trim_ascii().is_empty();
        if blank {
            self.end_headers(sink);
            return;
        }
        // A first "header" that is not one (no colon, no folding): the
        // entity has no header block, the line is body.
        if self.header.is_empty() && !mid && !looks_like_header(line) {
            self.end_headers(sink);
            self.body_line(line, complete, sink);
            return;
        }
        if self.header.len() + line.len() > self.cfg.max_header_bytes {
            self.header_full = true;
            self.note("mime_header_size");
            return;
        }
        self.header.extend_from_slice(line);
    }

    /// The header block of an entity ended: decode it and set up the body.
    fn end_headers(&mut self, sink: &mut dyn ContentSink) {
        let block = std::mem::take(&mut self.header);
        self.header_full = false;
        let mut ct = Structured::default();
        let mut disp = Structured::default();
        let mut cte = Vec::new();
        let mut scanned = String::new();
        for (name, value) in words::fields(&block) {
            let lname = String::from_utf8_lossy(name).to_ascii_lowercase();
            match lname.as_str() {
                "content-type" => ct = words::structured(&value),
                "content-disposition" => disp = words::structured(&value),
                "content-transfer-encoding" => cte = value.to_ascii_lowercase(),
                _ => {}
            }
            if SCANNED_HEADERS.contains(&lname.as_str()) {
                let decoded = words::decode_words(&value);
                self.summarise(&lname, &decoded);
                scanned.push_str(&String::from_utf8_lossy(name));
                scanned.push_str(": ");
                scanned.push_str(&decoded);
                scanned.push('\n');
            }
        }
        let mut block = block;
        block.clear();
        self.header = block;
        self.top_done = true;
        if !scanned.is_empty() {
            sink.on_content(self.dir, location::MAIL_HEADERS, scanned.as_bytes());
            sink.end_content(self.dir);
        }
        self.phase = Phase::Body;
        self.start_body(&ct, &disp, &cte, sink);
    }

    /// Keeps the top-level subject/from/to for the event.
    fn summarise(&mut self, name: &str, decoded: &str) {
        if self.top_done {
            return;
        }
        let short: String = decoded.chars().take(MAX_SUMMARY).collect();
        match name {
            "subject" => self.tx.subject = Some(short),
            "from" => self.tx.from = Some(short),
            "to" => self.tx.to = Some(short),
            _ => {}
        }
    }

    fn start_body(
        &mut self,
        ct: &Structured,
        disp: &Structured,
        cte: &[u8],
        sink: &mut dyn ContentSink,
    ) {
        self.cte = match cte.trim_ascii() {
            b"base64" => Cte::Base64(Base64::default()),
            b"quoted-printable" => Cte::Qp,
            _ => Cte::Identity,
        };
        let ctype = if ct.value.is_empty() {
            "text/plain"
        } else {
            ct.value.as_str()
        };
        if let Some(b) = ct
            .param("boundary")
            .filter(|_| ctype.starts_with("multipart/"))
        {
            self.target = Target::Ignore;
            self.cte = Cte::Identity;
            if self.bounds.len() >= self.cfg.max_depth {
                self.note("mime_depth");
                return;
            }
            let b = b.as_bytes();
            self.bounds
                .push(b.get(..MAX_BOUNDARY.min(b.len())).unwrap_or(b).to_vec());
            self.depth = self.bounds.len();
            return;
        }
        if ctype == "message/rfc822" && matches!(self.cte, Cte::Identity) {
            if self.depth >= self.cfg.max_depth {
                self.note("mime_depth");
            } else {
                self.depth += 1;
                self.phase = Phase::Headers;
                return;
            }
        }
        let filename = disp.param("filename").or_else(|| ct.param("name"));
        let is_text = ctype.starts_with("text/") || ctype == "message/rfc822";
        if filename.is_some() || disp.value == "attachment" || !is_text {
            if self.tx.files.len() < MAX_FILES {
                self.tx.files.push(FileMeta {
                    name: filename.map(str::to_string),
                    content_type: Some(ctype.to_string()),
                    declared_size: disp.param("size").and_then(|s| s.parse().ok()),
                });
            }
            sink.begin_file(
                self.dir,
                &FileMeta {
                    name: filename.map(str::to_string),
                    content_type: Some(ctype.to_string()),
                    declared_size: None,
                },
            );
            self.target = Target::File;
        } else {
            self.target = Target::Text(TextCs::new(ct.param("charset")));
        }
    }

    fn body_line(&mut self, line: &[u8], complete: bool, sink: &mut dyn ContentSink) {
        if matches!(self.target, Target::Ignore) {
            return;
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        match &mut self.cte {
            Cte::Identity => out.extend_from_slice(line),
            Cte::Base64(b) => b.push(line, &mut out),
            Cte::Qp => {
                let (body, nl) = match line.strip_suffix(b"\n") {
                    Some(b) if complete => (b.strip_suffix(b"\r").unwrap_or(b), true),
                    _ => (line, false),
                };
                words::qp_line(body, nl, &mut out);
            }
        }
        self.emit(&out, sink);
        self.scratch = out;
    }

    /// Decoded bytes of the current part to the sink (bounded by
    /// `max_decoded`).
    fn emit(&mut self, data: &[u8], sink: &mut dyn ContentSink) {
        if data.is_empty() {
            return;
        }
        let room = self.cfg.max_decoded.saturating_sub(self.decoded);
        let take = usize::try_from(room).unwrap_or(usize::MAX).min(data.len());
        let data = data.get(..take).unwrap_or_default();
        if take == 0 {
            self.note("mime_decoded");
            self.target = Target::Ignore;
            return;
        }
        self.decoded += take as u64;
        let dir = self.dir;
        match &mut self.target {
            Target::Ignore => {}
            Target::File => sink.on_content(dir, location::MAIL_ATTACHMENT, data),
            Target::Text(cs) => {
                let text = &mut self.text;
                text.clear();
                convert(cs, data, false, text);
                if !text.is_empty() {
                    sink.on_content(dir, location::MAIL_BODY, text);
                }
            }
        }
    }

    /// The current part ended: flush its decoders and end the item.
    fn end_part(&mut self, sink: &mut dyn ContentSink) {
        if let Cte::Base64(b) = &mut self.cte {
            let mut out = std::mem::take(&mut self.scratch);
            out.clear();
            b.finish(&mut out);
            self.emit(&out, sink);
            self.scratch = out;
        }
        let dir = self.dir;
        match std::mem::replace(&mut self.target, Target::Ignore) {
            Target::Ignore => {}
            Target::File => sink.end_content(dir),
            Target::Text(mut cs) => {
                let text = &mut self.text;
                text.clear();
                convert(&mut cs, b"", true, text);
                if !text.is_empty() {
                    sink.on_content(dir, location::MAIL_BODY, text);
                }
                sink.end_content(dir);
            }
        }
        self.cte = Cte::Identity;
    }
}

/// Whether a line can start a header block (`Name:` or folding).
fn looks_like_header(line: &[u8]) -> bool {
    match memchr::memchr(b':', line) {
        Some(i) => line
            .get(..i)
            .is_some_and(|n| !n.is_empty() && n.iter().all(|b| b.is_ascii_graphic())),
        None => false,
    }
}

/// Converts `data` of a text part to UTF-8 into `out`.
fn convert(cs: &mut TextCs, data: &[u8], last: bool, out: &mut Vec<u8>) {
    match cs {
        TextCs::Utf8 => out.extend_from_slice(data),
        TextCs::Sniff(c) => {
            let mut push = |b: &[u8]| out.extend_from_slice(b);
            if last {
                c.flush(&mut push);
            } else {
                c.push(data, &mut push);
            }
        }
        TextCs::Decoder(d) => {
            let mut src = data;
            let mut buf = [0u8; 1024];
            loop {
                let (res, read, written, _) = d.decode_to_utf8(src, &mut buf, last);
                out.extend_from_slice(buf.get(..written).unwrap_or_default());
                src = src.get(read..).unwrap_or_default();
                if res == encoding_rs::CoderResult::InputEmpty {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::TxMeta;
    use base64::Engine;

    #[derive(Default)]
    struct Rec {
        items: Vec<(&'static str, Vec<u8>)>,
        files: Vec<FileMeta>,
        open: bool,
    }

    impl ContentSink for Rec {
        fn on_content(&mut self, _: Direction, loc: &'static str, data: &[u8]) {
            match self.items.last_mut() {
                Some((l, d)) if *l == loc && self.open => d.extend_from_slice(data),
                _ => self.items.push((loc, data.to_vec())),
            }
            self.open = true;
        }
        fn end_content(&mut self, _: Direction) {
            self.open = false;
        }
        fn end_transaction(&mut self, _: Direction, _: &TxMeta) {}
        fn begin_file(&mut self, _: Direction, f: &FileMeta) {
            self.files.push(f.clone());
            self.open = false;
        }
    }

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn message() -> Vec<u8> {
        let gbk = encoding_rs::GB18030.encode("主题 张三").0.into_owned();
        let body_gbk = encoding_rs::GB18030
            .encode("身份证 11010519491231002X")
            .0
            .into_owned();
        let csv = b"name,mobile\nzhang,13812345678\n";
        format!(
            "From: =?utf-8?B?5byg5LiJ?= <zs@example.cn>\r\n\
             Subject: =?gbk?B?{}?=\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
             \r\n\
             preamble\r\n\
             --outer\r\n\
             Content-Type: multipart/alternative; boundary=inner\r\n\
             \r\n\
             --inner\r\n\
             Content-Type: text/plain; charset=gbk\r\n\
             Content-Transfer-Encoding: base64\r\n\
             \r\n\
             {}\r\n\
             --inner\r\n\
             Content-Type: text/html; charset=utf-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\
             \r\n\
             <p>card 6222=\r\n\
             021234567890128</p>\r\n\
             --inner--\r\n\
             --outer\r\n\
             Content-Type: text/csv\r\n\
             Content-Disposition: attachment; filename*=gbk''%D5%C5%C8%FD.csv\r\n\
             Content-Transfer-Encoding: base64\r\n\
             \r\n\
             {}\r\n\
             --outer--\r\n\
             epilogue\r\n",
            b64(&gbk),
            b64(&body_gbk),
            b64(csv)
        )
        .into_bytes()
    }

    fn decode(msg: &[u8], cuts: &mut dyn FnMut() -> usize) -> (Rec, MailTx) {
        let mut d = MimeDecoder::new(MailConfig::default(), Direction::ToServer);
        let mut r = Rec::default();
        let mut rest = msg;
        while !rest.is_empty() {
            let (a, b) = rest.split_at(cuts().clamp(1, rest.len()));
            d.push(a, &mut r);
            rest = b;
        }
        let tx = d.finish(&mut r);
        (r, tx)
    }

    #[test]
    fn full_tree_decoded() {
        let (r, tx) = decode(&message(), &mut || usize::MAX);
        let texts: Vec<(&str, String)> = r
            .items
            .iter()
            .map(|(l, d)| (*l, String::from_utf8_lossy(d).into_owned()))
            .collect();
        assert_eq!(
            texts,
            vec![
                (
                    location::MAIL_HEADERS,
                    "From: 张三 <zs@example.cn>\nSubject: 主题 张三\n".to_string()
                ),
                (location::MAIL_BODY, "身份证 11010519491231002X".to_string()),
                (
                    location::MAIL_BODY,
                    "<p>card 6222021234567890128</p>\n".to_string()
                ),
                (
                    location::MAIL_ATTACHMENT,
                    "name,mobile\nzhang,13812345678\n".to_string()
                ),
            ]
        );
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.files[0].name.as_deref(), Some("张三.csv"));
        assert_eq!(tx.subject.as_deref(), Some("主题 张三"));
        assert!(tx.limits_hit.is_empty());
    }

    #[test]
    fn any_segmentation_same_output() {
        let msg = message();
        let (whole, _) = decode(&msg, &mut || usize::MAX);
        let mut seed = 7u64;
        for max in [1, 2, 3, 5, 17, 100] {
            let (split, _) = decode(&msg, &mut || {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                1 + (seed >> 33) as usize % max
            });
            assert_eq!(whole.items, split.items, "max {max}");
        }
    }

    #[test]
    fn limits_are_noted() {
        let mut cfg = MailConfig {
            max_depth: 1,
            ..MailConfig::default()
        };
        let mut d = MimeDecoder::new(cfg, Direction::ToServer);
        let mut r = Rec::default();
        d.push(&message(), &mut r);
        let tx = d.finish(&mut r);
        assert_eq!(tx.limits_hit, vec!["mime_depth"]);
        cfg.max_depth = 8;
        cfg.max_decoded = 10;
        let mut d = MimeDecoder::new(cfg, Direction::ToServer);
        d.push(&message(), &mut r);
        assert_eq!(d.finish(&mut r).limits_hit, vec!["mime_decoded"]);
        cfg.max_decoded = 1 << 20;
        cfg.max_parts = 2;
        let mut d = MimeDecoder::new(cfg, Direction::ToServer);
        d.push(&message(), &mut r);
        assert_eq!(d.finish(&mut r).limits_hit, vec!["mime_parts"]);
    }

    #[test]
    fn plain_message_and_long_lines() {
        let mut msg = b"Subject: hi\r\n\r\n".to_vec();
        msg.extend(std::iter::repeat_n(b'a', MAX_LINE * 2));
        msg.extend_from_slice(b" 13812345678\r\n--not-a-boundary\r\n");
        let (r, _) = decode(&msg, &mut || 1000);
        let body = &r.items[1].1;
        assert_eq!(body.len(), MAX_LINE * 2 + 14 + 18);
        // No headers at all: all body.
        let (r, _) = decode(b"just text 13812345678\r\n", &mut || usize::MAX);
        assert_eq!(r.items[0].0, location::MAIL_BODY);
    }
}
