//! Feeds arbitrary bytes to the FTP control and data parsers and to the
//! announcement parsers the reader uses. The first byte seeds how the rest
//! is cut into client/server pieces and gaps.
#![no_main]

use leakwatch::app::ftp::{data_port_of, probe_flow, FtpDataParser, FtpParser};
use leakwatch::app::{AppParser, ContentSink, FileMeta, TxMeta};
use leakwatch::flow::Direction;
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
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
    fn begin_file(&mut self, _dir: Direction, _file: &FileMeta) {}
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, mut rest)) = data.split_first() else {
        return;
    };
    let _ = probe_flow(rest, rest);
    let _ = data_port_of(Direction::ToServer, rest);
    let _ = data_port_of(Direction::ToClient, rest);
    let mut p = FtpParser::default();
    let mut d = FtpDataParser::default();
    let mut sink = Count::default();
    let mut state = u32::from(seed) | 1;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let dir = if state & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        let n = 1 + (state >> 8) as usize % 64;
        let (a, b) = rest.split_at(n.min(rest.len()));
        if state & 0x70 == 0x70 {
            p.on_gap(dir, u64::from(state >> 24), &mut sink);
        }
        p.on_data(dir, a, &mut sink);
        d.on_data(dir, a, &mut sink);
        rest = b;
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        p.on_close(dir, &mut sink);
        d.on_close(dir, &mut sink);
    }
    // Content never exceeds the input (twice: control + data parsers).
    assert!(sink.bytes <= 2 * data.len());
});
