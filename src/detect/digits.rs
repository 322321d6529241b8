//! SIMD byte classification for the digit-run scanner.
//!
//! [`DigitMap`] classifies 64 bytes at a time (AVX2 chosen at run time,
//! SSE2 otherwise on x86_64, a scalar loop elsewhere) into a digit bitmap;
//! finding the next run, the next run of two or more digits and the end of
//! a run are then bit operations.
#![allow(unsafe_code)]

/// Digit bitmap of `h`, 64 bytes at a time: finding the next digit and the
/// end of a run are bit operations on the cached block mask.
pub struct DigitMap<'a> {
    h: &'a [u8],
    /// Start of the cached block (`usize::MAX`: none).
    block: usize,
    /// Bit i set: `h[block + i]` is an ASCII digit.
    mask: u64,
    /// Bit i set: `h[block + i]` and `h[block + i + 1]` are digits.
    pairs: u64,
    avx2: bool,
}

impl<'a> DigitMap<'a> {
    /// A map over `h`.
    pub fn new(h: &'a [u8]) -> Self {
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        DigitMap {
            h,
            block: usize::MAX,
            mask: 0,
            pairs: 0,
            avx2,
        }
    }

    fn load(&mut self, b: usize) {
        self.block = b;
        self.mask = if b + 64 <= self.h.len() {
            self.full_block(b)
        } else {
            let tail = self.h.get(b..).unwrap_or_default();
            tail.iter()
                .enumerate()
                .fold(0u64, |m, (i, c)| m | (u64::from(c.is_ascii_digit()) << i))
        };
        let next = u64::from(self.h.get(b + 64).is_some_and(u8::is_ascii_digit));
        self.pairs = self.mask & ((self.mask >> 1) | (next << 63));
    }

