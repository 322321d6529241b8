//! Pure, incremental HTTP/1.x parse functions: lines, request and status
//! lines, header blocks (with folding), chunk sizes, lengths and header
//! parameters. Nothing here mutates state or allocates; the state machine
//! in `state.rs` drives them.
//!
//! Lenient the way browsers are: bare LF line ends, tabs and repeated
//! spaces between tokens, whitespace around header names, obsolete line
//! folding, chunk sizes followed by junk.

/// Result of looking for one line.
#[derive(Debug, PartialEq, Eq)]
pub enum LineResult<'a> {
    /// A line without its line end, and the bytes it used up.
    Complete {
        /// The line, without `\r\n` / `\n`.
        line: &'a [u8],
        /// Bytes consumed including the line end.
        consumed: usize,
    },
    /// No line end yet; at least `needed` more bytes are required.
    Incomplete {
        /// Minimum bytes still needed.
        needed: usize,
    },
    /// No line end within `max` bytes.
    TooLong,
}

/// Finds the first line of `buf` (LF-terminated; a CR before the LF is
/// dropped), bounded by `max` bytes.
pub fn parse_line(buf: &[u8], max: usize) -> LineResult<'_> {
    match memchr::memchr(b'\n', buf) {
        Some(i) if i <= max => LineResult::Complete {
            line: trim_cr(buf.get(..i).unwrap_or_default()),
            consumed: i + 1,
        },
        Some(_) => LineResult::TooLong,
        None if buf.len() > max => LineResult::TooLong,
        None => LineResult::Incomplete { needed: 1 },
    }
}

/// `line` without one trailing CR (and LF).
pub fn trim_cr(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestLine<'a> {
    /// Method token.
    pub method: &'a [u8],
    /// Request target as sent.
    pub target: &'a [u8],
    /// `HTTP/1.x` version token.
    pub version: &'a [u8],
}

/// A parsed status line.
#[derive(Debug, PartialEq, Eq)]
pub struct StatusLine<'a> {
    /// `HTTP/1.x` version token.
    pub version: &'a [u8],
    /// Status code.
    pub status: u16,
}

/// Methods recognised when detecting the protocol or resynchronising
/// (HTTP/1.1, PATCH, WebDAV and a few common extensions).
pub const KNOWN_METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"TRACE",
    b"CONNECT",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MKCALENDAR",
    b"CHECKOUT",
    b"MERGE",
    b"ACL",
    b"BIND",
    b"UNBIND",
    b"PURGE",
];

/// Whether `m` is one of [`KNOWN_METHODS`].
pub fn is_known_method(m: &[u8]) -> bool {
    KNOWN_METHODS.contains(&m)
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Splits off the first whitespace-delimited token (leading whitespace
/// skipped); returns the token and the rest.
fn token(s: &[u8]) -> (&[u8], &[u8]) {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    let s = s.get(start..).unwrap_or_default();
    let end = s.iter().position(|&b| is_ws(b)).unwrap_or(s.len());
    (
        s.get(..end).unwrap_or_default(),
        s.get(end..).unwrap_or_default(),
    )
}

fn is_http_version(v: &[u8]) -> bool {
    v.len() >= 6
        && v.get(..5).is_some_and(|p| p == b"HTTP/")
        && v.get(5).is_some_and(u8::is_ascii_digit)
}

/// Parses `METHOD SP target SP HTTP/x.y` (any whitespace runs). With
/// `known_only`, the method must be one of [`KNOWN_METHODS`]; otherwise any
/// uppercase token (letters, `-`, `_`) of up to 32 bytes is accepted.
pub fn parse_request_line(line: &[u8], known_only: bool) -> Option<RequestLine<'_>> {
    let (method, rest) = token(trim_cr(line));
    let (target, rest) = token(rest);
    let (version, rest) = token(rest);
    let method_ok = if known_only {
        is_known_method(method)
    } else {
        !method.is_empty()
            && method.len() <= 32
            && method
                .iter()
                .all(|&b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
    };
    let ok =
        method_ok && !target.is_empty() && is_http_version(version) && token(rest).0.is_empty();
    ok.then_some(RequestLine {
        method,
        target,
        version,
    })
}

/// Parses `HTTP/x.y SP NNN [SP reason]`.
pub fn parse_status_line(line: &[u8]) -> Option<StatusLine<'_>> {
    let (version, rest) = token(trim_cr(line));
    let (code, _) = token(rest);
    if !is_http_version(version) || code.len() != 3 {
        return None;
    }
    let status = parse_decimal(code)?;
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (100..=999).contains(s))?;
    Some(StatusLine { version, status })
}

fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

/// One header line of a block; a folded continuation line comes back with
/// the previous header's name and `folded` set.
#[derive(Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Name, whitespace-trimmed, case as sent.
    pub name: &'a [u8],
    /// Value, whitespace-trimmed.
    pub value: &'a [u8],
    /// A continuation of the previous header (obsolete line folding).
    pub folded: bool,
    /// Whitespace between the name and the colon (RFC 9112 forbids it;
    /// browsers differ on it).
    pub spaced: bool,
}

/// Iterates the header lines of a block (the lines after the start line,
/// up to the empty line). Lines without a colon are skipped, as browsers do.
#[derive(Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
    last_name: &'a [u8],
}

impl<'a> Headers<'a> {
    /// Headers of `block` (the bytes after the start line).
    pub fn new(block: &'a [u8]) -> Headers<'a> {
        Headers {
            rest: block,
            last_name: b"",
        }
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let end = memchr::memchr(b'\n', self.rest).map_or(self.rest.len(), |i| i + 1);
            let (line, rest) = self.rest.split_at(end);
            self.rest = rest;
            let line = trim_cr(line);
            if line.is_empty() {
                self.rest = b"";
                return None;
            }
            if line.first().is_some_and(|&b| is_ws(b)) {
                if self.last_name.is_empty() {
                    continue;
                }
                return Some(Header {
                    name: self.last_name,
                    value: line.trim_ascii(),
                    folded: true,
                    spaced: false,
                });
            }
            let Some(colon) = memchr::memchr(b':', line) else {
                continue;
            };
            let (raw, value) = line.split_at(colon);
            let name = raw.trim_ascii();
            if name.is_empty() {
                continue;
            }
            self.last_name = name;
            return Some(Header {
                name,
                value: value.get(1..).unwrap_or_default().trim_ascii(),
                folded: false,
                spaced: raw.last().is_some_and(|&b| is_ws(b)),
            });
        }
    }
}

/// Parses a chunk-size line leniently, like the most forgiving browsers:
/// leading whitespace, an optional `0x`, hex digits, then anything
/// (extensions, whitespace, junk) ignored. `None` without a digit or on
/// overflow.
pub fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let s = line.trim_ascii_start();
    let s = s
        .strip_prefix(b"0x")
        .or_else(|| s.strip_prefix(b"0X"))
        .unwrap_or(s);
    let n = s.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if n == 0 || n > 16 {
        return None;
    }
    let mut v = 0u64;
    for &b in s.get(..n)? {
        let d = (b as char).to_digit(16)?;
        v = v.checked_mul(16)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Whether a chunk-size line is strict RFC 9112 syntax: hex digits, then
/// nothing or `;` extensions. Lines [`parse_chunk_size`] accepts beyond
/// that (whitespace, `0x`, junk) are read by some clients and rejected by
/// others (Chromium), so the sensor notes them.
pub fn is_strict_chunk_size(line: &[u8]) -> bool {
    let n = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    n > 0 && matches!(line.get(n), None | Some(b';'))
}

/// Parses a `Content-Length` value; a list of identical values (`5, 5`)
/// counts as one, differing values or junk are `None`.
pub fn parse_content_length(v: &[u8]) -> Option<u64> {
    let mut out = None;
    for part in v.split(|&b| b == b',') {
        let n = parse_decimal(part.trim_ascii())?;
        if out.is_some_and(|o| o != n) {
            return None;
        }
        out = Some(n);
    }
    out
}

/// Value of parameter `key` (case-insensitive) in a header value such as
/// `text/html; charset="gbk"` or `form-data; name="a"; filename="b.txt"`,
/// quotes removed.
pub fn header_param<'a>(value: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut parts = value.split(|&b| b == b';');
    parts.next();
    for p in parts {
        let Some(eq) = memchr::memchr(b'=', p) else {
            continue;
        };
        let (k, v) = p.split_at(eq);
        if k.trim_ascii().eq_ignore_ascii_case(key) {
            let v = v.get(1..).unwrap_or_default().trim_ascii();
            let v = v
                .strip_prefix(b"\"")
                .map_or(v, |x| x.strip_suffix(b"\"").unwrap_or(x));
            return Some(v);
        }
    }
    None
}

