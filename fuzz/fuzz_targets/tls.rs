//! Feeds arbitrary bytes to the TLS decoder, cut into client/server pieces
//! by the first byte; checks that it never produces content (ciphertext is
//! never scanned) and that the probe agrees with itself on prefixes.
#![no_main]

use leakwatch::app::tls::{probe, TlsParser, TlsProbe};
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
    if probe(Direction::ToServer, rest) == TlsProbe::Tls {
        assert_eq!(probe(Direction::ToServer, rest.get(..6).unwrap_or(rest)), TlsProbe::Tls);
    }
    let mut p = TlsParser::default();
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
        let n = 1 + (state >> 8) as usize % 300;
        let (a, b) = rest.split_at(n.min(rest.len()));
        p.on_data(dir, a, &mut sink);
        rest = b;
    }
    assert_eq!(sink.bytes, 0);
    assert!(sink.txs <= 2, "one hello per direction");
    let _ = p.server_name();
});
