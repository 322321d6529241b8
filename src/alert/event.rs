//! The event schema (EVE-style JSON lines).
//!
//! Schema version [`SCHEMA_VERSION`]; every field is documented in README
//! ("Events"). Field names live here and only here. Changes that remove or
//! rename a field bump the version; adding optional fields does not.

use std::net::IpAddr;

use serde::Serialize;

use super::hash::ValueHash;
use crate::capture::Timestamp;
use crate::detect::Confidence;
use crate::policy::Verdict;

/// Version of the event schema described in README.
pub const SCHEMA_VERSION: u32 = 1;

/// Event type names.
pub mod event_type {
    /// PI found in a stream segment, transaction or message.
    pub const DLP: &str = "dlp";
    /// End-of-run (or periodic) counters.
    pub const STATS: &str = "stats";
    /// End-of-flow summary (when `output.flow_events` is on).
    pub const FLOW: &str = "flow";
    /// Something odd or bounded in the traffic (when `output.anomaly_events` is on).
    pub const ANOMALY: &str = "anomaly";
    /// A file seen on the wire (name, type, size, hashes, PI inside).
    pub const FILEINFO: &str = "fileinfo";
}

/// Fields every flow-related event starts with (as Suricata's EVE).
#[derive(Clone, Debug, Serialize)]
pub struct Envelope {
    /// Packet time, RFC 3339 UTC with microseconds.
    pub timestamp: String,
    /// Flow identifier, stable for the flow across its events.
    pub flow_id: u64,
    /// `dlp`, `stats`, ...
    pub event_type: &'static str,
    /// Sender of the bytes the event is about.
    pub src_ip: IpAddr,
    /// Sender port.
    pub src_port: u16,
    /// Receiver.
    pub dest_ip: IpAddr,
    /// Receiver port.
    pub dest_port: u16,
    /// `TCP`, `UDP` or the IP protocol number.
    pub proto: String,
    /// Application protocol (`raw` for undecoded streams).
    pub app_proto: &'static str,
    /// Outer tunnel the flow arrived in (GRE, ERSPAN, VXLAN, MPLS, IP-in-IP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<serde_json::Value>,
}

/// One masked value and its keyed hash.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ValueOut {
    /// Masked value, e.g. `138****8000`.
    pub masked: String,
    /// `hex(HMAC-SHA256(hash_key, normalised value))`.
    pub hash: HexHash,
}

/// A value hash written as 64 lowercase hex digits: the raw bytes are
/// kept until the event is serialised, so no string is built per value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HexHash(pub ValueHash);

impl Serialize for HexHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        // 64 output bytes for 32 input bytes: the only error is a size mismatch.
        match hex::encode_to_slice(self.0, &mut buf) {
            Ok(()) => s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default()),
            Err(_) => s.serialize_str(""),
        }
    }
}

/// PI of one type found by one detector in one place.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FindingOut {
    /// PI type (DESIGN.md vocabulary).
    #[serde(rename = "type")]
    pub pi_type: String,
    /// Detector id.
    pub detector: String,
    /// Number of distinct values (a lower bound when `count_truncated`).
    pub count: u64,
    /// Highest confidence among the matches.
    pub confidence: &'static str,
    /// Where in the traffic (`tcp.stream`, `udp.payload`, `http.request_body`, ...).
    #[serde(rename = "where")]
    pub location: &'static str,
    /// Distinct values, in order of discovery, up to the configured cap.
    pub values: Vec<ValueOut>,
    /// Present and true when `values` was cut at the cap.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Present and true when distinct counting stopped at its bound.
    #[serde(skip_serializing_if = "is_false")]
    pub count_truncated: bool,
    /// Detector category (for the policy; not written).
    #[serde(skip)]
    pub category: String,
    /// `confidence` as a level (for the policy; not written).
    #[serde(skip)]
    pub level: Confidence,
}

/// What limited inspection of the stream the event comes from.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StreamNotes {
    /// Holes in the stream (bytes never captured or dropped at a bound).
    pub gaps: u64,
    /// Bytes missing in those holes.
    pub gap_bytes: u64,
    /// Inspection stopped at the per-flow reassembly depth.
    pub depth_reached: bool,
    /// The reassembly memcap or segment limit was hit in this stream.
    #[serde(skip_serializing_if = "is_false")]
    pub limit_reached: bool,
    /// Overlapping copies of the same bytes that differed (possible evasion).
    #[serde(skip_serializing_if = "is_zero")]
    pub overlap_diffs: u32,
    /// Segments or RSTs ignored as outside the receiver's window.
    #[serde(skip_serializing_if = "is_zero")]
    pub out_of_window: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl StreamNotes {
    /// Nothing to report.
    pub fn is_clean(&self) -> bool {
        self.gaps == 0
            && !self.depth_reached
            && !self.limit_reached
            && self.overlap_diffs == 0
            && self.out_of_window == 0
    }
}

