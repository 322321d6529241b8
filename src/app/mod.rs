//! App layer: turns reassembled streams into labelled content.
//!
//! An [`AppParser`] receives the in-order bytes of both directions of one
//! flow (from the flow stage) and pushes what it extracts into a
//! [`ContentSink`]: pieces of content labelled with where they came from
//! ([`location`]), the end of each content item, and the end of each
//! transaction with its metadata. Without a parser, a stream is scanned raw
//! as [`location::TCP_STREAM`].

use crate::flow::Direction;

pub mod dns;
pub mod ftp;
pub mod http;
pub mod mail;
pub mod probe;
pub mod tls;

pub use self::probe::{detect_protocol, probe, Probe};

/// Where in the traffic a finding was made (the `where` of a finding).
pub mod location {
    /// Reassembled TCP bytes that no decoder claimed.
    pub const TCP_STREAM: &str = "tcp.stream";
    /// A UDP datagram's payload.
    pub const UDP_PAYLOAD: &str = "udp.payload";
    /// HTTP request URI (path and query, decoded).
    pub const HTTP_URI: &str = "http.uri";
    /// HTTP request headers (cookies, authorization, ...).
    pub const HTTP_REQUEST_HEADERS: &str = "http.request_headers";
    /// HTTP response headers.
    pub const HTTP_RESPONSE_HEADERS: &str = "http.response_headers";
    /// HTTP request body (de-chunked, decompressed, decoded).
    pub const HTTP_REQUEST_BODY: &str = "http.request_body";
    /// HTTP response body (de-chunked, decompressed, decoded).
    pub const HTTP_RESPONSE_BODY: &str = "http.response_body";
    /// HTTP `Cookie` header values (percent-decoded), one item per header.
    pub const HTTP_COOKIE: &str = "http.cookie";
    /// HTTP `Authorization` / `Proxy-Authorization` values, Basic
    /// credentials base64-decoded (`Basic user:password`).
    pub const HTTP_AUTHORIZATION: &str = "http.authorization";
    /// Bytes of a tunnel (after `101 Switching Protocols` or `CONNECT`).
    pub const HTTP_TUNNEL: &str = "http.tunnel";
    /// DNS query name (dotted, as asked).
    pub const DNS_QUERY: &str = "dns.query";
    /// DNS query name labels that look base32-encoded, decoded.
    pub const DNS_QUERY_BASE32: &str = "dns.query|base32";
    /// DNS query name labels that look hex-encoded, decoded.
    pub const DNS_QUERY_HEX: &str = "dns.query|hex";
    /// DNS TXT answer strings.
    pub const DNS_TXT: &str = "dns.txt";
    /// FTP `USER`/`PASS`/`ACCT` arguments.
    pub const FTP_AUTH: &str = "ftp.auth";
    /// FTP command arguments (paths, file names).
    pub const FTP_COMMAND: &str = "ftp.command";
    /// FTP reply texts.
    pub const FTP_REPLY: &str = "ftp.reply";
    /// Bytes of an FTP data connection (files, listings).
    pub const FTP_DATA: &str = "ftp.data";
}

/// `app_proto` names.
pub mod proto_name {
    /// A stream scanned without an application decoder.
    pub const RAW: &str = "raw";
    /// HTTP/1.x.
    pub const HTTP: &str = "http";
    /// TLS (encrypted: only the handshake is read).
    pub const TLS: &str = "tls";
    /// DNS over UDP or TCP.
    pub const DNS: &str = "dns";
    /// FTP control connection.
    pub const FTP: &str = "ftp";
    /// FTP data connection.
    pub const FTP_DATA: &str = "ftp-data";
}

/// Metadata of one finished transaction, for the event (`http` object).
/// Values that may hold PI (the URL) are stored masked by the parser's
/// caller, never in clear: parsers hand over the raw bytes here and the
/// alert stage masks them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpTx {
    /// `Host` header.
    pub hostname: Option<String>,
    /// Request target as sent (may hold PI: masked before output).
    pub url: Option<Vec<u8>>,
    /// Request method.
    pub method: Option<String>,
    /// Response status.
    pub status: Option<u16>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// Request `Content-Type`.
    pub request_content_type: Option<String>,
    /// Response `Content-Type`.
    pub response_content_type: Option<String>,
    /// Parts of a `multipart/form-data` body, in order (bounded).
    pub parts: Vec<HttpPart>,
    /// Limits hit while decoding (e.g. `body_depth`, `decompress_ratio`),
    /// noted on the event.
    pub limits_hit: Vec<&'static str>,
}

