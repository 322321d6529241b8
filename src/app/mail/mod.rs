//! Mail protocols: SMTP/ESMTP, POP3 and IMAP, with one streaming MIME
//! decoder ([`mime`]) for the messages they carry.
//!
//! # What is decoded
//!
//! - **SMTP** ([`SmtpParser`]): commands and replies (pipelined, matched in
//!   order), `MAIL FROM`/`RCPT TO` addresses ([`location::SMTP_ENVELOPE`]),
//!   `DATA` with dot-unstuffing and `BDAT` chunks into the MIME decoder,
//!   `AUTH PLAIN`/`LOGIN` credentials base64-decoded
//!   ([`location::SMTP_AUTH`], as `PLAIN user:password`), `STARTTLS`: after
//!   the server's `220` to it the flow is ciphertext ([`AppParser::is_encrypted`](crate::app::AppParser::is_encrypted)),
//!   nothing more is decoded.
//! - **POP3** ([`Pop3Parser`]): `USER`/`PASS`, `APOP`, `AUTH PLAIN`/`LOGIN`
//!   ([`location::POP3_AUTH`]); `RETR`/`TOP` responses dot-unstuffed into
//!   the MIME decoder; `STLS`.
//! - **IMAP** ([`ImapParser`]): `LOGIN` (atoms, quoted strings, literals),
//!   `AUTHENTICATE PLAIN`/`LOGIN` ([`location::IMAP_AUTH`]); literals
//!   `{n}` in both directions: `FETCH` `BODY[]`/`RFC822`/header literals
//!   and `APPEND` messages into the MIME decoder, other body sections
//!   scanned as [`location::MAIL_BODY`]; `STARTTLS`.
//! - **MIME**: headers ([`location::MAIL_HEADERS`], RFC 2047 words in any
//!   charset `encoding_rs` knows), the multipart tree, base64 and
//!   quoted-printable, text converted to UTF-8 ([`location::MAIL_BODY`]),
//!   attachments announced with [`ContentSink::begin_file`] (RFC 2231
//!   names) and their decoded bytes in [`location::MAIL_ATTACHMENT`].
//!
//! A transaction is one message, or one login: its findings form one event
//! with a [`MailTx`] (`smtp` and `mail` objects).
//!
//! # Limits ([`MailConfig`], `[mail]` in the config)
//!
//! MIME depth, parts per message, decoded bytes per message, header block
//! size; command lines longer than [`MAX_CMD_LINE`] are skipped. Each limit
//! hit is named in [`MailTx::limits_hit`]. Gaps: commands resync at the
//! next line; a message in transfer loses its current part and resumes at
//! the next boundary.

pub mod imap;
pub mod mime;
pub mod out;
pub mod pop3;
pub mod smtp;
pub mod words;

use serde::Deserialize;

pub use self::imap::ImapParser;
pub use self::pop3::Pop3Parser;
pub use self::smtp::SmtpParser;
use crate::app::{ContentSink, FileMeta};
use crate::flow::Direction;

/// Locations of mail content.
pub mod location {
    /// SMTP `AUTH` credentials, decoded (`PLAIN user:password`).
    pub const SMTP_AUTH: &str = "smtp.auth";
    /// SMTP `MAIL FROM` / `RCPT TO` addresses.
    pub const SMTP_ENVELOPE: &str = "smtp.envelope";
    /// POP3 `USER`/`PASS`, `APOP`, `AUTH` credentials.
    pub const POP3_AUTH: &str = "pop3.auth";
    /// IMAP `LOGIN` / `AUTHENTICATE` credentials.
    pub const IMAP_AUTH: &str = "imap.auth";
    /// Decoded message headers (Subject, From, To, ...).
    pub const MAIL_HEADERS: &str = "mail.headers";
    /// Decoded text parts (UTF-8).
    pub const MAIL_BODY: &str = "mail.body";
    /// Decoded attachment bytes.
    pub const MAIL_ATTACHMENT: &str = "mail.attachment";
}

/// `app_proto` names.
pub mod proto_name {
    /// SMTP/ESMTP.
    pub const SMTP: &str = "smtp";
    /// POP3.
    pub const POP3: &str = "pop3";
    /// IMAP4.
    pub const IMAP: &str = "imap";
}

/// Longest command or response line kept; longer ones are skipped.
pub const MAX_CMD_LINE: usize = 4096;

