//! The whole normalisation chain plus the detectors on arbitrary bytes,
//! split at an arbitrary point: no panic, and the same matches (with their
//! `where` labels) as one piece.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use leakwatch::detect::normalize::{Chain, NormalizeConfig, Normalizer, WhereSink};
use leakwatch::detect::{Engine, EngineOptions, Match};
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Collect(Vec<(u16, Vec<u8>, &'static str)>);
impl WhereSink for Collect {
    fn on_match(&mut self, m: &Match<'_>, w: &'static str) {
        self.0.push((m.detector, m.value.to_vec(), w));
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

fn scan(pieces: &[&[u8]]) -> Vec<(u16, Vec<u8>, &'static str)> {
    let e = engine();
    let mut s = e.scanner();
    let mut n = Normalizer::new(&NormalizeConfig::default());
    let mut c = Collect::default();
    for p in pieces {
        n.push(&mut s, "tcp.stream", Chain::EMPTY, p, &mut c);
    }
    n.finish(&mut s, &mut c);
    c.0.sort();
    c.0
}

fuzz_target!(|data: &[u8]| {
    let [cut, rest @ ..] = data else {
        return;
    };
    let cut = (usize::from(*cut) * 7).min(rest.len());
    let (a, b) = rest.split_at(cut);
    let _ = scan(&[a, b]);
    let _ = scan(&[rest]);
});
