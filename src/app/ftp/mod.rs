//! FTP: the control connection (commands, replies, credentials) and the
//! data connections it opens.
//!
//! # Control connection ([`FtpParser`])
//!
//! Detected by content ([`probe_flow`]): a `220` greeting naming FTP, or a
//! `220` greeting answered by an FTP command (`USER`, `AUTH TLS`, ...).
//! Lines are bounded ([`MAX_LINE`]); a longer line is cut and the rest
//! skipped. `USER`/`PASS`/`ACCT` arguments are scanned as
//! [`crate::app::location::FTP_AUTH`] (never written
//! in clear), other arguments (paths, file names) as `ftp.command`, reply
//! texts as `ftp.reply`. Every command and every final reply line ends a
//! transaction ([`crate::app::TxMeta::Ftp`]) carrying an
//! [`FtpTx`]: the verb, the file argument, the reply code, the data port
//! announced by `PORT`/`EPRT` (active) or a `227`/`229` reply (passive),
//! and the size announced by a `150 ... (N bytes)` or `213` reply.
//! `AUTH TLS` answered by `234` makes the rest of the session encrypted.
//!
//! # Data connections ([`FtpDataParser`])
//!
//! The worker links a new TCP connection to the announced endpoint (see
//! `pipeline::ftp_route` for how the reader sends it to the control
//! connection's worker) and gives it an [`FtpDataParser`]: each direction
//! that carries bytes is one file, named by the session's last transfer
//! command (`RETR`, `STOR`, `APPE`, `STOU`); listings (`LIST`, `NLST`,
//! `MLSD`) are scanned but are not files.

use crate::app::{location, proto_name, AppParser, ContentSink, FileMeta, TxMeta};
use crate::flow::Direction;

/// Longest command or reply line kept.
pub const MAX_LINE: usize = 4096;

/// `app_proto` of FTP control connections.
pub const PROTO: &str = proto_name::FTP;
/// `app_proto` of FTP data connections.
pub const DATA_PROTO: &str = proto_name::FTP_DATA;

/// A data connection announced on the control connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataPort {
    /// Port the data connection goes to.
    pub port: u16,
    /// `true` for PASV/EPSV (the server listens), `false` for PORT/EPRT
    /// (the client listens).
    pub passive: bool,
}

/// One FTP command or reply, for the event (`ftp` object) and for linking
/// data connections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FtpTx {
    /// Command verb (upper case); for a reply, the command it answers.
    pub command: Option<String>,
    /// Path or file argument (may hold PI: masked before output).
    pub filename: Option<Vec<u8>>,
    /// Reply code (replies only).
    pub reply_code: Option<u16>,
    /// Data connection announced by this command or reply.
    pub data_port: Option<DataPort>,
    /// Transfer size announced by a `150 ... (N bytes)` or `213` reply.
    pub declared_size: Option<u64>,
}

/// Commands whose argument names a file or directory.
const PATH_COMMANDS: [&str; 17] = [
    "RETR", "STOR", "APPE", "STOU", "DELE", "SIZE", "MDTM", "RNFR", "RNTO", "CWD", "XCWD", "MKD",
    "XMKD", "RMD", "LIST", "NLST", "MLSD",
];

/// Commands whose data connection carries a file.
pub const TRANSFER_COMMANDS: [&str; 4] = ["RETR", "STOR", "APPE", "STOU"];

/// Whether `verb` opens a data connection with a file in it.
pub fn is_transfer(verb: &str) -> bool {
    TRANSFER_COMMANDS.contains(&verb)
}

/// Decides whether a flow is FTP from what each side sent first:
/// `Some(true)` FTP, `Some(false)` undecided yet (a `220` greeting that
/// SMTP could also send, without the client's first command), `None` not
/// FTP.
pub fn probe_flow(to_server: &[u8], to_client: &[u8]) -> Option<bool> {
    let greeting = first_line(to_client)?;
    if !(greeting.starts_with(b"220 ") || greeting.starts_with(b"220-")) {
        return None;
    }
    let names_ftp = greeting.windows(3).any(|w| w.eq_ignore_ascii_case(b"ftp"));
    if names_ftp {
        return Some(true);
    }
    let Some(cmd) = first_line(to_server) else {
        return (to_server.len() < 64).then_some(false);
    };
    let verb = verb_of(cmd);
    let ftp_first = ["USER", "AUTH", "FEAT", "SYST", "OPTS", "CLNT"].contains(&verb.as_str());
    let auth_tls = verb != "AUTH" || {
        let arg = cmd.get(5..).unwrap_or_default();
        arg.eq_ignore_ascii_case(b"TLS") || arg.eq_ignore_ascii_case(b"SSL")
    };
    (ftp_first && auth_tls).then_some(true)
}

