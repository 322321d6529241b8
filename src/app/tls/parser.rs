//! Pure parsers of TLS handshake messages: ClientHello and ServerHello
//! bodies (after the 4-byte handshake header). Bounded: at most
//! [`MAX_LIST`] cipher suites, extensions, versions, ALPN values and
//! signature algorithms are kept; the rest are counted (JA4 counts cap at
//! 99 anyway) but not stored.

/// Most items of one list kept.
pub const MAX_LIST: usize = 128;
/// Longest SNI / ALPN value kept.
const MAX_NAME: usize = 255;

/// Handshake type of a ClientHello.
pub const HS_CLIENT_HELLO: u8 = 1;
/// Handshake type of a ServerHello.
pub const HS_SERVER_HELLO: u8 = 2;

/// Extension numbers used here.
mod ext {
    pub const SERVER_NAME: u16 = 0x0000;
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    pub const ALPN: u16 = 0x0010;
    pub const SUPPORTED_VERSIONS: u16 = 0x002b;
}

/// A fallible big-endian reader over untrusted bytes (never panics).
#[derive(Clone, Copy)]
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }
    /// Bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }
    /// Next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.data.len() {
            return None;
        }
        let (a, b) = self.data.split_at(n);
        self.data = b;
        Some(a)
    }
    /// Next byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }
    /// Next big-endian u16.
    pub fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    /// Next big-endian u24.
    pub fn u24(&mut self) -> Option<u32> {
        let b = self.take(3)?;
        Some(u32::from_be_bytes([0, *b.first()?, *b.get(1)?, *b.get(2)?]))
    }
    /// A block prefixed by a 1-byte length.
    pub fn block8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    /// A block prefixed by a 2-byte length.
    pub fn block16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

/// GREASE values (RFC 8701): `0x?a?a` with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// What a ClientHello says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version` of the hello body.
    pub legacy_version: u16,
    /// Cipher suites in order (GREASE included, bounded).
    pub ciphers: Vec<u16>,
    /// Extension types in order (GREASE included, bounded).
    pub extensions: Vec<u16>,
    /// `server_name` (host_name entry), as sent.
    pub sni: Option<String>,
    /// ALPN protocol names in order.
    pub alpn: Vec<Vec<u8>>,
    /// `supported_versions` in order.
    pub versions: Vec<u16>,
    /// `signature_algorithms` in order.
    pub sig_algs: Vec<u16>,
}

/// What a ServerHello says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// `legacy_version` of the hello body.
    pub legacy_version: u16,
    /// Selected cipher suite.
    pub cipher: u16,
    /// `supported_versions` selected version (TLS 1.3), if present.
    pub selected_version: Option<u16>,
    /// Extension types in the order sent (bounded).
    pub extensions: Vec<u16>,
    /// The ALPN protocol selected, if any.
    pub alpn: Option<Vec<u8>>,
}

impl ServerHello {
    /// The negotiated protocol version.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

fn push_bounded<T>(v: &mut Vec<T>, x: T) {
    if v.len() < MAX_LIST {
        v.push(x);
    }
}

/// Parses a ClientHello body. `None` when it is malformed or truncated.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut c = Cursor::new(body);
    let mut ch = ClientHello {
        legacy_version: c.u16()?,
        ..ClientHello::default()
    };
    c.take(32)?; // random
    c.block8()?; // legacy_session_id
    let mut suites = Cursor::new(c.block16()?);
    while let Some(s) = suites.u16() {
        push_bounded(&mut ch.ciphers, s);
    }
    c.block8()?; // compression methods
    if c.rest().is_empty() {
        return Some(ch); // SSLv3-style hello without extensions
    }
    let mut exts = Cursor::new(c.block16()?);
    while !exts.rest().is_empty() {
        let ty = exts.u16()?;
        let data = exts.block16()?;
        push_bounded(&mut ch.extensions, ty);
        client_extension(&mut ch, ty, data);
    }
    Some(ch)
}

