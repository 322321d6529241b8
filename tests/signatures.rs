//! Runs every example of every signature file against the engine (each
//! context back-end), checks stream/buffer equivalence and back-end parity.

use std::path::Path;
use std::sync::Arc;

use leakwatch::detect::{
    Confidence, ContextBackend, DetectorId, Engine, EngineOptions, Match, MatchSink, StreamState,
};
use proptest::prelude::*;

#[derive(Default)]
struct Collect(Vec<(DetectorId, Vec<u8>, u64, Confidence)>);

impl MatchSink for Collect {
    fn on_match(&mut self, m: &Match<'_>) {
        self.0
            .push((m.detector, m.value.to_vec(), m.offset, m.confidence));
    }
}

fn options(backend: ContextBackend) -> EngineOptions {
    EngineOptions {
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1),
        context_backend: backend,
        ..EngineOptions::default()
    }
}

fn engine(backend: ContextBackend) -> Arc<Engine> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    Arc::new(Engine::load_dir(&dir, &options(backend)).expect("signatures load"))
}

fn backends() -> Vec<ContextBackend> {
    let mut v = vec![ContextBackend::AhoCorasick];
    if cfg!(feature = "hyperscan") {
        v.push(ContextBackend::Hyperscan);
    }
    v
}

fn scan_buf(e: &Arc<Engine>, data: &[u8]) -> Vec<(DetectorId, Vec<u8>, u64, Confidence)> {
    let mut c = Collect::default();
    e.scan_buffer(data, &mut c);
    c.0
}

fn scan_pieces(
    e: &Arc<Engine>,
    data: &[u8],
    cuts: &[usize],
) -> Vec<(DetectorId, Vec<u8>, u64, Confidence)> {
    let mut s = e.scanner();
    let mut st = StreamState::default();
    // Column mapping, as `scan_buffer` does it.
    let mut cols = leakwatch::detect::columns::Slot::default();
    let mut c = Collect::default();
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(last, data.len());
        s.scan_stream_columns(&mut st, &mut cols, &data[last..cut], &mut c);
        // Carry (its capacity at most its bound), the context
        // history (the longest default window, 128, and a word) and the
        // reported matches that reach past a call (96).
        assert!(
            st.heap_bytes() <= StreamState::CARRY_MAX + 160 + StreamState::EXTRA_MAX,
            "stream state grew to {}",
            st.heap_bytes()
        );
        last = cut;
    }
    s.finish_stream_columns(&mut st, &mut cols, &mut c);
    c.0
}

#[test]
fn every_example_passes() {
    for backend in backends() {
        let e = engine(backend);
        assert!(e.detectors().len() >= 5);
        let mut n = 0;
        for (d, ex) in e.examples() {
            n += 1;
            let file = e.detector_file(d).unwrap_or("?");
            let id = &e.detectors()[usize::from(d)].id;
            let mut c = Collect::default();
            e.scan_example(ex.text.as_bytes(), &mut c);
            let found: Vec<_> = c.0.into_iter().filter(|m| m.0 == d).collect();
            let at = format!("{file}:{} ({id}, {backend:?})", ex.line);
            if !ex.expect_match {
                assert!(
                    found.iter().all(|m| m.3 < Confidence::Medium),
                    "{at}: no_match example matched (confidence {:?})",
                    found.first().map(|m| m.3)
                );
                continue;
            }
            assert!(!found.is_empty(), "{at}: match example not found");
            if let Some(v) = &ex.value {
                let hit = found.iter().find(|m| m.1 == v.as_bytes());
                assert!(hit.is_some(), "{at}: expected value not among the matches");
                if let (Some(c), Some(h)) = (ex.confidence, hit) {
                    assert_eq!(h.3, c, "{at}: confidence");
                }
            }
        }
        assert!(n >= 40, "only {n} examples");
    }
}

#[test]
fn examples_are_found_once_at_any_split() {
    let e = engine(ContextBackend::AhoCorasick);
    for (_, ex) in e.examples() {
        let data = ex.text.as_bytes();
        let whole = scan_buf(&e, data);
        for cut in 0..=data.len() {
            assert_eq!(
                scan_pieces(&e, data, &[cut]),
                whole,
                "split at {cut} of example line {}",
                ex.line
            );
        }
        let ones: Vec<usize> = (1..data.len()).collect();
        assert_eq!(
            scan_pieces(&e, data, &ones),
            whole,
            "1-byte pieces of example line {}",
            ex.line
        );
    }
}

#[test]
fn context_in_an_earlier_chunk_counts() {
    let e = engine(ContextBackend::AhoCorasick);
    let data = b"{\"mobile\": \"x\", \"pad\": \"0123456789abcdef\", \"v\": \"13800138000\"}";
    let whole = scan_buf(&e, data);
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].3, Confidence::High);
    assert_eq!(scan_pieces(&e, data, &[9, 20, 40]), whole);
}

#[test]
fn gap_breaks_joins() {
    let e = engine(ContextBackend::AhoCorasick);
    let mut s = e.scanner();
    let mut st = StreamState::default();
    let mut c = Collect::default();
    s.scan_stream(&mut st, b"x 138001", &mut c);
    s.gap(&mut st, &mut c);
    s.scan_stream(&mut st, b"38000 y", &mut c);
    s.finish_stream(&mut st, &mut c);
    assert!(c.0.is_empty());
}

