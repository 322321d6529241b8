//! TLS: recognises a TLS session by its first record, reads the
//! ClientHello (SNI, offered versions, ALPN, cipher suites, JA4) and the
//! ServerHello (selected version, cipher) and then ignores the rest: the
//! flow is encrypted, so the parser produces no content and ciphertext is
//! never scanned.
//!
//! Handshake messages are reassembled across records and TCP segments up
//! to [`MAX_HANDSHAKE`] bytes per direction; past that, or on any record
//! that is not a handshake (ChangeCipherSpec, application data, alert),
//! the direction stops being parsed. The hello metadata is reported with
//! [`TxMeta::Tls`] each time a hello is parsed (the worker keeps it for the
//! flow's events).

pub mod ja4;
pub mod parser;

use self::parser::{
    parse_client_hello, parse_server_hello, version_name, ClientHello, HS_CLIENT_HELLO,
    HS_SERVER_HELLO,
};
use super::{AppParser, ContentSink, TxMeta};
use crate::flow::Direction;

/// Largest handshake message reassembled (a ClientHello with post-quantum
/// key shares is ~2 KB; 64 KiB is generous and still bounded).
pub const MAX_HANDSHAKE: usize = 64 * 1024;
/// Largest TLS record (2^14 plus expansion).
const MAX_RECORD: usize = (1 << 14) + 2048;
/// Record content type of handshake records.
const CT_HANDSHAKE: u8 = 22;

/// What the handshake said, for the `tls` object of events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// SNI host name as sent.
    pub sni: Option<String>,
    /// Negotiated version (ServerHello), else the highest the client offered.
    pub version: Option<&'static str>,
    /// Versions the client offered (`supported_versions`, else the legacy
    /// version), known ones only.
    pub client_versions: Vec<&'static str>,
    /// ALPN protocols the client offered (lossy UTF-8).
    pub alpn: Vec<String>,
    /// Number of cipher suites the client offered (GREASE included).
    pub cipher_suites: usize,
    /// The cipher suite the server selected.
    pub cipher: Option<u16>,
    /// JA4 client fingerprint.
    pub ja4: Option<String>,
    /// JA4S server fingerprint (from the ServerHello).
    pub ja4s: Option<String>,
}

impl TlsInfo {
    fn from_client_hello(ch: &ClientHello) -> TlsInfo {
        let offered: Vec<u16> = if ch.versions.is_empty() {
            vec![ch.legacy_version]
        } else {
            ch.versions.clone()
        };
        let highest = offered
            .iter()
            .copied()
            .filter(|v| !parser::is_grease(*v))
            .max();
        TlsInfo {
            sni: ch.sni.clone(),
            version: highest.and_then(version_name),
            client_versions: offered.into_iter().filter_map(version_name).collect(),
            alpn: ch
                .alpn
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect(),
            cipher_suites: ch.ciphers.len(),
            cipher: None,
            ja4: Some(ja4::ja4(ch)),
            ja4s: None,
        }
    }
}

/// Outcome of [`probe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsProbe {
    /// A handshake record starting a ClientHello or ServerHello.
    Tls,
    /// A prefix of one: more bytes needed.
    NeedMore,
    /// Not TLS.
    No,
}

/// Recognises the first bytes of a TLS session: a handshake record header
/// (`0x16 0x03 0x00..=0x04`, length ≤ 2^14 + 2048) whose first message is
/// a ClientHello (from the client) or ServerHello (from the server).
pub fn probe(dir: Direction, data: &[u8]) -> TlsProbe {
    let want_hs = match dir {
        Direction::ToServer => HS_CLIENT_HELLO,
        Direction::ToClient => HS_SERVER_HELLO,
    };
    let checks: [&dyn Fn(u8) -> bool; 6] = [
        &|b| b == CT_HANDSHAKE,
        &|b| b == 3,
        &|b| b <= 4,
        &|b| usize::from(b) << 8 <= MAX_RECORD,
        &|_| true,
        &|b| b == want_hs,
    ];
    for (i, check) in checks.iter().enumerate() {
        match data.get(i) {
            None => return TlsProbe::NeedMore,
            Some(&b) if !check(b) => return TlsProbe::No,
            Some(_) => {}
        }
    }
    TlsProbe::Tls
}

/// Record and handshake reassembly of one direction.
#[derive(Default)]
struct DirParse {
    /// Record header being collected.
    hdr: [u8; 5],
    hdr_len: usize,
    /// Payload bytes left in the current handshake record.
    record_left: usize,
    /// Handshake bytes collected (bounded by [`MAX_HANDSHAKE`]).
    hs: Vec<u8>,
    /// Nothing more to learn from this direction.
    done: bool,
}

/// What one step of [`DirParse::feed`] found.
enum Step {
    /// A complete hello message: (type, body).
    Hello(u8, Vec<u8>),
    /// Nothing yet.
    None,
}

