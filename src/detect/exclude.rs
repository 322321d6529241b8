//! Exclusion (allow) lists: values that are known not to be PI, or that are
//! deliberately allowed (a test card, the company hotline), by normalised
//! value or by its keyed hash (`hex(HMAC-SHA256(hash_key, value))`, the
//! same hash events carry, so an analyst can exclude a value from an event
//! without ever seeing it). Per detector (`exclude_values`,
//! `exclude_hashes` in its file) and global (`exclude.toml` next to the
//! `detectors/` directory, keys `values` and `hashes`). Checked after the
//! validators, before a match is recorded; an excluded value still claims
//! its bytes, so no other detector reports them.

use std::collections::HashSet;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use toml::Spanned;

use super::signature::SignatureError;

/// File name of the global exclusion list.
pub const FILE_NAME: &str = "exclude.toml";

/// One list of excluded values and hashes.
#[derive(Clone, Debug, Default)]
pub struct ExcludeList {
    /// Normalised values.
    pub values: HashSet<Vec<u8>>,
    /// Keyed hashes.
    pub hashes: HashSet<[u8; 32]>,
}

impl ExcludeList {
    /// `true` when nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.hashes.is_empty()
    }
}

/// Parses a 64-hex-digit hash; `Err` is the reason.
pub fn parse_hash(s: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out)
        .map_err(|_| "a hash must be 64 hex digits (as in an event's `hash`)".to_string())?;
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    hashes: Vec<Spanned<String>>,
}

/// Parses the global `exclude.toml`.
///
/// # Errors
/// A [`SignatureError`] with the file, line and reason.
pub fn parse_global(file: &str, text: &str) -> Result<ExcludeList, SignatureError> {
    let raw: RawGlobal = toml::from_str(text).map_err(|e| {
        SignatureError::syntax(file, e.span().map(|s| line_of(text, s.start)), e.message())
    })?;
    let mut list = ExcludeList::default();
    list.values
        .extend(raw.values.into_iter().map(String::into_bytes));
    for h in &raw.hashes {
        let v = parse_hash(h.get_ref())
            .map_err(|m| SignatureError::in_file(file, Some(line_of(text, h.span().start)), &m))?;
        list.hashes.insert(v);
    }
    Ok(list)
}

fn line_of(text: &str, pos: usize) -> usize {
    text.get(..pos.min(text.len()))
        .map_or(0, |b| b.bytes().filter(|&c| c == b'\n').count())
        + 1
}

/// Global plus per-detector lists, and the key to hash with.
#[derive(Clone, Default)]
pub struct Exclusions {
    global: ExcludeList,
    per_det: Vec<ExcludeList>,
    key: Option<Hmac<Sha256>>,
    any_hashes: bool,
}

impl Exclusions {
    /// Combines the lists; hashes only match when `key` is given.
    pub fn new(global: ExcludeList, per_det: Vec<ExcludeList>, key: Option<&[u8]>) -> Self {
        let any_hashes = !global.hashes.is_empty() || per_det.iter().any(|l| !l.hashes.is_empty());
        Exclusions {
            key: key.and_then(|k| Hmac::<Sha256>::new_from_slice(k).ok()),
            global,
            per_det,
            any_hashes,
        }
    }

    /// `true` when no list has entries (the common case: no per-match cost).
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.per_det.iter().all(ExcludeList::is_empty)
    }

    /// Is `value` excluded for detector `det`?
    pub fn excluded(&self, det: u16, value: &[u8]) -> bool {
        let own = self.per_det.get(usize::from(det));
        if self.global.values.contains(value) || own.is_some_and(|l| l.values.contains(value)) {
            return true;
        }
        let Some(key) = self.key.as_ref().filter(|_| self.any_hashes) else {
            return false;
        };
        let mut m = key.clone();
        m.update(value);
        let h: [u8; 32] = m.finalize().into_bytes().into();
        self.global.hashes.contains(&h) || own.is_some_and(|l| l.hashes.contains(&h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(key: &[u8], v: &[u8]) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        m.update(v);
        hex::encode(m.finalize().into_bytes())
    }

    #[test]
    fn values_and_hashes_global_and_per_detector() {
        let text = format!(
            "values = [\"13800138000\"]\nhashes = [\"{}\"]\n",
            hash(b"k", b"13900139000")
        );
        let g = parse_global("exclude.toml", &text).unwrap();
        let mut own = ExcludeList::default();
        own.values.insert(b"x".to_vec());
        let ex = Exclusions::new(g.clone(), vec![ExcludeList::default(), own], Some(b"k"));
        assert!(ex.excluded(0, b"13800138000"));
        assert!(ex.excluded(0, b"13900139000"));
        assert!(!ex.excluded(0, b"x") && ex.excluded(1, b"x"));
        assert!(!ex.excluded(1, b"13700137000"));
        // Without the key, hashes cannot match.
        assert!(!Exclusions::new(g, Vec::new(), None).excluded(0, b"13900139000"));
    }

    #[test]
    fn bad_hash_names_file_and_line() {
        let e = parse_global("ex.toml", "values = []\nhashes = [\"zz\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ex.toml:2") && e.contains("64 hex"), "{e}");
    }
}