/// The `http` object of a `dlp` event from an HTTP transaction. Fields that
/// may hold PI (URL, part file names) are masked.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct HttpOut {
    /// `Host` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Request target, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Request method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// Response status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `User-Agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<String>,
    /// Request `Content-Type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_request_content_type: Option<String>,
    /// Response `Content-Type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_content_type: Option<String>,
    /// `multipart/form-data` parts: `name`, masked `filename`, `content_type`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<serde_json::Value>,
    /// Decoding limits hit (body depth, decompression ratio, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits_hit: Vec<&'static str>,
}

/// The `smtp` object of a `dlp` event from an SMTP message or login.
/// Addresses are masked.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SmtpOut {
    /// `EHLO`/`HELO` argument.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo: Option<String>,
    /// `MAIL FROM` address, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<String>,
    /// `RCPT TO` addresses, masked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rcpt_to: Vec<String>,
}

/// The `mail` object of a `dlp` event from a mail message (SMTP, POP3,
/// IMAP) or login. Subject, addresses and file names are masked.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct MailOut {
    /// Decoded `Subject`, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Decoded `From`, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Decoded `To`, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Attachments: masked `filename`, `content_type`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<serde_json::Value>,
    /// Present and true for a login (credentials) rather than a message.
    #[serde(skip_serializing_if = "is_false")]
    pub login: bool,
    /// Decoding limits hit (MIME depth, parts, decoded size, gaps, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits_hit: Vec<&'static str>,
}

/// A `dlp` event.
#[derive(Clone, Debug, Serialize)]
pub struct DlpEvent {
    /// Common fields; `src_*` is the sender of the PI.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// `to_server` (client sent the PI) or `to_client`.
    pub direction: &'static str,
    /// What was found.
    pub findings: Vec<FindingOut>,
    /// Records (CSV/TSV rows, JSON array objects, HTML `<tr>` rows, lines
    /// of text) holding at least one finding; at least 1.
    pub records: u64,
    /// Name of the flow's server (HTTP Host; later TLS SNI, DNS answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_name: Option<String>,
    /// Zones, countries, violations and severity from the policy.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The HTTP transaction the PI travelled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpOut>,
    /// The TLS handshake of the flow (`sni`, `version`, `alpn`, `ja4`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<serde_json::Value>,
    /// The DNS message the PI travelled in (`rrname` masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<serde_json::Value>,
    /// The SMTP envelope of the message (or login) the PI travelled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpOut>,
    /// The mail message (SMTP, POP3, IMAP) the PI travelled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailOut>,
    /// The FTP command, reply or transfer the PI travelled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ftp: Option<FtpOut>,
    /// Present when the stream was incomplete.
    #[serde(skip_serializing_if = "StreamNotes::is_clean")]
    pub stream: StreamNotes,
}

/// The `ftp` object of events from an FTP control or data connection.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct FtpOut {
    /// Command (verb only; arguments are never written in clear).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// File or path argument of the command, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Reply code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    /// Data connection mode of a transfer: `passive` or `active`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_mode: Option<&'static str>,
}

/// The `fileinfo` object of a `fileinfo` event.
#[derive(Clone, Debug, Serialize)]
pub struct FileInfoOut {
    /// File name as the protocol gave it, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Declared media type (`Content-Type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Type by magic bytes (`pdf`, `docx`, `zip`, `text`, ...).
    pub magic: &'static str,
    /// Bytes seen.
    pub size: u64,
    /// Declared size (`Content-Length`, FTP `150 ... (N bytes)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_size: Option<u64>,
    /// Hex MD5 of the bytes seen.
    pub md5: String,
    /// Hex SHA-256 of the bytes seen.
    pub sha256: String,
    /// No gap and the declared size (if any) was seen.
    pub complete: bool,
    /// Bytes lost in gaps.
    #[serde(skip_serializing_if = "is_zero64")]
    pub gap_bytes: u64,
    /// Bounds hit while buffering or unpacking (`file_buffer`,
    /// `archive_depth`, `archive_entries`, `decompressed_size`,
    /// `decompress_ratio`, `extract_error`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits_hit: Vec<&'static str>,
    /// PI found in the file (raw bytes and extracted contents).
    pub findings: Vec<FindingOut>,
}

fn is_zero64(n: &u64) -> bool {
    *n == 0
}

/// A `fileinfo` event: `src_*` is the sender of the file.
#[derive(Clone, Debug, Serialize)]
pub struct FileInfoEvent {
    /// Common fields (timestamp = end of the file).
    #[serde(flatten)]
    pub envelope: Envelope,
    /// `to_server` (client sent the file) or `to_client`.
    pub direction: &'static str,
    /// Name of the flow's server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_name: Option<String>,
    /// The file.
    pub fileinfo: FileInfoOut,
    /// The FTP transfer that carried the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ftp: Option<FtpOut>,
    /// Present when the stream was incomplete.
    #[serde(skip_serializing_if = "StreamNotes::is_clean")]
    pub stream: StreamNotes,
}

