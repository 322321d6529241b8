//! Finds data smuggled in query-name labels (DNS tunnelling / exfiltration
//! tools put base32 or hex text in the leftmost labels, split at 63 bytes)
//! and decodes it so the detectors can see the PI.
//!
//! Heuristic: the labels left of the last two (the registered domain) are
//! grouped into runs of consecutive labels that use one alphabet only (a
//! run starts at a label of 8 or more characters, so `www.` is left out); a
//! run of at least [`MIN_ENCODED`] characters is decoded, as hex when all
//! its characters are hex digits and its length is even, else as base32
//! (RFC 4648 alphabet, case-insensitive, padding optional) when all are in
//! that alphabet. Plain words also fit base32: decoding them is wasted but
//! harmless (the result is only scanned).

/// Shortest encoded run decoded (8 bytes of data in hex, 10 in base32).
pub const MIN_ENCODED: usize = 16;

/// Shortest label that starts a run.
const MIN_LABEL: usize = 8;

/// How a run was encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// RFC 4648 base32.
    Base32,
    /// Hexadecimal.
    Hex,
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn is_b32(b: u8) -> bool {
    b.is_ascii_alphabetic() || (b'2'..=b'7').contains(&b) || b == b'='
}

/// Decoded runs of `name` (dotted), in order.
pub fn decoded_runs(name: &[u8]) -> Vec<(Encoding, Vec<u8>)> {
    let labels: Vec<&[u8]> = name.split(|&b| b == b'.').collect();
    let keep = labels.len().saturating_sub(2);
    let mut out = Vec::new();
    let mut run: Vec<u8> = Vec::new();
    for label in labels.iter().take(keep) {
        let fits = !label.is_empty() && label.iter().all(|&b| is_b32(b) || is_hex(b));
        if fits && label.len() >= MIN_LABEL {
            run.extend_from_slice(label);
        } else if fits && !run.is_empty() {
            // A short label after long ones: the last, shorter chunk of
            // the data, or an unrelated label (`t`): kept only if the run
            // still decodes with it.
            flush(&mut run, Some(label), &mut out);
        } else {
            flush(&mut run, None, &mut out);
        }
    }
    flush(&mut run, None, &mut out);
    out
}

/// The encoding of a complete run, if it is one.
fn encoding_of(run: &[u8]) -> Option<Encoding> {
    if run.len() < MIN_ENCODED {
        None
    } else if run.iter().all(|&b| is_hex(b)) && run.len().is_multiple_of(2) {
        Some(Encoding::Hex)
    } else if run.iter().all(|&b| is_b32(b)) && matches!(run.len() % 8, 0 | 2 | 4 | 5 | 7) {
        Some(Encoding::Base32)
    } else {
        None
    }
}

fn flush(run: &mut Vec<u8>, tail: Option<&[u8]>, out: &mut Vec<(Encoding, Vec<u8>)>) {
    let alone = encoding_of(run);
    if let Some(t) = tail {
        let len = run.len();
        run.extend_from_slice(t);
        match encoding_of(run) {
            Some(e) if alone.is_none() || alone == Some(e) => {}
            _ => run.truncate(len),
        }
    }
    match encoding_of(run) {
        Some(Encoding::Hex) => {
            if let Ok(bytes) = hex::decode(&*run) {
                out.push((Encoding::Hex, bytes));
            }
        }
        Some(Encoding::Base32) => out.push((Encoding::Base32, base32_decode(run))),
        None => {}
    }
    run.clear();
}

/// RFC 4648 base32 decoding, case-insensitive; padding and any trailing
/// partial byte are dropped. Characters outside the alphabet are skipped.
pub fn base32_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => continue,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 base32 encoding, for tests.
    pub(crate) fn base32_encode(data: &[u8]) -> String {
        const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in data {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(A[((acc >> bits) & 31) as usize]));
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(char::from(A[((acc << (5 - bits)) & 31) as usize]));
        }
        out
    }

    #[test]
    fn rfc4648_vectors() {
        assert_eq!(base32_decode(b"MZXW6YTBOI======"), b"foobar");
        assert_eq!(base32_decode(b"mzxw6ytboi"), b"foobar");
        assert_eq!(base32_decode(b"MY"), b"f");
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn base32_run_split_over_labels() {
        let data = b"id=11010519900307123X";
        let enc = base32_encode(data).to_lowercase();
        let (a, b) = enc.split_at(12);
        let name = format!("www.{a}.{b}.t.exfil.example.com");
        assert_eq!(enc.len() % 8, 2, "34 characters: the `t` would break it");
        let runs = decoded_runs(name.as_bytes());
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].0, Encoding::Base32);
        assert_eq!(runs[0].1, data);
    }

    #[test]
    fn hex_run() {
        let name = format!("{}.cdn.example.cn", hex::encode("13800138000"));
        let runs = decoded_runs(name.as_bytes());
        assert_eq!(runs, vec![(Encoding::Hex, b"13800138000".to_vec())]);
    }

    #[test]
    fn ordinary_names_give_nothing() {
        assert!(decoded_runs(b"www.example.com").is_empty());
        assert!(decoded_runs(b"mail.corp.example.com").is_empty());
        assert!(decoded_runs(b"").is_empty());
        // The registered domain itself is never decoded.
        assert!(decoded_runs(b"abcdefghijklmnopqrstu.com").is_empty());
    }
}
