//! HTTP/1.x decoder: turns both directions of a flow into labelled content
//! (URI, headers, cookies, credentials, bodies) and per-transaction
//! metadata, decoding what the receiving application would decode.
//!
//! # State machine
//!
//! Each direction cycles `Head` -> `Body` -> `Head` (see `state.rs`):
//! the start line and headers accumulate in one bounded, reused buffer;
//! the body is de-framed (`Content-Length`, `chunked`, or connection close
//! for responses), decoded through a chain of streaming decompressors and
//! extracted (form, JSON, multipart, plain; GBK transcoded). Requests queue
//! their metadata so each response knows its method: pipelined requests,
//! keep-alive, `HEAD` (no response body), interim `1xx` responses (skipped,
//! e.g. `100 Continue`), `204`/`304` without body. `101` and successful
//! `CONNECT` switch both directions to a raw tunnel
//! ([`location::HTTP_TUNNEL`](crate::app::location::HTTP_TUNNEL)).
//!
//! # Limits ([`HttpConfig`])
//!
//! Header block size and count, body inspection depth, decompressed size
//! and ratio, decoding layers, multipart parts, pipelined requests. Each
//! one hit is named in [`HttpTx::limits_hit`](crate::app::HttpTx) (e.g.
//! `header_size`, `body_depth`, `decompress_ratio`); framing continues so
//! the next message is still found.
//!
//! # Evasions handled
//!
//! - Bare LF line ends everywhere; blank lines between messages.
//! - Header folding, whitespace around names and values, mixed case,
//!   duplicate headers (first `Host`/`Content-Type` wins; differing
//!   `Content-Length`s are noted as `bad_content_length`).
//! - `Transfer-Encoding: chunked` wins over `Content-Length`; chunk sizes
//!   with `0x`, leading whitespace, extensions or trailing junk; missing
//!   CRLF after chunk data; trailers.
//! - `gzip`/`x-gzip` (multi-member), `deflate` (zlib or raw, sniffed), `br`,
//!   `zstd`, in `Transfer-Encoding` and `Content-Encoding`, stacked up to
//!   [`HttpConfig::max_layers`]; a coding that is a lie (plain bytes) is
//!   passed through as lenient clients show it.
//! - Readings real clients disagree on (checked against curl, urllib3,
//!   requests, http.client and Chromium in `pcaps/http_evasion.pcap`) are
//!   accepted and named in `limits_hit`: `lenient_chunk_size`,
//!   `truncated_chunked`, `header_folding`, `header_name_space`,
//!   `bad_content_length`.
//! - Gaps: inside a body of known length the parser skips the lost bytes
//!   (stopping decompression, which cannot continue); elsewhere it looks
//!   for the next plausible request or status line (`Resync`).
//!
//! No input panics; memory per flow is bounded by the limits above plus
//! fixed decoder buffers.

mod body;
pub mod decode;
mod file;
mod multipart;
pub mod parser;
mod state;
pub mod text;

use self::state::HttpState;
use crate::app::{proto_name, AppParser, ContentSink};
use crate::flow::Direction;

/// Limits of the HTTP decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Largest start line plus header block, bytes.
    pub max_header_bytes: usize,
    /// Header lines read per message.
    pub max_headers: usize,
    /// Decoded body bytes inspected per message.
    pub body_depth: u64,
    /// Decompressed bytes per body before decoding stops.
    pub max_decompressed: u64,
    /// Largest decompressed/compressed ratio, checked past `ratio_floor`.
    pub max_ratio: u64,
    /// Decompressed bytes below which the ratio is not checked.
    pub ratio_floor: u64,
    /// Stacked content/transfer codings decoded.
    pub max_layers: usize,
    /// Multipart parts recorded per body.
    pub max_parts: usize,
    /// Requests waiting for their response (pipelining).
    pub max_pipeline: usize,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            max_header_bytes: 64 * 1024,
            max_headers: 256,
            body_depth: 4 << 20,
            max_decompressed: 16 << 20,
            max_ratio: 1000,
            ratio_floor: 1 << 20,
            max_layers: 2,
            max_parts: 64,
            max_pipeline: 64,
        }
    }
}

/// The HTTP/1.x [`AppParser`] of one flow.
pub struct HttpParser {
    state: HttpState,
}

impl HttpParser {
    /// A parser with `cfg`.
    pub fn new(cfg: HttpConfig) -> HttpParser {
        HttpParser {
            state: HttpState::new(cfg),
        }
    }
}

impl Default for HttpParser {
    fn default() -> HttpParser {
        HttpParser::new(HttpConfig::default())
    }
}

impl AppParser for HttpParser {
    fn name(&self) -> &'static str {
        proto_name::HTTP
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        self.state.on_data(dir, data, sink);
    }

    fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn ContentSink) {
        self.state.on_gap(dir, len, sink);
    }

    fn on_close(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        self.state.on_close(dir, sink);
    }
}
