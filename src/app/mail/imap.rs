//! IMAP4 decoder (RFC 3501/9051: LOGIN, AUTHENTICATE, STARTTLS, literals).
//!
//! Both directions are lines that may end with a literal announcement
//! `{n}` (or `{n+}`): the next `n` bytes are read as they come. Server
//! literals of `FETCH` items holding a whole message or a header block
//! (`BODY[]`, `RFC822`, `BODY[HEADER...]`, `RFC822.HEADER`) go through the
//! [`MimeDecoder`] (one transaction each); other literals are scanned as
//! [`location::MAIL_BODY`]. Untagged `FETCH` lines (`ENVELOPE` strings)
//! are scanned with their encoded-words decoded. Client `APPEND` literals
//! are messages too. `LOGIN` arguments (atoms, quoted, literals) and
//! `AUTHENTICATE PLAIN`/`LOGIN` are credentials.

use super::mime::MimeDecoder;
use super::{
    emit_creds, emit_plain, location, proto_name, trim_eol, words, Creds, LineBuf, MailConfig,
    MailTx, Sasl, MAX_CMD_LINE,
};
use crate::app::{AppParser, ContentSink, TxMeta};
use crate::flow::Direction;

/// Arguments kept of a client command (for `LOGIN`).
const MAX_ARGS: usize = 4;

/// What a literal holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lit {
    /// A message or header block: MIME-decoded.
    Message,
    /// Other content: scanned as body text.
    Text,
    /// A `LOGIN` argument.
    Arg,
    /// Not inspected.
    Skip,
}

/// State of one direction's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Line,
    Literal { left: u64, kind: Lit },
}

/// The IMAP [`AppParser`] of one flow.
pub struct ImapParser {
    lines: [LineBuf; 2],
    streams: [Stream; 2],
    mimes: [MimeDecoder; 2],
    /// The client command being read (it may span literals).
    command: Vec<u8>,
    /// `LOGIN` arguments collected so far.
    args: Vec<Vec<u8>>,
    sasl: Option<Sasl>,
    sasl_tag: Vec<u8>,
    creds: Creds,
    starttls_tag: Option<Vec<u8>>,
    encrypted: bool,
}

impl ImapParser {
    /// A parser with `cfg`.
    pub fn new(cfg: MailConfig) -> ImapParser {
        ImapParser {
            lines: [LineBuf::default(), LineBuf::default()],
            streams: [Stream::Line, Stream::Line],
            mimes: [
                MimeDecoder::new(cfg, Direction::ToServer),
                MimeDecoder::new(cfg, Direction::ToClient),
            ],
            command: Vec::new(),
            args: Vec::new(),
            sasl: None,
            sasl_tag: Vec::new(),
            creds: Creds::default(),
            starttls_tag: None,
            encrypted: false,
        }
    }

