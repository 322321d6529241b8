//! Masking of PI values for display: enough to recognise a value, never
//! enough to recover it.

/// Masks a normalised value of the given PI type.
///
/// - resident ID: first 6 (region) and last 4 kept: `110105********002X`
/// - mobile: first 3 and last 4: `138****8000`
/// - bank card: first 6 (issuer) and last 4: `622202*********1234`
/// - e-mail: first character of the local part and the domain: `z***@example.com`
/// - anything else: first and last quarter (at most 4 each), rest `*`.
pub fn mask(pi_type: &str, value: &[u8]) -> String {
    match pi_type {
        "cn_resident_id" => keep_ends(value, 6, 4),
        "cn_mobile" => keep_ends(value, 3, 4),
        "bank_card" => keep_ends(value, 6, 4),
        "email" => mask_email(value),
        _ => {
            let q = (value.len() / 4).min(4);
            keep_ends(value, q, q)
        }
    }
}

/// Keeps `head` leading and `tail` trailing characters, stars in between.
/// When that would leave fewer than 4 characters hidden, keeps a quarter at each end.
fn keep_ends(value: &[u8], head: usize, tail: usize) -> String {
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
    use super::mask;

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
    fn short_values_stay_mostly_hidden() {
        assert_eq!(mask("cn_resident_id", b"1234"), "1**4");
        assert_eq!(mask("other", b"ab"), "**");
        assert_eq!(mask("email", b"@"), "***@");
    }
}