/// The first complete line of `data` (without its line end).
fn first_line(data: &[u8]) -> Option<&[u8]> {
    let end = memchr::memchr(b'\n', data)?;
    let line = data.get(..end)?;
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// The command verb of a line, upper case (at most 8 letters).
fn verb_of(line: &[u8]) -> String {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let verb = line.get(..end.min(8)).unwrap_or_default();
    String::from_utf8_lossy(verb).to_ascii_uppercase()
}

/// Port of a `PORT h1,h2,h3,h4,p1,p2` argument or of a `227` reply text
/// (the six numbers, anywhere in it).
pub fn parse_six_numbers(text: &[u8]) -> Option<u16> {
    let start = text.iter().position(u8::is_ascii_digit)?;
    let nums: Vec<u16> = text
        .get(start..)?
        .split(|&b| b == b',')
        .take(6)
        .map(|f| {
            let digits: Vec<u8> = f
                .iter()
                .copied()
                .skip_while(|b| b.is_ascii_whitespace())
                .take_while(u8::is_ascii_digit)
                .collect();
            std::str::from_utf8(&digits).ok()?.parse::<u16>().ok()
        })
        .collect::<Option<Vec<u16>>>()?;
    match nums.as_slice() {
        [a, b, c, d, p1, p2] if [a, b, c, d, p1, p2].iter().all(|&&n| n < 256) => {
            Some(p1 * 256 + p2)
        }
        _ => None,
    }
}

/// Port of an `EPRT |1|ip|port|` argument or of a `229 ... (|||port|)`
/// reply text: the last non-empty field between the delimiters.
pub fn parse_extended(text: &[u8]) -> Option<u16> {
    let open = memchr::memchr(b'|', text)?;
    let fields = text.get(open..)?;
    let port = fields
        .split(|&b| b == b'|')
        .rev()
        .find(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))?;
    std::str::from_utf8(port).ok()?.parse().ok()
}

/// The data port a command or reply line announces.
pub fn data_port_of(dir: Direction, line: &[u8]) -> Option<DataPort> {
    let arg = |n: usize| line.get(n..).unwrap_or_default();
    match dir {
        Direction::ToServer => {
            let verb = verb_of(line);
            let port = match verb.as_str() {
                "PORT" => parse_six_numbers(arg(5)),
                "EPRT" => parse_extended(arg(5)),
                _ => None,
            }?;
            Some(DataPort {
                port,
                passive: false,
            })
        }
        Direction::ToClient => {
            let port = if line.starts_with(b"227 ") {
                parse_six_numbers(arg(4))
            } else if line.starts_with(b"229 ") {
                parse_extended(arg(4))
            } else {
                None
            }?;
            Some(DataPort {
                port,
                passive: true,
            })
        }
    }
}

