//! SIMD byte classification for the digit-run scanner and the base64
//! blob finder.
//!
//! [`DigitMap`] reads the digit bitmap of [`BlockMasks`] (one SIMD pass
//! per scan call); finding the next run, the next run of two or more
//! digits and the end of a run are then bit operations. [`Gate`] filters
//! digit-chain candidates the same way, [`SepMap`] visits field
//! separators, and [`B64Map`] finds runs of base64 characters (AVX2
//! chosen at run time, SSE2 otherwise on x86_64, a scalar loop elsewhere).
#![allow(unsafe_code)]

use super::blocks::BlockMasks;

/// Digit bitmap of `h`, 64 bytes at a time: finding the next digit and the
/// end of a run are bit operations on the block masks of [`BlockMasks`].
pub struct DigitMap<'a> {
    h: &'a [u8],
    blocks: &'a BlockMasks,
    /// Start of the cached block (`usize::MAX`: none).
    block: usize,
    /// Bit i set: `h[block + i]` is an ASCII digit.
    mask: u64,
    /// Bit i set: `h[block + i]` and `h[block + i + 1]` are digits.
    pairs: u64,
}

impl<'a> DigitMap<'a> {
    /// A map over `h`, whose masks `blocks` holds.
    pub fn new(h: &'a [u8], blocks: &'a BlockMasks) -> Self {
        DigitMap {
            h,
            blocks,
            block: usize::MAX,
            mask: 0,
            pairs: 0,
        }
    }

    #[inline]
    fn load(&mut self, b: usize) {
        self.block = b;
        self.mask = self.blocks.digit(b / 64);
        let next = self.blocks.digit(b / 64 + 1) & 1;
        self.pairs = self.mask & ((self.mask >> 1) | (next << 63));
    }

    /// First position ≥ `pos` starting two digits in a row, or `h.len()`.
    #[inline]
    pub fn next_pair(&mut self, pos: usize) -> usize {
        next_set(self, pos, |m| m.pairs)
    }

    /// First position ≥ `pos` whose digit-ness equals `digit`, or `h.len()`.
    #[inline]
    fn next(&mut self, pos: usize, digit: bool) -> usize {
        let flip = if digit { 0 } else { u64::MAX };
        next_set(self, pos, |m| m.mask ^ flip)
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

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Block-level candidate filter for the digit family.
///
/// A digit candidate needs `m` digits in one chain `digits (sep digits)*`,
/// so its first byte starts `m` consecutive bytes that are digits or
/// separators between digits. Per 64-byte block the gate computes that
/// "chain window" mask (with 64 bytes of look-ahead) and keeps only the
/// positions that also start two digits in a row: the positions
/// [`DigitMap::next_pair`] would return that can lead to a match. It may
/// report more positions than necessary (block edges, many separators),
/// never fewer.
pub struct Gate<'a> {
    h: &'a [u8],
    blocks: &'a BlockMasks,
    m: u32,
    /// Start of the cached block (`usize::MAX`: none).
    block: usize,
    /// Candidate positions of the cached block.
    cand: u64,
}

impl<'a> Gate<'a> {
    /// A gate over `h` (whose masks `blocks` holds) for chains of at least
    /// `m` bytes (capped at 64).
    pub fn new(h: &'a [u8], blocks: &'a BlockMasks, m: usize) -> Self {
        Gate {
            h,
            blocks,
            m: m.clamp(1, 64) as u32,
            block: usize::MAX,
            cand: 0,
        }
    }

    // Forced inline here and in the base64 map: once per 64-byte block,
    // and as a call it cost ~1 % (gate) and ~2 % (base64 map and its
    // classifier) of worker instructions in register saves and stores.
    #[inline(always)]
    fn load(&mut self, b: usize) {
        self.block = b;
        let k = b / 64;
        let bl = self.blocks;
        let (d0, s0, d1, s1) = (bl.digit(k), bl.sep(k), bl.digit(k + 1), bl.sep(k + 1));
        // Neighbours outside the two blocks count as digits (looser).
        let before0 = (d0 << 1) | 1;
        let before1 = (d1 << 1) | (d0 >> 63);
        let after0 = (d0 >> 1) | (d1 << 63);
        let after1 = (d1 >> 1) | (1 << 63);
        let c0 = d0 | (s0 & before0 & after0);
        let c1 = d1 | (s1 & before1 & after1);
        let pairs = d0 & after0;
        self.cand = if pairs == 0 {
            0
        } else {
            consecutive(c0, c1, self.m) & pairs
        };
    }

    /// First candidate position ≥ `pos`, or `h.len()`.
    #[inline]
    pub fn next(&mut self, pos: usize) -> usize {
        next_set(self, pos, |m| m.cand)
    }
}

/// Field separators (`:`, `=`, `>`) of `h`, 64 bytes at a time: the
/// field family visits them in order without a `memchr` call per hit (a
/// JSON line has one every ~20 bytes).
pub struct SepMap<'a> {
    h: &'a [u8],
    blocks: &'a BlockMasks,
    /// Start of the cached block (`usize::MAX`: none).
    block: usize,
    /// Bit i set: `h[block + i]` is a separator.
    mask: u64,
}