    #[inline]
    fn full_block(&self, b: usize) -> u64 {
        #[cfg(target_arch = "x86_64")]
        {
            if self.avx2 {
                // SAFETY: AVX2 was detected in `new`; `load` checked b + 64 <= len.
                return unsafe { x86::mask64_avx2(self.h, b) };
            }
            // SAFETY: SSE2 is baseline on x86_64; `load` checked b + 64 <= len.
            unsafe { x86::mask64_sse2(self.h, b) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = self.avx2;
            self.h
                .get(b..b + 64)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, c)| m | (u64::from(c.is_ascii_digit()) << i))
        }
    }

    /// First position ≥ `pos` starting two digits in a row, or `h.len()`.
    #[inline]
    pub fn next_pair(&mut self, pos: usize) -> usize {
        let len = self.h.len();
        if pos >= len {
            return len;
        }
        let mut b = pos & !63;
        if b != self.block {
            self.load(b);
        }
        let mut m = self.pairs & (u64::MAX << (pos - b));
        loop {
            if m != 0 {
                return (b + m.trailing_zeros() as usize).min(len);
            }
            b += 64;
            if b >= len {
                return len;
            }
            self.load(b);
            m = self.pairs;
        }
    }

    /// First position ≥ `pos` whose digit-ness equals `digit`, or `h.len()`.
    #[inline]
    fn next(&mut self, pos: usize, digit: bool) -> usize {
        let len = self.h.len();
        if pos >= len {
            return len;
        }
        let mut b = pos & !63;
        if b != self.block {
            self.load(b);
        }
        let flip = if digit { 0 } else { u64::MAX };
        let mut m = (self.mask ^ flip) & (u64::MAX << (pos - b));
        loop {
            if m != 0 {
                return (b + m.trailing_zeros() as usize).min(len);
            }
            b += 64;
            if b >= len {
                return len;
            }
            self.load(b);
            m = self.mask ^ flip;
        }
    }

    /// First ASCII digit at or after `pos`, or `h.len()`.
    #[inline]
    pub fn next_digit(&mut self, pos: usize) -> usize {
        self.next(pos, true)
    }

    /// First non-digit at or after `pos`, or `h.len()`.
    #[inline]
    pub fn run_end(&mut self, pos: usize) -> usize {
        self.next(pos, false)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `b + 0x50` maps '0'..='9' to 0x80..=0x89, the only bytes below
    /// -118 as signed i8: one add and one signed compare classify 16/32 bytes.
    const BIAS: i8 = 0x50;
    const LIMIT: i8 = -118;

    /// Digit mask of `h[b..b + 64]`. Caller guarantees `b + 64 <= h.len()`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn mask64_avx2(h: &[u8], b: usize) -> u64 {
        let bias = _mm256_set1_epi8(BIAS);
        let limit = _mm256_set1_epi8(LIMIT);
        // SAFETY: caller guarantees b + 64 <= h.len(): both loads are in bounds.
        let (lo, hi) = unsafe {
            let p = h.as_ptr().add(b);
            (
                _mm256_loadu_si256(p.cast()),
                _mm256_loadu_si256(p.add(32).cast()),
            )
        };
        let ml = _mm256_movemask_epi8(_mm256_cmpgt_epi8(limit, _mm256_add_epi8(lo, bias))) as u32;
        let mh = _mm256_movemask_epi8(_mm256_cmpgt_epi8(limit, _mm256_add_epi8(hi, bias))) as u32;
        u64::from(ml) | (u64::from(mh) << 32)
    }

    /// Digit mask of `h[b..b + 64]`. Caller guarantees `b + 64 <= h.len()`.
    #[target_feature(enable = "sse2")]
    pub unsafe fn mask64_sse2(h: &[u8], b: usize) -> u64 {
        let bias = _mm_set1_epi8(BIAS);
        let limit = _mm_set1_epi8(LIMIT);
        let mut m = 0u64;
        for k in 0..4 {
            // SAFETY: caller guarantees b + 64 <= h.len(); k * 16 + 16 <= 64.
            let v = unsafe { _mm_loadu_si128(h.as_ptr().add(b + k * 16).cast()) };
            let x = _mm_movemask_epi8(_mm_cmplt_epi8(_mm_add_epi8(v, bias), limit)) as u32 & 0xffff;
            m |= u64::from(x) << (k * 16);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn find_digit_scalar(h: &[u8], from: usize) -> usize {
        h.get(from..)
            .and_then(|r| r.iter().position(u8::is_ascii_digit))
            .map_or(h.len(), |i| from + i)
    }

    fn skip_digits(h: &[u8], from: usize) -> usize {
        let mut i = from;
        while h.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    }

    #[test]
    fn finds_digits_and_run_ends() {
        let h =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ7xyz0abcdefghijklmnopqrstuvwxyz0123456789012345x";
        let mut m = DigitMap::new(h);
        assert_eq!(m.next_digit(0), 36);
        assert_eq!(m.next_digit(37), 40);
        assert_eq!(m.next_pair(0), 67);
        assert_eq!(m.run_end(67), 83);
        assert_eq!(m.next_digit(84), h.len());
        let mut b = DigitMap::new(b"/:\xb0\x80");
        assert_eq!(b.next_digit(0), 4);
    }

    proptest! {
        #[test]
        fn map_equals_scalar(h in proptest::collection::vec(prop_oneof![Just(b'5'), Just(b'a'), any::<u8>()], 0..300), from in 0usize..310) {
            let mut m = DigitMap::new(&h);
            prop_assert_eq!(m.next_digit(from), find_digit_scalar(&h, from).min(h.len()));
            let want = if from >= h.len() { h.len() } else { skip_digits(&h, from) };
            prop_assert_eq!(m.run_end(from), want);
            let pair = (from..h.len().saturating_sub(1)).find(|&i| h[i].is_ascii_digit() && h[i + 1].is_ascii_digit()).unwrap_or(h.len());
            prop_assert_eq!(m.next_pair(from), pair);
        }
    }
}
