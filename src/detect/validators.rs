//! Validators named in signature files: pure functions over the digits of a
//! candidate (ASCII digits, plus a final `X` for MOD 11-2 values), or over
//! the text of a regex match (`cn_address_prefix`).

use chrono::{Datelike, NaiveDate};

/// Result of one validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Value is invalid: drop the candidate.
    Fail,
    /// Value passes.
    Pass,
    /// Value is plausible but weak: base confidence becomes `Low`.
    Weak,
}

/// Validators usable in a `validators = [...]` chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validator {
    /// ISO 7064 MOD 11-2 over 18 characters (last may be `X`).
    Mod11_2,
    /// Province-level prefix of a GB/T 2260 address code (incl. 810000/820000/830000).
    CnRegion,
    /// `YYYYMMDD` at positions 7..14, 1900 ≤ date ≤ today.
    BirthDate8,
    /// `YYMMDD` at positions 7..12 (19YY), a real date.
    BirthDate6,
    /// Allocated mainland mobile segment (libphonenumber CN set).
    MobileSegment,
    /// Luhn check digit.
    Luhn,
    /// Luhn, but a `62` (UnionPay) number failing Luhn is only `Weak`.
    LuhnUnionpay,
    /// Issuer range and length (UnionPay, Visa, Mastercard, AmEx, JCB).
    Iin,
    /// Landline in national form: trunk `0`, a known area-code shape, a
    /// 7-8 digit subscriber number not starting with 0/1.
    CnLandline,
    /// Unified Social Credit Code (GB 32100 check), and not also a valid
    /// resident ID (an all-digit value passing both goes to the ID).
    Uscc,
    /// Free-text address starting on a division name
    /// (`cn_divisions::address_prefix`).
    CnAddressPrefix,
}