impl<'a> SepMap<'a> {
    /// A map over `h`, whose masks `blocks` holds.
    pub fn new(h: &'a [u8], blocks: &'a BlockMasks) -> Self {
        SepMap {
            h,
            blocks,
            block: usize::MAX,
            mask: 0,
        }
    }

    #[inline]
    fn load(&mut self, b: usize) {
        self.block = b;
        self.mask = self.blocks.field(b / 64);
    }

    /// First separator at or after `pos`, or `h.len()`.
    #[inline]
    pub fn next(&mut self, pos: usize) -> usize {
        next_set(self, pos, |m| m.mask)
    }
}

/// Base64 runs of `h` (standard and URL-safe alphabets), 64 bytes at a
/// time: the first position starting `m` base64 characters in a row, and
/// whether those are all hex digits, are bit operations on block masks.
pub struct B64Map<'a> {
    h: &'a [u8],
    m: u32,
    /// Start of the cached block (`usize::MAX`: none).
    block: usize,
    /// (base64, hex) masks of the cached block and of the next one.
    cur: (u64, u64),
    next: (u64, u64),
    /// Bit i: `m` base64 characters start at `block + i`.
    win: u64,
    /// Bit i: `m` hex digits start at `block + i` (once `hex_done`).
    hex_win: u64,
    hex_done: bool,
    /// Run length that makes a hex run a candidate too (see
    /// [`B64Map::candidates`]); `None`: every window is a candidate.
    long: Option<u32>,
    /// Bit i: [`B64Map::next_candidate`] reports `block + i`.
    cand: u64,
    avx2: bool,
}

impl<'a> B64Map<'a> {
    /// A map over `h` for windows of `m` characters (capped at 64).
    pub fn new(h: &'a [u8], m: usize) -> Self {
        B64Map {
            h,
            m: m.clamp(1, 64) as u32,
            block: usize::MAX,
            cur: (0, 0),
            next: (0, 0),
            win: 0,
            hex_win: 0,
            hex_done: false,
            long: None,
            cand: 0,
            avx2: has_avx2(),
        }
    }

    /// A map whose [`B64Map::next_candidate`] reports only the starts of
    /// runs of at least `m` characters whose first `m` are not all hex
    /// digits, or that are at least `long` characters long (`m`, `long`
    /// at most 64). A hex token (hash, order number, trace id) is then
    /// passed over with a few bit operations per 64-byte block instead of
    /// a visit per run. With `m > 64` every window is a candidate.
    pub fn candidates(h: &'a [u8], m: usize, long: usize) -> Self {
        let mut map = B64Map::new(h, m);
        if m <= 64 {
            map.long = Some(long.clamp(1, 64) as u32);
        }
        map
    }

    /// (base64, hex) masks of the 64 bytes at `b` (zero past the end).
    #[inline(always)]
    fn classify(&self, b: usize) -> (u64, u64) {
        let ([m, x], _) = masked_block(self.h, b, |src, at| {
            #[cfg(target_arch = "x86_64")]
            let (m, x) = if self.avx2 {
                // SAFETY: AVX2 was detected at run time; masked_block gives 64 bytes at `at`.
                unsafe { x86::b64_hex64_avx2(src, at) }
            } else {
                // SAFETY: SSE2 is baseline on x86_64; masked_block gives 64 bytes at `at`.
                unsafe { x86::b64_hex64_sse2(src, at) }
            };
            #[cfg(not(target_arch = "x86_64"))]
            let (m, x) = (
                scalar_mask(src, at, |c| is_b64(*c)),
                scalar_mask(src, at, u8::is_ascii_hexdigit),
            );
            [m, x]
        });
        (m, x)
    }

    #[inline(always)]
    fn load(&mut self, b: usize) {
        // Whether the byte before the block is a base64 character.
        let prev = if self.block != usize::MAX && b == self.block + 64 {
            let last = self.cur.0 >> 63;
            self.cur = self.next;
            last
        } else {
            self.cur = self.classify(b);
            u64::from(b > 0 && self.h.get(b - 1).copied().is_some_and(is_b64))
        };
        self.next = self.classify(b + 64);
        self.block = b;
        self.win = consecutive(self.cur.0, self.next.0, self.m);
        self.hex_done = false;
        self.cand = self.win;
        if let Some(long) = self.long {
            // Starts of runs of `m` or more: one or two per block in text,
            // so a per-start test beats window masks of the hex class
            // (measured: masks for the hex window and the long run cost
            // 1.3 % more worker instructions on the replay bench).
            let mut starts = self.cur.0 & !((self.cur.0 << 1) | prev) & self.win;
            self.cand = 0;
            while starts != 0 {
                let i = starts.trailing_zeros();
                // A non-hex character among the first `m`, or a long run.
                let nonhex = run_from(!self.cur.0 | self.cur.1, !self.next.0 | self.next.1, i);
                if nonhex < self.m || run_from(self.cur.0, self.next.0, i) >= long {
                    self.cand |= 1 << i;
                }
                starts &= starts - 1;
            }
        }
    }

    /// First candidate position ≥ `pos` (see [`B64Map::candidates`]), or
    /// `h.len()`. `pos` must be 0 or follow a non-base64 byte.
    #[inline]
    pub fn next_candidate(&mut self, pos: usize) -> usize {
        next_set(self, pos, |m| m.cand)
    }