    fn data(&mut self, dir: Direction, mut data: &[u8], sink: &mut dyn ContentSink) {
        let i = dir.index() & 1;
        while !data.is_empty() && !self.encrypted {
            match self.streams[i] {
                Stream::Literal { left, kind } => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let (chunk, rest) = data.split_at(n);
                    data = rest;
                    self.literal_bytes(dir, kind, chunk, sink);
                    let left = left - n as u64;
                    self.streams[i] = Stream::Literal { left, kind };
                    if left == 0 {
                        self.streams[i] = Stream::Line;
                        self.literal_end(dir, kind, sink);
                    }
                }
                Stream::Line => {
                    let (n, complete) = self.lines[i].fill(data);
                    data = data.get(n..).unwrap_or_default();
                    if complete {
                        let line = std::mem::take(&mut self.lines[i].buf);
                        match dir {
                            Direction::ToServer => self.client_line(&line, sink),
                            Direction::ToClient => self.server_line(&line, sink),
                        }
                        self.lines[i].buf = line;
                        self.lines[i].buf.clear();
                    }
                }
            }
        }
    }

    fn literal_bytes(
        &mut self,
        dir: Direction,
        kind: Lit,
        chunk: &[u8],
        sink: &mut dyn ContentSink,
    ) {
        match kind {
            Lit::Message => self.mimes[dir.index() & 1].push(chunk, sink),
            Lit::Text => sink.on_content(dir, location::MAIL_BODY, chunk),
            Lit::Arg => {
                if let Some(a) = self.args.last_mut() {
                    let room = MAX_CMD_LINE.saturating_sub(a.len()).min(chunk.len());
                    a.extend_from_slice(chunk.get(..room).unwrap_or_default());
                }
            }
            Lit::Skip => {}
        }
    }

    fn literal_end(&mut self, dir: Direction, kind: Lit, sink: &mut dyn ContentSink) {
        match kind {
            Lit::Message => {
                let tx = self.mimes[dir.index() & 1].finish(sink);
                sink.end_transaction(dir, &TxMeta::Mail(tx));
            }
            Lit::Text => sink.end_content(dir),
            Lit::Arg | Lit::Skip => {}
        }
    }

    fn client_line(&mut self, line: &[u8], sink: &mut dyn ContentSink) {
        let loc = location::IMAP_AUTH;
        if let Some(s) = self.sasl {
            self.sasl = self.creds.sasl(s, line, Direction::ToServer, loc, sink);
            if matches!(s, Sasl::Plain | Sasl::LoginPass) {
                end_login(sink);
            }
            return;
        }
        let line = trim_eol(line);
        let (body, lit) = split_literal(line);
        let continued = !self.command.is_empty();
        if !continued {
            self.command
                .extend_from_slice(line.get(..MAX_CMD_LINE.min(line.len())).unwrap_or_default());
            self.args.clear();
        }
        let words = Words(if continued {
            body
        } else {
            body.splitn(3, |&b| b == b' ').nth(2).unwrap_or_default()
        });
        let cmd = command_name(&self.command);
        if cmd.as_slice() == b"LOGIN" {
            for w in words {
                if self.args.len() < MAX_ARGS {
                    self.args.push(w);
                }
            }
        }
        if let Some(n) = lit {
            let kind = match cmd.as_slice() {
                b"LOGIN" if self.args.len() < MAX_ARGS => {
                    self.args.push(Vec::new());
                    Lit::Arg
                }
                b"APPEND" => Lit::Message,
                _ => Lit::Skip,
            };
            self.streams[0] = Stream::Literal { left: n, kind };
            if n == 0 {
                self.streams[0] = Stream::Line;
            }
            return;
        }
        self.command_end(&cmd, sink);
    }

    /// A client command is complete (all its literals read).
    fn command_end(&mut self, cmd: &[u8], sink: &mut dyn ContentSink) {
        let loc = location::IMAP_AUTH;
        let tag = self
            .command
            .split(|&b| b == b' ')
            .next()
            .unwrap_or_default()
            .to_vec();
        match cmd {
            b"LOGIN" => {
                let user = self.args.first().map(Vec::as_slice).unwrap_or_default();
                let pass = self.args.get(1).map(Vec::as_slice).unwrap_or_default();
                emit_creds(b"LOGIN", user, pass, Direction::ToServer, loc, sink);
                end_login(sink);
            }
            b"AUTHENTICATE" => {
                let mut it = self.command.split(|&b| b == b' ').skip(2);
                let mech = it.next().unwrap_or_default().to_ascii_uppercase();
                let ir = it.next().filter(|w| *w != b"=");
                self.sasl_tag = tag;
                self.sasl = match (mech.as_slice(), ir) {
                    (b"PLAIN", Some(ir)) => {
                        emit_plain(&super::b64(ir), Direction::ToServer, loc, sink);
                        end_login(sink);
                        None
                    }
                    (b"PLAIN", None) => Some(Sasl::Plain),
                    (b"LOGIN", None) => Some(Sasl::LoginUser),
                    (b"LOGIN", Some(ir)) => {
                        self.creds
                            .sasl(Sasl::LoginUser, ir, Direction::ToServer, loc, sink)
                    }
                    _ => Some(Sasl::Other),
                };
            }
            b"STARTTLS" => self.starttls_tag = Some(tag),
            _ => {}
        }
        self.command.clear();
        self.args.clear();
    }

    fn server_line(&mut self, line: &[u8], sink: &mut dyn ContentSink) {
        let line = trim_eol(line);
        let (body, lit) = split_literal(line);
        let mut it = body.splitn(3, |&b| b == b' ');
        let (tag, status) = (it.next().unwrap_or_default(), it.next().unwrap_or_default());
        if tag != b"*" && tag != b"+" && !tag.is_empty() {
            let ok = status.eq_ignore_ascii_case(b"OK");
            if self.starttls_tag.as_deref() == Some(tag) {
                self.starttls_tag = None;
                self.encrypted = ok;
            }
            if self.sasl.is_some() && self.sasl_tag == tag {
                self.sasl = None;
            }
        }
        let fetch = memchr::memmem::find(&body.to_ascii_uppercase(), b" FETCH ").is_some();
        if fetch && tag == b"*" {
            let text = words::decode_words(body);
            sink.on_content(Direction::ToClient, location::MAIL_HEADERS, text.as_bytes());
            sink.end_content(Direction::ToClient);
        }
        if let Some(n) = lit {
            let kind = if fetch { fetch_kind(body) } else { Lit::Text };
            self.streams[1] = Stream::Literal { left: n, kind };
            if n == 0 {
                self.streams[1] = Stream::Line;
            }
        }
    }
}

/// `(line before the literal, literal length)` when `line` ends with
/// `{n}` or `{n+}`.
fn split_literal(line: &[u8]) -> (&[u8], Option<u64>) {
    let Some(inner) = line.strip_suffix(b"}") else {
        return (line, None);
    };
    let Some(open) = memchr::memrchr(b'{', inner) else {
        return (line, None);
    };
    let digits = inner.get(open + 1..).unwrap_or_default();
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    let n = std::str::from_utf8(digits)
        .ok()
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<u64>().ok());
    match n {
        Some(n) => (inner.get(..open).unwrap_or_default(), Some(n)),
        None => (line, None),
    }
}

