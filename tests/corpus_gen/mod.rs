//! Generator pieces shared by the labelled corpora (`tests/norm_corpus.rs`,
//! `tests/prose_corpus.rs`): a deterministic RNG, synthetic Chinese names,
//! the transport variants a text is re-encoded in, and a sink collecting
//! `(pi_type, value)` matches.
#![allow(dead_code)] // Each corpus uses a different subset.

use leakwatch::detect::normalize::{Chain, Normalizer, WhereSink};
use leakwatch::detect::{Engine, Match, Scanner};

/// xorshift64*, deterministic.
pub struct Rng(pub u64);
impl Rng {
    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    /// `n` random ASCII digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// Given names (one or two characters).
pub const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "桂英", "志强", "建华", "晓东",
];

/// Common single and compound surnames.
pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "欧阳", "司马", "诸葛",
];

/// A synthetic full name: surname + given name.
pub fn name(r: &mut Rng) -> String {
    let sur = r.pick(SURNAMES);
    format!("{sur}{}", r.pick(GIVEN))
}

/// Transport encodings a record is re-encoded in.
pub const VARIANTS: &[&str] = &[
    "utf8",
    "gbk",
    "percent",
    "fullwidth",
    "json_u",
    "html",
    "base64",
    "utf16le",
];

/// Encodes a record as a variant.
pub fn variant(v: &str, rec: &str) -> Vec<u8> {
    use base64::Engine as _;
    match v {
        "gbk" => encoding_rs::GBK.encode(rec).0.into_owned(),
        "percent" => rec
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
            .into_bytes(),
        "fullwidth" => rec
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
                } else {
                    c
                }
            })
            .collect::<String>()
            .into_bytes(),
        "json_u" => rec
            .chars()
            .map(|c| {
                if c.is_ascii_digit() || !c.is_ascii() {
                    format!("\\u{:04x}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into_bytes(),
        "html" => rec
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    format!("&#{};", c as u32)
                }
            })
            .collect::<String>()
            .into_bytes(),
        "base64" => format!(
            "{{\"type\": \"sync\", \"payload\": \"{}\"}}",
            base64::engine::general_purpose::STANDARD.encode(rec)
        )
        .into_bytes(),
        "utf16le" => {
            let mut b = vec![0x01u8, 0x00, 0x02, 0x10];
            b.extend(rec.encode_utf16().flat_map(u16::to_le_bytes));
            b
        }
        _ => rec.as_bytes().to_vec(),
    }
}

/// Matches found: `(pi_type, value, where)`.
#[derive(Default)]
pub struct Found(pub Vec<(String, Vec<u8>, &'static str)>);

/// A [`WhereSink`] filling a [`Found`].
pub struct Sink<'a> {
    /// Engine the matches come from (for detector types).
    pub engine: &'a Engine,
    /// Where matches go.
    pub found: &'a mut Found,
}

impl WhereSink for Sink<'_> {
    fn on_match(&mut self, m: &Match<'_>, where_: &'static str) {
        let t = self.engine.detectors()[usize::from(m.detector)]
            .pi_type
            .clone();
        self.found.0.push((t, m.value.to_vec(), where_));
    }
}

/// Feeds `bytes` to `norm` as one TCP stream in random chunks of 1 to `max`
/// bytes, then finishes it.
pub fn feed_chunked(
    norm: &mut Normalizer,
    scanner: &mut Scanner,
    sink: &mut Sink<'_>,
    r: &mut Rng,
    bytes: &[u8],
    max: u64,
) {
    let mut at = 0;
    while at < bytes.len() {
        let n = (1 + r.below(max) as usize).min(bytes.len() - at);
        norm.push(
            scanner,
            "tcp.stream",
            Chain::EMPTY,
            &bytes[at..at + n],
            sink,
        );
        at += n;
    }
    norm.finish(scanner, sink);
}
