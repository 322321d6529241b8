//! One classification pass over a scan buffer.
//!
//! The digit gate, the digit map and the field family each need a bitmap
//! of the same bytes: digits, digit separators, field separators (`:`,
//! `=`, `>`). [`BlockMasks::compute`] makes all three in one SIMD pass
//! per scan call (AVX-512BW, AVX2 or SSE2 chosen at run time, a scalar
//! loop elsewhere), so each byte is loaded and classified once; the maps
//! then read 64-bit words instead of classifying blocks again.
#![allow(unsafe_code)]

use super::digits::block64;

/// Field separators the field family visits.
pub const FIELD_SEPS: [u8; 3] = [b':', b'=', b'>'];

/// Digit separators tested byte by byte; with more, every byte counts as
/// a possible separator (a looser, still exact, filter for the gate).
const MAX_SEPS: usize = 4;

/// Per 64-byte block of a buffer (block `k` covers bytes `64k..64k + 64`):
/// bit `i` of a word is byte `64k + i`. Bytes past the end are zero.
#[derive(Debug, Default)]
pub struct BlockMasks {
    /// ASCII digits.
    digit: Vec<u64>,
    /// Digit separators (or every byte when there are more than four).
    sep: Vec<u64>,
    /// Field separators ([`FIELD_SEPS`]).
    field: Vec<u64>,
}

/// The SIMD level used, detected once per call (std caches the CPUID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Sse2,
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    Scalar,
}

impl Kernel {
    fn best() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512bw") {
                return Kernel::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
            Kernel::Sse2
        }
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Scalar
    }
}

impl BlockMasks {
    /// No blocks (a buffer not classified yet).
    pub const EMPTY: BlockMasks = BlockMasks {
        digit: Vec::new(),
        sep: Vec::new(),
        field: Vec::new(),
    };

    /// The masks of `h` with digit separators `seps` (a fresh value).
    #[cfg(test)]
    pub fn of(h: &[u8], seps: &[u8]) -> BlockMasks {
        let mut m = BlockMasks::default();
        m.compute(h, seps);
        m
    }

    /// Classifies `h` (reusing this value's memory).
    pub fn compute(&mut self, h: &[u8], seps: &[u8]) {
        self.compute_with(Kernel::best(), h, seps);
    }

    fn compute_with(&mut self, kernel: Kernel, h: &[u8], seps: &[u8]) {
        let blocks = h.len().div_ceil(64);
        // Every word below `blocks` is written below: no clearing (a
        // memset per call), only new words are zeroed.
        for v in [&mut self.digit, &mut self.sep, &mut self.field] {
            v.resize(blocks, 0);
        }
        // Padding repeats a separator, or uses '0' (digits are in every
        // chain anyway), so the kernels always test four bytes.
        let pad = seps.first().copied().unwrap_or(b'0');
        let mut four = [pad; MAX_SEPS];
        for (a, s) in four.iter_mut().zip(seps) {
            *a = *s;
        }
        let whole = h.len() / 64;
        let out = Out {
            digit: &mut self.digit,
            sep: &mut self.sep,
            field: &mut self.field,
        };
        classify(kernel, h, whole, &four, out);
        if whole < blocks {
            // The short tail, zero padded, through the same kernel.
            let mut buf = [0u8; 64];
            let (src, at, valid) = block64(h, whole * 64, &mut buf);
            let src = src.get(at..).unwrap_or_default();
            let (mut d, mut s, mut f) = ([0u64], [0u64], [0u64]);
            let out = Out {
                digit: &mut d,
                sep: &mut s,
                field: &mut f,
            };
            classify(kernel, src, 1, &four, out);
            if let (Some(a), Some(b), Some(c)) = (
                self.digit.get_mut(whole),
                self.sep.get_mut(whole),
                self.field.get_mut(whole),
            ) {
                (*a, *b, *c) = (d[0] & valid, s[0] & valid, f[0] & valid);
            }
        }
        if seps.is_empty() {
            // The padding byte ('0') is no separator.
            self.sep.fill(0);
        } else if seps.len() > MAX_SEPS {
            for (k, s) in self.sep.iter_mut().enumerate() {
                let n = h.len().saturating_sub(k * 64).min(64);
                *s = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            }
        }
    }

    /// Digit mask of block `k` (zero past the end).
    #[inline(always)]
    pub fn digit(&self, k: usize) -> u64 {
        self.digit.get(k).copied().unwrap_or(0)
    }

    /// Digit-separator mask of block `k` (zero past the end).
    #[inline(always)]
    pub fn sep(&self, k: usize) -> u64 {
        self.sep.get(k).copied().unwrap_or(0)
    }

    /// Field-separator mask of block `k` (zero past the end).
    #[inline(always)]
    pub fn field(&self, k: usize) -> u64 {
        self.field.get(k).copied().unwrap_or(0)
    }
}