    /// First position ≥ `pos` starting `m` base64 characters, or `h.len()`.
    #[cfg(test)]
    pub fn next_window(&mut self, pos: usize) -> usize {
        next_set(self, pos, |m| m.win)
    }

    /// Whether the `m` characters at `p` are all hex digits (`p` as last
    /// returned by [`B64Map::next_window`]).
    #[inline]
    pub fn hex_window(&mut self, p: usize) -> bool {
        let b = p & !63;
        if b != self.block {
            self.load(b);
        }
        if !self.hex_done {
            self.hex_win = consecutive(self.cur.1, self.next.1, self.m);
            self.hex_done = true;
        }
        p < self.h.len() && self.hex_win >> (p - b) & 1 == 1
    }

    /// First position ≥ `pos` that is not a base64 character, or `h.len()`.
    #[inline]
    pub fn run_end(&mut self, pos: usize) -> usize {
        next_set(self, pos, |m| !m.cur.0)
    }
}

/// A set of bytes as the two nibble tables of a "shufti" classifier: byte
/// `c` is in the set iff `lo[c & 15] & hi[c >> 4] != 0`, one bit per high
/// nibble, so exact for sets spanning at most 8 high nibbles.
pub struct NibbleSet {
    lo: [u8; 16],
    hi: [u8; 16],
}

impl NibbleSet {
    /// The set of bytes `c` with `set[c]`; `None` if they span more than
    /// 8 high nibbles or the CPU lacks AVX2 (no vector path: callers fall
    /// back to what they did without the set).
    pub fn new(set: &[bool; 256]) -> Option<NibbleSet> {
        if !has_avx2() {
            return None;
        }
        let member = |hi: usize, lo: usize| set.get(hi << 4 | lo).copied().unwrap_or(false);
        let his: Vec<usize> = (0..16).filter(|&h| (0..16).any(|l| member(h, l))).collect();
        if his.len() > 8 {
            return None;
        }
        let (mut lo, mut hi) = ([0u8; 16], [0u8; 16]);
        for (bit, &h) in his.iter().enumerate() {
            hi[h] = 1 << bit;
            for (l, x) in lo.iter_mut().enumerate() {
                if member(h, l) {
                    *x |= 1 << bit;
                }
            }
        }
        Some(NibbleSet { lo, hi })
    }

    /// Whether `c` is in the set.
    #[cfg(any(test, not(target_arch = "x86_64")))]
    pub fn contains(&self, c: u8) -> bool {
        let (l, h) = (usize::from(c & 15), usize::from(c >> 4));
        self.lo
            .get(l)
            .zip(self.hi.get(h))
            .is_some_and(|(l, h)| l & h != 0)
    }

    /// Whether `pred(p)` holds at some position `p` of a member byte of
    /// `h`, asked in increasing order until one does. The whole blocks run
    /// in one vector loop: the gate this serves is asked of every buffer.
    pub fn any(&self, h: &[u8], mut pred: impl FnMut(usize) -> bool) -> bool {
        let whole = h.len() / 64 * 64;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `new` checked AVX2; `whole <= h.len()`, a multiple of 64.
        let found = unsafe { x86::nibble_any_avx2(h, whole, (&self.lo, &self.hi), &mut pred) };
        #[cfg(not(target_arch = "x86_64"))]
        let found = (0..whole)
            .step_by(64)
            .any(|b| each_bit(self.mask64(h, b), b, &mut pred));
        found || (whole < h.len() && each_bit(self.mask64(h, whole), whole, &mut pred))
    }

    /// Mask of the members among the 64 bytes of `h` at `b` (zero past
    /// the end).
    pub fn mask64(&self, h: &[u8], b: usize) -> u64 {
        let ([m], _) = masked_block(h, b, |src, at| {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `new` checked AVX2; masked_block gives 64 bytes at `at`.
            let m = unsafe { x86::nibble64_avx2(src, at, &self.lo, &self.hi) };
            #[cfg(not(target_arch = "x86_64"))]
            let m = scalar_mask(src, at, |c| self.contains(*c));
            [m]
        });
        m
    }
}

/// Whether `pred(base + i)` holds for a set bit `i` of `m`, in order.
#[inline(always)]
fn each_bit(mut m: u64, base: usize, pred: &mut impl FnMut(usize) -> bool) -> bool {
    while m != 0 {
        if pred(base + m.trailing_zeros() as usize) {
            return true;
        }
        m &= m - 1;
    }
    false
}

/// Whether `h` holds a byte ≥ 0x80: the OR of the 64-bit words of each
/// 64-byte block, one test per block.
pub fn has_high(h: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = |w: &[u8]| u64::from_ne_bytes(w.try_into().unwrap_or_default());
    let mut blocks = h.chunks_exact(64);
    for b in &mut blocks {
        if b.chunks_exact(8).fold(0, |a, w| a | word(w)) & HIGH != 0 {
            return true;
        }
    }
    blocks.remainder().iter().any(|&b| b >= 0x80)
}

/// A bitmap over a haystack, computed 64 bytes (one block) at a time.
trait Blocks {
    /// Haystack length.
    fn len(&self) -> usize;
    /// Start of the cached block (`usize::MAX`: none).
    fn block(&self) -> usize;
    /// Computes the masks of the block at `b`.
    fn load(&mut self, b: usize);
}

