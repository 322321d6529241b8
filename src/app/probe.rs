//! Protocol detection by content (not by port).

use super::dns::{self, DnsParser, DnsProbe};
use super::http::parser::{
    is_known_method, parse_line, parse_request_line, parse_status_line, LineResult,
};
use super::http::HttpParser;
use super::mail::{ImapParser, MailProbe, Pop3Parser, SmtpParser};
use super::tls::{self, TlsParser, TlsProbe};
use super::AppParser;
use crate::flow::Direction;

/// Longest first line looked at.
const MAX_PROBE_LINE: usize = 8 * 1024;

/// Outcome of looking at a flow's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// HTTP/1.x.
    Http,
    /// TLS (recognised before anything else: its bytes are never text).
    Tls,
    /// DNS over TCP (length-prefixed messages).
    Dns,
    /// SMTP/ESMTP.
    Smtp,
    /// POP3.
    Pop3,
    /// IMAP4.
    Imap,
    /// Consistent with a known protocol so far: call again with more bytes.
    NeedMore,
    /// No known protocol.
    Unknown,
}

/// Recognises the protocol from the first bytes `dir` sent: HTTP/1.x by a
/// request line (`METHOD SP target SP HTTP/1.x`, common and WebDAV
/// methods) or a status line (`HTTP/1.x NNN`). TLS is tried first (a
/// handshake record), DNS over TCP last (a length-prefixed message).
pub fn probe(dir: Direction, first_bytes: &[u8]) -> Probe {
    match tls::probe(dir, first_bytes) {
        TlsProbe::Tls => return Probe::Tls,
        TlsProbe::NeedMore if !first_bytes.is_empty() => return Probe::NeedMore,
        _ => {}
    }
    if let Some(m) = probe_mail(dir, first_bytes) {
        return m;
    }
    match probe_http(dir, first_bytes) {
        Probe::Unknown => {}
        other => return other,
    }
    match dns::probe_tcp(first_bytes) {
        DnsProbe::Dns => Probe::Dns,
        DnsProbe::NeedMore => Probe::NeedMore,
        DnsProbe::No => Probe::Unknown,
    }
}

/// HTTP/1.x by its start line.
fn probe_http(dir: Direction, first_bytes: &[u8]) -> Probe {
    let start = first_bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(first_bytes.len());
    let data = first_bytes.get(start..).unwrap_or_default();
    if data.is_empty() {
        return Probe::NeedMore;
    }
    if let Some(m) = super::mail::probe(dir, data) {
        return match m {
            MailProbe::Smtp => Probe::Smtp,
            MailProbe::Pop3 => Probe::Pop3,
            MailProbe::Imap => Probe::Imap,
            MailProbe::NeedMore => Probe::NeedMore,
        };
    }
    match parse_line(data, MAX_PROBE_LINE) {
        LineResult::Complete { line, .. } => {
            let ok = match dir {
                Direction::ToServer => parse_request_line(line, true).is_some(),
                Direction::ToClient => parse_status_line(line).is_some(),
            };
            if ok {
                Probe::Http
            } else {
                Probe::Unknown
            }
        }
        LineResult::TooLong => Probe::Unknown,
        LineResult::Incomplete { .. } if plausible_prefix(dir, data) => Probe::NeedMore,
        LineResult::Incomplete { .. } => Probe::Unknown,
    }
}

/// SMTP, POP3 or IMAP by their greeting or first command (leading blank
/// lines skipped as HTTP does).
fn probe_mail(dir: Direction, first_bytes: &[u8]) -> Option<Probe> {
    let start = first_bytes.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let data = first_bytes.get(start..)?;
    Some(match super::mail::probe(dir, data)? {
        MailProbe::Smtp => Probe::Smtp,
        MailProbe::Pop3 => Probe::Pop3,
        MailProbe::Imap => Probe::Imap,
        MailProbe::NeedMore => Probe::NeedMore,
    })
}

/// Whether an incomplete first line can still become a start line.
fn plausible_prefix(dir: Direction, data: &[u8]) -> bool {
    match dir {
        Direction::ToServer => match memchr::memchr(b' ', data) {
            Some(i) => data.get(..i).is_some_and(is_known_method),
            None => super::http::parser::KNOWN_METHODS
                .iter()
                .any(|m| m.starts_with(data)),
        },
        Direction::ToClient => {
            let n = data.len().min(5);
            data.get(..n) == b"HTTP/".get(..n)
        }
    }
}

/// A parser for the flow if its first bytes identify the protocol.
/// `None` both for unknown protocols and for too few bytes (see [`probe`]
/// to tell them apart).
pub fn detect_protocol(dir: Direction, first_bytes: &[u8]) -> Option<Box<dyn AppParser>> {
    match probe(dir, first_bytes) {
        Probe::Http => Some(Box::new(HttpParser::default())),
        Probe::Tls => Some(Box::new(TlsParser::default())),
        Probe::Dns => Some(Box::new(DnsParser::tcp())),
        Probe::Smtp => Some(Box::new(SmtpParser::default())),
        Probe::Pop3 => Some(Box::new(Pop3Parser::default())),
        Probe::Imap => Some(Box::new(ImapParser::default())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ToClient, ToServer};

    #[test]
    fn detects_http_by_content() {
        assert_eq!(
            probe(ToServer, b"GET /x HTTP/1.1\r\nHost: a\r\n"),
            Probe::Http
        );
        assert_eq!(probe(ToServer, b"PROPFIND /d HTTP/1.1\n"), Probe::Http);
        assert_eq!(probe(ToClient, b"HTTP/1.0 200 OK\r\n"), Probe::Http);
        assert_eq!(probe(ToServer, b"GE"), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"GET /very/long"), Probe::NeedMore);
        assert_eq!(probe(ToClient, b"HTT"), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"\x16\x03\x01\x02\x00"), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"\x16\x03\x01\x02\x00\x01"), Probe::Tls);
        assert!(detect_protocol(ToClient, b"\x16\x03\x03\x00\x5a\x02")
            .is_some_and(|p| p.name() == "tls"));
        assert_eq!(probe(ToServer, b"EHLO mail\r\n"), Probe::Smtp);
        assert_eq!(probe(ToClient, b"220 smtp ready\r\n"), Probe::Smtp);
        assert!(
            detect_protocol(ToServer, b"POST / HTTP/1.1\r\n").is_some_and(|p| p.name() == "http")
        );
        assert!(detect_protocol(ToServer, b"SSH-2.0-x\r\n").is_none());
    }
}
