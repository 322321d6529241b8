//! Shared driver of the mail fuzz targets: the first byte seeds how the
//! rest is cut into client/server pieces and gaps; the sink checks that
//! output stays bounded.

use leakwatch::app::mail::MailConfig;
use leakwatch::app::{AppParser, ContentSink, FileMeta, TxMeta};
use leakwatch::flow::Direction;

/// Small limits so the fuzzer reaches them.
pub fn cfg() -> MailConfig {
    MailConfig {
        max_depth: 4,
        max_parts: 16,
        max_decoded: 1 << 16,
        max_header_bytes: 4096,
    }
}

/// Counts what a parser extracts.
#[derive(Default)]
pub struct Count {
    pub bytes: usize,
    pub txs: usize,
    pub files: usize,
}

impl ContentSink for Count {
    fn on_content(&mut self, _dir: Direction, _loc: &'static str, data: &[u8]) {
        self.bytes += data.len();
    }
    fn end_content(&mut self, _dir: Direction) {}
    fn end_transaction(&mut self, _dir: Direction, _meta: &TxMeta) {
        self.txs += 1;
    }
    fn begin_file(&mut self, _dir: Direction, _file: &FileMeta) {
        self.files += 1;
    }
}

/// Runs `data` through `p`.
pub fn run(data: &[u8], mut p: Box<dyn AppParser>) {
    let Some((&seed, mut rest)) = data.split_first() else {
        return;
    };
    let mut sink = Count::default();
    let mut state = u32::from(seed) | 1;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let dir = if state & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let n = 1 + (state >> 8) as usize % 64;
        let (a, b) = rest.split_at(n.min(rest.len()));
        if state & 0x70 == 0x70 {
            p.on_gap(dir, u64::from(state >> 24), &mut sink);
        }
        p.on_data(dir, a, &mut sink);
        rest = b;
    }
    p.on_close(Direction::ToServer, &mut sink);
    p.on_close(Direction::ToClient, &mut sink);
    // Decoded text can grow (QP soft breaks no, charset conversion up to
    // 3x, header lines re-emitted): bounded by a multiple of the input.
    assert!(sink.bytes <= (data.len() + 1) * 8);
}