#[test]
fn idle_state_is_small() {
    // Offset, carry, history, frontiers and the box of reported matches
    // that reach past a call's decisions.
    assert!(
        std::mem::size_of::<StreamState>() <= 80,
        "{}",
        std::mem::size_of::<StreamState>()
    );
    let e = engine(ContextBackend::AhoCorasick);
    let mut s = e.scanner();
    let mut st = StreamState::default();
    let mut c = Collect::default();
    let text = "a".repeat(5000) + " " + &"9".repeat(5000) + " " + &"x.".repeat(3000);
    for chunk in text.as_bytes().chunks(700) {
        s.scan_stream(&mut st, chunk, &mut c);
        // Carry (< 256) plus the context history: the longest default
        // window (128) and a word (32); no match here, so no reported box.
        assert!(st.heap_bytes() <= 256 + 160, "{}", st.heap_bytes());
    }
}

/// A context word counts when it ends at most `window` bytes before the
/// value and not one byte further, wherever the stream is split: the
/// lookup reaches back into earlier chunks through the stream's history.
/// The mobile detector alone keeps a short carry (the default set's
/// address regex makes every carry longer than this window).
#[test]
fn context_window_edge_is_exact_at_any_split() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures/detectors/cn_mobile.toml");
    let text = std::fs::read_to_string(path).expect("cn_mobile.toml");
    let opts = options(ContextBackend::default());
    let e = Arc::new(Engine::from_sources(&[("cn_mobile.toml", &text)], &opts).expect("loads"));
    // cn_mobile: window 48, word "mobile".
    for (gap, want) in [(48, Confidence::High), (49, Confidence::Medium)] {
        let text = format!("mobile{} 13800138000 ", ".".repeat(gap - 1));
        let data = text.as_bytes();
        let whole = scan_buf(&e, data);
        assert_eq!(whole.len(), 1, "gap {gap}");
        assert_eq!(whole[0].3, want, "gap {gap}");
        for cut in 0..=data.len() {
            assert_eq!(
                scan_pieces(&e, data, &[cut]),
                whole,
                "gap {gap}, split at {cut}"
            );
        }
        let small: Vec<usize> = (1..data.len()).step_by(3).collect();
        assert_eq!(
            scan_pieces(&e, data, &small),
            whole,
            "gap {gap}, 3-byte pieces"
        );
    }
}

/// Synthetic PI generators (valid check digits computed here).
fn id18(seed: u64) -> String {
    let regions = ["110105", "440305", "320102", "510102", "810000"];
    let first = format!(
        "{}{:04}{:02}{:02}{:03}",
        regions[(seed % 5) as usize],
        1950 + seed % 60,
        1 + seed % 12,
        1 + seed % 28,
        seed % 1000
    );
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = first
        .bytes()
        .zip(w)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let c = b"10X98765432"[(s % 11) as usize] as char;
    format!("{first}{c}")
}

fn card(seed: u64) -> String {
    let payload = format!("6217{:014}", seed % 100_000_000_000_000);
    for d in 0..10 {
        let v = format!("{payload}{d}");
        let sum: u32 = v
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let x = u32::from(b - b'0');
                if i % 2 == 1 {
                    if x * 2 > 9 {
                        x * 2 - 9
                    } else {
                        x * 2
                    }
                } else {
                    x
                }
            })
            .sum();
        if sum.is_multiple_of(10) {
            return v;
        }
    }
    unreachable!()
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(id18),
        any::<u64>().prop_map(card),
        (0u64..100_000_000).prop_map(|n| format!("138{n:08}")),
        (0u64..100_000_000).prop_map(|n| format!("+86 139-{:04}-{:04}", n / 10000, n % 10000)),
        (0u64..1000).prop_map(|n| format!("user{n}@example.com")),
        Just("mobile=".to_string()),
        Just("身份证".to_string()),
        Just("card_no:".to_string()),
        Just("imei ".to_string()),
        "[ a-z0-9.:@+\\-]{0,12}",
        "[0-9]{1,25}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn stream_equals_buffer(parts in proptest::collection::vec(piece(), 1..12),
                            cuts in proptest::collection::vec(0usize..400, 0..8)) {
        let e = engine(ContextBackend::AhoCorasick);
        let text = parts.concat();
        let data = text.as_bytes();
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = scan_buf(&e, data);
        prop_assert_eq!(scan_pieces(&e, data, &cuts), whole);
    }
}

fn corpus() -> Vec<u8> {
    let mut s = String::new();
    for i in 0..400u64 {
        s.push_str(&format!(
            "ts=2026-01-02T03:04:05Z order={:024} price=12.{:02} trace=4bf92f35{:08x} ",
            i * 7919,
            i % 100,
            i
        ));
        match i % 5 {
            0 => s.push_str(&format!("idCard={} ", id18(i))),
            1 => s.push_str(&format!("卡号 {} ", card(i))),
            2 => s.push_str(&format!("手机 138{:08} ", i)),
            3 => s.push_str(&format!("mail u{i}@example.cn ")),
            _ => s.push_str(&format!("imei {} ", card(i))),
        }
    }
    s.into_bytes()
}

#[test]
fn backends_agree_on_corpus() {
    let data = corpus();
    let mut all = Vec::new();
    for b in backends() {
        all.push(scan_buf(&engine(b), &data));
    }
    assert!(all[0].len() >= 300, "{}", all[0].len());
    for other in &all[1..] {
        assert_eq!(&all[0], other);
    }
}
