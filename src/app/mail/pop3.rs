//! POP3 decoder (RFC 1939, RFC 2449 CAPA/PIPELINING, RFC 5034 AUTH,
//! RFC 2595 STLS).
//!
//! Commands queue up until their response (pipelining). A `+OK` to
//! `RETR`/`TOP` starts a multi-line response that is dot-unstuffed into
//! the [`MimeDecoder`]; each retrieved message ends a transaction on the
//! server's direction. `LIST`/`UIDL` without argument and `CAPA` responses
//! are multi-line too and are skipped.

use std::collections::VecDeque;

use super::mime::MimeDecoder;
use super::{
    emit_creds, emit_plain, is, location, proto_name, trim_eol, verb, Creds, DotStuff, LineBuf,
    MailConfig, MailTx, Sasl, MAX_CMD_LINE, MAX_PENDING,
};
use crate::app::{AppParser, ContentSink, TxMeta};
use crate::flow::Direction;

/// A command waiting for its response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    /// `RETR`/`TOP`: a message follows `+OK`.
    Message,
    /// Another multi-line response (`LIST`, `UIDL`, `CAPA`).
    Multi,
    Auth,
    Stls,
    Other,
}

/// What the server stream carries next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Line,
    Multi { message: bool },
}

/// The POP3 [`AppParser`] of one flow.
pub struct Pop3Parser {
    cmd: LineBuf,
    resp: LineBuf,
    pending: VecDeque<Cmd>,
    server: Server,
    sasl: Option<Sasl>,
    creds: Creds,
    user: Vec<u8>,
    mime: MimeDecoder,
    dots: DotStuff,
    greeted: bool,
    encrypted: bool,
}