/// Commands waiting for their reply (pipelining).
const MAX_PENDING: usize = 128;

/// Limits of the mail decoders (`[mail]` in the config).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Nesting depth of multiparts and attached messages.
    pub max_depth: usize,
    /// MIME parts per message.
    pub max_parts: usize,
    /// Decoded bytes per message.
    pub max_decoded: u64,
    /// Header block bytes per MIME entity.
    pub max_header_bytes: usize,
}

impl Default for MailConfig {
    fn default() -> MailConfig {
        MailConfig {
            max_depth: 8,
            max_parts: 256,
            max_decoded: 32 << 20,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Metadata of one message or login, for the event. Addresses and the
/// subject may hold PI: they are masked before output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailTx {
    /// SMTP `EHLO`/`HELO` argument.
    pub helo: Option<String>,
    /// SMTP `MAIL FROM` address.
    pub mail_from: Option<String>,
    /// SMTP `RCPT TO` addresses (bounded).
    pub rcpt_to: Vec<String>,
    /// Decoded `Subject`.
    pub subject: Option<String>,
    /// Decoded `From`.
    pub from: Option<String>,
    /// Decoded `To`.
    pub to: Option<String>,
    /// Attachments (bounded).
    pub files: Vec<FileMeta>,
    /// Server name (greeting domain), lowercased.
    pub server_name: Option<String>,
    /// The transaction is a login (credentials seen).
    pub login: bool,
    /// Limits hit while decoding (`mime_depth`, `mime_parts`,
    /// `mime_decoded`, `mime_header_size`, `gap`, `line_length`).
    pub limits_hit: Vec<&'static str>,
}

/// Recognises a mail protocol from the first bytes `dir` sent: `Some` with
/// the verdict when it is (or may become) SMTP, POP3 or IMAP, `None` when
/// it is none of them. SMTP: a `220` greeting naming (E)SMTP, or a client
/// `EHLO`/`HELO`; a bare `220` greeting waits for the client's command
/// (FTP greets the same way). POP3: `+OK` greeting. IMAP: `* OK`/
/// `* PREAUTH` greeting.
pub fn probe(dir: Direction, data: &[u8]) -> Option<MailProbe> {
    let line_end = memchr::memchr(b'\n', data);
    let line = data
        .get(..line_end.unwrap_or(data.len()))
        .unwrap_or_default();
    let complete = line_end.is_some();
    let starts = |p: &[u8]| {
        let n = line.len().min(p.len());
        line.get(..n)
            .is_some_and(|l| l.eq_ignore_ascii_case(p.get(..n).unwrap_or_default()))
    };
    let full = |p: &[u8]| line.len() >= p.len() && starts(p);
    match dir {
        Direction::ToClient => {
            if full(b"220") && line.get(3).is_some_and(|&b| b == b' ' || b == b'-') {
                let smtp = memchr::memmem::find(&line.to_ascii_uppercase(), b"SMTP").is_some();
                return Some(if smtp {
                    MailProbe::Smtp
                } else {
                    MailProbe::NeedMore
                });
            }
            if full(b"+OK") {
                return Some(MailProbe::Pop3);
            }
            if full(b"* OK") || full(b"* PREAUTH") {
                return Some(MailProbe::Imap);
            }
            let maybe = [&b"220 "[..], b"+OK", b"* OK", b"* PREAUTH"]
                .iter()
                .any(|p| !complete && line.len() < p.len() && starts(p));
            maybe.then_some(MailProbe::NeedMore)
        }
        Direction::ToServer => {
            if full(b"EHLO ") || full(b"HELO ") {
                return Some(MailProbe::Smtp);
            }
            let maybe = !complete && line.len() < 5 && (starts(b"EHLO ") || starts(b"HELO "));
            maybe.then_some(MailProbe::NeedMore)
        }
    }
}

/// What [`probe`] recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailProbe {
    /// SMTP/ESMTP.
    Smtp,
    /// POP3.
    Pop3,
    /// IMAP4.
    Imap,
    /// Could still be one: call again with more bytes.
    NeedMore,
}

/// Assembles lines of commands/responses in a bounded, reused buffer.
#[derive(Default)]
struct LineBuf {
    buf: Vec<u8>,
    /// Skipping to the next line end (after a gap or an overlong line).
    skipping: bool,
    /// Lines skipped as too long.
    overlong: bool,
}

impl LineBuf {
    /// Takes bytes of `data` up to and including a line end; returns the
    /// number taken and whether a complete line is now in `buf`.
    fn fill(&mut self, data: &[u8]) -> (usize, bool) {
        let nl = memchr::memchr(b'\n', data);
        let take = nl.map_or(data.len(), |i| i + 1);
        let chunk = data.get(..take).unwrap_or_default();
        if self.skipping {
            if nl.is_some() {
                self.skipping = false;
            }
            return (take, false);
        }
        if self.buf.len() + chunk.len() > MAX_CMD_LINE {
            self.buf.clear();
            self.overlong = true;
            self.skipping = nl.is_none();
            return (take, false);
        }
        self.buf.extend_from_slice(chunk);
        (take, nl.is_some())
    }