/// The media type of a `Content-Type` value, lowercased into `out`.
pub fn media_type<'a>(value: &[u8], out: &'a mut [u8; 64]) -> &'a [u8] {
    let mt = value
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let n = mt.len().min(out.len());
    for (o, b) in out.iter_mut().zip(mt.iter()) {
        *o = b.to_ascii_lowercase();
    }
    out.get(..n).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_lines() {
        let r = parse_request_line(b"GET  /a?b=1\tHTTP/1.1\r", true);
        assert_eq!(
            r,
            Some(RequestLine {
                method: b"GET",
                target: b"/a?b=1",
                version: b"HTTP/1.1"
            })
        );
        assert!(parse_request_line(b"PROPFIND / HTTP/1.1", true).is_some());
        assert!(parse_request_line(b"FOO / HTTP/1.1", true).is_none());
        assert!(parse_request_line(b"FOO / HTTP/1.1", false).is_some());
        assert!(parse_request_line(b"GET /", true).is_none());
        assert!(parse_request_line(b"GET / HTTP/1.1 extra", true).is_none());
        assert!(parse_request_line(b"get / HTTP/1.1", false).is_none());
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status_line(b"HTTP/1.1 200 OK").map(|s| s.status),
            Some(200)
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.0 404").map(|s| s.status),
            Some(404)
        );
        assert!(parse_status_line(b"HTTP/1.1 20 OK").is_none());
        assert!(parse_status_line(b"HTTP/1.1 abc").is_none());
        assert!(parse_status_line(b"HTTP/1.1 099 x").is_none());
        assert!(parse_status_line(b"ICY 200 OK").is_none());
    }

    #[test]
    fn lines() {
        assert_eq!(
            parse_line(b"ab\r\ncd", 10),
            LineResult::Complete {
                line: b"ab",
                consumed: 4
            }
        );
        assert_eq!(
            parse_line(b"ab\ncd", 10),
            LineResult::Complete {
                line: b"ab",
                consumed: 3
            }
        );
        assert_eq!(parse_line(b"abc", 10), LineResult::Incomplete { needed: 1 });
        assert_eq!(parse_line(b"abcdef", 3), LineResult::TooLong);
    }

    #[test]
    fn headers_with_folding_and_junk() {
        let block = b"Host: a\r\nX-A: 1\r\n  2\r\nnocolon\r\n Content-Type : text/plain \n\r\nAfter: no\r\n";
        let h: Vec<_> = Headers::new(block)
            .map(|h| (h.name, h.value, h.folded))
            .collect();
        let spaced: Vec<_> = Headers::new(block).map(|h| h.spaced).collect();
        assert_eq!(spaced, vec![false, false, false, false]);
        assert!(Headers::new(b"Transfer-Encoding : chunked\r\n").all(|h| h.spaced));
        assert_eq!(
            h,
            vec![
                (&b"Host"[..], &b"a"[..], false),
                (b"X-A", b"1", false),
                (b"X-A", b"2", true),
                (b"X-A", b"Content-Type : text/plain", true),
            ]
        );
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"1a"), Some(26));
        assert_eq!(parse_chunk_size(b"  5 ; ext=1"), Some(5));
        assert_eq!(parse_chunk_size(b"5junk"), Some(5));
        assert_eq!(parse_chunk_size(b"0x10"), Some(16));
        assert_eq!(parse_chunk_size(b"zz"), None);
        assert_eq!(parse_chunk_size(b"ffffffffffffffffff"), None);
        assert!(is_strict_chunk_size(b"1A"));
        assert!(is_strict_chunk_size(b"0000a;n=v"));
        assert!(!is_strict_chunk_size(b" a"));
        assert!(!is_strict_chunk_size(b"a \t"));
        assert!(!is_strict_chunk_size(b"0xa"));
        assert!(!is_strict_chunk_size(b""));
    }

    #[test]
    fn content_lengths_and_params() {
        assert_eq!(parse_content_length(b" 12 "), Some(12));
        assert_eq!(parse_content_length(b"5, 5"), Some(5));
        assert_eq!(parse_content_length(b"5, 6"), None);
        assert_eq!(parse_content_length(b"-1"), None);
        assert_eq!(
            header_param(b"text/html; Charset=\"GBK\"", b"charset"),
            Some(&b"GBK"[..])
        );
        assert_eq!(
            header_param(b"form-data; name=a; filename=\"b c\"", b"filename"),
            Some(&b"b c"[..])
        );
        let mut buf = [0u8; 64];
        assert_eq!(media_type(b" Text/HTML ; x=1", &mut buf), b"text/html");
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_request_line(&data, false);
            let _ = parse_status_line(&data);
            let _ = parse_chunk_size(&data);
            let _ = parse_content_length(&data);
            let _ = header_param(&data, b"charset");
            prop_assert!(Headers::new(&data).count() <= data.len());
            if let LineResult::Complete { consumed, .. } = parse_line(&data, 64) {
                prop_assert!(consumed <= data.len());
            }
        }
    }
}