impl Validator {
    /// All names accepted in signature files.
    pub const NAMES: &'static [&'static str] = &[
        "mod11_2",
        "cn_region",
        "birth_date8",
        "birth_date6",
        "mobile_segment",
        "luhn",
        "luhn_unionpay",
        "iin",
        "cn_landline",
        "uscc",
        "cn_address_prefix",
    ];

    /// Looks a validator up by its file name.
    pub fn from_name(name: &str) -> Option<Validator> {
        Some(match name {
            "mod11_2" => Validator::Mod11_2,
            "cn_region" => Validator::CnRegion,
            "birth_date8" => Validator::BirthDate8,
            "birth_date6" => Validator::BirthDate6,
            "mobile_segment" => Validator::MobileSegment,
            "luhn" => Validator::Luhn,
            "luhn_unionpay" => Validator::LuhnUnionpay,
            "iin" => Validator::Iin,
            "cn_landline" => Validator::CnLandline,
            "uscc" => Validator::Uscc,
            "cn_address_prefix" => Validator::CnAddressPrefix,
            _ => return None,
        })
    }

    /// Runs the validator over the normalised value.
    pub fn check(self, v: &[u8], today: NaiveDate) -> Verdict {
        let ok = match self {
            Validator::Mod11_2 => mod11_2(v),
            Validator::CnRegion => cn_region(v),
            Validator::BirthDate8 => birth_date8(v, today),
            Validator::BirthDate6 => birth_date6(v),
            Validator::MobileSegment => mobile_segment(v),
            Validator::Luhn => luhn(v),
            Validator::LuhnUnionpay => {
                return if luhn(v) {
                    Verdict::Pass
                } else if v.starts_with(b"62") {
                    Verdict::Weak
                } else {
                    Verdict::Fail
                }
            }
            Validator::Iin => iin(v),
            Validator::CnLandline => cn_landline(v),
            Validator::Uscc => uscc(v) && !(mod11_2(v) && cn_region(v) && birth_date8(v, today)),
            Validator::CnAddressPrefix => super::cn_divisions::address_prefix(v),
        };
        if ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

fn digit(b: u8) -> Option<u32> {
    b.is_ascii_digit().then(|| u32::from(b - b'0'))
}

/// Parses `v[range]` as a decimal number (digits only).
fn num(v: &[u8], from: usize, to: usize) -> Option<u32> {
    v.get(from..to)?
        .iter()
        .try_fold(0u32, |acc, &b| Some(acc * 10 + digit(b)?))
}

/// ISO 7064 MOD 11-2: `Σ a_i · 2^(18−i) ≡ 1 (mod 11)` with `X` = 10.
pub fn mod11_2(v: &[u8]) -> bool {
    if v.len() != 18 {
        return false;
    }
    let mut sum = 0u32;
    let mut w = 1u32; // 2^0 for the last position
    for &b in v.iter().rev() {
        let a = match b {
            b'X' | b'x' if w == 1 => 10,
            _ => match digit(b) {
                Some(d) => d,
                None => return false,
            },
        };
        sum += a * w;
        w = (w * 2) % 11;
    }
    sum % 11 == 1
}

/// Check character for the first 17 digits of an 18-char ID (for tests and examples).
pub fn mod11_2_check(first17: &[u8]) -> Option<u8> {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    if first17.len() != 17 {
        return None;
    }
    let mut s = 0u32;
    for (b, w) in first17.iter().zip(W) {
        s += digit(*b)? * w;
    }
    Some(b"10X98765432"[(s % 11) as usize])
}

/// Province-level address-code check (reference §1).
pub fn cn_region(v: &[u8]) -> bool {
    let Some(p) = num(v, 0, 2) else { return false };
    match p {
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82 => true,
        // 83 is only the Taiwan-resident residence-permit code 830000.
        83 => v.get(2..6) == Some(b"0000"),
        _ => false,
    }
}

fn real_date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// `YYYYMMDD` at positions 7..14: a real date, ≥ 1900-01-01, not after `today`.
pub fn birth_date8(v: &[u8], today: NaiveDate) -> bool {
    let (Some(y), Some(m), Some(d)) = (num(v, 6, 10), num(v, 10, 12), num(v, 12, 14)) else {
        return false;
    };
    let Ok(y) = i32::try_from(y) else {
        return false;
    };
    match real_date(y, m, d) {
        Some(date) => y >= 1900 && date <= today,
        None => false,
    }
}

/// `YYMMDD` at positions 7..12 of a legacy 15-digit ID (century 19).
pub fn birth_date6(v: &[u8]) -> bool {
    let (Some(y), Some(m), Some(d)) = (num(v, 6, 8), num(v, 8, 10), num(v, 10, 12)) else {
        return false;
    };
    let Ok(y) = i32::try_from(y) else {
        return false;
    };
    real_date(1900 + y, m, d).is_some()
}

/// libphonenumber CN mobile: `1740[0-5]\d{6}|1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8}`.
pub fn mobile_segment(v: &[u8]) -> bool {
    if v.len() != 11 || !v.iter().all(u8::is_ascii_digit) || v[0] != b'1' {
        return false;
    }
    let (a, b) = (v[1], v[2]);
    if v.starts_with(b"1740") {
        return matches!(v[4], b'0'..=b'5');
    }
    match a {
        b'3' | b'8' => true,
        b'4' => matches!(b, b'5' | b'7'),
        b'5' | b'9' => b != b'4',
        b'6' => matches!(b, b'2' | b'5'..=b'7'),
        b'7' => matches!(b, b'0'..=b'3' | b'5'..=b'8'),
        _ => false,
    }
}

/// Luhn (mod 10) over all digits.
pub fn luhn(v: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &b) in v.iter().rev().enumerate() {
        let Some(mut d) = digit(b) else { return false };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !v.is_empty() && sum.is_multiple_of(10)
}

/// Luhn check digit for a payload (for tests and examples).
pub fn luhn_check(payload: &[u8]) -> Option<u8> {
    let mut v = payload.to_vec();
    v.push(b'0');
    (0..10u8).map(|d| b'0' + d).find(|&c| {
        if let Some(last) = v.last_mut() {
            *last = c;
        }
        luhn(&v)
    })
}

/// Issuer ranges and lengths (reference §5).
pub fn iin(v: &[u8]) -> bool {
    let n = v.len();
    let p2 = num(v, 0, 2).unwrap_or(0);
    let p4 = num(v, 0, 4).unwrap_or(0);
    match v.first() {
        Some(b'4') => n == 16 || n == 19,
        _ if p2 == 62 => (16..=19).contains(&n),
        _ if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => n == 16,
        _ if p2 == 34 || p2 == 37 => n == 15,
        _ if (3528..=3589).contains(&p4) => (16..=19).contains(&n),
        _ => false,
    }
}

/// Landline in national form (reference §4): `0` + area code (`10`,
/// `2[0-57-9]`, or 3 digits starting 3-9) + 7-8 subscriber digits (8 after
/// a 2-digit area code) not starting with 0 or 1.
pub fn cn_landline(v: &[u8]) -> bool {
    if !v.iter().all(u8::is_ascii_digit) || v.first() != Some(&b'0') {
        return false;
    }
    let area = match (v.get(1), v.get(2)) {
        (Some(b'1'), Some(b'0')) => 2,
        (Some(b'2'), Some(c)) if *c != b'6' => 2,
        (Some(b'3'..=b'9'), _) => 3,
        _ => return false,
    };
    let local = v.get(1 + area..).unwrap_or_default();
    let len_ok = if area == 2 {
        local.len() == 8
    } else {
        matches!(local.len(), 7 | 8)
    };
    len_ok && matches!(local.first(), Some(b'2'..=b'9'))
}

/// Value of a USCC character (digits and A-Y without I, O, S, V, Z).
fn uscc_value(c: u8) -> Option<u32> {
    const ALPHA: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    ALPHA
        .iter()
        .position(|&x| x == c.to_ascii_uppercase())
        .map(|p| p as u32)
}

/// GB 32100-2015 (reference §7): 18 characters, region code digits at
/// positions 3-8, MOD 31 check character.
pub fn uscc(v: &[u8]) -> bool {
    if v.len() != 18
        || !v
            .get(2..8)
            .is_some_and(|r| r.iter().all(u8::is_ascii_digit))
    {
        return false;
    }
    let mut sum = 0u32;
    let mut w = 1u32;
    for &c in v.iter().take(17) {
        let Some(x) = uscc_value(c) else { return false };
        sum += x * w;
        w = w * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    v.get(17).and_then(|&c| uscc_value(c)) == Some(check)
}

/// Check character for the first 17 characters of a USCC (tests, examples).
pub fn uscc_check(first17: &[u8]) -> Option<u8> {
    const ALPHA: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut v = first17.to_vec();
    v.push(b'0');
    ALPHA.iter().copied().find(|&c| {
        if let Some(last) = v.last_mut() {
            *last = c;
        }
        uscc(&v)
    })
}

/// Today's date from the system clock (UTC).
pub fn system_today() -> NaiveDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let now = chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .map_or(NaiveDate::MIN, |t| t.date_naive());
    // Guard against a clock before the epoch of any realistic deployment.
    if now.year() < 2000 {
        NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(now)
    } else {
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    #[test]
    fn mod11_2_vectors() {
        assert!(mod11_2(b"11010519491231002X"));
        assert!(mod11_2(b"11010519491231002x"));
        assert!(mod11_2(b"360426199101010071"));
        assert!(!mod11_2(b"360426199101010072"));
        assert_eq!(mod11_2_check(b"11010519491231002"), Some(b'X'));
        assert_eq!(mod11_2_check(b"36042619910101007"), Some(b'1'));
    }

    #[test]
    fn regions_and_dates() {
        assert!(cn_region(b"110105"));
        assert!(cn_region(b"830000"));
        assert!(!cn_region(b"830100"));
        assert!(!cn_region(b"910000"));
        assert!(!cn_region(b"160000"));
        assert!(birth_date8(b"11010520000229", today()));
        assert!(!birth_date8(b"11010519000229", today()));
        assert!(!birth_date8(b"11010518991231", today()));
        assert!(!birth_date8(b"11010520260102", today()));
        assert!(birth_date6(b"110105491231"));
        assert!(!birth_date6(b"110105491331"));
    }

    #[test]
    fn mobile_segments() {
        assert!(mobile_segment(b"13800138000"));
        assert!(mobile_segment(b"17400123456"));
        assert!(!mobile_segment(b"17406123456"));
        assert!(!mobile_segment(b"15400138000"));
        assert!(!mobile_segment(b"19400138000"));
        assert!(mobile_segment(b"19200138000"));
        assert!(!mobile_segment(b"16000138000"));
        assert!(!mobile_segment(b"1380013800"));
    }

    #[test]
    fn landlines() {
        assert!(cn_landline(b"01062345678"));
        assert!(!cn_landline(b"01012345678")); // local starts with 1
        assert!(cn_landline(b"02087654321"));
        assert!(cn_landline(b"07552345678"));
        assert!(cn_landline(b"075523456789"));
        assert!(!cn_landline(b"02662345678")); // 026 is not an area code
        assert!(!cn_landline(b"0106234567")); // Beijing locals have 8 digits
        assert!(!cn_landline(b"07550234567")); // local starts with 0
        assert!(!cn_landline(b"00112345678"));
        assert!(!cn_landline(b"13800138000"));
    }

    #[test]
    fn uscc_vectors() {
        assert!(uscc(b"91110000600037341L"));
        assert!(!uscc(b"91110000600037341K"));
        assert_eq!(uscc_check(b"91110000600037341"), Some(b'L'));
        assert!(!uscc(b"91110000600037341"));
        assert!(!uscc(b"9111000060003734IL"));
        // A valid resident ID that happens to pass the USCC check stays an ID.
        let today = today();
        for n in 0..1000u32 {
            let first = format!("11010519900101{n:03}");
            let id = [
                first.as_bytes(),
                &[mod11_2_check(first.as_bytes()).unwrap()],
            ]
            .concat();
            if uscc(&id) {
                assert_eq!(Validator::Uscc.check(&id, today), Verdict::Fail);
                return;
            }
        }
        panic!("no ID/USCC collision in the sample");
    }

    #[test]
    fn luhn_and_iin() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"6217000000000000004"));
        assert!(!luhn(b"4111111111111112"));
        assert_eq!(luhn_check(b"621700000000000000"), Some(b'4'));
        assert!(iin(b"6200000000000005"));
        assert!(iin(b"378282246310005"));
        assert!(!iin(b"3782822463100050"));
        assert!(iin(b"2221000000000009"));
        assert!(!iin(b"9558000000000000"));
        assert_eq!(
            Validator::LuhnUnionpay.check(b"6200000000000006", today()),
            Verdict::Weak
        );
        assert_eq!(
            Validator::LuhnUnionpay.check(b"4111111111111112", today()),
            Verdict::Fail
        );
    }
}
