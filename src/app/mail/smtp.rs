//! SMTP/ESMTP decoder (RFC 5321, PIPELINING, CHUNKING, AUTH, STARTTLS).
//!
//! Client commands are matched with server replies in order (a bounded
//! queue, so pipelined groups work). `DATA` switches the client stream to
//! message mode right away (the content follows the `354` reply, which
//! comes first in stream order); a reply other than `354` switches it back.
//! `BDAT n [LAST]` reads `n` bytes. Messages go through the
//! [`MimeDecoder`]; each ends a transaction on the client's direction.

use std::collections::VecDeque;

use super::mime::MimeDecoder;
use super::{
    emit_plain, is, location, proto_name, trim_eol, verb, Creds, DotStuff, LineBuf, MailConfig,
    MailTx, Sasl, MAX_PENDING,
};
use crate::app::{AppParser, ContentSink, TxMeta};
use crate::flow::Direction;

/// Recipients kept per message.
const MAX_RCPT: usize = 100;

/// Longest name or address kept for the event.
const MAX_NAME: usize = 255;

/// A command waiting for its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Data,
    Auth,
    StartTls,
    Other,
}

/// What the client stream carries next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Command,
    Data,
    Bdat { left: u64, last: bool },
    Auth(Sasl),
}

/// The SMTP [`AppParser`] of one flow.
pub struct SmtpParser {
    cmd: LineBuf,
    reply: LineBuf,
    client: Client,
    pending: VecDeque<Cmd>,
    creds: Creds,
    mime: MimeDecoder,
    dots: DotStuff,
    /// Envelope of the message being sent.
    envelope: MailTx,
    /// The message has content (so closing the flow ends it).
    in_message: bool,
    helo: Option<String>,
    server_name: Option<String>,
    greeted: bool,
    encrypted: bool,
}

impl SmtpParser {
    /// A parser with `cfg`.
    pub fn new(cfg: MailConfig) -> SmtpParser {
        SmtpParser {
            cmd: LineBuf::default(),
            reply: LineBuf::default(),
            client: Client::Command,
            pending: VecDeque::new(),
            creds: Creds::default(),
            mime: MimeDecoder::new(cfg, Direction::ToServer),
            dots: DotStuff::default(),
            envelope: MailTx::default(),
            in_message: false,
            helo: None,
            server_name: None,
            greeted: false,
            encrypted: false,
        }
    }

