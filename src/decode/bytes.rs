//! Panic-free big-endian reads for the header views.
//!
//! Views call these only after their `check_len()`, so the fallback value is
//! never seen; it exists so that a bug in a length check cannot panic.

/// Byte at `at`, or 0.
#[inline]
pub(super) fn u8_at(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// Big-endian u16 at `at`, or 0.
#[inline]
pub(super) fn be16(b: &[u8], at: usize) -> u16 {
    array(b, at).map(u16::from_be_bytes).unwrap_or(0)
}

/// Big-endian u32 at `at`, or 0.
#[inline]
pub(super) fn be32(b: &[u8], at: usize) -> u32 {
    array(b, at).map(u32::from_be_bytes).unwrap_or(0)
}

/// `N` bytes at `at`, if present.
#[inline]
pub(super) fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_falls_back() {
        let b = [0x12, 0x34, 0x56, 0x78, 0x9a];
        assert_eq!(u8_at(&b, 4), 0x9a);
        assert_eq!(be16(&b, 1), 0x3456);
        assert_eq!(be32(&b, 1), 0x3456_789a);
        assert_eq!(u8_at(&b, 5), 0);
        assert_eq!(be16(&b, 4), 0);
        assert_eq!(be32(&b, 2), 0);
        assert_eq!(be32(&b, usize::MAX - 1), 0);
    }
}
