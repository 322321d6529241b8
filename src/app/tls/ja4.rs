//! JA4 TLS client fingerprint (FoxIO JA4 spec, `technical_details/JA4.md`
//! of <https://github.com/FoxIO-LLC/ja4>), client part only.
//!
//! `JA4 = a_b_c` where
//! - `a` = `t` (TCP; QUIC `q` and DTLS `d` are not seen here), 2-char
//!   version (highest non-GREASE `supported_versions` entry, else the hello's
//!   legacy version: `13`, `12`, `11`, `10`, `s3`, `s2`, `d1`, `d2`, `d3`,
//!   else `00`), `d` if an SNI is present else `i`, 2-digit counts (capped
//!   at 99) of non-GREASE cipher suites and extensions, then the first and
//!   last character of the first ALPN value (`00` without ALPN; the first
//!   and last hex digit of the value when either end is not alphanumeric);
//! - `b` = first 12 hex digits of SHA-256 over the sorted non-GREASE cipher
//!   suites as 4-digit lowercase hex joined by `,` (`000000000000` if none);
//! - `c` = the same over the sorted non-GREASE extensions without SNI
//!   (`0000`) and ALPN (`0010`), then `_` and the signature algorithms in
//!   their original order (the `_` part is left out when there are none);
//!   `000000000000` if no extensions remain.

use sha2::{Digest, Sha256};

use super::parser::{is_grease, ClientHello, ServerHello};

/// The JA4S server fingerprint of a TCP ServerHello (FoxIO
/// `technical_details/JA4S.md`): `t`, version, 2-digit extension count,
/// ALPN code (as JA4), `_`, the selected cipher as 4 hex digits, `_`, the
/// first 12 hex digits of SHA-256 over the extensions in the order sent
/// (`000000000000` if none).
pub fn ja4s(sh: &ServerHello) -> String {
    let a = format!(
        "t{}{:02}{}",
        version_str(sh.version()),
        sh.extensions.len().min(99),
        alpn_code(sh.alpn.as_deref()),
    );
    let c = if sh.extensions.is_empty() {
        "000000000000".to_string()
    } else {
        hash12(&hex_list(&sh.extensions))
    };
    format!("{a}_{:04x}_{c}", sh.cipher)
}

/// The JA4 fingerprint of a TCP ClientHello.
pub fn ja4(ch: &ClientHello) -> String {
    let ciphers: Vec<u16> = ch
        .ciphers
        .iter()
        .copied()
        .filter(|c| !is_grease(*c))
        .collect();
    let exts: Vec<u16> = ch
        .extensions
        .iter()
        .copied()
        .filter(|e| !is_grease(*e))
        .collect();
    let a = format!(
        "t{}{}{:02}{:02}{}",
        version_code(ch),
        if ch.sni.is_some() { 'd' } else { 'i' },
        ciphers.len().min(99),
        exts.len().min(99),
        alpn_code(ch.alpn.first().map(Vec::as_slice)),
    );
    let mut sorted = ciphers;
    sorted.sort_unstable();
    let b = hash12(&hex_list(&sorted));
    let mut rest: Vec<u16> = exts.into_iter().filter(|e| *e != 0 && *e != 0x10).collect();
    rest.sort_unstable();
    let c = if rest.is_empty() {
        "000000000000".to_string()
    } else {
        let mut text = hex_list(&rest);
        let sigs: Vec<u16> = ch
            .sig_algs
            .iter()
            .copied()
            .filter(|s| !is_grease(*s))
            .collect();
        if !sigs.is_empty() {
            text.push('_');
            text.push_str(&hex_list(&sigs));
        }
        hash12(&text)
    };
    format!("{a}_{b}_{c}")
}

fn version_code(ch: &ClientHello) -> &'static str {
    let v = ch
        .versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(ch.legacy_version);
    version_str(v)
}

fn version_str(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn alpn_code(first: Option<&[u8]>) -> String {
    let Some(v) = first.filter(|v| !v.is_empty()) else {
        return "00".to_string();
    };
    let (f, l) = (
        v.first().copied().unwrap_or(b'0'),
        v.last().copied().unwrap_or(b'0'),
    );
    if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
        format!("{}{}", char::from(f), char::from(l))
    } else {
        let h = hex::encode(v);
        let (a, b) = (h.chars().next(), h.chars().last());
        format!("{}{}", a.unwrap_or('0'), b.unwrap_or('0'))
    }
}

fn hex_list(v: &[u16]) -> String {
    v.iter()
        .map(|x| format!("{x:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn hash12(text: &str) -> String {
    if text.is_empty() {
        return "000000000000".to_string();
    }
    let h = hex::encode(Sha256::digest(text.as_bytes()));
    h.get(..12).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_hex_list(s: &str) -> Vec<u16> {
        s.split(',')
            .map(|x| u16::from_str_radix(x, 16).expect("hex"))
            .collect()
    }

    /// A Chrome 143 ClientHello in original order (JA4_ro published with its
    /// JA4 by a fingerprinting service), with GREASE added in front as
    /// Chrome sends it: the fingerprint must match the published JA4.
    #[test]
    fn chrome_vector_from_ja4_ro() {
        let ch = ClientHello {
            legacy_version: 0x0303,
            ciphers: [vec![0x8a8a], parse_hex_list(
                "1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035",
            )]
            .concat(),
            extensions: [vec![0x2a2a], parse_hex_list(
                "002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,000d,001b",
            ), vec![0x3a3a]]
            .concat(),
            sni: Some("tls.browserleaks.com".into()),
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            versions: vec![0x7a7a, 0x0304, 0x0303],
            sig_algs: parse_hex_list("0403,0804,0401,0503,0805,0501,0806,0601"),
        };
        assert_eq!(ja4(&ch), "t13d1516h2_8daaf6152771_d8a2da3f94cd");
    }

    #[test]
    fn no_sni_no_alpn_no_extensions() {
        let ch = ClientHello {
            legacy_version: 0x0301,
            ciphers: vec![0x002f],
            ..ClientHello::default()
        };
        let f = ja4(&ch);
        assert!(f.starts_with("t10i010000_"), "{f}");
        assert!(f.ends_with("_000000000000"), "{f}");
    }

    #[test]
    fn alpn_non_alphanumeric_uses_hex() {
        assert_eq!(alpn_code(Some(b"h2")), "h2");
        assert_eq!(alpn_code(Some(b"http/1.1")), "h1");
        assert_eq!(alpn_code(Some(&[0xab, 0x01])), "a1");
        assert_eq!(alpn_code(None), "00");
    }

    #[test]
    fn ja4s_published_example() {
        // FoxIO's published JA4S `t130200_1301_234ea6891581`
        // (JA4S_r `t130200_1301_0033,002b`): TLS 1.3 selected by
        // supported_versions, key_share then supported_versions, no ALPN.
        let sh = ServerHello {
            legacy_version: 0x0303,
            cipher: 0x1301,
            selected_version: Some(0x0304),
            extensions: vec![0x0033, 0x002b],
            alpn: None,
        };
        assert_eq!(ja4s(&sh), "t130200_1301_234ea6891581");
        let tls12 = ServerHello {
            legacy_version: 0x0303,
            cipher: 0xc030,
            extensions: vec![],
            alpn: Some(b"h2".to_vec()),
            ..ServerHello::default()
        };
        assert_eq!(ja4s(&tls12), "t1200h2_c030_000000000000");
    }
}