    fn expect(&mut self, c: Cmd) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(c);
    }

    fn client_data(&mut self, mut data: &[u8], sink: &mut dyn ContentSink) {
        while !data.is_empty() && !self.encrypted {
            match self.client {
                Client::Data => {
                    let (mime, dots) = (&mut self.mime, &mut self.dots);
                    self.in_message = true;
                    match dots.push(data, &mut |b| mime.push(b, sink)) {
                        Some(n) => {
                            data = data.get(n..).unwrap_or_default();
                            self.client = Client::Command;
                            // The server replies to the end of the data.
                            self.expect(Cmd::Other);
                            self.end_message(sink);
                        }
                        None => data = &[],
                    }
                }
                Client::Bdat { left, last } => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let (chunk, rest) = data.split_at(n);
                    self.in_message = true;
                    self.mime.push(chunk, sink);
                    data = rest;
                    self.bdat_advance(left - n as u64, last, sink);
                }
                Client::Command | Client::Auth(_) => {
                    let (n, complete) = self.cmd.fill(data);
                    data = data.get(n..).unwrap_or_default();
                    if complete {
                        let line = std::mem::take(&mut self.cmd.buf);
                        self.client_line(&line, sink);
                        self.cmd.buf = line;
                        self.cmd.buf.clear();
                    }
                }
            }
        }
    }

    fn bdat_advance(&mut self, left: u64, last: bool, sink: &mut dyn ContentSink) {
        if left > 0 {
            self.client = Client::Bdat { left, last };
            return;
        }
        self.client = Client::Command;
        if last {
            self.end_message(sink);
        }
    }

    fn client_line(&mut self, line: &[u8], sink: &mut dyn ContentSink) {
        if let Client::Auth(s) = self.client {
            let next = self
                .creds
                .sasl(s, line, Direction::ToServer, location::SMTP_AUTH, sink);
            self.client = next.map_or(Client::Command, Client::Auth);
            if matches!(s, Sasl::Plain | Sasl::LoginPass) {
                self.end_login(sink);
            }
            return;
        }
        let (v, arg) = verb(line);
        if is(&v, b"EHLO") || is(&v, b"HELO") {
            self.helo = Some(short(arg.split(|&b| b == b' ').next().unwrap_or(arg)));
        } else if is(&v, b"MAIL") {
            self.envelope = MailTx::default();
            let a = address(arg);
            envelope_item(a, sink);
            self.envelope.mail_from = Some(short(a));
        } else if is(&v, b"RCPT") {
            let a = address(arg);
            envelope_item(a, sink);
            if self.envelope.rcpt_to.len() < MAX_RCPT {
                self.envelope.rcpt_to.push(short(a));
            }
        } else if is(&v, b"DATA") {
            self.client = Client::Data;
            self.dots = DotStuff::default();
            return self.expect(Cmd::Data);
        } else if is(&v, b"BDAT") {
            let mut it = arg.split(|&b| b == b' ').filter(|w| !w.is_empty());
            let n = it
                .next()
                .and_then(|w| std::str::from_utf8(w).ok())
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            let last = it.next().is_some_and(|w| w.eq_ignore_ascii_case(b"LAST"));
            self.expect(Cmd::Other);
            return self.bdat_advance(n, last, sink);
        } else if is(&v, b"AUTH") {
            self.expect(Cmd::Auth);
            return self.auth(arg, sink);
        } else if is(&v, b"STARTTLS") {
            return self.expect(Cmd::StartTls);
        } else if is(&v, b"RSET") {
            self.envelope = MailTx::default();
        }
        self.expect(Cmd::Other);
    }

    /// `AUTH mech [initial-response]`.
    fn auth(&mut self, arg: &[u8], sink: &mut dyn ContentSink) {
        let mut it = arg.split(|&b| b == b' ').filter(|w| !w.is_empty());
        let mech = it.next().unwrap_or_default().to_ascii_uppercase();
        let ir = it.next().filter(|w| *w != b"=");
        self.client = match (mech.as_slice(), ir) {
            (b"PLAIN", Some(ir)) => {
                emit_plain(
                    &super::b64(ir),
                    Direction::ToServer,
                    location::SMTP_AUTH,
                    sink,
                );
                self.end_login(sink);
                Client::Command
            }
            (b"PLAIN", None) => Client::Auth(Sasl::Plain),
            (b"LOGIN", Some(ir)) => {
                let next = self.creds.sasl(
                    Sasl::LoginUser,
                    ir,
                    Direction::ToServer,
                    location::SMTP_AUTH,
                    sink,
                );
                next.map_or(Client::Command, Client::Auth)
            }
            (b"LOGIN", None) => Client::Auth(Sasl::LoginUser),
            _ => Client::Auth(Sasl::Other),
        };
    }

    fn end_login(&mut self, sink: &mut dyn ContentSink) {
        let tx = MailTx {
            helo: self.helo.clone(),
            server_name: self.server_name.clone(),
            login: true,
            ..MailTx::default()
        };
        sink.end_transaction(Direction::ToServer, &TxMeta::Mail(tx));
    }

    fn end_message(&mut self, sink: &mut dyn ContentSink) {
        self.in_message = false;
        let mut tx = self.mime.finish(sink);
        let env = std::mem::take(&mut self.envelope);
        tx.helo = self.helo.clone();
        tx.mail_from = env.mail_from;
        tx.rcpt_to = env.rcpt_to;
        tx.server_name = self.server_name.clone();
        if self.cmd.overlong {
            tx.limits_hit.push("line_length");
            self.cmd.overlong = false;
        }
        sink.end_transaction(Direction::ToServer, &TxMeta::Mail(tx));
    }

    fn server_data(&mut self, mut data: &[u8]) {
        while !data.is_empty() && !self.encrypted {
            let (n, complete) = self.reply.fill(data);
            data = data.get(n..).unwrap_or_default();
            if complete {
                let line = std::mem::take(&mut self.reply.buf);
                self.server_line(&line);
                self.reply.buf = line;
                self.reply.buf.clear();
            }
        }
    }

    fn server_line(&mut self, line: &[u8]) {
        let line = trim_eol(line);
        let code = line
            .get(..3)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else { return };
        if line.get(3) == Some(&b'-') {
            return;
        }
        if !self.greeted {
            self.greeted = true;
            if code == 220 {
                let text = line.get(4..).unwrap_or_default();
                let name = text.split(|&b| b == b' ').next().unwrap_or_default();
                if name.contains(&b'.') {
                    self.server_name = Some(short(name).to_ascii_lowercase());
                }
                return;
            }
        }
        match self.pending.pop_front() {
            Some(Cmd::Data) if code != 354 && self.client == Client::Data && !self.in_message => {
                self.client = Client::Command;
            }
            Some(Cmd::Auth) if code == 334 => self.pending.push_front(Cmd::Auth),
            Some(Cmd::Auth) => {
                if matches!(self.client, Client::Auth(_)) {
                    self.client = Client::Command;
                }
            }
            Some(Cmd::StartTls) if code == 220 => self.encrypted = true,
            _ => {}
        }
    }
}

