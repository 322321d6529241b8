//! Cache prefetch hints for the reader's sequential parse.
#![allow(unsafe_code)]

/// Asks the CPU to fetch the cache line holding `buf[at]` into all cache
/// levels; nothing when `at` is past the end, or off x86_64.
#[inline(always)]
pub fn line(buf: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = buf.get(at) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is baseline on x86_64; a prefetch is a hint that
        // never faults, and the address is inside `buf` anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(b).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, at);
}
