//! Per-flow HTTP/1.x state machine (both directions).
//!
//! Each direction is a [`Half`] cycling `Head` (start line and headers,
//! accumulated in one bounded, reused buffer) -> `Body` -> `Head`. Requests
//! queue their metadata (bounded) so each response knows its method
//! (pipelining; `HEAD` responses have no body). `Resync` skips bytes after
//! a gap or garbage until a plausible start line; `Tunnel` passes bytes raw
//! after `101` or a successful `CONNECT`.

use std::collections::VecDeque;

use super::body::{Body, BodyLimits, Chunk, Framing, Kind};
use super::decode::{ChainLimits, Coding};
use super::multipart::Multipart;
use super::parser::{
    header_param, media_type, parse_content_length, parse_request_line, parse_status_line, trim_cr,
    Headers,
};
use super::text::{Charset, JsonUnescape, Percent};
use super::HttpConfig;
use crate::app::{location as loc, ContentSink, HttpTx, TxMeta};
use crate::detect::normalize::{Chain, Step};
use crate::flow::Direction;
use base64::Engine as _;

/// Longest partial line kept while resynchronising.
const MAX_RESYNC_LINE: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Body,
    Resync,
    Tunnel,
}

/// One direction of the flow.
struct Half {
    phase: Phase,
    buf: Vec<u8>,
    line_start: usize,
    header_lines: usize,
    tx: HttpTx,
    body: Option<Box<Body>>,
}

impl Half {
    fn new() -> Half {
        Half {
            phase: Phase::Head,
            buf: Vec::new(),
            line_start: 0,
            header_lines: 0,
            tx: HttpTx::default(),
            body: None,
        }
    }

    fn reset_head(&mut self, phase: Phase) {
        self.buf.clear();
        self.line_start = 0;
        self.header_lines = 0;
        self.phase = phase;
    }

    fn note(&mut self, limit: &'static str) {
        if !self.tx.limits_hit.contains(&limit) {
            self.tx.limits_hit.push(limit);
        }
    }
}

/// What the headers of one message say about its body.
#[derive(Default)]
struct HeadInfo {
    content_length: Option<u64>,
    bad_length: bool,
    te: Vec<Coding>,
    te_present: bool,
    chunked: bool,
    ce: Vec<Coding>,
    content_type: Vec<u8>,
    /// `Content-Disposition` (first), for files.
    disposition: Vec<u8>,
}

/// The HTTP/1.x parser of one flow.
pub struct HttpState {
    cfg: HttpConfig,
    halves: [Half; 2],
    pending: VecDeque<HttpTx>,
}

impl HttpState {
    /// A parser with `cfg`.
    pub fn new(cfg: HttpConfig) -> HttpState {
        HttpState {
            cfg,
            halves: [Half::new(), Half::new()],
            pending: VecDeque::new(),
        }
    }

