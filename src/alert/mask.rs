//! Masking of PI values for display: enough to recognise a value, never
//! enough to recover it.

/// Masks a normalised value of the given PI type.
///
/// - resident ID: first 6 (region) and last 4 kept: `110105********002X`
/// - mobile: first 3 and last 4: `138****8000`
/// - bank card: first 6 (issuer) and last 4: `622202*********1234`
/// - e-mail: first character of the local part and the domain: `z***@example.com`
/// - credential: `********` (nothing shown)
/// - anything else: first and last quarter (at most 4 each), rest `*`.
pub fn mask(pi_type: &str, value: &[u8]) -> String {
    match pi_type {
        "cn_resident_id" => keep_ends(value, 6, 4),
        "cn_mobile" => keep_ends(value, 3, 4),
        "bank_card" => keep_ends(value, 6, 4),
        "email" => mask_email(value),
        // Passwords and tokens: nothing of the value is shown.
        "credential" => "********".to_string(),
        _ => {
            let q = (value.len() / 4).min(4);
            keep_ends(value, q, q)
        }
    }
}

/// Keeps `head` leading and `tail` trailing characters, stars in between.
/// When that would leave fewer than 4 characters hidden, keeps a quarter at each end.
fn keep_ends(value: &[u8], head: usize, tail: usize) -> String {
    if value.is_ascii() {
        // Most values (IDs, numbers, cards): one byte per character.
        let n = value.len();
        let (head, tail) = if head + tail + 4 > n {
            (n / 4, n / 4)
        } else {
            (head, tail)
        };
        let masked: Vec<u8> = value
            .iter()
            .enumerate()
            .map(|(i, &c)| if i < head || i >= n - tail { c } else { b'*' })
            .collect();
        // ASCII in, ASCII out.
        return String::from_utf8(masked).unwrap_or_default();
    }
    keep_ends_chars(value, head, tail)
}

/// [`keep_ends`] counted in characters (text other than ASCII).
fn keep_ends_chars(value: &[u8], head: usize, tail: usize) -> String {
    let chars: Vec<char> = String::from_utf8_lossy(value).chars().collect();
    let n = chars.len();
    let (head, tail) = if head + tail + 4 > n {
        (n / 4, n / 4)
    } else {
        (head, tail)
    };
    let mut out = String::with_capacity(n);
    for (i, c) in chars.iter().enumerate() {
        out.push(if i < head || i >= n - tail { *c } else { '*' });
    }
    out
}

/// Masks free text that may hold PI (a URL, a file name) for display:
/// every run of 6 or more digits (with an optional trailing `X`) keeps its
/// first 3 and last 2 characters, the rest become `*`; the local part of
/// anything that looks like an e-mail address keeps its first character.
/// Text is decoded as UTF-8 (lossy); output is bounded to `max` characters.
pub fn mask_text(text: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(text);
    let chars: Vec<char> = s.chars().take(max).collect();
    let mut out: Vec<char> = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == 'X' || chars[i] == 'x')
            {
                i += 1;
            }
            if i - start >= 6 {
                for c in out.iter_mut().take(i - 2).skip(start + 3) {
                    *c = '*';
                }
            }
        } else {
            i += 1;
        }
    }
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let mut j = at;
        while j > 0 && (chars[j - 1].is_alphanumeric() || ".-_+%".contains(chars[j - 1])) {
            j -= 1;
        }
        for c in out.iter_mut().take(at).skip(j + 1) {
            *c = '*';
        }
    }
    let mut r: String = out.into_iter().collect();
    if s.chars().count() > max {
        r.push_str("...");
    }
    r
}

fn mask_email(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    match text.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => keep_ends(value, 1, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::{keep_ends, keep_ends_chars, mask, mask_text};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ascii_path_agrees(v in "[ -~]{0,40}", head in 0usize..8, tail in 0usize..8) {
            prop_assert_eq!(keep_ends(v.as_bytes(), head, tail), keep_ends_chars(v.as_bytes(), head, tail));
        }
    }

    #[test]
    fn masks_each_type() {
        assert_eq!(
            mask("cn_resident_id", b"11010519491231002X"),
            "110105********002X"
        );
        assert_eq!(mask("cn_mobile", b"13800138000"), "138****8000");
        assert_eq!(
            mask("bank_card", b"6222021234567890123"),
            "622202*********0123"
        );
        assert_eq!(mask("email", b"zhang.san@example.com"), "z***@example.com");
        assert_eq!(mask("custom:x", b"abcdefgh"), "ab****gh");
    }

    #[test]
    fn masks_digit_runs_and_mail_in_text() {
        assert_eq!(
            mask_text(b"/api/u?id=11010519491231002X&m=13800138000&p=12", 200),
            "/api/u?id=110*************2X&m=138******00&p=12"
        );
        assert_eq!(
            mask_text(b"/to/zhang.san@example.com", 200),
            "/to/z********@example.com"
        );
        assert_eq!(mask_text(b"abcdef", 3), "abc...");
    }

    #[test]
    fn short_values_stay_mostly_hidden() {
        assert_eq!(mask("cn_resident_id", b"1234"), "1**4");
        assert_eq!(mask("other", b"ab"), "**");
        assert_eq!(mask("email", b"@"), "***@");
    }
}