/// Fills `ch` from one extension; malformed contents are ignored.
fn client_extension(ch: &mut ClientHello, ty: u16, data: &[u8]) {
    let mut c = Cursor::new(data);
    match ty {
        ext::SERVER_NAME => {
            let Some(list) = c.block16() else { return };
            let mut l = Cursor::new(list);
            while let (Some(kind), Some(name)) = (l.u8(), l.block16()) {
                if kind == 0 && ch.sni.is_none() && name.len() <= MAX_NAME {
                    ch.sni = Some(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
        ext::ALPN => {
            let Some(list) = c.block16() else { return };
            let mut l = Cursor::new(list);
            while let Some(p) = l.block8() {
                push_bounded(&mut ch.alpn, p.to_vec());
            }
        }
        ext::SUPPORTED_VERSIONS => {
            let Some(list) = c.block8() else { return };
            let mut l = Cursor::new(list);
            while let Some(v) = l.u16() {
                push_bounded(&mut ch.versions, v);
            }
        }
        ext::SIGNATURE_ALGORITHMS => {
            let Some(list) = c.block16() else { return };
            let mut l = Cursor::new(list);
            while let Some(v) = l.u16() {
                push_bounded(&mut ch.sig_algs, v);
            }
        }
        _ => {}
    }
}

/// Parses a ServerHello body. `None` when malformed or truncated.
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut c = Cursor::new(body);
    let mut sh = ServerHello {
        legacy_version: c.u16()?,
        ..ServerHello::default()
    };
    c.take(32)?;
    c.block8()?;
    sh.cipher = c.u16()?;
    c.u8()?; // compression
    if c.rest().is_empty() {
        return Some(sh);
    }
    let mut exts = Cursor::new(c.block16()?);
    while !exts.rest().is_empty() {
        let ty = exts.u16()?;
        let data = exts.block16()?;
        push_bounded(&mut sh.extensions, ty);
        if ty == ext::SUPPORTED_VERSIONS {
            sh.selected_version = Cursor::new(data).u16();
        } else if ty == ext::ALPN {
            let mut list = Cursor::new(data);
            sh.alpn = list
                .block16()
                .and_then(|l| Cursor::new(l).block8())
                .map(<[u8]>::to_vec);
        }
    }
    Some(sh)
}

/// Name of a protocol version (`TLSv1.3`, ...), `None` if unknown.
pub fn version_name(v: u16) -> Option<&'static str> {
    Some(match v {
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv1.0",
        0x0302 => "TLSv1.1",
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        0xfeff => "DTLSv1.0",
        0xfefd => "DTLSv1.2",
        0xfefc => "DTLSv1.3",
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ClientHello body from its parts (GREASE as given).
    pub(crate) fn client_hello_body(
        ciphers: &[u16],
        exts: &[(u16, Vec<u8>)],
        legacy_version: u16,
    ) -> Vec<u8> {
        let mut b = legacy_version.to_be_bytes().to_vec();
        b.extend_from_slice(&[0x11; 32]); // random
        b.push(0); // session id
        b.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]); // null compression
        let mut e = Vec::new();
        for (ty, data) in exts {
            e.extend_from_slice(&ty.to_be_bytes());
            e.extend_from_slice(&(data.len() as u16).to_be_bytes());
            e.extend_from_slice(data);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        b
    }

    pub(crate) fn sni_ext(name: &str) -> (u16, Vec<u8>) {
        let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        d.push(0);
        d.extend_from_slice(&(name.len() as u16).to_be_bytes());
        d.extend_from_slice(name.as_bytes());
        (0, d)
    }

    pub(crate) fn alpn_ext(protos: &[&str]) -> (u16, Vec<u8>) {
        let mut l = Vec::new();
        for p in protos {
            l.push(p.len() as u8);
            l.extend_from_slice(p.as_bytes());
        }
        let mut d = (l.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&l);
        (0x10, d)
    }

    #[test]
    fn grease_values() {
        assert!(is_grease(0x0a0a));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }

    #[test]
    fn parses_constructed_client_hello() {
        let body = client_hello_body(
            &[0x1a1a, 0x1301, 0xc02f],
            &[
                sni_ext("Api.Example.cn"),
                alpn_ext(&["h2", "http/1.1"]),
                (0x2b, vec![4, 0x03, 0x04, 0x03, 0x03]),
                (0x0d, vec![0, 4, 0x04, 0x03, 0x08, 0x04]),
            ],
            0x0303,
        );
        let ch = parse_client_hello(&body).expect("parses");
        assert_eq!(ch.ciphers, vec![0x1a1a, 0x1301, 0xc02f]);
        assert_eq!(ch.extensions, vec![0, 0x10, 0x2b, 0x0d]);
        assert_eq!(ch.sni.as_deref(), Some("Api.Example.cn"));
        assert_eq!(ch.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(ch.versions, vec![0x0304, 0x0303]);
        assert_eq!(ch.sig_algs, vec![0x0403, 0x0804]);
    }

    #[test]
    fn truncated_and_bad_lengths_are_rejected() {
        let body = client_hello_body(&[0x1301], &[sni_ext("a.cn")], 0x0303);
        for n in 0..body.len() {
            // Every strict prefix fails or parses a subset: never panics.
            let _ = parse_client_hello(body.get(..n).unwrap_or_default());
        }
        assert!(parse_client_hello(body.get(..40).unwrap_or_default()).is_none());
        let mut bad = body.clone();
        if let Some(b) = bad.get_mut(35) {
            *b = 0xff; // cipher suites length far past the end
        }
        assert!(parse_client_hello(&bad).is_none());
    }

    #[test]
    fn parses_server_hello_with_supported_versions() {
        let mut b = vec![0x03, 0x03];
        b.extend_from_slice(&[0x22; 32]);
        b.push(0);
        b.extend_from_slice(&[0x13, 0x01, 0x00]);
        b.extend_from_slice(&[0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);
        let sh = parse_server_hello(&b).expect("parses");
        assert_eq!(sh.cipher, 0x1301);
        assert_eq!(sh.version(), 0x0304);
        assert_eq!(version_name(sh.version()), Some("TLSv1.3"));
        assert!(parse_server_hello(b.get(..20).unwrap_or_default()).is_none());
    }
}