    /// In-order bytes of `dir`.
    pub fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) {
        let mut rest = data;
        let mut stalls = 0;
        while !rest.is_empty() {
            let before = self.half(dir).phase;
            let used = match before {
                Phase::Head => self.head(dir, rest, sink),
                Phase::Body => self.body(dir, rest, sink),
                Phase::Resync => self.resync(dir, rest),
                Phase::Tunnel => {
                    sink.on_content(dir, loc::HTTP_TUNNEL, rest);
                    rest.len()
                }
            };
            // Guard against a state that neither consumes nor moves on.
            stalls = if used == 0 && self.half(dir).phase == before {
                stalls + 1
            } else {
                0
            };
            let used = if stalls > 1 { 1 } else { used };
            rest = rest.get(used..).unwrap_or_default();
        }
    }

    /// `len` bytes of `dir` lost.
    pub fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn ContentSink) {
        let h = self.half_mut(dir);
        match h.phase {
            Phase::Body => {
                let absorbed = h.body.as_mut().is_some_and(|b| b.gap(len, dir, sink));
                if !absorbed {
                    self.finish_message(dir, sink);
                    self.half_mut(dir).reset_head(Phase::Resync);
                }
            }
            Phase::Tunnel => sink.end_content(dir),
            _ => h.reset_head(Phase::Resync),
        }
    }

    /// `dir` closed: a body delimited by the close (or cut short) ends.
    pub fn on_close(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        match self.half(dir).phase {
            Phase::Body => self.finish_message(dir, sink),
            Phase::Tunnel => sink.end_content(dir),
            _ => {}
        }
        self.half_mut(dir).reset_head(Phase::Resync);
    }

    fn half(&self, dir: Direction) -> &Half {
        &self.halves[dir.index()]
    }

    fn half_mut(&mut self, dir: Direction) -> &mut Half {
        &mut self.halves[dir.index()]
    }

    /// Accumulates the start line and headers; returns bytes used.
    fn head(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) -> usize {
        let max = self.cfg.max_header_bytes;
        let h = self.half_mut(dir);
        let mut used = 0;
        while let Some(i) = memchr::memchr(b'\n', data.get(used..).unwrap_or_default()) {
            let seg = data.get(used..used + i + 1).unwrap_or_default();
            used += i + 1;
            if h.buf.len() + seg.len() > max {
                h.note("header_size");
                h.reset_head(Phase::Resync);
                return used;
            }
            h.buf.extend_from_slice(seg);
            let line = trim_cr(h.buf.get(h.line_start..).unwrap_or_default());
            if h.line_start == 0 {
                if line.is_empty() {
                    h.buf.clear();
                } else if !is_start_line(dir, line, false) {
                    h.reset_head(Phase::Resync);
                    return used;
                } else {
                    h.line_start = h.buf.len();
                }
                continue;
            }
            if line.is_empty() {
                self.headers_done(dir, sink);
                return used;
            }
            h.header_lines += 1;
            h.line_start = h.buf.len();
        }
        let rest = data.get(used..).unwrap_or_default();
        if h.buf.len() + rest.len() > max {
            h.note("header_size");
            h.reset_head(Phase::Resync);
        } else {
            h.buf.extend_from_slice(rest);
        }
        data.len()
    }

    /// Looks for a start line after a gap or garbage; returns bytes used.
    fn resync(&mut self, dir: Direction, data: &[u8]) -> usize {
        let h = self.half_mut(dir);
        let mut used = 0;
        while let Some(i) = memchr::memchr(b'\n', data.get(used..).unwrap_or_default()) {
            let seg = data.get(used..used + i + 1).unwrap_or_default();
            used += i + 1;
            if h.buf.len() + seg.len() <= MAX_RESYNC_LINE {
                h.buf.extend_from_slice(seg);
                if is_start_line(dir, trim_cr(&h.buf), true) {
                    h.line_start = h.buf.len();
                    h.header_lines = 0;
                    h.phase = Phase::Head;
                    return used;
                }
            }
            h.buf.clear();
        }
        let rest = data.get(used..).unwrap_or_default();
        if h.buf.len() + rest.len() <= MAX_RESYNC_LINE {
            h.buf.extend_from_slice(rest);
        } else {
            h.buf.clear();
        }
        data.len()
    }

    fn body(&mut self, dir: Direction, data: &[u8], sink: &mut dyn ContentSink) -> usize {
        let h = self.half_mut(dir);
        let Some(body) = h.body.as_mut() else {
            h.reset_head(Phase::Head);
            return 0;
        };
        let (used, done) = body.push(data, dir, sink);
        if done {
            self.finish_message(dir, sink);
        }
        used
    }

    /// A complete header block is in the buffer.
    fn headers_done(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        let max_headers = self.cfg.max_headers;
        let h = self.half_mut(dir);
        let buf = std::mem::take(&mut h.buf);
        let first_end = memchr::memchr(b'\n', &buf).map_or(buf.len(), |i| i + 1);
        let (first, block) = buf.split_at(first_end);
        if h.header_lines > max_headers {
            h.note("header_count");
        }
        match dir {
            Direction::ToServer => self.request_head(first, block, sink),
            Direction::ToClient => self.response_head(first, block, sink),
        }
        let h = self.half_mut(dir);
        h.buf = buf;
        h.buf.clear();
        h.line_start = 0;
        h.header_lines = 0;
    }

    fn request_head(&mut self, first: &[u8], block: &[u8], sink: &mut dyn ContentSink) {
        let limit = self.cfg.max_headers;
        let headers = || Headers::new(block).take(limit);
        let dir = Direction::ToServer;
        let Some(rl) = parse_request_line(first, false) else {
            return;
        };
        let h = self.half_mut(dir);
        h.tx.method = Some(String::from_utf8_lossy(rl.method).into_owned());
        h.tx.url = Some(rl.target.to_vec());
        emit_uri(rl.target, sink);
        let info = collect(headers(), &mut h.tx, dir);
        emit_headers(headers(), dir, loc::HTTP_REQUEST_HEADERS, sink);
        let framing = if info.te_present && info.chunked {
            Some(Framing::Chunked(Chunk::Size))
        } else {
            info.content_length.filter(|&n| n > 0).map(Framing::Length)
        };
        self.start_body(dir, framing, &info, sink);
    }

    fn response_head(&mut self, first: &[u8], block: &[u8], sink: &mut dyn ContentSink) {
        let limit = self.cfg.max_headers;
        let headers = || Headers::new(block).take(limit);
        let dir = Direction::ToClient;
        let Some(sl) = parse_status_line(first) else {
            return;
        };
        if (100..200).contains(&sl.status) && sl.status != 101 {
            // Interim response (100 Continue, 103 Early Hints): skipped.
            return;
        }
        let req = self.pending.pop_front().unwrap_or_default();
        let method = req.method.clone().unwrap_or_default();
        let h = self.half_mut(dir);
        h.tx = HttpTx {
            hostname: req.hostname,
            url: req.url,
            method: req.method,
            user_agent: req.user_agent,
            request_content_type: req.request_content_type,
            status: Some(sl.status),
            ..HttpTx::default()
        };
        let info = collect(headers(), &mut h.tx, dir);
        emit_headers(headers(), dir, loc::HTTP_RESPONSE_HEADERS, sink);
        let tunnel = sl.status == 101 || (method == "CONNECT" && (200..300).contains(&sl.status));
        let no_body =
            method == "HEAD" || sl.status == 204 || sl.status == 304 || sl.status < 200 || tunnel;
        let framing = if no_body {
            None
        } else if info.te_present && info.chunked {
            Some(Framing::Chunked(Chunk::Size))
        } else if let (Some(n), false) = (info.content_length, info.te_present) {
            (n > 0).then_some(Framing::Length(n))
        } else {
            Some(Framing::UntilClose)
        };
        self.start_body(dir, framing, &info, sink);
        if tunnel {
            for h in &mut self.halves {
                h.reset_head(Phase::Tunnel);
            }
        }
    }

    fn start_body(
        &mut self,
        dir: Direction,
        framing: Option<Framing>,
        info: &HeadInfo,
        sink: &mut dyn ContentSink,
    ) {
        let Some(framing) = framing else {
            self.finish_message(dir, sink);
            return;
        };
        let cfg = self.cfg;
        let h = self.half_mut(dir);
        let mut codings: Vec<Coding> = info
            .te
            .iter()
            .rev()
            .chain(info.ce.iter().rev())
            .copied()
            .collect();
        if codings.len() > cfg.max_layers {
            codings.truncate(cfg.max_layers);
            h.note("decode_layers");
        }
        if info.bad_length {
            h.note("bad_content_length");
        }
        let ct = info.content_type.as_slice();
        let mut mt_buf = [0u8; 64];
        let mt = media_type(ct, &mut mt_buf);
        let length = match framing {
            Framing::Length(n) if codings.is_empty() => Some(n),
            _ => None,
        };
        let file = match mt.starts_with(b"multipart/") {
            true => None,
            false => super::file::body_file(mt, ct, &info.disposition, length),
        };
        // A file's bytes go on as they are (no form/JSON/charset decoding).
        let (kind, charset) = match &file {
            Some(_) => (Kind::Plain, Some(&b"utf-8"[..])),
            None => (body_kind(mt, ct), header_param(ct, b"charset")),
        };
        let location = match dir {
            Direction::ToServer => loc::HTTP_REQUEST_BODY,
            Direction::ToClient => loc::HTTP_RESPONSE_BODY,
        };
        let limits = BodyLimits {
            depth: cfg.body_depth,
            chain: ChainLimits {
                max_output: cfg.max_decompressed,
                max_ratio: cfg.max_ratio,
                ratio_floor: cfg.ratio_floor,
            },
            max_parts: cfg.max_parts,
        };
        let body = Body::new(framing, &codings, kind, charset, location, limits);
        h.body = Some(Box::new(body));
        h.phase = Phase::Body;
        if let Some(f) = file {
            sink.begin_file(dir, &f);
        }
    }

    /// The message of `dir` is complete (or cut short): end its content and
    /// its part of the transaction.
    fn finish_message(&mut self, dir: Direction, sink: &mut dyn ContentSink) {
        let max_pipeline = self.cfg.max_pipeline;
        let h = self.half_mut(dir);
        if let Some(body) = h.body.take() {
            let (parts, limits) = body.finish(dir, sink);
            h.tx.parts = parts;
            for l in limits {
                h.note(l);
            }
        }
        if h.phase != Phase::Tunnel {
            h.phase = Phase::Head;
        }
        let tx = std::mem::take(&mut h.tx);
        sink.end_transaction(dir, &TxMeta::Http(tx.clone()));
        if dir == Direction::ToServer {
            if self.pending.len() >= max_pipeline {
                self.pending.pop_front();
            }
            self.pending.push_back(HttpTx {
                limits_hit: Vec::new(),
                parts: Vec::new(),
                ..tx
            });
        }
    }
}

