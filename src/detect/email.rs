//! E-mail candidates around an `@`: bounded local part and domain checks.

/// Longest local part (RFC 5321).
pub const MAX_LOCAL: usize = 64;
/// Longest whole address we report (bounds the stream carry).
pub const MAX_EMAIL: usize = 96;

/// Bytes allowed in a local part.
#[inline]
pub fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

#[inline]
fn is_domain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

/// Outcome of looking at one `@`.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailAt {
    /// Not an address.
    No,
    /// The domain may continue past the end of the buffer.
    NeedMore {
        /// Start of the local part.
        local_start: usize,
    },
    /// An address `[start, end)`.
    Yes {
        /// First byte of the local part.
        start: usize,
        /// One past the last byte of the domain.
        end: usize,
    },
}

/// Examines the `@` at `at`. `start_boundary` tells whether the byte before
/// `h[0]` is a boundary; `eof` whether `h` ends the stream.
pub fn at(
    h: &[u8],
    at: usize,
    start_boundary: bool,
    eof: bool,
    exclude_tlds: &[String],
) -> EmailAt {
    // Local part: walk left; one byte more than allowed means too long.
    let mut s = at;
    while s > 0 && at - s <= MAX_LOCAL && h.get(s - 1).copied().is_some_and(is_local) {
        s -= 1;
    }
    if at - s > MAX_LOCAL || (s == 0 && !start_boundary) {
        return EmailAt::No;
    }
    if s > 0 && h.get(s - 1) == Some(&b'@') {
        return EmailAt::No;
    }
    // Leading dots are punctuation, not part of the address.
    while s < at && h.get(s) == Some(&b'.') {
        s += 1;
    }
    let local = h.get(s..at).unwrap_or_default();
    if local.is_empty() || local.ends_with(b".") || local.windows(2).any(|w| w == b"..") {
        return EmailAt::No;
    }
    // Domain: walk right.
    let mut e = at + 1;
    while e < h.len() && e - s <= MAX_EMAIL && h.get(e).copied().is_some_and(is_domain) {
        e += 1;
    }
    if e - s > MAX_EMAIL {
        return EmailAt::No;
    }
    if e >= h.len() && !eof {
        return EmailAt::NeedMore { local_start: s };
    }
    if matches!(h.get(e), Some(b'@' | b'_' | b'%' | b'+')) {
        return EmailAt::No;
    }
    // Trailing dots/dashes are sentence punctuation.
    while e > at + 1 && matches!(h.get(e - 1), Some(b'.' | b'-')) {
        e -= 1;
    }
    let domain = h.get(at + 1..e).unwrap_or_default();
    if valid_domain(domain, exclude_tlds) {
        EmailAt::Yes { start: s, end: e }
    } else {
        EmailAt::No
    }
}

fn valid_domain(d: &[u8], exclude_tlds: &[String]) -> bool {
    let mut labels = 0;
    let mut tld: &[u8] = &[];
    for label in d.split(|&b| b == b'.') {
        if label.is_empty() || label.len() > 63 || label.starts_with(b"-") || label.ends_with(b"-")
        {
            return false;
        }
        labels += 1;
        tld = label;
    }
    labels >= 2
        && tld.len() >= 2
        && tld.iter().all(u8::is_ascii_alphabetic)
        && !exclude_tlds
            .iter()
            .any(|x| x.as_bytes().eq_ignore_ascii_case(tld))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(s: &str) -> EmailAt {
        let h = s.as_bytes();
        let a = h.iter().position(|&b| b == b'@').unwrap();
        at(h, a, true, true, &["png".to_string()])
    }

    #[test]
    fn accepts_and_trims() {
        assert_eq!(
            find("mail: Bob.Li@Example.com."),
            EmailAt::Yes { start: 6, end: 24 }
        );
        assert_eq!(find("12345678@qq.com"), EmailAt::Yes { start: 0, end: 15 });
    }

    #[test]
    fn rejects_decoys() {
        assert_eq!(find("logo@2x.png"), EmailAt::No);
        assert_eq!(find("a@localhost"), EmailAt::No);
        assert_eq!(find("a@b.c1"), EmailAt::No);
        assert_eq!(find("@x.com"), EmailAt::No);
        assert_eq!(find("a..b@x.com"), EmailAt::No);
        assert_eq!(find(&format!("{}@x.com", "a".repeat(65))), EmailAt::No);
    }

    #[test]
    fn needs_more_at_end() {
        let h = b"x bob@exam";
        assert_eq!(
            at(h, 5, true, false, &[]),
            EmailAt::NeedMore { local_start: 2 }
        );
        assert_eq!(at(h, 5, false, true, &[]), EmailAt::No);
    }
}