/// First position ≥ `pos` whose bit is set in `mask` of its block, or
/// the haystack length.
#[inline(always)]
fn next_set<M: Blocks>(m: &mut M, pos: usize, mask: impl Fn(&M) -> u64) -> usize {
    let len = m.len();
    if pos >= len {
        return len;
    }
    let mut b = pos & !63;
    if b != m.block() {
        m.load(b);
    }
    let mut w = mask(m) & (u64::MAX << (pos - b));
    loop {
        if w != 0 {
            return (b + w.trailing_zeros() as usize).min(len);
        }
        b += 64;
        if b >= len {
            return len;
        }
        m.load(b);
        w = mask(m);
    }
}

macro_rules! impl_blocks {
    ($t:ident) => {
        impl Blocks for $t<'_> {
            #[inline(always)]
            fn len(&self) -> usize {
                self.h.len()
            }
            #[inline(always)]
            fn block(&self) -> usize {
                self.block
            }
            #[inline(always)]
            fn load(&mut self, b: usize) {
                $t::load(self, b)
            }
        }
    };
}
impl_blocks!(DigitMap);
impl_blocks!(Gate);
impl_blocks!(B64Map);
impl_blocks!(SepMap);

/// JSON structure of the 64 bytes of `h` at `b` (zero past the end):
/// masks of quotes, backslashes and brackets (`{}[]`).
#[inline]
pub fn json_masks64(h: &[u8], b: usize) -> [u64; 3] {
    masked_block(h, b, |src, at| {
        #[cfg(target_arch = "x86_64")]
        {
            let set = [b'"', b'\\', b'{', b'}', b'[', b']'];
            let (q, e, o) = if has_avx2() {
                // SAFETY: AVX2 was detected at run time; masked_block gives 64 bytes at `at`.
                unsafe { x86::eq_each64_avx2(src, at, &set) }
            } else {
                // SAFETY: SSE2 is baseline on x86_64; masked_block gives 64 bytes at `at`.
                unsafe { x86::eq_each64_sse2(src, at, &set) }
            };
            [q, e, o]
        }
        #[cfg(not(target_arch = "x86_64"))]
        [
            scalar_mask(src, at, |c| *c == b'"'),
            scalar_mask(src, at, |c| *c == b'\\'),
            scalar_mask(src, at, |c| matches!(*c, b'{' | b'}' | b'[' | b']')),
        ]
    })
    .0
}

/// Runs `classify` on the 64 bytes at `b` of `h` (through [`block64`],
/// so a short tail is classified too) and keeps only the real bytes'
/// bits; returns the masks and the mask of real bytes (zero past the end).
#[inline(always)]
fn masked_block<const N: usize>(
    h: &[u8],
    b: usize,
    classify: impl FnOnce(&[u8], usize) -> [u64; N],
) -> ([u64; N], u64) {
    // Whole blocks, nearly all of them, skip the buffer (and zeroing it).
    if b + 64 <= h.len() {
        return (classify(h, b), u64::MAX);
    }
    let mut buf = [0u8; 64];
    let (src, at, valid) = block64(h, b, &mut buf);
    if valid == 0 {
        return ([0; N], 0);
    }
    (classify(src, at).map(|m| m & valid), valid)
}

/// The 64 bytes at `b` as a block the SIMD classifiers can load: `h`
/// itself when all 64 are there, else the tail copied into `buf` (zero
/// padded), so short tails take the SIMD path too. Returns the slice, the
/// block's offset in it and the mask of real bytes (zero past the end).
#[inline]
pub(super) fn block64<'s>(h: &'s [u8], b: usize, buf: &'s mut [u8; 64]) -> (&'s [u8], usize, u64) {
    if b + 64 <= h.len() {
        return (h, b, u64::MAX);
    }
    let tail = h.get(b..).unwrap_or_default();
    let n = tail.len().min(63);
    if let (Some(d), Some(t)) = (buf.get_mut(..n), tail.get(..n)) {
        d.copy_from_slice(t);
    }
    (buf.as_slice(), 0, (1u64 << n) - 1)
}

/// Mask of the 64 bytes at `at` that satisfy `f` (portable fallback).
#[cfg(not(target_arch = "x86_64"))]
fn scalar_mask(src: &[u8], at: usize, f: impl Fn(&u8) -> bool) -> u64 {
    src.get(at..)
        .unwrap_or_default()
        .iter()
        .take(64)
        .enumerate()
        .fold(0u64, |m, (i, c)| m | (u64::from(f(c)) << i))
}

/// Running parity of a 64-bit mask (see [`PrefixXor::of`]), by one
/// carry-less multiply where the CPU has it (every x86_64 CPU of the last
/// decade), by six shifts otherwise. Made once per buffer, so the feature
/// test is not paid per block.
#[derive(Clone, Copy, Debug)]
pub struct PrefixXor {
    clmul: bool,
}

