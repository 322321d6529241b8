//! RFC 5424 syslog: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - JSON`, over
//! UDP (one datagram per event) or TCP with octet counting (RFC 6587).
//! PRI's severity follows the event's: critical -> crit, high -> err,
//! medium -> warning, low -> notice, other events -> info.

use std::io::{self, Write};
use std::net::UdpSocket;
use std::time::Duration;

use serde::Deserialize;

use super::conn::{Conn, Endpoint};
use super::remote::Transport;

/// The fields of an event the header needs.
#[derive(Deserialize, Default)]
struct Head<'a> {
    #[serde(borrow, default)]
    timestamp: Option<&'a str>,
    #[serde(borrow, default)]
    event_type: Option<&'a str>,
    #[serde(borrow, default)]
    severity: Option<&'a str>,
}

/// Builds RFC 5424 messages.
#[derive(Clone, Debug)]
pub struct Formatter {
    facility: u8,
    host: String,
    app: String,
    pid: u32,
}

impl Formatter {
    /// A formatter for `facility` (0..=23) and `app`.
    pub fn new(facility: u8, app: &str) -> Formatter {
        Formatter {
            facility: facility.min(23),
            host: header_field(&super::hostname(), 255),
            app: header_field(app, 48),
            pid: std::process::id(),
        }
    }

    /// Appends the message for one event to `out`.
    pub fn format(&self, ev: &[u8], out: &mut Vec<u8>) {
        let h: Head<'_> = serde_json::from_slice(ev).unwrap_or_default();
        let sev = match h.severity {
            Some("critical") => 2,
            Some("high") => 3,
            Some("medium") => 4,
            Some("low") => 5,
            _ => 6,
        };
        let pri = u16::from(self.facility) * 8 + sev;
        let ts = h.timestamp.map_or("-".to_string(), |t| header_field(t, 64));
        let msgid = h
            .event_type
            .map_or("-".to_string(), |t| header_field(t, 32));
        let _ = write!(
            out,
            "<{pri}>1 {ts} {} {} {} {msgid} - ",
            self.host, self.app, self.pid
        );
        out.extend_from_slice(ev);
    }
}

/// PRINTUSASCII without spaces, at most `max` characters, `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let f: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() {
        "-".into()
    } else {
        f
    }
}

/// Where syslog messages go.
pub enum SyslogOut {
    /// UDP to `host:port`.
    Udp(String, Option<UdpSocket>),
    /// TCP (or TLS) with octet counting.
    Tcp(Endpoint, Option<Conn>),
}

/// The syslog transport.
pub struct Syslog {
    fmt: Formatter,
    out: SyslogOut,
    timeout: Duration,
    buf: Vec<u8>,
    msg: Vec<u8>,
}

impl Syslog {
    /// A syslog sender.
    pub fn new(fmt: Formatter, out: SyslogOut, timeout: Duration) -> Syslog {
        Syslog {
            fmt,
            out,
            timeout,
            buf: Vec::new(),
            msg: Vec::new(),
        }
    }
}

impl Transport for Syslog {
    fn send(&mut self, batch: &[Vec<u8>]) -> io::Result<()> {
        match &mut self.out {
            SyslogOut::Udp(addr, sock) => {
                let s = match sock {
                    Some(s) => s,
                    None => {
                        let bind = if addr.starts_with('[') {
                            "[::]:0"
                        } else {
                            "0.0.0.0:0"
                        };
                        let s = UdpSocket::bind(bind)?;
                        s.set_write_timeout(Some(self.timeout))?;
                        s.connect(addr.as_str())?;
                        sock.insert(s)
                    }
                };
                for ev in batch {
                    self.msg.clear();
                    self.fmt.format(ev, &mut self.msg);
                    s.send(&self.msg)?;
                }
                Ok(())
            }
            SyslogOut::Tcp(ep, conn) => {
                if conn.as_ref().is_some_and(|c| !c.is_alive()) {
                    *conn = None;
                }
                let c = match conn {
                    Some(c) => c,
                    None => conn.insert(ep.connect(self.timeout)?),
                };
                self.buf.clear();
                for ev in batch {
                    self.msg.clear();
                    self.fmt.format(ev, &mut self.msg);
                    let _ = write!(self.buf, "{} ", self.msg.len());
                    self.buf.extend_from_slice(&self.msg);
                }
                c.write_all(&self.buf)?;
                c.flush()
            }
        }
    }

    fn reset(&mut self) {
        match &mut self.out {
            SyslogOut::Udp(_, s) => *s = None,
            SyslogOut::Tcp(_, c) => *c = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5424_header_from_the_event() {
        let f = Formatter {
            facility: 16,
            host: "sensor1".into(),
            app: "leakwatch".into(),
            pid: 42,
        };
        let mut out = Vec::new();
        let ev =
            br#"{"timestamp":"2026-01-02T03:04:05.000006Z","event_type":"dlp","severity":"high"}"#;
        f.format(ev, &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("<131>1 2026-01-02T03:04:05.000006Z sensor1 leakwatch 42 dlp - {"),
            "{s}"
        );
        let mut out = Vec::new();
        f.format(b"not json", &mut out);
        assert!(out.starts_with(b"<134>1 - sensor1 leakwatch 42 - - not json"));
        assert_eq!(header_field("a b\u{7f}c", 10), "abc");
    }
}