fn is_start_line(dir: Direction, line: &[u8], known_only: bool) -> bool {
    match dir {
        Direction::ToServer => parse_request_line(line, known_only).is_some(),
        Direction::ToClient => parse_status_line(line).is_some(),
    }
}

fn body_kind(mt: &[u8], ct: &[u8]) -> Kind {
    if mt == b"application/x-www-form-urlencoded" {
        Kind::Form(Percent::new(true))
    } else if mt.ends_with(b"json") {
        Kind::Json(JsonUnescape::default())
    } else if mt.starts_with(b"multipart/") {
        match header_param(ct, b"boundary") {
            Some(b) if !b.is_empty() && b.len() <= 200 => {
                Kind::Multipart(Box::new(Multipart::new(b)))
            }
            _ => Kind::Plain,
        }
    } else {
        Kind::Plain
    }
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Reads the headers that shape the body and the transaction metadata.
fn collect<'b>(
    headers: impl Iterator<Item = super::parser::Header<'b>>,
    tx: &mut HttpTx,
    dir: Direction,
) -> HeadInfo {
    let mut info = HeadInfo::default();
    for h in headers {
        let n = h.name;
        // Quirks some clients reject and others accept: noted on the event.
        for (odd, note) in [
            (h.folded, "header_folding"),
            (h.spaced, "header_name_space"),
        ] {
            if odd && !tx.limits_hit.contains(&note) {
                tx.limits_hit.push(note);
            }
        }
        if n.eq_ignore_ascii_case(b"content-length") {
            if h.value.is_empty() {
                // The value may follow on a folded line.
                continue;
            }
            match (info.content_length, parse_content_length(h.value)) {
                (None, Some(v)) if !info.bad_length => info.content_length = Some(v),
                (Some(a), Some(b)) if a == b => {}
                _ => {
                    info.bad_length = true;
                    info.content_length = None;
                }
            }
        } else if n.eq_ignore_ascii_case(b"transfer-encoding") {
            info.te_present = true;
            for tok in h.value.split(|&b| b == b',') {
                let tok = tok.trim_ascii();
                // `chunked` must be the final coding to delimit the body.
                info.chunked = tok.eq_ignore_ascii_case(b"chunked");
                info.te.extend(Coding::from_token(tok));
            }
        } else if n.eq_ignore_ascii_case(b"content-encoding") {
            info.ce
                .extend(h.value.split(|&b| b == b',').filter_map(Coding::from_token));
        } else if n.eq_ignore_ascii_case(b"content-type") && info.content_type.is_empty() {
            info.content_type = h.value.to_vec();
            let ct = Some(lossy(h.value));
            match dir {
                Direction::ToServer => tx.request_content_type = ct,
                Direction::ToClient => tx.response_content_type = ct,
            }
        } else if n.eq_ignore_ascii_case(b"content-disposition") && info.disposition.is_empty() {
            info.disposition = h.value.to_vec();
        } else if n.eq_ignore_ascii_case(b"host") && tx.hostname.is_none() {
            tx.hostname = Some(lossy(h.value));
        } else if n.eq_ignore_ascii_case(b"user-agent") && tx.user_agent.is_none() {
            tx.user_agent = Some(lossy(h.value));
        }
    }
    if info.te_present && info.content_length.is_some() {
        // Transfer-Encoding wins over Content-Length (RFC 9112 6.3).
        info.bad_length = true;
    }
    info
}