impl Pop3Parser {
    /// A parser with `cfg`.
    pub fn new(cfg: MailConfig) -> Pop3Parser {
        Pop3Parser {
            cmd: LineBuf::default(),
            resp: LineBuf::default(),
            pending: VecDeque::new(),
            server: Server::Line,
            sasl: None,
            creds: Creds::default(),
            user: Vec::new(),
            mime: MimeDecoder::new(cfg, Direction::ToClient),
            dots: DotStuff::default(),
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

    fn client_line(&mut self, line: &[u8], sink: &mut dyn ContentSink) {
        let loc = location::POP3_AUTH;
        if let Some(s) = self.sasl {
            self.sasl = self.creds.sasl(s, line, Direction::ToServer, loc, sink);
            if matches!(s, Sasl::Plain | Sasl::LoginPass) {
                end_login(sink);
            }
            return;
        }
        let (v, arg) = verb(line);
        let cmd = if is(&v, b"USER") {
            self.user.clear();
            self.user
                .extend_from_slice(arg.get(..MAX_CMD_LINE.min(arg.len())).unwrap_or_default());
            Cmd::Other
        } else if is(&v, b"PASS") {
            let user = std::mem::take(&mut self.user);
            emit_creds(b"USER", &user, arg, Direction::ToServer, loc, sink);
            end_login(sink);
            Cmd::Other
        } else if is(&v, b"APOP") {
            let name = arg.split(|&b| b == b' ').next().unwrap_or_default();
            emit_creds(b"APOP", name, b"", Direction::ToServer, loc, sink);
            end_login(sink);
            Cmd::Other
        } else if is(&v, b"AUTH") {
            self.auth(arg, sink);
            Cmd::Auth
        } else if is(&v, b"RETR") || is(&v, b"TOP") {
            Cmd::Message
        } else if (is(&v, b"LIST") || is(&v, b"UIDL")) && arg.is_empty() || is(&v, b"CAPA") {
            Cmd::Multi
        } else if is(&v, b"STLS") {
            Cmd::Stls
        } else {
            Cmd::Other
        };
        self.expect(cmd);
    }

    /// `AUTH mech [initial-response]` (RFC 5034).
    fn auth(&mut self, arg: &[u8], sink: &mut dyn ContentSink) {
        let mut it = arg.split(|&b| b == b' ').filter(|w| !w.is_empty());
        let mech = it.next().unwrap_or_default().to_ascii_uppercase();
        let ir = it.next().filter(|w| *w != b"=");
        let loc = location::POP3_AUTH;
        self.sasl = match (mech.as_slice(), ir) {
            (b"PLAIN", Some(ir)) => {
                emit_plain(&super::b64(ir), Direction::ToServer, loc, sink);
                end_login(sink);
                None
            }
            (b"PLAIN", None) => Some(Sasl::Plain),
            (b"LOGIN", Some(ir)) => {
                self.creds
                    .sasl(Sasl::LoginUser, ir, Direction::ToServer, loc, sink)
            }
            (b"LOGIN", None) => Some(Sasl::LoginUser),
            _ => Some(Sasl::Other),
        };
    }

    fn server_data(&mut self, mut data: &[u8], sink: &mut dyn ContentSink) {
        while !data.is_empty() && !self.encrypted {
            match self.server {
                Server::Multi { message } => {
                    let (mime, dots) = (&mut self.mime, &mut self.dots);
                    let end = dots.push(data, &mut |b| {
                        if message {
                            mime.push(b, sink);
                        }
                    });
                    match end {
                        Some(n) => {
                            data = data.get(n..).unwrap_or_default();
                            self.server = Server::Line;
                            if message {
                                self.end_message(sink);
                            }
                        }
                        None => data = &[],
                    }
                }
                Server::Line => {
                    let (n, complete) = self.resp.fill(data);
                    data = data.get(n..).unwrap_or_default();
                    if complete {
                        let line = std::mem::take(&mut self.resp.buf);
                        self.server_line(&line);
                        self.resp.buf = line;
                        self.resp.buf.clear();
                    }
                }
            }
        }
    }

    fn server_line(&mut self, line: &[u8]) {
        let line = trim_eol(line);
        let ok = line.starts_with(b"+OK");
        if !self.greeted {
            self.greeted = true;
            if ok && self.pending.is_empty() {
                return;
            }
        }
        let cont = line.starts_with(b"+ ") || line == b"+";
        match self.pending.pop_front() {
            Some(Cmd::Auth) if cont => self.pending.push_front(Cmd::Auth),
            Some(Cmd::Auth) => self.sasl = None,
            Some(Cmd::Message) if ok => {
                self.dots = DotStuff::default();
                self.server = Server::Multi { message: true };
            }
            Some(Cmd::Multi) if ok => {
                self.dots = DotStuff::default();
                self.server = Server::Multi { message: false };
            }
            Some(Cmd::Stls) if ok => self.encrypted = true,
            _ => {}
        }
    }

    fn end_message(&mut self, sink: &mut dyn ContentSink) {
        let tx = self.mime.finish(sink);
        sink.end_transaction(Direction::ToClient, &TxMeta::Mail(tx));
    }
}

fn end_login(sink: &mut dyn ContentSink) {
    let tx = MailTx {
        login: true,
        ..MailTx::default()
    };
    sink.end_transaction(Direction::ToServer, &TxMeta::Mail(tx));
}

impl Default for Pop3Parser {
    fn default() -> Pop3Parser {
        Pop3Parser::new(MailConfig::default())
    }
}

impl AppParser for Pop3Parser {
    fn name(&self) -> &'static str {
        proto_name::POP3
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        match dir {
            Direction::ToServer => self.client_data(data, sink),
            Direction::ToClient => self.server_data(data, sink),
        }
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, sink: &mut dyn ContentSink) {
        match (dir, self.server) {
            (Direction::ToServer, _) => self.cmd.gap(),
            (Direction::ToClient, Server::Multi { message }) => {
                if message {
                    self.mime.gap(sink);
                }
                self.dots.lost();
            }
            (Direction::ToClient, Server::Line) => self.resp.gap(),
        }
    }

    fn on_close(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        if dir == Direction::ToClient
            && self.server == (Server::Multi { message: true })
            && !self.encrypted
        {
            self.server = Server::Line;
            self.end_message(sink);
        }
    }

    fn is_encrypted(&self) -> bool {
        self.encrypted
    }
}