/// The address of `FROM:<a@b> SIZE=1` / `TO:<a@b>`.
fn address(arg: &[u8]) -> &[u8] {
    let after = match memchr::memchr(b':', arg) {
        Some(i) => arg.get(i + 1..).unwrap_or_default(),
        None => arg,
    };
    let after = after.trim_ascii();
    if let Some(rest) = after.strip_prefix(b"<") {
        let end = memchr::memchr(b'>', rest).unwrap_or(rest.len());
        return rest.get(..end).unwrap_or_default();
    }
    after.split(|&b| b == b' ').next().unwrap_or_default()
}

fn envelope_item(addr: &[u8], sink: &mut dyn ContentSink) {
    if addr.is_empty() {
        return;
    }
    sink.on_content(Direction::ToServer, location::SMTP_ENVELOPE, addr);
    sink.on_content(Direction::ToServer, location::SMTP_ENVELOPE, b"\n");
    sink.end_content(Direction::ToServer);
}

/// A bounded, lossy string for the event.
fn short(b: &[u8]) -> String {
    String::from_utf8_lossy(b.get(..MAX_NAME.min(b.len())).unwrap_or_default()).into_owned()
}

impl Default for SmtpParser {
    fn default() -> SmtpParser {
        SmtpParser::new(MailConfig::default())
    }
}

impl AppParser for SmtpParser {
    fn name(&self) -> &'static str {
        proto_name::SMTP
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        match dir {
            Direction::ToServer => self.client_data(data, sink),
            Direction::ToClient => self.server_data(data),
        }
    }

    fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn ContentSink) {
        match (dir, self.client) {
            (Direction::ToClient, _) => self.reply.gap(),
            (Direction::ToServer, Client::Data) => {
                self.mime.gap(sink);
                self.dots.lost();
            }
            (Direction::ToServer, Client::Bdat { left, last }) => {
                self.mime.gap(sink);
                self.bdat_advance(left.saturating_sub(len), last, sink);
            }
            (Direction::ToServer, _) => self.cmd.gap(),
        }
    }

    fn on_close(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        if dir == Direction::ToServer && self.in_message && !self.encrypted {
            self.end_message(sink);
        }
    }

    fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(address(b"FROM:<a@b.cn> SIZE=10"), b"a@b.cn");
        assert_eq!(address(b"TO: <x@y>"), b"x@y");
        assert_eq!(address(b"FROM:a@b"), b"a@b");
        assert_eq!(address(b"FROM:<>"), b"");
        assert_eq!(address(b""), b"");
    }
}
