//! Newline-delimited JSON over a stream socket (TCP, TLS, Unix) and one
//! event per datagram over a Unix datagram socket.

use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use super::conn::{Conn, Endpoint};
use super::remote::Transport;

/// JSON lines over a (re)connected stream.
pub struct LineStream {
    ep: Endpoint,
    timeout: Duration,
    conn: Option<Conn>,
    buf: Vec<u8>,
}

impl LineStream {
    /// Connects lazily, on the first batch.
    pub fn new(ep: Endpoint, timeout: Duration) -> LineStream {
        LineStream {
            ep,
            timeout,
            conn: None,
            buf: Vec::new(),
        }
    }
}

impl Transport for LineStream {
    fn send(&mut self, batch: &[Vec<u8>]) -> io::Result<()> {
        if self.conn.as_ref().is_some_and(|c| !c.is_alive()) {
            self.conn = None;
        }
        let conn = match &mut self.conn {
            Some(c) => c,
            None => self.conn.insert(self.ep.connect(self.timeout)?),
        };
        self.buf.clear();
        for ev in batch {
            self.buf.extend_from_slice(ev);
            self.buf.push(b'\n');
        }
        conn.write_all(&self.buf)?;
        conn.flush()
    }

    fn reset(&mut self) {
        self.conn = None;
    }
}

/// Largest datagram sent; bigger events are dropped (counted, logged).
pub const MAX_DATAGRAM: usize = 200 * 1024;

/// One event per datagram to a Unix datagram socket.
pub struct Datagrams {
    path: PathBuf,
    sock: Option<UnixDatagram>,
    timeout: Duration,
    /// Events too large for a datagram.
    pub oversize_total: u64,
}

impl Datagrams {
    /// Sends to the socket at `path`.
    pub fn new(path: PathBuf, timeout: Duration) -> Datagrams {
        Datagrams {
            path,
            sock: None,
            timeout,
            oversize_total: 0,
        }
    }
}

impl Transport for Datagrams {
    fn send(&mut self, batch: &[Vec<u8>]) -> io::Result<()> {
        let sock = match &mut self.sock {
            Some(s) => s,
            None => {
                let s = UnixDatagram::unbound()?;
                s.set_write_timeout(Some(self.timeout))?;
                s.connect(&self.path).map_err(|e| {
                    io::Error::new(e.kind(), format!("{}: {e}", self.path.display()))
                })?;
                self.sock.insert(s)
            }
        };
        for ev in batch {
            if ev.len() > MAX_DATAGRAM {
                self.oversize_total += 1;
                tracing::warn!(path = %self.path.display(), bytes = ev.len(), "event too large for a datagram: dropped");
                continue;
            }
            sock.send(ev)?;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.sock = None;
    }
}