/// The URI as an application sees it: path percent-decoded, query also
/// with `+` as space; charset sniffed (GBK queries).
fn emit_uri(target: &[u8], sink: &mut dyn ContentSink) {
    let dir = Direction::ToServer;
    let mut cs = Charset::new(None);
    let ch = Chain::EMPTY.with(Step::Urlencoded);
    let mut out = |d: &[u8]| cs.push(d, &mut |e| sink.on_content_chain(dir, loc::HTTP_URI, ch, e));
    let (path, query) = match memchr::memchr(b'?', target) {
        Some(i) => (target.get(..i).unwrap_or_default(), target.get(i..)),
        None => (target, None),
    };
    let mut p = Percent::new(false);
    p.push(path, &mut out);
    p.flush(&mut out);
    if let Some(q) = query {
        let mut p = Percent::new(true);
        p.push(q, &mut out);
        p.flush(&mut out);
    }
    cs.flush(&mut |e| sink.on_content_chain(dir, loc::HTTP_URI, ch, e));
    sink.end_content(dir);
}

fn is_cookie(n: &[u8]) -> bool {
    n.eq_ignore_ascii_case(b"cookie")
}

fn is_auth(n: &[u8]) -> bool {
    n.eq_ignore_ascii_case(b"authorization") || n.eq_ignore_ascii_case(b"proxy-authorization")
}

