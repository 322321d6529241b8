//! TLS client settings (rustls, Mozilla roots or a CA file), behind the
//! `tls` feature.

use std::io;
use std::net::TcpStream;
use std::path::Path;

use super::conn::Conn;

/// What a TLS connection needs: the client config and the name to verify.
#[cfg(feature = "tls")]
pub struct TlsSetup {
    config: std::sync::Arc<rustls::ClientConfig>,
    name: rustls_pki_types::ServerName<'static>,
}

/// Placeholder when built without the `tls` feature (never constructed).
#[cfg(not(feature = "tls"))]
pub enum TlsSetup {}

#[cfg(feature = "tls")]
impl TlsSetup {
    /// Trusts `ca_file` (PEM) when given, else the Mozilla roots, and
    /// verifies `server_name`.
    ///
    /// # Errors
    /// Unreadable CA file, no certificate in it, or an invalid name.
    pub fn new(server_name: &str, ca_file: Option<&Path>) -> io::Result<TlsSetup> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        match ca_file {
            Some(p) => {
                let bad = |e: String| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {e}", p.display()))
                };
                for c in CertificateDer::pem_file_iter(p).map_err(|e| bad(e.to_string()))? {
                    let c = c.map_err(|e| bad(e.to_string()))?;
                    roots.add(c).map_err(|e| bad(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(bad("no certificate found".into()));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name =
            rustls_pki_types::ServerName::try_from(server_name.to_string()).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{server_name}: {e}"))
            })?;
        Ok(TlsSetup {
            config: std::sync::Arc::new(config),
            name,
        })
    }

    /// Runs the handshake over `sock`.
    ///
    /// # Errors
    /// Handshake or certificate failure.
    pub fn wrap(&self, sock: TcpStream) -> io::Result<Conn> {
        let conn = rustls::ClientConnection::new(self.config.clone(), self.name.clone())
            .map_err(io::Error::other)?;
        let mut s = rustls::StreamOwned::new(conn, sock);
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock)?;
        }
        Ok(Conn::Tls(Box::new(s)))
    }
}

#[cfg(not(feature = "tls"))]
impl TlsSetup {
    /// Always fails: built without TLS.
    ///
    /// # Errors
    /// Always.
    pub fn new(_server_name: &str, _ca_file: Option<&Path>) -> io::Result<TlsSetup> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "TLS needs leakwatch built with the `tls` feature",
        ))
    }

    /// Never called.
    ///
    /// # Errors
    /// Never.
    pub fn wrap(&self, _sock: TcpStream) -> io::Result<Conn> {
        match *self {}
    }
}
