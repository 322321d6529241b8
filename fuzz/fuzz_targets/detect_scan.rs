//! Arbitrary bytes, split at an arbitrary point, through `scan_stream`:
//! no panic, and the same matches as `scan_buffer` over the whole input.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use leakwatch::detect::{
    Confidence, DetectorId, Engine, EngineOptions, Match, MatchSink, StreamState,
};
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Collect(Vec<(DetectorId, Vec<u8>, u64, Confidence)>);
impl MatchSink for Collect {
    fn on_match(&mut self, m: &Match<'_>) {
        self.0
            .push((m.detector, m.value.to_vec(), m.offset, m.confidence));
    }
}

fn engine() -> &'static Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../signatures");
        let opts = EngineOptions {
            report_low: true,
            today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1),
            ..EngineOptions::default()
        };
        Arc::new(Engine::load_dir(&dir, &opts).expect("signatures"))
    })
}

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
    assert!(st.heap_bytes() <= 512);
    s.finish_stream_columns(&mut st, &mut cols, &mut pieces);
    assert_eq!(whole.0, pieces.0);
});
