//! Keyed hashes of PI values: `hex(HMAC-SHA256(site_key, normalised_value))`.
//! An incident daemon correlates and de-duplicates on these without ever
//! seeing the data.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A keyed hasher; cloning the pre-keyed state saves re-deriving the key pads
/// for every value.
#[derive(Clone)]
pub struct ValueHasher {
    keyed: HmacSha256,
}

/// Raw 32-byte value hash.
pub type ValueHash = [u8; 32];

impl ValueHasher {
    /// A hasher for `key` (any length; HMAC handles long and short keys).
    pub fn new(key: &[u8]) -> ValueHasher {
        // new_from_slice accepts keys of every length for HMAC.
        let keyed = match HmacSha256::new_from_slice(key) {
            Ok(m) => m,
            Err(_) => unreachable_hmac_key(),
        };
        ValueHasher { keyed }
    }

    /// HMAC-SHA256 of a normalised value.
    pub fn hash(&self, value: &[u8]) -> ValueHash {
        let mut m = self.keyed.clone();
        m.update(value);
        m.finalize().into_bytes().into()
    }
}

#[cold]
fn unreachable_hmac_key() -> ! {
    // HMAC accepts any key length, so this cannot happen.
    panic!("HMAC-SHA256 rejected a key; HMAC accepts keys of any length")
}

#[cfg(test)]
mod tests {
    use super::ValueHasher;

    #[test]
    fn matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        let h = ValueHasher::new(b"Jefe").hash(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(h),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn key_changes_hash() {
        let a = ValueHasher::new(b"k1").hash(b"13800138000");
        let b = ValueHasher::new(b"k2").hash(b"13800138000");
        assert_ne!(a, b);
    }
}