thread_local! {
    /// A header block joined for the detectors (see `emit_headers`).
    static HEADER_BLOCK: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Largest header-block buffer kept between messages (bytes).
const HEADER_BLOCK_KEEP: usize = 64 * 1024;

/// Header lines as one content item (`Name: value` per line); request
/// cookies and credentials each as their own decoded item after it.
fn emit_headers<'b>(
    headers: impl Iterator<Item = super::parser::Header<'b>> + Clone,
    dir: Direction,
    location: &'static str,
    sink: &mut dyn ContentSink,
) {
    let special = |n: &[u8]| dir == Direction::ToServer && (is_cookie(n) || is_auth(n));
    // The block goes to the detectors in one piece: four calls per header
    // cost more than the copy into a per-thread buffer.
    HEADER_BLOCK.with_borrow_mut(|buf| {
        buf.clear();
        for h in headers.clone().filter(|h| !special(h.name)) {
            for piece in [h.name, b": ", h.value, b"\n"] {
                buf.extend_from_slice(piece);
            }
        }
        if !buf.is_empty() {
            sink.on_content(dir, location, buf);
        }
        if buf.capacity() > HEADER_BLOCK_KEEP {
            *buf = Vec::new();
        }
    });
    sink.end_content(dir);
    for h in headers.filter(|h| special(h.name)) {
        if is_cookie(h.name) {
            let ch = Chain::EMPTY.with(Step::Urlencoded);
            let mut p = Percent::new(false);
            p.push(h.value, &mut |d| {
                sink.on_content_chain(dir, loc::HTTP_COOKIE, ch, d)
            });
            p.flush(&mut |d| sink.on_content_chain(dir, loc::HTTP_COOKIE, ch, d));
        } else {
            emit_auth(h.value, sink);
        }
        sink.end_content(dir);
    }
}