/// The `flow` object of a `flow` event.
#[derive(Clone, Debug, Serialize)]
pub struct FlowSummary {
    /// Packets sent by the client.
    pub pkts_toserver: u64,
    /// Packets sent by the server.
    pub pkts_toclient: u64,
    /// Payload bytes sent by the client.
    pub bytes_toserver: u64,
    /// Payload bytes sent by the server.
    pub bytes_toclient: u64,
    /// First packet time.
    pub start: String,
    /// Last packet time.
    pub end: String,
    /// `timeout`, `evicted`, `reused` or `shutdown`.
    pub reason: &'static str,
    /// Reassembly notes of the client's stream, when incomplete.
    #[serde(skip_serializing_if = "StreamNotes::is_clean")]
    pub stream_toserver: StreamNotes,
    /// Reassembly notes of the server's stream, when incomplete.
    #[serde(skip_serializing_if = "StreamNotes::is_clean")]
    pub stream_toclient: StreamNotes,
}

/// A `flow` event: end-of-flow summary; `src_*` is the client.
#[derive(Clone, Debug, Serialize)]
pub struct FlowEvent {
    /// Common fields (timestamp = first packet).
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Name of the flow's server (SNI, Host, DNS answer), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_name: Option<String>,
    /// The flow was encrypted (TLS, STARTTLS); present only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// The TLS handshake of the flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<serde_json::Value>,
    /// Counters.
    pub flow: FlowSummary,
}

/// The `anomaly` object of an `anomaly` event (as Suricata's: `type` is
/// the layer, `event` what happened). Never holds traffic bytes.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct AnomalyOut {
    /// `stream` (TCP reassembly), `defrag`, `decode` or `checksum`.
    #[serde(rename = "type")]
    pub layer: &'static str,
    /// What happened: `overlap_diff`, `out_of_window`, `tiny_fragment`, ...
    pub event: &'static str,
    /// Occurrences this event stands for (same flow, direction and kind).
    pub count: u64,
    /// Stream anomalies: the direction whose bytes it concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    /// Overlaps: the overlap policy that chose which copy was inspected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<&'static str>,
    /// Stream offset (bytes from the first data byte) of the first occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Bytes concerned at the first occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub len: Option<u64>,
    /// Time of the last occurrence, when `count` > 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
}

/// An `anomaly` event. Addresses are present when known (a frame that did
/// not decode has none); for stream anomalies `src_*` is the sender of the
/// direction concerned.
#[derive(Clone, Debug, Serialize)]
pub struct AnomalyEvent {
    /// Packet time of the first occurrence.
    pub timestamp: String,
    /// Flow identifier (stream anomalies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    /// Always `anomaly`.
    pub event_type: &'static str,
    /// Sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<IpAddr>,
    /// Sender port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Receiver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_ip: Option<IpAddr>,
    /// Receiver port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// `TCP`, `UDP` or the IP protocol number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    /// Outer tunnel, as on `dlp` events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<serde_json::Value>,
    /// What happened.
    pub anomaly: AnomalyOut,
}

/// Formats a packet timestamp as RFC 3339 UTC with microseconds. Written
/// digit by digit: every event carries one, and `strftime` parsing cost
/// ~4 k instructions per call.
pub fn format_ts(ts: Timestamp) -> String {
    use chrono::{Datelike, Timelike};
    let secs = (ts / 1_000_000_000) as i64;
    let micros = (ts % 1_000_000_000) / 1_000;
    // A u64 of nanoseconds ends in 2554: always a valid four-digit year.
    let t = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    let fields: [(u64, usize); 7] = [
        (u64::try_from(t.year()).unwrap_or(0), 4),
        (u64::from(t.month()), 2),
        (u64::from(t.day()), 2),
        (u64::from(t.hour()), 2),
        (u64::from(t.minute()), 2),
        (u64::from(t.second()), 2),
        (micros, 6),
    ];
    let mut out = String::with_capacity(27);
    for ((v, width), after) in fields.into_iter().zip(['-', '-', 'T', ':', ':', '.', 'Z']) {
        for k in (0..width).rev() {
            let digit = (v / 10u64.pow(k as u32)) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
        out.push(after);
    }
    out
}

/// Protocol name as EVE writes it.
pub fn proto_name(proto: u8) -> String {
    match proto {
        6 => "TCP".to_string(),
        17 => "UDP".to_string(),
        1 => "ICMP".to_string(),
        58 => "IPv6-ICMP".to_string(),
        n => n.to_string(),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_micros() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_ts(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(format_ts(u64::MAX), "2554-07-21T23:34:33.709551Z");
    }

    proptest::proptest! {
        #[test]
        fn timestamps_equal_strftime(ts in proptest::prelude::any::<u64>()) {
            let secs = (ts / 1_000_000_000) as i64;
            let micros = (ts % 1_000_000_000) / 1_000;
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
            let want = format!("{}.{micros:06}Z", t.format("%Y-%m-%dT%H:%M:%S"));
            proptest::prop_assert_eq!(format_ts(ts), want);
        }
    }
}