/// A `150 ... (1234 bytes)` or `213 1234` size.
fn reply_size(code: u16, text: &[u8]) -> Option<u64> {
    let digits = match code {
        213 => text.trim_ascii(),
        150 => {
            let at = memchr::memmem::rfind(text, b" bytes")?;
            let head = text.get(..at)?;
            let start = head
                .iter()
                .rposition(|b| !b.is_ascii_digit())
                .map_or(0, |p| p + 1);
            head.get(start..)?
        }
        _ => return None,
    };
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Line assembly of one direction.
#[derive(Default)]
struct Lines {
    buf: Vec<u8>,
    /// Dropping bytes up to the next line end (after a cut or a gap).
    skipping: bool,
}

impl Lines {
    /// Feeds bytes; calls `line` for each complete (or cut) line.
    fn push(&mut self, mut data: &[u8], line: &mut dyn FnMut(&[u8])) {
        while !data.is_empty() {
            let nl = memchr::memchr(b'\n', data);
            let (piece, rest) = match nl {
                Some(i) => (
                    data.get(..i).unwrap_or_default(),
                    data.get(i + 1..).unwrap_or_default(),
                ),
                None => (data, &[][..]),
            };
            data = rest;
            if self.skipping {
                self.skipping = nl.is_none();
                continue;
            }
            let room = MAX_LINE.saturating_sub(self.buf.len());
            self.buf
                .extend_from_slice(piece.get(..room.min(piece.len())).unwrap_or_default());
            if nl.is_some() || self.buf.len() >= MAX_LINE {
                let full = std::mem::take(&mut self.buf);
                line(full.strip_suffix(b"\r").unwrap_or(&full));
                self.buf = full;
                self.buf.clear();
                self.skipping = nl.is_none();
            }
        }
    }
}

/// The FTP control connection parser.
#[derive(Default)]
pub struct FtpParser {
    lines: [Lines; 2],
    /// Last command and its file argument (for the replies).
    last: FtpTx,
    /// Code of an open multi-line reply.
    multiline: Option<u16>,
    /// Size announced on the first line of an open multi-line reply.
    multi_size: Option<u64>,
    auth_pending: bool,
    encrypted: bool,
}

impl FtpParser {
    fn command(&mut self, line: &[u8], sink: &mut dyn ContentSink) {
        let dir = Direction::ToServer;
        let verb = verb_of(line);
        let arg = line.get(verb.len() + 1..).unwrap_or_default().trim_ascii();
        let loc = match verb.as_str() {
            "USER" | "PASS" | "ACCT" => location::FTP_AUTH,
            _ => location::FTP_COMMAND,
        };
        if !arg.is_empty() {
            sink.on_content(dir, loc, arg);
            sink.end_content(dir);
        }
        self.auth_pending = verb == "AUTH";
        let filename =
            (PATH_COMMANDS.contains(&verb.as_str()) && !arg.is_empty()).then(|| arg.to_vec());
        let tx = FtpTx {
            command: Some(verb),
            filename,
            data_port: data_port_of(dir, line),
            ..FtpTx::default()
        };
        sink.end_transaction(dir, &TxMeta::Ftp(tx.clone()));
        self.last = tx;
    }

    fn reply(&mut self, line: &[u8], sink: &mut dyn ContentSink) {
        let dir = Direction::ToClient;
        let code = line
            .get(..3)
            .filter(|c| c.iter().all(u8::is_ascii_digit))
            .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u16>().ok());
        let text = line.get(4..).unwrap_or_default();
        match (self.multiline, code) {
            (None, Some(c)) if line.get(3) == Some(&b'-') => {
                self.multiline = Some(c);
                self.multi_size = reply_size(c, text);
                sink.on_content(dir, location::FTP_REPLY, text);
                return;
            }
            (Some(open), c) if c != Some(open) || line.get(3) != Some(&b' ') => {
                sink.on_content(dir, location::FTP_REPLY, line);
                return;
            }
            _ => {}
        }
        self.multiline = None;
        let Some(code) = code else {
            return;
        };
        if !text.is_empty() {
            sink.on_content(dir, location::FTP_REPLY, text);
        }
        sink.end_content(dir);
        if code == 234 && self.auth_pending {
            self.encrypted = true;
        }
        let tx = FtpTx {
            command: self.last.command.clone(),
            filename: self.last.filename.clone(),
            reply_code: Some(code),
            data_port: data_port_of(dir, line),
            declared_size: reply_size(code, text).or(self.multi_size.take()),
        };
        sink.end_transaction(dir, &TxMeta::Ftp(tx));
    }
}

impl AppParser for FtpParser {
    fn name(&self) -> &'static str {
        PROTO
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        if self.encrypted {
            return;
        }
        let mut lines = std::mem::take(&mut self.lines[dir.index()]);
        lines.push(data, &mut |line| {
            if self.encrypted {
                return;
            }
            match dir {
                Direction::ToServer => self.command(line, sink),
                Direction::ToClient => self.reply(line, sink),
            }
        });
        self.lines[dir.index()] = lines;
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, sink: &mut dyn ContentSink) {
        let l = &mut self.lines[dir.index()];
        l.buf.clear();
        l.skipping = true;
        sink.end_content(dir);
    }

    fn on_close(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        if !self.lines[dir.index()].buf.is_empty() {
            self.on_data(dir, b"\n", sink);
        }
        sink.end_content(dir);
    }

    fn is_encrypted(&self) -> bool {
        self.encrypted
    }
}

/// An FTP data connection: each direction that carries bytes is one file
/// (the worker names it from the control connection's last transfer).
#[derive(Default)]
pub struct FtpDataParser {
    started: [bool; 2],
}

impl AppParser for FtpDataParser {
    fn name(&self) -> &'static str {
        DATA_PROTO
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        let started = &mut self.started[dir.index()];
        if !*started {
            *started = true;
            sink.begin_file(dir, &FileMeta::default());
        }
        sink.on_content(dir, location::FTP_DATA, data);
    }

    fn on_gap(&mut self, _dir: Direction, _len: u64, _sink: &mut dyn ContentSink) {}

    fn on_close(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        if std::mem::take(&mut self.started[dir.index()]) {
            sink.end_content(dir);
            sink.end_transaction(dir, &TxMeta::Ftp(FtpTx::default()));
        }
    }
}

#[cfg(test)]
mod tests;