impl DirParse {
    /// Consumes `data`; returns a complete first handshake message if one
    /// finished. Stops the direction on any non-handshake record.
    fn feed(&mut self, mut data: &[u8]) -> Step {
        while !data.is_empty() && !self.done {
            if self.record_left == 0 {
                let n = (5 - self.hdr_len).min(data.len());
                let (a, b) = data.split_at(n);
                if let Some(dst) = self.hdr.get_mut(self.hdr_len..self.hdr_len + n) {
                    dst.copy_from_slice(a);
                }
                self.hdr_len += n;
                data = b;
                if self.hdr_len < 5 {
                    break;
                }
                self.hdr_len = 0;
                let [ct, major, _, hi, lo] = self.hdr;
                let len = usize::from(u16::from_be_bytes([hi, lo]));
                if ct != CT_HANDSHAKE || major != 3 || len == 0 || len > MAX_RECORD {
                    self.stop();
                    break;
                }
                self.record_left = len;
                continue;
            }
            let n = self.record_left.min(data.len());
            let (a, b) = data.split_at(n);
            data = b;
            self.record_left -= n;
            if self.hs.len() + a.len() > MAX_HANDSHAKE {
                self.stop();
                break;
            }
            self.hs.extend_from_slice(a);
            if let Some(step) = self.message() {
                return step;
            }
        }
        Step::None
    }

    /// The first handshake message once complete.
    fn message(&mut self) -> Option<Step> {
        let [ty, a, b, c] = *self.hs.first_chunk::<4>()?;
        let len = u32::from_be_bytes([0, a, b, c]) as usize;
        if len > MAX_HANDSHAKE {
            self.stop();
            return Some(Step::None);
        }
        let body = self.hs.get(4..4 + len)?.to_vec();
        self.stop();
        Some(Step::Hello(ty, body))
    }

    fn stop(&mut self) {
        self.done = true;
        self.hs = Vec::new();
    }
}

/// The TLS decoder of one flow.
#[derive(Default)]
pub struct TlsParser {
    dirs: [DirParse; 2],
    info: TlsInfo,
    /// SNI without trailing dot, lowercased (for `dest_name`).
    server_name: Option<String>,
    /// Hellos that did not parse.
    malformed: u32,
}

impl TlsParser {
    /// What the handshake said so far.
    pub fn info(&self) -> &TlsInfo {
        &self.info
    }

    /// Hello messages that did not parse (malformed or unexpected type).
    pub fn malformed(&self) -> u32 {
        self.malformed
    }

    fn on_hello(&mut self, dir: Direction, ty: u8, body: &[u8], sink: &mut dyn ContentSink) {
        match (dir, ty) {
            (Direction::ToServer, HS_CLIENT_HELLO) => match parse_client_hello(body) {
                Some(ch) => {
                    let cipher = self.info.cipher;
                    let version = self.info.version;
                    let ja4s = self.info.ja4s.take();
                    self.info = TlsInfo::from_client_hello(&ch);
                    self.info.ja4s = ja4s;
                    // A ServerHello parsed first (midstream order) wins.
                    self.info.cipher = cipher.or(self.info.cipher);
                    if cipher.is_some() {
                        self.info.version = version;
                    }
                    self.server_name = ch
                        .sni
                        .as_deref()
                        .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
                        .filter(|s| !s.is_empty());
                }
                None => self.malformed += 1,
            },
            (Direction::ToClient, HS_SERVER_HELLO) => match parse_server_hello(body) {
                Some(sh) => {
                    self.info.version = version_name(sh.version()).or(self.info.version);
                    self.info.cipher = Some(sh.cipher);
                    self.info.ja4s = Some(ja4::ja4s(&sh));
                }
                None => self.malformed += 1,
            },
            _ => {
                self.malformed += 1;
                return;
            }
        }
        sink.end_transaction(dir, &TxMeta::Tls(self.info.clone()));
    }
}

impl AppParser for TlsParser {
    fn name(&self) -> &'static str {
        super::proto_name::TLS
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        let Some(d) = self.dirs.get_mut(dir.index()) else {
            return;
        };
        if d.done {
            return;
        }
        if let Step::Hello(ty, body) = d.feed(data) {
            self.on_hello(dir, ty, &body, sink);
        }
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, _sink: &mut dyn ContentSink) {
        if let Some(d) = self.dirs.get_mut(dir.index()) {
            d.stop();
        }
    }

    fn on_close(&mut self, dir: Direction, _sink: &mut dyn ContentSink) {
        if let Some(d) = self.dirs.get_mut(dir.index()) {
            d.stop();
        }
    }

    fn is_encrypted(&self) -> bool {
        true
    }

    fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }
}

#[cfg(test)]
mod tests;
