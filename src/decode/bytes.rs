//! Panic-free big-endian reads for the header views, and the views' shape.
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

/// Declares a smoltcp-style read-only header view `Packet<T>`; the calling
/// module supplies `check_len`, after which no accessor can panic.
macro_rules! header_view {
    ($doc:literal) => {
        #[doc = $doc]
        #[derive(Debug)]
        pub(super) struct Packet<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> Packet<T> {
            /// Wraps `buffer` after checking that the header is whole and sane.
            pub(super) fn new_checked(buffer: T) -> Result<Self, DecodeError> {
                let p = Packet { buffer };
                p.check_len()?;
                Ok(p)
            }
        }
    };
}
pub(super) use header_view;

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