fn emit_auth(value: &[u8], sink: &mut dyn ContentSink) {
    let dir = Direction::ToServer;
    let (scheme, cred) =
        value.split_at(value.iter().position(|&b| b == b' ').unwrap_or(value.len()));
    let cred = cred.trim_ascii();
    if scheme.eq_ignore_ascii_case(b"basic") {
        let cfg = base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true);
        let eng = base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, cfg);
        if let Ok(plain) = eng.decode(cred) {
            let ch = Chain::EMPTY.with(Step::Base64);
            sink.on_content_chain(dir, loc::HTTP_AUTHORIZATION, ch, b"Basic ");
            sink.on_content_chain(dir, loc::HTTP_AUTHORIZATION, ch, &plain);
            return;
        }
    }
    sink.on_content(dir, loc::HTTP_AUTHORIZATION, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Sink {
        content: Vec<(Direction, &'static str, Vec<u8>)>,
        txs: Vec<(Direction, HttpTx)>,
    }

    impl ContentSink for Sink {
        fn on_content(&mut self, dir: Direction, location: &'static str, data: &[u8]) {
            match self.content.last_mut() {
                Some((d, l, v)) if *d == dir && *l == location => v.extend_from_slice(data),
                _ => self.content.push((dir, location, data.to_vec())),
            }
        }
        fn end_content(&mut self, _dir: Direction) {}
        fn end_transaction(&mut self, dir: Direction, meta: &TxMeta) {
            let TxMeta::Http(tx) = meta else {
                return;
            };
            self.txs.push((dir, tx.clone()));
        }
    }

    fn body_of(s: &Sink, location: &str) -> Vec<Vec<u8>> {
        s.content
            .iter()
            .filter(|c| c.1 == location)
            .map(|c| c.2.clone())
            .collect()
    }

    #[test]
    fn oversized_header_block_resyncs_to_next_request() {
        let cfg = HttpConfig {
            max_header_bytes: 256,
            ..HttpConfig::default()
        };
        let mut st = HttpState::new(cfg);
        let mut s = Sink::default();
        let mut req = b"GET /big HTTP/1.1\r\nX-Big: ".to_vec();
        req.extend(std::iter::repeat_n(b'a', 1000));
        req.extend_from_slice(b"\r\n\r\nGET /next HTTP/1.1\r\nHost: n\r\n\r\n");
        st.on_data(Direction::ToServer, &req, &mut s);
        assert_eq!(body_of(&s, loc::HTTP_URI), vec![b"/next".to_vec()]);
        assert_eq!(s.txs.len(), 1);
        assert_eq!(s.txs[0].1.limits_hit, vec!["header_size"]);
    }

    #[test]
    fn gap_inside_known_length_body_keeps_framing() {
        let mut st = HttpState::new(HttpConfig::default());
        let mut s = Sink::default();
        st.on_data(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", &mut s);
        st.on_data(
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            &mut s,
        );
        st.on_gap(Direction::ToClient, 4, &mut s);
        st.on_data(Direction::ToClient, b"xyzHTTP/1.1 204 No\r\n\r\n", &mut s);
        assert_eq!(
            body_of(&s, loc::HTTP_RESPONSE_BODY),
            vec![b"abcxyz".to_vec()]
        );
        let statuses: Vec<_> = s.txs.iter().filter_map(|t| t.1.status).collect();
        assert_eq!(statuses, vec![200, 204]);
    }

    #[test]
    fn upgrade_switches_to_tunnel() {
        let mut st = HttpState::new(HttpConfig::default());
        let mut s = Sink::default();
        st.on_data(
            Direction::ToServer,
            b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            &mut s,
        );
        st.on_data(
            Direction::ToClient,
            b"HTTP/1.1 101 Switching\r\n\r\n\x81\x05hello",
            &mut s,
        );
        st.on_data(Direction::ToServer, b"raw", &mut s);
        assert_eq!(
            body_of(&s, loc::HTTP_TUNNEL),
            vec![b"\x81\x05hello".to_vec(), b"raw".to_vec()]
        );
    }

    #[test]
    fn lenient_readings_are_noted() {
        let mut st = HttpState::new(HttpConfig::default());
        let mut s = Sink::default();
        st.on_data(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", &mut s);
        st.on_data(
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding :\r\n chunked\r\n\r\n0x3\r\nabc\r\n",
            &mut s,
        );
        st.on_close(Direction::ToClient, &mut s);
        assert_eq!(body_of(&s, loc::HTTP_RESPONSE_BODY), vec![b"abc".to_vec()]);
        let resp = &s.txs.last().expect("response").1;
        assert_eq!(
            resp.limits_hit,
            vec![
                "header_name_space",
                "header_folding",
                "lenient_chunk_size",
                "truncated_chunked"
            ]
        );
        // Strict framing: no note.
        let mut st = HttpState::new(HttpConfig::default());
        let mut s = Sink::default();
        st.on_data(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", &mut s);
        st.on_data(
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\n\r\n",
            &mut s,
        );
        assert!(s.txs.last().expect("response").1.limits_hit.is_empty());
    }

    #[test]
    fn pipeline_queue_is_bounded() {
        let cfg = HttpConfig {
            max_pipeline: 4,
            ..HttpConfig::default()
        };
        let mut st = HttpState::new(cfg);
        let mut s = Sink::default();
        for _ in 0..100 {
            st.on_data(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", &mut s);
        }
        assert_eq!(st.pending.len(), 4);
    }
}