/// One part of a `multipart/form-data` body (may hold PI: masked before
/// output like the URL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpPart {
    /// `name` parameter of `Content-Disposition`.
    pub name: Option<String>,
    /// `filename` (or `filename*`) parameter of `Content-Disposition`.
    pub filename: Option<String>,
    /// The part's `Content-Type`.
    pub content_type: Option<String>,
}

/// Transaction metadata by protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxMeta {
    /// An HTTP request/response pair.
    Http(HttpTx),
    /// A TLS hello was parsed (the flow's handshake metadata so far).
    Tls(tls::TlsInfo),
    /// A DNS message.
    Dns(dns::DnsTx),
    /// A mail message or login (SMTP, POP3, IMAP).
    Mail(mail::MailTx),
    /// An FTP command, reply, or data transfer.
    Ftp(ftp::FtpTx),
}

/// A file carried by a protocol (an HTTP body with a file name or a document
/// type, a multipart upload, a mail attachment, an FTP transfer). Names may
/// hold PI: the alert stage masks them before output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileMeta {
    /// File name as the protocol gave it (decoded to UTF-8).
    pub name: Option<String>,
    /// Declared media type (e.g. from `Content-Type`).
    pub content_type: Option<String>,
    /// Declared size in bytes (e.g. `Content-Length`, FTP `SIZE`).
    pub declared_size: Option<u64>,
}

/// Receives what a parser extracts.
pub trait ContentSink {
    /// Next piece of the current content item of `dir`, labelled with its
    /// location. Consecutive calls with the same location continue the
    /// same item (a match may span them).
    fn on_content(&mut self, dir: Direction, location: &'static str, data: &[u8]);
    /// [`ContentSink::on_content`] of bytes the parser already decoded
    /// through `chain` (e.g. `Urlencoded`, `Gbk`, `Base64`), so findings
    /// record it in their `where` and the normalisation chain does not
    /// apply those steps again.
    fn on_content_chain(
        &mut self,
        dir: Direction,
        location: &'static str,
        chain: crate::detect::normalize::Chain,
        data: &[u8],
    ) {
        let _ = chain;
        self.on_content(dir, location, data);
    }
    /// The current content item of `dir` ended (nothing joins across).
    fn end_content(&mut self, dir: Direction);
    /// The part of a transaction sent by `dir` is complete (a request, or a
    /// response): the findings gathered for it since the last call form one
    /// event, with this metadata.
    fn end_transaction(&mut self, dir: Direction, meta: &TxMeta);
    /// The content item of `dir` that starts with the next `on_content` is
    /// a file: its bytes (until `end_content`) are hashed, typed, unpacked
    /// and reported in a `fileinfo` event.
    fn begin_file(&mut self, dir: Direction, file: &FileMeta) {
        let _ = (dir, file);
    }
}

/// An application protocol decoder for one flow (both directions).
pub trait AppParser: Send {
    /// `app_proto` of the flow.
    fn name(&self) -> &'static str;
    /// In-order bytes sent by `dir`.
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink);
    /// `len` bytes of `dir` were lost: resynchronise.
    fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn ContentSink);
    /// `dir` closed (FIN/RST/end of flow): finish what is pending
    /// (e.g. a body delimited by connection close).
    fn on_close(&mut self, dir: Direction, sink: &mut dyn ContentSink);
    /// Whether the flow's bytes from now on are ciphertext (TLS, or a
    /// cleartext protocol after STARTTLS): the parser no longer produces
    /// content and events say the flow is encrypted.
    fn is_encrypted(&self) -> bool {
        false
    }
    /// Name of the far end learnt from the traffic (HTTP Host, TLS SNI,
    /// SMTP domain), without port, lowercased.
    fn server_name(&self) -> Option<&str> {
        None
    }
}
