//! HTTP(S) POST of NDJSON batches: one request per batch, `Connection:
//! close`, any 2xx status accepts the whole batch; anything else (or no
//! answer within the timeout) is retried.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use super::conn::Endpoint;
use super::remote::Transport;
use super::tls::TlsSetup;

/// A parsed `http(s)://host[:port]/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// `https`.
    pub tls: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (default 80 / 443).
    pub port: u16,
    /// Path and query (default `/`).
    pub path: String,
}

impl Url {
    /// Parses an HTTP URL.
    ///
    /// # Errors
    /// Other schemes, empty host, bad port.
    pub fn parse(u: &str) -> Result<Url, String> {
        let (tls, rest) = if let Some(r) = u.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = u.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(format!("url {u:?}: must start with http:// or https://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let (host, port) = split_host_port(authority, if tls { 443 } else { 80 })
            .map_err(|e| format!("url {u:?}: {e}"))?;
        Ok(Url {
            tls,
            host,
            port,
            path: path.to_string(),
        })
    }

    /// `host:port` for connecting (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Splits `host[:port]` (`[v6]:port` too).
///
/// # Errors
/// Empty host or a bad port.
pub fn split_host_port(a: &str, default: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(r) = a.strip_prefix('[') {
        let (h, rest) = r.split_once(']').ok_or("unclosed [")?;
        (h, rest.strip_prefix(':'))
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    if host.is_empty() {
        return Err("empty host".into());
    }
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("bad port {p:?}"))?,
        None => default,
    };
    Ok((host.to_string(), port))
}

/// POSTs batches to one URL.
pub struct HttpPost {
    url: Url,
    ep: Endpoint,
    timeout: Duration,
    req: Vec<u8>,
}

impl HttpPost {
    /// A client for `url`; `ca_file` replaces the Mozilla roots for https.
    ///
    /// # Errors
    /// Bad URL or TLS setup.
    pub fn new(
        url: &str,
        ca_file: Option<&std::path::Path>,
        timeout: Duration,
    ) -> io::Result<HttpPost> {
        let url = Url::parse(url).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let tls = match url.tls {
            true => Some(Arc::new(TlsSetup::new(&url.host, ca_file)?)),
            false => None,
        };
        let ep = Endpoint::Tcp {
            addr: url.authority(),
            tls,
        };
        Ok(HttpPost {
            url,
            ep,
            timeout,
            req: Vec::new(),
        })
    }
}

impl Transport for HttpPost {
    fn send(&mut self, batch: &[Vec<u8>]) -> io::Result<()> {
        let body_len: usize = batch.iter().map(|e| e.len() + 1).sum();
        self.req.clear();
        write!(
            self.req,
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: leakwatch/{}\r\n\
             Content-Type: application/x-ndjson\r\nContent-Length: {body_len}\r\n\
             Connection: close\r\n\r\n",
            self.url.path,
            self.url.host,
            env!("CARGO_PKG_VERSION"),
        )?;
        for ev in batch {
            self.req.extend_from_slice(ev);
            self.req.push(b'\n');
        }
        let mut conn = self.ep.connect(self.timeout)?;
        conn.write_all(&self.req)?;
        conn.flush()?;
        let status = read_status(&mut conn)?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(io::Error::other(format!("HTTP status {status}")))
        }
    }

    fn reset(&mut self) {}
}

/// Reads the status code of the response (the rest is ignored).
fn read_status(r: &mut impl Read) -> io::Result<u16> {
    let mut head = Vec::with_capacity(128);
    let mut b = [0u8; 256];
    while !head.contains(&b'\n') {
        let n = r.read(&mut b)?;
        if n == 0 || head.len() > 8192 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before an HTTP status line",
            ));
        }
        head.extend_from_slice(b.get(..n).unwrap_or_default());
    }
    parse_status(&head).ok_or_else(|| io::Error::other("malformed HTTP status line"))
}

/// `HTTP/1.x NNN ...` -> NNN.
pub fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut it = text.split_whitespace();
    it.next().filter(|v| v.starts_with("HTTP/"))?;
    it.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = Url::parse("https://collector.example:8443/ingest?x=1").unwrap();
        assert!(u.tls);
        assert_eq!(u.authority(), "collector.example:8443");
        assert_eq!(u.path, "/ingest?x=1");
        let u = Url::parse("http://[::1]/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 80));
        assert_eq!(u.authority(), "[::1]:80");
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("http://:80").is_err());
        assert!(Url::parse("http://h:99999").is_err());
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.0 500\r\n"), Some(500));
        assert_eq!(parse_status(b"SSH-2.0 x\r\n"), None);
        assert_eq!(parse_status(b"\xff\xfe"), None);
    }
}
