//! Feeds arbitrary bytes to the MIME decoder in pieces cut by the first
//! byte; output stays bounded by the decoded-size limit plus headers.
#![no_main]

// This target drives the decoder itself: `run` (for parsers) is unused.
#[allow(dead_code)]
mod mail_common;

use leakwatch::app::mail::mime::MimeDecoder;
use leakwatch::flow::Direction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&seed, mut rest)) = data.split_first() else {
        return;
    };
    let cfg = mail_common::cfg();
    let mut d = MimeDecoder::new(cfg, Direction::ToServer);
    let mut sink = mail_common::Count::default();
    let mut state = u32::from(seed) | 1;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = 1 + (state >> 8) as usize % 97;
        let (a, b) = rest.split_at(n.min(rest.len()));
        if state & 0xf0 == 0xf0 {
            d.gap(&mut sink);
        }
        d.push(a, &mut sink);
        rest = b;
    }
    let tx = d.finish(&mut sink);
    assert!(tx.files.len() <= cfg.max_parts);
    assert!(sink.bytes <= (data.len() + 1) * 8);
});