    /// Lost bytes: drop the partial line and resync at the next one.
    fn gap(&mut self) {
        self.buf.clear();
        self.skipping = true;
    }
}

/// The line without its `\r\n` / `\n`.
fn trim_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Splits `VERB rest` (verb uppercased into `verb`, bounded).
fn verb(line: &[u8]) -> ([u8; 12], &[u8]) {
    let line = trim_eol(line);
    let sp = memchr::memchr(b' ', line).unwrap_or(line.len());
    let mut v = [0u8; 12];
    for (d, s) in v.iter_mut().zip(line.get(..sp).unwrap_or_default()) {
        *d = s.to_ascii_uppercase();
    }
    if sp > v.len() {
        v = [0u8; 12];
    }
    (v, line.get(sp + 1..).unwrap_or_default().trim_ascii())
}

/// Whether `v` (from [`verb`]) is `name`.
fn is(v: &[u8; 12], name: &[u8]) -> bool {
    v.get(..name.len()) == Some(name) && v.get(name.len()).is_none_or(|&b| b == 0)
}

/// Decodes a base64 SASL line.
fn b64(line: &[u8]) -> Vec<u8> {
    let mut d = words::Base64::default();
    let mut out = Vec::new();
    d.push(trim_eol(line), &mut out);
    d.finish(&mut out);
    out
}

/// SASL state of a client authenticating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sasl {
    /// `PLAIN`: the next line is `authzid\0user\0pass` in base64.
    Plain,
    /// `LOGIN`: the next line is the user name.
    LoginUser,
    /// `LOGIN`: the next line is the password.
    LoginPass,
    /// Another mechanism: lines until the final reply are not decoded.
    Other,
}

/// Credentials being assembled, emitted once complete as
/// `MECH user:password` (never logged).
#[derive(Default)]
struct Creds {
    user: Vec<u8>,
}

impl Creds {
    /// One SASL client line in state `s`; returns the next state.
    fn sasl(
        &mut self,
        s: Sasl,
        line: &[u8],
        dir: Direction,
        loc: &'static str,
        sink: &mut dyn ContentSink,
    ) -> Option<Sasl> {
        if trim_eol(line) == b"*" {
            return None;
        }
        match s {
            Sasl::Plain => {
                emit_plain(&b64(line), dir, loc, sink);
                None
            }
            Sasl::LoginUser => {
                self.user = b64(line);
                self.user.truncate(MAX_CMD_LINE);
                Some(Sasl::LoginPass)
            }
            Sasl::LoginPass => {
                let user = std::mem::take(&mut self.user);
                emit_creds(b"LOGIN", &user, &b64(line), dir, loc, sink);
                None
            }
            Sasl::Other => Some(Sasl::Other),
        }
    }
}

/// `authzid\0user\0pass` to `PLAIN user:pass`.
fn emit_plain(decoded: &[u8], dir: Direction, loc: &'static str, sink: &mut dyn ContentSink) {
    let mut it = decoded.split(|&b| b == 0);
    let (a, b, c) = (it.next(), it.next(), it.next());
    let (user, pass) = match (a, b, c) {
        (Some(_), Some(u), Some(p)) => (u, p),
        (Some(u), Some(p), None) => (u, p),
        _ => (decoded, &b""[..]),
    };
    emit_creds(b"PLAIN", user, pass, dir, loc, sink);
}