impl PrefixXor {
    /// Detects the CPU's carry-less multiply.
    #[inline]
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        let clmul = std::arch::is_x86_feature_detected!("pclmulqdq");
        #[cfg(not(target_arch = "x86_64"))]
        let clmul = false;
        PrefixXor { clmul }
    }

    /// Bit i set: an odd number of bits set in `x` at positions `0..=i`.
    #[inline]
    pub fn of(self, x: u64) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if self.clmul {
            // SAFETY: PCLMULQDQ was detected at run time (`new`).
            return unsafe { x86::prefix_xor_clmul(x) };
        }
        prefix_xor_shifts(x)
    }
}

impl Default for PrefixXor {
    fn default() -> Self {
        PrefixXor::new()
    }
}

/// [`PrefixXor::of`] by shifts.
#[inline]
fn prefix_xor_shifts(mut x: u64) -> u64 {
    for s in [1, 2, 4, 8, 16, 32] {
        x ^= x << s;
    }
    x
}

/// A base64 character of either alphabet.
#[inline]
pub const fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_')
}

/// Length of the run of set bits of the 128-bit `hi:lo` from bit `i` of
/// `lo` (`i < 64`).
#[inline(always)]
fn run_from(lo: u64, hi: u64, i: u32) -> u32 {
    // Zeros shifted in at the top end the count at the block end.
    let a = (!(lo >> i)).trailing_zeros();
    if a < 64 - i {
        a
    } else {
        a + (!hi).trailing_zeros()
    }
}

/// Bit i set: bits i..i + m of the 128-bit `hi:lo` are all set (bits of
/// `lo` only; `m <= 64`). Common `m` get shifts fixed at compile time.
#[inline(always)]
fn consecutive(lo: u64, hi: u64, m: u32) -> u64 {
    match m {
        11 => consecutive_n::<11>(lo, hi),
        15 => consecutive_n::<15>(lo, hi),
        6 => consecutive_n::<6>(lo, hi),
        7 => consecutive_n::<7>(lo, hi),
        8 => consecutive_n::<8>(lo, hi),
        9 => consecutive_n::<9>(lo, hi),
        10 => consecutive_n::<10>(lo, hi),
        12 => consecutive_n::<12>(lo, hi),
        13 => consecutive_n::<13>(lo, hi),
        16 => consecutive_n::<16>(lo, hi),
        _ => consecutive_n_dyn(lo, hi, m),
    }
}

#[inline(always)]
fn consecutive_n<const M: u32>(lo: u64, hi: u64) -> u64 {
    consecutive_n_dyn(lo, hi, M)
}

