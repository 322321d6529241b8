//! Streaming content decoders (`gzip`, `deflate`, `br`, `zstd`) and the
//! bounded chain that stacks them.
//!
//! Each [`Layer`] turns compressed input into output pieces pushed to the
//! next layer, through one reused output buffer: nothing buffers a whole
//! body. The [`Chain`] counts compressed input and final output so that a
//! decompression bomb is stopped (size and ratio limits) and noted.

use brotli::{BrotliDecompressStream, BrotliResult, BrotliState, HeapAlloc, HuffmanCode};
use flate2::{Decompress, FlushDecompress, Status};
use zstd::stream::raw::{DParameter, Decoder as ZstdDecoder, Operation};

/// Size of each layer's reused output buffer.
const OUT_BUF: usize = 16 * 1024;
/// zstd window limit (2^27 = 128 MiB would let one frame pin that much memory).
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// A content or transfer coding leakwatch can undo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` / `x-gzip` (multi-member).
    Gzip,
    /// `deflate`: zlib-wrapped or raw, sniffed from the first bytes.
    Deflate,
    /// `br`.
    Brotli,
    /// `zstd`.
    Zstd,
}

impl Coding {
    /// Coding named by a header token (case-insensitive), `None` for
    /// `identity`, `chunked` and unknown tokens.
    pub fn from_token(tok: &[u8]) -> Option<Coding> {
        let t = tok.trim_ascii();
        if t.eq_ignore_ascii_case(b"gzip") || t.eq_ignore_ascii_case(b"x-gzip") {
            Some(Coding::Gzip)
        } else if t.eq_ignore_ascii_case(b"deflate") {
            Some(Coding::Deflate)
        } else if t.eq_ignore_ascii_case(b"br") {
            Some(Coding::Brotli)
        } else if t.eq_ignore_ascii_case(b"zstd") {
            Some(Coding::Zstd)
        } else {
            None
        }
    }
}

type Brotli = BrotliState<HeapAlloc<u8>, HeapAlloc<u32>, HeapAlloc<HuffmanCode>>;

enum Engine {
    /// Deflate waiting for its first byte to choose zlib or raw.
    Undecided,
    Flate(Box<Decompress>),
    Brotli(Box<Brotli>),
    Zstd(Box<ZstdDecoder<'static>>),
    /// The coding was a lie (no valid stream at the start): bytes pass as-is,
    /// which is what a lenient client shows.
    Pass,
    /// Failed after output, or finished: input is dropped.
    Done,
}

/// One step's result: bytes read, bytes written, stream ended.
type Step = Result<(usize, usize, bool), ()>;

/// One decoding layer.
pub struct Layer {
    coding: Coding,
    engine: Engine,
    produced: bool,
    out: Box<[u8]>,
}

impl Layer {
    /// A fresh decoder for `coding`.
    pub fn new(coding: Coding) -> Layer {
        let engine = match coding {
            Coding::Gzip => Engine::Flate(Box::new(Decompress::new_gzip(15))),
            Coding::Deflate => Engine::Undecided,
            Coding::Brotli => Engine::Brotli(Box::new(new_brotli())),
            Coding::Zstd => new_zstd(),
        };
        Layer {
            coding,
            engine,
            produced: false,
            out: vec![0; OUT_BUF].into_boxed_slice(),
        }
    }

    /// Decodes `input`, handing each output piece to `emit`; `emit`
    /// returns false to stop (a limit was hit). Returns false when stopped.
    pub fn feed(&mut self, mut input: &[u8], emit: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let whole = input;
        if let Engine::Undecided = self.engine {
            let Some(&b0) = input.first() else {
                return true;
            };
            self.engine = Engine::Flate(Box::new(Decompress::new(looks_zlib(
                b0,
                input.get(1).copied(),
            ))));
        }
        loop {
            match self.engine {
                Engine::Pass => return input.is_empty() || emit(input),
                Engine::Done | Engine::Undecided => return true,
                _ => {}
            }
            let step = self.step(input);
            let Ok((read, written, end)) = step else {
                // Before any output the coding was a lie: pass the bytes
                // through, as a lenient client shows them. After, stop.
                if self.produced {
                    self.engine = Engine::Done;
                    return true;
                }
                self.engine = Engine::Pass;
                return emit(whole);
            };
            input = input.get(read..).unwrap_or_default();
            if written > 0 {
                self.produced = true;
                if !emit(self.out.get(..written).unwrap_or_default()) {
                    self.engine = Engine::Done;
                    return false;
                }
            }
            if end {
                self.next_member(input);
                continue;
            }
            if written == 0 && (read == 0 || input.is_empty()) {
                return true;
            }
        }
    }

