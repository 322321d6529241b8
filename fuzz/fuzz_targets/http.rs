//! Feeds arbitrary bytes to the HTTP parser. The first byte seeds how the
//! rest is cut into client/server pieces and gaps; the sink checks that
//! output stays bounded.
#![no_main]

use leakwatch::app::http::{HttpConfig, HttpParser};
use leakwatch::app::{AppParser, ContentSink, TxMeta};
use leakwatch::flow::Direction;
use libfuzzer_sys::fuzz_target;

struct Count {
    bytes: usize,
    txs: usize,
}

impl ContentSink for Count {
    fn on_content(&mut self, _dir: Direction, _loc: &'static str, data: &[u8]) {
        self.bytes += data.len();
    }
    fn end_content(&mut self, _dir: Direction) {}
    fn end_transaction(&mut self, _dir: Direction, _meta: &TxMeta) {
        self.txs += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, mut rest)) = data.split_first() else {
        return;
    };
    let cfg = HttpConfig {
        body_depth: 1 << 16,
        max_decompressed: 1 << 18,
        ..HttpConfig::default()
    };
    let mut p = HttpParser::new(cfg);
    let mut sink = Count { bytes: 0, txs: 0 };
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
    // Decoded output per message is bounded by the body depth; the input
    // length bounds the number of messages.
    assert!(sink.bytes <= (data.len() + 1) * (1 << 17));
});