#[inline(always)]
fn consecutive_n_dyn(lo: u64, hi: u64, m: u32) -> u64 {
    let (mut lo, mut hi) = (lo, hi);
    let mut have = 1;
    while have < m {
        // 1 <= s <= 32: both shifts are in range.
        let s = have.min(m - have);
        lo &= (lo >> s) | (hi << (64 - s));
        hi &= hi >> s;
        have += s;
    }
    lo
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `b + 0x50` maps '0'..='9' to 0x80..=0x89, the only bytes below
    /// -118 as signed i8: one add and one signed compare find digits.
    const BIAS: i8 = 0x50;
    const LIMIT: i8 = -118;

    /// `(b | 0x20) + 0x1F` maps 'a'..='z' (and 'A'..='Z') to 0x80..=0x99,
    /// the only bytes below -102 as signed i8; 'a'..='f' end below -122.
    const LETTER_BIAS: i8 = 0x1F;
    const LETTER_LIMIT: i8 = -102;
    const HEX_LIMIT: i8 = -122;
    const B64_SPECIALS: [u8; 4] = [b'+', b'/', b'-', b'_'];

    /// Members of the nibble-table set (`lo`, `hi`, see `NibbleSet`) among
    /// `h[b..b + 64]`. Caller guarantees `b + 64 <= h.len()`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn nibble64_avx2(h: &[u8], b: usize, lo: &[u8; 16], hi: &[u8; 16]) -> u64 {
        // SAFETY: both tables are 16 bytes.
        let (lo_t, hi_t) = unsafe {
            (
                _mm256_broadcastsi128_si256(_mm_loadu_si128(lo.as_ptr().cast())),
                _mm256_broadcastsi128_si256(_mm_loadu_si128(hi.as_ptr().cast())),
            )
        };
        let low4 = _mm256_set1_epi8(0x0f);
        let mut m = 0u64;
        for k in 0..2 {
            // SAFETY: caller guarantees b + 64 <= h.len(); k * 32 + 32 <= 64.
            let v = unsafe { _mm256_loadu_si256(h.as_ptr().add(b + k * 32).cast()) };
            let l = _mm256_shuffle_epi8(lo_t, _mm256_and_si256(v, low4));
            let hn = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
            let both = _mm256_and_si256(l, _mm256_shuffle_epi8(hi_t, hn));
            let none = _mm256_cmpeq_epi8(both, _mm256_setzero_si256());
            m |= u64::from(!(_mm256_movemask_epi8(none) as u32)) << (k * 32);
        }
        m
    }

    /// `NibbleSet::any` over the blocks of `h[..whole]`. Caller guarantees
    /// `whole <= h.len()` and `whole % 64 == 0`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn nibble_any_avx2(
        h: &[u8],
        whole: usize,
        (lo, hi): (&[u8; 16], &[u8; 16]),
        pred: &mut impl FnMut(usize) -> bool,
    ) -> bool {
        let mut b = 0;
        while b < whole {
            // SAFETY: b + 64 <= whole <= h.len().
            let m = unsafe { nibble64_avx2(h, b, lo, hi) };
            if super::each_bit(m, b, pred) {
                return true;
            }
            b += 64;
        }
        false
    }

    /// (base64, hex) masks of `h[b..b + 64]`. Caller guarantees `b + 64 <= h.len()`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn b64_hex64_avx2(h: &[u8], b: usize) -> (u64, u64) {
        let (bias, limit) = (_mm256_set1_epi8(BIAS), _mm256_set1_epi8(LIMIT));
        let case = _mm256_set1_epi8(0x20);
        let lbias = _mm256_set1_epi8(LETTER_BIAS);
        let (llimit, hlimit) = (_mm256_set1_epi8(LETTER_LIMIT), _mm256_set1_epi8(HEX_LIMIT));
        let (mut m, mut x) = (0u64, 0u64);
        for k in 0..2 {
            // SAFETY: caller guarantees b + 64 <= h.len(); k * 32 + 32 <= 64.
            let v = unsafe { _mm256_loadu_si256(h.as_ptr().add(b + k * 32).cast()) };
            let digit = _mm256_cmpgt_epi8(limit, _mm256_add_epi8(v, bias));
            let l = _mm256_add_epi8(_mm256_or_si256(v, case), lbias);
            let letter = _mm256_cmpgt_epi8(llimit, l);
            let hexl = _mm256_cmpgt_epi8(hlimit, l);
            let mut b64 = _mm256_or_si256(digit, letter);
            for c in B64_SPECIALS {
                b64 = _mm256_or_si256(b64, _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8)));
            }
            let hex = _mm256_or_si256(digit, hexl);
            m |= u64::from(_mm256_movemask_epi8(b64) as u32) << (k * 32);
            x |= u64::from(_mm256_movemask_epi8(hex) as u32) << (k * 32);
        }
        (m, x)
    }

    /// SSE2 version of [`b64_hex64_avx2`]. Caller guarantees `b + 64 <= h.len()`.
    #[target_feature(enable = "sse2")]
    pub unsafe fn b64_hex64_sse2(h: &[u8], b: usize) -> (u64, u64) {
        let (bias, limit) = (_mm_set1_epi8(BIAS), _mm_set1_epi8(LIMIT));
        let case = _mm_set1_epi8(0x20);
        let lbias = _mm_set1_epi8(LETTER_BIAS);
        let (llimit, hlimit) = (_mm_set1_epi8(LETTER_LIMIT), _mm_set1_epi8(HEX_LIMIT));
        let (mut m, mut x) = (0u64, 0u64);
        for k in 0..4 {
            // SAFETY: caller guarantees b + 64 <= h.len(); k * 16 + 16 <= 64.
            let v = unsafe { _mm_loadu_si128(h.as_ptr().add(b + k * 16).cast()) };
            let digit = _mm_cmplt_epi8(_mm_add_epi8(v, bias), limit);
            let l = _mm_add_epi8(_mm_or_si128(v, case), lbias);
            let letter = _mm_cmplt_epi8(l, llimit);
            let hexl = _mm_cmplt_epi8(l, hlimit);
            let mut b64 = _mm_or_si128(digit, letter);
            for c in B64_SPECIALS {
                b64 = _mm_or_si128(b64, _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8)));
            }
            let hex = _mm_or_si128(digit, hexl);
            m |= u64::from(_mm_movemask_epi8(b64) as u32 & 0xffff) << (k * 16);
            x |= u64::from(_mm_movemask_epi8(hex) as u32 & 0xffff) << (k * 16);
        }
        (m, x)
    }

    /// Masks of the bytes of `h[b..b + 64]` equal to `set[0]`, to `set[1]`,
    /// and to any of `set[2..]`. Caller guarantees `b + 64 <= h.len()`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn eq_each64_avx2(h: &[u8], b: usize, set: &[u8; 6]) -> (u64, u64, u64) {
        let (mut q, mut e, mut o) = (0u64, 0u64, 0u64);
        for k in 0..2 {
            // SAFETY: caller guarantees b + 64 <= h.len(); k * 32 + 32 <= 64.
            let v = unsafe { _mm256_loadu_si256(h.as_ptr().add(b + k * 32).cast()) };
            let eq = |c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
            let rest = _mm256_or_si256(
                _mm256_or_si256(eq(set[2]), eq(set[3])),
                _mm256_or_si256(eq(set[4]), eq(set[5])),
            );
            q |= u64::from(_mm256_movemask_epi8(eq(set[0])) as u32) << (k * 32);
            e |= u64::from(_mm256_movemask_epi8(eq(set[1])) as u32) << (k * 32);
            o |= u64::from(_mm256_movemask_epi8(rest) as u32) << (k * 32);
        }
        (q, e, o)
    }

    /// [`super::PrefixXor`]: the low 64 bits of `x` times all ones,
    /// carry-less, are its running parity.
    #[target_feature(enable = "pclmulqdq")]
    pub unsafe fn prefix_xor_clmul(x: u64) -> u64 {
        let p = _mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1), 0);
        _mm_cvtsi128_si64(p) as u64
    }

    /// SSE2 version of [`eq_each64_avx2`]. Caller guarantees `b + 64 <= h.len()`.
    #[target_feature(enable = "sse2")]
    pub unsafe fn eq_each64_sse2(h: &[u8], b: usize, set: &[u8; 6]) -> (u64, u64, u64) {
        let (mut q, mut e, mut o) = (0u64, 0u64, 0u64);
        for k in 0..4 {
            // SAFETY: caller guarantees b + 64 <= h.len(); k * 16 + 16 <= 64.
            let v = unsafe { _mm_loadu_si128(h.as_ptr().add(b + k * 16).cast()) };
            let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            let rest = _mm_or_si128(
                _mm_or_si128(eq(set[2]), eq(set[3])),
                _mm_or_si128(eq(set[4]), eq(set[5])),
            );
            let mm = |x| u64::from(_mm_movemask_epi8(x) as u32 & 0xffff) << (k * 16);
            q |= mm(eq(set[0]));
            e |= mm(eq(set[1]));
            o |= mm(rest);
        }
        (q, e, o)
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
        let bm = BlockMasks::of(h, b"");
        let mut m = DigitMap::new(h, &bm);
        assert_eq!(m.next_digit(0), 36);
        assert_eq!(m.next_digit(37), 40);
        assert_eq!(m.next_pair(0), 67);
        assert_eq!(m.run_end(67), 83);
        assert_eq!(m.next_digit(84), h.len());
        let bm = BlockMasks::of(b"/:\xb0\x80", b"");
        let mut b = DigitMap::new(b"/:\xb0\x80", &bm);
        assert_eq!(b.next_digit(0), 4);
    }

    /// First q >= from starting two digits with `m` chain bytes after it.
    fn gate_scalar(h: &[u8], from: usize, m: usize) -> usize {
        let is_d = |i: usize| h.get(i).is_some_and(u8::is_ascii_digit);
        let chain = |i: usize| {
            is_d(i)
                || (h.get(i).is_some_and(|c| b" -".contains(c))
                    && i > 0
                    && is_d(i - 1)
                    && is_d(i + 1))
        };
        (from..h.len())
            .find(|&q| is_d(q) && is_d(q + 1) && (q..q + m).all(chain))
            .unwrap_or(h.len())
    }

    fn b64_window_scalar(h: &[u8], from: usize, m: usize) -> usize {
        (from..h.len())
            .find(|&p| p + m <= h.len() && h[p..p + m].iter().all(|&c| is_b64(c)))
            .unwrap_or(h.len())
    }

    #[test]
    fn nibble_set_classifies_every_byte() {
        let h: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        for members in [&b"CDEGHKMPS"[..], b"az09\x80\xff", b"\x00"] {
            let mut set = [false; 256];
            for &c in members {
                set[usize::from(c)] = true;
            }
            let Some(ns) = NibbleSet::new(&set) else {
                assert!(!has_avx2(), "8 high nibbles or fewer need no fallback");
                continue;
            };
            for b in [0, 64, 128, 200, 448, 500] {
                let m = ns.mask64(&h, b);
                for i in 0..64 {
                    let want = h.get(b + i).is_some_and(|&c| set[usize::from(c)]);
                    assert_eq!(m >> i & 1 == 1, want, "byte at {}", b + i);
                    if let Some(&c) = h.get(b + i) {
                        assert_eq!(ns.contains(c), want);
                    }
                }
            }
        }
        // `any` visits every member in order, whole blocks and tail.
        let mut set = [false; 256];
        set[usize::from(b'S')] = true;
        set[usize::from(b'G')] = true;
        if let Some(ns) = NibbleSet::new(&set) {
            let text = b"xSKU-1 G12 ".repeat(23);
            for len in [0, 1, 63, 64, 65, 128, 200, text.len()] {
                let h = &text[..len];
                let mut seen = Vec::new();
                assert!(!ns.any(h, |p| {
                    seen.push(p);
                    false
                }));
                let want: Vec<usize> = (0..len).filter(|&i| matches!(h[i], b'S' | b'G')).collect();
                assert_eq!(seen, want, "len {len}");
                let stop = want.get(5).copied();
                assert_eq!(ns.any(h, |p| Some(p) == stop), stop.is_some());
            }
        }
        // Nine high nibbles: no exact tables.
        let mut wide = [false; 256];
        for hn in 0..9 {
            wide[hn * 16] = true;
        }
        assert!(NibbleSet::new(&wide).is_none());
    }

    #[test]
    fn b64_map_classifies_every_byte() {
        // Every byte value at every lane of both 64-byte halves.
        let h: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        let mut map = B64Map::new(&h, 1);
        for (i, &c) in h.iter().enumerate() {
            let b64 = map.next_window(i) == i;
            assert_eq!(b64, is_b64(c), "byte {c:#x}");
            if b64 {
                assert_eq!(map.hex_window(i), c.is_ascii_hexdigit(), "byte {c:#x}");
            }
            assert_eq!(map.run_end(i) == i, !is_b64(c), "byte {c:#x}");
        }
    }

    proptest! {
        #[test]
        fn json_masks_equal_scalar(h in proptest::collection::vec(prop_oneof![Just(b'"'), Just(b'\\'), Just(b'{'), Just(b']'), any::<u8>()], 0..200), from in 0usize..200) {
            let got = json_masks64(&h, from);
            let mut want = [0u64; 3];
            for (i, &c) in h.iter().enumerate().skip(from).take(64) {
                let bit = 1u64 << (i - from);
                match c {
                    b'"' => want[0] |= bit,
                    b'\\' => want[1] |= bit,
                    b'{' | b'}' | b'[' | b']' => want[2] |= bit,
                    _ => {}
                }
            }
            prop_assert_eq!(got, want);
        }

        #[test]
        fn run_from_counts_set_bits(lo in prop_oneof![any::<u64>(), Just(u64::MAX), (0u32..64).prop_map(|k| u64::MAX << k)], hi in prop_oneof![any::<u64>(), Just(u64::MAX), (0u32..64).prop_map(|k| u64::MAX >> k)], i in 0u32..64) {
            let bit = |k: u32| if k < 64 { lo >> k & 1 } else { hi >> (k - 64) & 1 };
            let want = (i..128).take_while(|&k| bit(k) == 1).count() as u32;
            prop_assert_eq!(run_from(lo, hi, i), want);
        }

        #[test]
        fn prefix_xor_is_running_parity(x in any::<u64>()) {
            let p = PrefixXor::new().of(x);
            prop_assert_eq!(p, prefix_xor_shifts(x));
            for i in 0..64 {
                prop_assert_eq!(p >> i & 1, u64::from((x & (u64::MAX >> (63 - i))).count_ones() % 2));
            }
        }

        #[test]
        fn b64_map_equals_scalar(h in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'F'), Just(b'7'), Just(b'/'), Just(b' '), Just(b'g'), any::<u8>()], 0..300), from in 0usize..310, m in 1usize..70) {
            let mut map = B64Map::new(&h, m);
            let w = m.min(64);
            let p = map.next_window(from);
            prop_assert_eq!(p, b64_window_scalar(&h, from, w));
            if p < h.len() {
                prop_assert_eq!(map.hex_window(p), h[p..p + w].iter().all(u8::is_ascii_hexdigit));
                let e = (p..h.len()).find(|&i| !is_b64(h[i])).unwrap_or(h.len());
                prop_assert_eq!(map.run_end(p), e);
            }
        }

        #[test]
        fn b64_candidates_equal_scalar(tokens in proptest::collection::vec(("[0-9a-fA-F]{1,90}|[0-9a-zA-Z+/_-]{1,90}", "[ \"=:\n]{1,2}"), 0..12), m in 8usize..=64, long in 1usize..=64) {
            // Hex and base64 tokens of any length between separators.
            let h: Vec<u8> = tokens.iter().flat_map(|(t, sep)| t.bytes().chain(sep.bytes())).collect();
            let mut map = B64Map::candidates(&h, m, long);
            let mut got = Vec::new();
            let mut p = map.next_candidate(0);
            while p < h.len() {
                got.push(p);
                p = map.next_candidate(p + 1);
            }
            let want: Vec<usize> = (0..h.len())
                .filter(|&s| {
                    let start = is_b64(h[s]) && (s == 0 || !is_b64(h[s - 1]));
                    let len = h[s..].iter().take_while(|&&c| is_b64(c)).count();
                    start && len >= m && (!h[s..s + m].iter().all(u8::is_ascii_hexdigit) || len >= long)
                })
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn gate_never_misses(h in proptest::collection::vec(prop_oneof![Just(b'5'), Just(b'5'), Just(b' '), Just(b'-'), Just(b'a'), any::<u8>()], 0..300), from in 0usize..310, m in 2usize..20) {
            let bm = BlockMasks::of(&h, b" -");
            let mut g = Gate::new(&h, &bm, m);
            let got = g.next(from);
            prop_assert!(got <= gate_scalar(&h, from, m));
            if got < h.len() {
                prop_assert!(got >= from && h[got].is_ascii_digit() && h.get(got + 1).is_some_and(u8::is_ascii_digit));
            }
        }

        #[test]
        fn map_equals_scalar(h in proptest::collection::vec(prop_oneof![Just(b'5'), Just(b'a'), any::<u8>()], 0..300), from in 0usize..310) {
            let bm = BlockMasks::of(&h, b"");
            let mut m = DigitMap::new(&h, &bm);
            prop_assert_eq!(m.next_digit(from), find_digit_scalar(&h, from).min(h.len()));
            let want = if from >= h.len() { h.len() } else { skip_digits(&h, from) };
            prop_assert_eq!(m.run_end(from), want);
            let pair = (from..h.len().saturating_sub(1)).find(|&i| h[i].is_ascii_digit() && h[i + 1].is_ascii_digit()).unwrap_or(h.len());
            prop_assert_eq!(m.next_pair(from), pair);
        }

        #[test]
        fn sep_map_equals_scalar(h in proptest::collection::vec(prop_oneof![Just(b':'), Just(b'='), Just(b'>'), Just(b'a'), any::<u8>()], 0..300), from in 0usize..310) {
            let bm = BlockMasks::of(&h, b" -");
            let mut m = SepMap::new(&h, &bm);
            let want = (from..h.len()).find(|&i| matches!(h[i], b':' | b'=' | b'>')).unwrap_or(h.len());
            prop_assert_eq!(m.next(from), want);
        }
    }
}