    /// End of one compressed stream: gzip may hold further members (as
    /// browsers and `zcat` decode); anything else after the end is ignored.
    /// Trailing garbage makes the next member fail, which ends decoding.
    fn next_member(&mut self, rest: &[u8]) {
        self.engine = if self.coding == Coding::Gzip && rest.first().is_none_or(|&b| b == 0x1f) {
            Engine::Flate(Box::new(Decompress::new_gzip(15)))
        } else if self.coding == Coding::Zstd {
            new_zstd()
        } else {
            Engine::Done
        };
    }

    fn step(&mut self, input: &[u8]) -> Step {
        let out = &mut self.out[..];
        match &mut self.engine {
            Engine::Flate(d) => {
                let (i0, o0) = (d.total_in(), d.total_out());
                let st = d
                    .decompress(input, out, FlushDecompress::None)
                    .map_err(|_| ())?;
                let read = usize::try_from(d.total_in() - i0).map_err(|_| ())?;
                let written = usize::try_from(d.total_out() - o0).map_err(|_| ())?;
                Ok((read, written, st == Status::StreamEnd))
            }
            Engine::Brotli(s) => brotli_step(s, input, out),
            Engine::Zstd(z) => {
                let st = z.run_on_buffers(input, out).map_err(|_| ())?;
                Ok((
                    st.bytes_read,
                    st.bytes_written,
                    st.remaining == 0 && st.bytes_read > 0,
                ))
            }
            _ => Ok((0, 0, false)),
        }
    }
}

fn brotli_step(s: &mut Brotli, input: &[u8], out: &mut [u8]) -> Step {
    let (mut avail_in, mut in_off) = (input.len(), 0usize);
    let (mut avail_out, mut out_off, mut total) = (out.len(), 0usize, 0usize);
    let r = BrotliDecompressStream(
        &mut avail_in,
        &mut in_off,
        input,
        &mut avail_out,
        &mut out_off,
        out,
        &mut total,
        s,
    );
    match r {
        BrotliResult::ResultFailure => Err(()),
        BrotliResult::ResultSuccess => Ok((in_off, out_off, true)),
        _ => Ok((in_off, out_off, false)),
    }
}

fn new_brotli() -> Brotli {
    BrotliState::new(
        HeapAlloc::new(0),
        HeapAlloc::new(0),
        HeapAlloc::new(HuffmanCode::default()),
    )
}

fn new_zstd() -> Engine {
    match ZstdDecoder::new() {
        Ok(mut z) => {
            // A failed parameter only leaves zstd's own default limit.
            let _ = z.set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX));
            Engine::Zstd(Box::new(z))
        }
        Err(_) => Engine::Pass,
    }
}

/// Whether a deflate body starts with a zlib header (CMF/FLG check as in
/// RFC 1950) rather than a raw deflate block, like Suricata and browsers
/// sniff it. With one byte only, the CMF byte decides.
fn looks_zlib(cmf: u8, flg: Option<u8>) -> bool {
    let method_ok = cmf & 0x0f == 8 && cmf >> 4 <= 7;
    match flg {
        Some(f) => method_ok && (u16::from(cmf) << 8 | u16::from(f)) % 31 == 0,
        None => method_ok,
    }
}

/// Limits of one [`Chain`].
#[derive(Clone, Copy, Debug)]
pub struct ChainLimits {
    /// Maximum decoded bytes out of the last layer.
    pub max_output: u64,
    /// Maximum output/input ratio once output exceeds `ratio_floor`.
    pub max_ratio: u64,
    /// Output below which the ratio is not checked.
    pub ratio_floor: u64,
}

/// The stacked decoders of one body, outermost (applied last by the
/// sender) first.
pub struct Chain {
    layers: Vec<Layer>,
    input: u64,
    output: u64,
    limits: ChainLimits,
    /// Limit that stopped the chain, if any.
    pub hit: Option<&'static str>,
}

