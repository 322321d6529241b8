//! Arbitrary bytes, split at an arbitrary point, through `scan_stream`:
//! no panic, and the same matches as `scan_buffer` over the whole input.
#![no_main]

mod detect_common;

use detect_common::{engine, Collect};
use leakwatch::detect::StreamState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let e = engine();
    let mut whole = Collect::default();
    e.scan_buffer(rest, &mut whole);
    // Two cut points derived from the first byte: 3 pieces.
    let a = usize::from(first) % (rest.len() + 1);
    let b = (a + usize::from(first) * 7) % (rest.len() + 1);
    let (a, b) = (a.min(b), a.max(b));
    let mut s = e.scanner();
    let mut st = StreamState::default();
    // Column mapping, as `scan_buffer` does it.
    let mut cols = leakwatch::detect::columns::Slot::default();
    let mut pieces = Collect::default();
    s.scan_stream_columns(&mut st, &mut cols, &rest[..a], &mut pieces);
    s.scan_stream_columns(&mut st, &mut cols, &rest[a..b], &mut pieces);
    s.scan_stream_columns(&mut st, &mut cols, &rest[b..], &mut pieces);
    assert!(st.heap_bytes() <= 250 + 160 + StreamState::EXTRA_MAX);
    s.finish_stream_columns(&mut st, &mut cols, &mut pieces);
    assert_eq!(whole.0, pieces.0);
});