/// One credential item: `MECH user:password`.
fn emit_creds(
    mech: &[u8],
    user: &[u8],
    pass: &[u8],
    dir: Direction,
    loc: &'static str,
    sink: &mut dyn ContentSink,
) {
    sink.on_content(dir, loc, mech);
    sink.on_content(dir, loc, b" ");
    sink.on_content(dir, loc, user);
    sink.on_content(dir, loc, b":");
    sink.on_content(dir, loc, pass);
    sink.end_content(dir);
}

/// Streaming SMTP/POP3 dot-unstuffing of a multi-line body: a line `.`
/// ends it, a leading `..` loses one dot. Bytes are passed on without
/// copying.
#[derive(Default)]
struct DotStuff {
    /// At the start of a line.
    mid: bool,
    /// 0: nothing held; 1: a leading dot; 2: a leading dot and a CR.
    held: u8,
}

impl DotStuff {
    /// Bytes were lost: the position is inside a line (the end line is
    /// looked for from the next line on).
    fn lost(&mut self) {
        self.mid = true;
        self.held = 0;
    }

    /// Passes the body bytes of `data` to `out`; returns how many bytes
    /// of `data` were used when the end line was found.
    fn push(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8])) -> Option<usize> {
        let mut i = 0;
        while i < data.len() {
            let Some(&b) = data.get(i) else { break };
            if !self.mid {
                match (self.held, b) {
                    (0, b'.') => {
                        self.held = 1;
                        i += 1;
                        continue;
                    }
                    (1, b'\r') => {
                        self.held = 2;
                        i += 1;
                        continue;
                    }
                    (1 | 2, b'\n') => {
                        *self = DotStuff::default();
                        return Some(i + 1);
                    }
                    (2, _) => out(b"\r"),
                    _ => {}
                }
                self.held = 0;
                self.mid = true;
            }
            let rest = data.get(i..).unwrap_or_default();
            match memchr::memchr(b'\n', rest) {
                Some(nl) => {
                    out(rest.get(..=nl).unwrap_or_default());
                    self.mid = false;
                    i += nl + 1;
                }
                None => {
                    out(rest);
                    i = data.len();
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes() {
        use Direction::{ToClient, ToServer};
        assert_eq!(
            probe(ToClient, b"220 mx.example.cn ESMTP Postfix\r\n"),
            Some(MailProbe::Smtp)
        );
        assert_eq!(
            probe(ToClient, b"220 ftp ready\r\n"),
            Some(MailProbe::NeedMore)
        );
        assert_eq!(probe(ToClient, b"22"), Some(MailProbe::NeedMore));
        assert_eq!(probe(ToClient, b"+OK ready\r\n"), Some(MailProbe::Pop3));
        assert_eq!(
            probe(ToClient, b"* OK IMAP4rev1\r\n"),
            Some(MailProbe::Imap)
        );
        assert_eq!(probe(ToClient, b"HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(probe(ToServer, b"EHLO client\r\n"), Some(MailProbe::Smtp));
        assert_eq!(probe(ToServer, b"helo x"), Some(MailProbe::Smtp));
        assert_eq!(probe(ToServer, b"EH"), Some(MailProbe::NeedMore));
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(probe(ToServer, b"USER x\r\n"), None);
    }

    #[test]
    fn dot_unstuffing_any_split() {
        let wire = b"a\r\n..b\r\n.\r\nc\r\n.x\r\n.\r\nNEXT";
        for cut in 0..wire.len() {
            let mut d = DotStuff::default();
            let mut out = Vec::new();
            let mut ends = Vec::new();
            let mut base = 0;
            for part in [&wire[..cut], &wire[cut..]] {
                let mut p = part;
                while let Some(n) = d.push(p, &mut |b| out.extend_from_slice(b)) {
                    ends.push(base + n);
                    base += n;
                    p = &p[n..];
                    out.extend_from_slice(b"|");
                }
                base += p.len();
            }
            assert_eq!(out, b"a\r\n.b\r\n|c\r\nx\r\n|NEXT", "cut {cut}");
            assert_eq!(ends, vec![11, 21], "cut {cut}");
        }
    }

    #[test]
    fn verbs() {
        let (v, rest) = verb(b"mail FROM:<a@b>\r\n");
        assert!(is(&v, b"MAIL"));
        assert!(!is(&v, b"MAI"));
        assert_eq!(rest, b"FROM:<a@b>");
        let (v, _) = verb(b"AVERYLONGVERBINDEED x");
        assert!(!is(&v, b"AVERYLONGVER"));
    }
}
