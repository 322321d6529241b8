//! Client connections shared by the stream, HTTP, syslog and Redis sinks:
//! TCP (optionally TLS) and Unix stream sockets, with timeouts and a cheap
//! liveness check before reuse.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::tls::TlsSetup;

/// Where to connect.
#[derive(Clone)]
pub enum Endpoint {
    /// `host:port`, with TLS when set.
    Tcp {
        /// `host:port`.
        addr: String,
        /// TLS client settings.
        tls: Option<Arc<TlsSetup>>,
    },
    /// A Unix stream socket.
    Unix(PathBuf),
}

impl Endpoint {
    /// Opens a connection with `timeout` for connect, reads and writes.
    ///
    /// # Errors
    /// Resolution, connection or TLS handshake failure.
    pub fn connect(&self, timeout: Duration) -> io::Result<Conn> {
        match self {
            Endpoint::Tcp { addr, tls } => {
                let sock = connect_tcp(addr, timeout)?;
                match tls {
                    Some(t) => t.wrap(sock),
                    None => Ok(Conn::Tcp(sock)),
                }
            }
            Endpoint::Unix(p) => {
                let s = UnixStream::connect(p)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                Ok(Conn::Unix(s))
            }
        }
    }
}

/// Connects to the first address of `addr` that answers.
///
/// # Errors
/// No address resolved, or none accepted.
pub fn connect_tcp(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address"));
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = io::Error::new(e.kind(), format!("{addr}: {e}")),
        }
    }
    Err(last)
}

/// An open connection.
pub enum Conn {
    /// Plain TCP.
    Tcp(TcpStream),
    /// Unix stream socket.
    Unix(UnixStream),
    /// TLS over TCP.
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Conn {
    /// False when the peer has closed the connection (or it failed): a
    /// non-blocking peek sees end-of-stream. Checked before each batch so
    /// that a receiver that went away is noticed before events are written
    /// into a dead socket.
    pub fn is_alive(&self) -> bool {
        match self {
            Conn::Tcp(s) => {
                peek_alive(s.set_nonblocking(true), || s.peek(&mut [0u8; 1]))
                    && s.set_nonblocking(false).is_ok()
            }
            Conn::Unix(s) => {
                // No stable peek on Unix sockets: read instead (stream
                // peers send nothing we need).
                let r = peek_alive(s.set_nonblocking(true), || (&*s).read(&mut [0u8; 1]));
                r && s.set_nonblocking(false).is_ok()
            }
            #[cfg(feature = "tls")]
            Conn::Tls(t) => {
                let s = &t.sock;
                peek_alive(s.set_nonblocking(true), || s.peek(&mut [0u8; 1]))
                    && s.set_nonblocking(false).is_ok()
            }
        }
    }
}

fn peek_alive(nb: io::Result<()>, peek: impl FnOnce() -> io::Result<usize>) -> bool {
    if nb.is_err() {
        return false;
    }
    match peek() {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.flush(),
            Conn::Unix(s) => s.flush(),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => s.flush(),
        }
    }
}