/// What a `FETCH` literal holds, from the item name before it.
fn fetch_kind(before: &[u8]) -> Lit {
    let up = before.trim_ascii_end().to_ascii_uppercase();
    // Drop a partial-fetch origin `<0>`.
    let up = match up.strip_suffix(b">") {
        Some(u) => memchr::memrchr(b'<', u)
            .and_then(|i| u.get(..i))
            .unwrap_or(u),
        None => &up,
    };
    let section = memchr::memrchr(b'[', up).and_then(|i| up.get(i..));
    let whole = up.ends_with(b"BODY[]")
        || up.ends_with(b"RFC822")
        || up.ends_with(b"RFC822.HEADER")
        || section.is_some_and(|s| memchr::memmem::find(s, b"HEADER").is_some());
    if whole {
        Lit::Message
    } else {
        Lit::Text
    }
}

/// The uppercased command name of `tag NAME ...` (`UID FETCH` -> `FETCH`).
fn command_name(command: &[u8]) -> Vec<u8> {
    let mut it = command.split(|&b| b == b' ').skip(1);
    let mut name = it.next().unwrap_or_default().to_ascii_uppercase();
    if name == b"UID" {
        name = it.next().unwrap_or_default().to_ascii_uppercase();
    }
    name.truncate(16);
    name
}

/// IMAP atoms and quoted strings of an argument list.
struct Words<'a>(&'a [u8]);

impl Iterator for Words<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let s = self.0.trim_ascii_start();
        if s.is_empty() {
            return None;
        }
        if let Some(q) = s.strip_prefix(b"\"") {
            let mut out = Vec::new();
            let mut esc = false;
            let mut end = q.len();
            for (i, &b) in q.iter().enumerate() {
                if esc {
                    out.push(b);
                    esc = false;
                } else if b == b'\\' {
                    esc = true;
                } else if b == b'"' {
                    end = i + 1;
                    break;
                } else {
                    out.push(b);
                }
            }
            self.0 = q.get(end..).unwrap_or_default();
            return Some(out);
        }
        let end = memchr::memchr(b' ', s).unwrap_or(s.len());
        self.0 = s.get(end..).unwrap_or_default();
        Some(s.get(..end).unwrap_or_default().to_vec())
    }
}

fn end_login(sink: &mut dyn ContentSink) {
    let tx = MailTx {
        login: true,
        ..MailTx::default()
    };
    sink.end_transaction(Direction::ToServer, &TxMeta::Mail(tx));
}

impl Default for ImapParser {
    fn default() -> ImapParser {
        ImapParser::new(MailConfig::default())
    }
}

impl AppParser for ImapParser {
    fn name(&self) -> &'static str {
        proto_name::IMAP
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        self.data(dir, data, sink);
    }

    fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn ContentSink) {
        let i = dir.index() & 1;
        match self.streams[i] {
            Stream::Literal { left, kind } => {
                if kind == Lit::Message {
                    self.mimes[i].gap(sink);
                }
                let left = left.saturating_sub(len);
                self.streams[i] = Stream::Literal { left, kind };
                if left == 0 {
                    self.streams[i] = Stream::Line;
                    self.literal_end(dir, kind, sink);
                }
            }
            Stream::Line => {
                self.lines[i].gap();
                if dir == Direction::ToServer {
                    self.command.clear();
                }
            }
        }
    }

    fn on_close(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        let i = dir.index() & 1;
        if let Stream::Literal { kind, .. } = self.streams[i] {
            self.streams[i] = Stream::Line;
            if !self.encrypted {
                self.literal_end(dir, kind, sink);
            }
        }
    }

    fn is_encrypted(&self) -> bool {
        self.encrypted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_kinds() {
        assert_eq!(
            split_literal(b"* 1 FETCH (BODY[] {12}"),
            (&b"* 1 FETCH (BODY[] "[..], Some(12))
        );
        assert_eq!(split_literal(b"a LOGIN {5+}").1, Some(5));
        assert_eq!(split_literal(b"a {x}").1, None);
        assert_eq!(split_literal(b"}").1, None);
        assert_eq!(fetch_kind(b"* 1 FETCH (UID 4 BODY[] "), Lit::Message);
        assert_eq!(fetch_kind(b"* 1 FETCH (BODY[]<0> "), Lit::Message);
        assert_eq!(fetch_kind(b"* 1 FETCH (RFC822 "), Lit::Message);
        assert_eq!(
            fetch_kind(b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] "),
            Lit::Message
        );
        assert_eq!(fetch_kind(b"* 1 FETCH (BODY[TEXT] "), Lit::Text);
        assert_eq!(fetch_kind(b"* 1 FETCH (BODY[1.2] "), Lit::Text);
        let w: Vec<Vec<u8>> = Words(br#"user "p a\"ss" x"#).collect();
        assert_eq!(
            w,
            vec![b"user".to_vec(), b"p a\"ss".to_vec(), b"x".to_vec()]
        );
        assert_eq!(command_name(b"a1 uid fetch 1:* (BODY[])"), b"FETCH");
    }
}