impl Chain {
    /// A chain of `codings` in decoding order.
    pub fn new(codings: &[Coding], limits: ChainLimits) -> Chain {
        Chain {
            layers: codings.iter().map(|&c| Layer::new(c)).collect(),
            input: 0,
            output: 0,
            limits,
            hit: None,
        }
    }

    /// Whether the chain has no decoding layer.
    pub fn is_plain(&self) -> bool {
        self.layers.is_empty()
    }

    /// Whether the chain has stopped (limit hit).
    pub fn stopped(&self) -> bool {
        self.hit.is_some()
    }

    /// Decodes `data` through all layers into `emit`. `emit` returns false
    /// to stop the chain for good.
    pub fn push(&mut self, data: &[u8], emit: &mut dyn FnMut(&[u8]) -> bool) {
        if self.stopped() {
            return;
        }
        self.input = self.input.saturating_add(data.len() as u64);
        if self.layers.is_empty() {
            if !emit(data) {
                self.hit = Some("body_depth");
            }
            return;
        }
        let (limits, input) = (self.limits, self.input);
        let output = &mut self.output;
        let mut hit = None;
        let mut counted = |d: &[u8]| {
            *output = output.saturating_add(d.len() as u64);
            if *output > limits.max_output {
                hit = Some("decompress_size");
                return false;
            }
            if *output > limits.ratio_floor && *output / input.max(1) > limits.max_ratio {
                hit = Some("decompress_ratio");
                return false;
            }
            if !emit(d) {
                hit = Some("body_depth");
                return false;
            }
            true
        };
        run(&mut self.layers, data, &mut counted);
        self.hit = hit;
    }
}

fn run(layers: &mut [Layer], data: &[u8], emit: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    match layers.split_first_mut() {
        None => emit(data),
        Some((first, rest)) => first.feed(data, &mut |d| run(rest, d, emit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(data);
        e.finish().unwrap_or_default()
    }

    fn decode_all(
        codings: &[Coding],
        data: &[u8],
        piece: usize,
    ) -> (Vec<u8>, Option<&'static str>) {
        let limits = ChainLimits {
            max_output: 1 << 20,
            max_ratio: 100,
            ratio_floor: 1 << 16,
        };
        let mut c = Chain::new(codings, limits);
        let mut out = Vec::new();
        for p in data.chunks(piece.max(1)) {
            c.push(p, &mut |d| {
                out.extend_from_slice(d);
                true
            });
        }
        (out, c.hit)
    }

    #[test]
    fn gzip_multi_member_any_split() {
        let mut z = gzip(b"hello ");
        z.extend(gzip(b"world"));
        for piece in [1, 3, 1000] {
            assert_eq!(decode_all(&[Coding::Gzip], &z, piece).0, b"hello world");
        }
    }

    #[test]
    fn deflate_zlib_and_raw() {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(b"zlib body");
        let z = e.finish().unwrap_or_default();
        assert_eq!(decode_all(&[Coding::Deflate], &z, 1).0, b"zlib body");
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(b"raw body");
        let r = e.finish().unwrap_or_default();
        assert_eq!(decode_all(&[Coding::Deflate], &r, 2).0, b"raw body");
    }

    #[test]
    fn lying_coding_passes_through() {
        assert_eq!(
            decode_all(&[Coding::Gzip], b"plain text", 100).0,
            b"plain text"
        );
    }

    #[test]
    fn bomb_is_stopped() {
        let z = gzip(&vec![0u8; 4 << 20]);
        let (out, hit) = decode_all(&[Coding::Gzip], &z, 4096);
        assert!(out.len() <= 1 << 20);
        assert!(hit.is_some());
    }

    #[test]
    fn brotli_and_zstd() {
        let mut b = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut b, 4096, 5, 22);
            let _ = w.write_all(b"brotli body");
        }
        assert_eq!(decode_all(&[Coding::Brotli], &b, 1).0, b"brotli body");
        let z = zstd::encode_all(&b"zstd body"[..], 3).unwrap_or_default();
        assert_eq!(decode_all(&[Coding::Zstd], &z, 2).0, b"zstd body");
        let stacked = gzip(&b);
        assert_eq!(
            decode_all(&[Coding::Gzip, Coding::Brotli], &stacked, 5).0,
            b"brotli body"
        );
    }
}