/// Output words of the first `n` blocks.
struct Out<'a> {
    digit: &'a mut [u64],
    sep: &'a mut [u64],
    field: &'a mut [u64],
}

/// Classifies the `n` whole blocks at the start of `h` (`64 * n <= h.len()`
/// and every output holds `n` words, which `compute_with` guarantees).
fn classify(kernel: Kernel, h: &[u8], n: usize, seps: &[u8; MAX_SEPS], out: Out<'_>) {
    let n = n
        .min(h.len() / 64)
        .min(out.digit.len())
        .min(out.sep.len())
        .min(out.field.len());
    match kernel {
        // SAFETY (all three): the feature was detected at run time (or is
        // baseline, SSE2); `n` whole blocks of `h` and `n` words of each
        // output are in bounds (clamped above).
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { x86::classify_avx512(h, n, seps, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { x86::classify_avx2(h, n, seps, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Sse2 => unsafe { x86::classify_sse2(h, n, seps, out) },
        Kernel::Scalar => classify_scalar(h, n, seps, out),
    }
}

/// Portable version (and the tests' reference).
fn classify_scalar(h: &[u8], n: usize, seps: &[u8; MAX_SEPS], out: Out<'_>) {
    let blocks = h.chunks_exact(64).take(n);
    let words = out
        .digit
        .iter_mut()
        .zip(out.sep.iter_mut())
        .zip(out.field.iter_mut());
    for (block, ((d, s), f)) in blocks.zip(words) {
        (*d, *s, *f) = (0, 0, 0);
        for (i, c) in block.iter().enumerate() {
            *d |= u64::from(c.is_ascii_digit()) << i;
            *s |= u64::from(seps.contains(c)) << i;
            *f |= u64::from(FIELD_SEPS.contains(c)) << i;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Out, FIELD_SEPS, MAX_SEPS};
    use std::arch::x86_64::*;

    /// `b + 0x50` maps '0'..='9' to 0x80..=0x89, the only bytes below
    /// -118 as signed i8: one add and one signed compare find digits.
    const BIAS: i8 = 0x50;
    const LIMIT: i8 = -118;

    /// One 64-byte vector per block; compares land in mask registers.
    /// Caller guarantees `64 * n <= h.len()` and `n` words per output.
    #[target_feature(enable = "avx512bw")]
    pub unsafe fn classify_avx512(h: &[u8], n: usize, seps: &[u8; MAX_SEPS], out: Out<'_>) {
        let zero = _mm512_set1_epi8(b'0' as i8);
        let ten = _mm512_set1_epi8(10);
        let s = seps.map(|c| _mm512_set1_epi8(c as i8));
        let f = FIELD_SEPS.map(|c| _mm512_set1_epi8(c as i8));
        for k in 0..n {
            // SAFETY: caller guarantees 64 * n <= h.len().
            let v = unsafe { _mm512_loadu_si512(h.as_ptr().add(k * 64).cast()) };
            let d = _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, zero), ten);
            let sm = s.iter().fold(0, |m, c| m | _mm512_cmpeq_epi8_mask(v, *c));
            let fm = f.iter().fold(0, |m, c| m | _mm512_cmpeq_epi8_mask(v, *c));
            // SAFETY: caller guarantees n words per output.
            unsafe {
                *out.digit.get_unchecked_mut(k) = d;
                *out.sep.get_unchecked_mut(k) = sm;
                *out.field.get_unchecked_mut(k) = fm;
            }
        }
    }

    /// Two 32-byte vectors per block. Caller guarantees `64 * n <= h.len()`
    /// and `n` words per output.
    #[target_feature(enable = "avx2")]
    pub unsafe fn classify_avx2(h: &[u8], n: usize, seps: &[u8; MAX_SEPS], out: Out<'_>) {
        let bias = _mm256_set1_epi8(BIAS);
        let limit = _mm256_set1_epi8(LIMIT);
        let s = seps.map(|c| _mm256_set1_epi8(c as i8));
        let f = FIELD_SEPS.map(|c| _mm256_set1_epi8(c as i8));
        let any = |v: __m256i, set: &[__m256i]| {
            set.iter().fold(_mm256_setzero_si256(), |m, c| {
                _mm256_or_si256(m, _mm256_cmpeq_epi8(v, *c))
            })
        };
        let bits = |x: __m256i| u64::from(_mm256_movemask_epi8(x) as u32);
        for k in 0..n {
            let (mut d, mut sm, mut fm) = (0u64, 0u64, 0u64);
            for half in 0..2 {
                // SAFETY: caller guarantees 64 * n <= h.len().
                let v = unsafe { _mm256_loadu_si256(h.as_ptr().add(k * 64 + half * 32).cast()) };
                let dv = _mm256_cmpgt_epi8(limit, _mm256_add_epi8(v, bias));
                d |= bits(dv) << (half * 32);
                sm |= bits(any(v, &s)) << (half * 32);
                fm |= bits(any(v, &f)) << (half * 32);
            }
            // SAFETY: caller guarantees n words per output.
            unsafe {
                *out.digit.get_unchecked_mut(k) = d;
                *out.sep.get_unchecked_mut(k) = sm;
                *out.field.get_unchecked_mut(k) = fm;
            }
        }
    }

    /// Four 16-byte vectors per block. Caller guarantees `64 * n <= h.len()`
    /// and `n` words per output.
    #[target_feature(enable = "sse2")]
    pub unsafe fn classify_sse2(h: &[u8], n: usize, seps: &[u8; MAX_SEPS], out: Out<'_>) {
        let bias = _mm_set1_epi8(BIAS);
        let limit = _mm_set1_epi8(LIMIT);
        let s = seps.map(|c| _mm_set1_epi8(c as i8));
        let f = FIELD_SEPS.map(|c| _mm_set1_epi8(c as i8));
        let any = |v: __m128i, set: &[__m128i]| {
            set.iter().fold(_mm_setzero_si128(), |m, c| {
                _mm_or_si128(m, _mm_cmpeq_epi8(v, *c))
            })
        };
        let bits = |x: __m128i| u64::from(_mm_movemask_epi8(x) as u32 & 0xffff);
        for k in 0..n {
            let (mut d, mut sm, mut fm) = (0u64, 0u64, 0u64);
            for q in 0..4 {
                // SAFETY: caller guarantees 64 * n <= h.len().
                let v = unsafe { _mm_loadu_si128(h.as_ptr().add(k * 64 + q * 16).cast()) };
                let dv = _mm_cmplt_epi8(_mm_add_epi8(v, bias), limit);
                d |= bits(dv) << (q * 16);
                sm |= bits(any(v, &s)) << (q * 16);
                fm |= bits(any(v, &f)) << (q * 16);
            }
            // SAFETY: caller guarantees n words per output.
            unsafe {
                *out.digit.get_unchecked_mut(k) = d;
                *out.sep.get_unchecked_mut(k) = sm;
                *out.field.get_unchecked_mut(k) = fm;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every kernel this CPU has.
    fn kernels() -> Vec<Kernel> {
        let mut k = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            k.push(Kernel::Sse2);
            if std::arch::is_x86_feature_detected!("avx2") {
                k.push(Kernel::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512bw") {
                k.push(Kernel::Avx512);
            }
        }
        k
    }

    /// Byte-by-byte reference.
    fn reference(h: &[u8], seps: &[u8]) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
        let blocks = h.len().div_ceil(64);
        let (mut d, mut s, mut f) = (vec![0; blocks], vec![0; blocks], vec![0; blocks]);
        for (p, c) in h.iter().enumerate() {
            let bit = 1u64 << (p % 64);
            if c.is_ascii_digit() {
                d[p / 64] |= bit;
            }
            if seps.len() > MAX_SEPS || seps.contains(c) {
                s[p / 64] |= bit;
            }
            if FIELD_SEPS.contains(c) {
                f[p / 64] |= bit;
            }
        }
        (d, s, f)
    }

    #[test]
    fn every_byte_value_in_every_kernel() {
        let h: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        for seps in [&b" -"[..], b"", b" -./", b" -./,"] {
            let want = reference(&h, seps);
            for k in kernels() {
                let mut m = BlockMasks::default();
                m.compute_with(k, &h, seps);
                assert_eq!(
                    (m.digit.clone(), m.sep.clone(), m.field.clone()),
                    want,
                    "{k:?} {seps:?}"
                );
            }
        }
    }

    #[test]
    fn past_the_end_is_zero() {
        let m = BlockMasks::of(b"12:", b" ");
        assert_eq!((m.digit(0), m.field(0), m.sep(0)), (0b011, 0b100, 0));
        assert_eq!((m.digit(1), m.sep(1), m.field(1)), (0, 0, 0));
        let many = BlockMasks::of(b"abc", b" -./,");
        assert_eq!(
            many.sep(0),
            0b111,
            "more than four separators: every real byte"
        );
    }

    proptest! {
        #[test]
        fn kernels_equal_reference(
            h in proptest::collection::vec(prop_oneof![Just(b'5'), Just(b':'), Just(b' '), Just(b'='), Just(b'-'), any::<u8>()], 0..400),
            seps in prop_oneof![Just(b" -".to_vec()), Just(b"".to_vec()), Just(b" -./,".to_vec())],
        ) {
            let want = reference(&h, &seps);
            for k in kernels() {
                let mut m = BlockMasks::default();
                // Reused memory must not leak into the next buffer.
                m.compute_with(k, &[b'7'; 200], &seps);
                m.compute_with(k, &h, &seps);
                prop_assert_eq!((m.digit.clone(), m.sep.clone(), m.field.clone()), want.clone());
            }
        }
    }
}
