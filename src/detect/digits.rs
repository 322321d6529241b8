//! SIMD byte classification for the digit-run scanner.
//!
//! [`find_digit`] skips non-digit bytes 32 (AVX2) or 16 (SSE2) at a time;
//! [`skip_digits`] walks a run (runs are short, so a scalar loop wins).
//! The AVX2 path is chosen at run time; other targets use the scalar loop.
#![allow(unsafe_code)]

/// Index of the first ASCII digit at or after `from`, or `h.len()`.
#[inline]
pub fn find_digit(h: &[u8], from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 support was checked just above.
            return unsafe { x86::find_digit_avx2(h, from) };
        }
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { x86::find_digit_sse2(h, from) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        find_digit_scalar(h, from)
    }
}

/// Index of the first non-digit at or after `from`, or `h.len()`.
#[inline]
pub fn skip_digits(h: &[u8], from: usize) -> usize {
    let mut i = from;
    while h.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// Portable version of [`find_digit`].
pub fn find_digit_scalar(h: &[u8], from: usize) -> usize {
    match h.get(from..) {
        Some(rest) => rest
            .iter()
            .position(u8::is_ascii_digit)
            .map_or(h.len(), |i| from + i),
        None => h.len(),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `b + 0x50` maps '0'..='9' to 0x80..=0x89, the only bytes below
    /// -118 as signed i8: one add and one signed compare classify 16/32 bytes.
    const BIAS: i8 = 0x50;
    const LIMIT: i8 = -118;

    #[target_feature(enable = "avx2")]
    pub unsafe fn find_digit_avx2(h: &[u8], from: usize) -> usize {
        let n = h.len();
        let mut i = from;
        let bias = _mm256_set1_epi8(BIAS);
        let limit = _mm256_set1_epi8(LIMIT);
        while i + 32 <= n {
            // SAFETY: i + 32 <= n, so the 32-byte unaligned load is in bounds.
            let v = unsafe { _mm256_loadu_si256(h.as_ptr().add(i).cast()) };
            let m = _mm256_movemask_epi8(_mm256_cmpgt_epi8(limit, _mm256_add_epi8(v, bias))) as u32;
            if m != 0 {
                return i + m.trailing_zeros() as usize;
            }
            i += 32;
        }
        // SAFETY: SSE2 is baseline on x86_64.
        unsafe { find_digit_sse2(h, i) }
    }

    #[target_feature(enable = "sse2")]
    pub unsafe fn find_digit_sse2(h: &[u8], from: usize) -> usize {
        let n = h.len();
        let mut i = from;
        let bias = _mm_set1_epi8(BIAS);
        let limit = _mm_set1_epi8(LIMIT);
        while i + 16 <= n {
            // SAFETY: i + 16 <= n, so the 16-byte unaligned load is in bounds.
            let v = unsafe { _mm_loadu_si128(h.as_ptr().add(i).cast()) };
            let m = _mm_movemask_epi8(_mm_cmplt_epi8(_mm_add_epi8(v, bias), limit)) as u32;
            if m != 0 {
                return i + m.trailing_zeros() as usize;
            }
            i += 16;
        }
        super::find_digit_scalar(h, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_digits() {
        let h = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ7xyz0";
        assert_eq!(find_digit(h, 0), 36);
        assert_eq!(find_digit(h, 37), 40);
        assert_eq!(find_digit(h, 41), 41);
        assert_eq!(find_digit(b"/:\xb0\x80", 0), 4);
        assert_eq!(skip_digits(b"123a", 0), 3);
        assert_eq!(skip_digits(b"123", 5), 5);
    }

    proptest! {
        #[test]
        fn simd_equals_scalar(h in proptest::collection::vec(any::<u8>(), 0..200), from in 0usize..210) {
            prop_assert_eq!(find_digit(&h, from), find_digit_scalar(&h, from));
        }
    }
}
