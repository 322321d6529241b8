//! Feeds arbitrary bytes to the DNS decoder (as a UDP datagram, and as a
//! TCP stream cut by the first byte) and to the reader's name cache;
//! checks that output and memory stay bounded.
#![no_main]

use leakwatch::app::dns::cache::{NameCache, NameCacheConfig};
use leakwatch::app::dns::{probe_tcp, probe_udp, DnsParser};
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
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let _ = probe_udp(53, 40000, rest);
    let _ = probe_tcp(rest);
    let mut sink = Count { bytes: 0, txs: 0 };
    let mut udp = DnsParser::udp();
    udp.on_data(Direction::ToServer, rest, &mut sink);
    udp.on_data(Direction::ToClient, rest, &mut sink);
    // Names, decoded labels and TXT: bounded by a few times the input.
    assert!(sink.bytes <= 8 * (rest.len() + 300));
    let mut tcp = DnsParser::tcp();
    let step = 1 + usize::from(seed) % 97;
    for c in rest.chunks(step) {
        tcp.on_data(Direction::ToServer, c, &mut sink);
    }
    let mut cache = NameCache::new(NameCacheConfig {
        max_entries: 8,
        max_age: 1_000,
    });
    cache.observe_udp(u64::from(seed), 53, rest);
    cache.observe_udp(u64::from(seed) + 1, 5353, rest);
    assert!(cache.len() <= 8);
});
