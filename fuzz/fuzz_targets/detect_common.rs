//! What the detection fuzz targets share: the shipped signatures' engine
//! and a sink that keeps every match.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use leakwatch::detect::{Confidence, DetectorId, Engine, EngineOptions, Match, MatchSink};

/// Every match: (detector, value, offset, confidence).
#[derive(Default)]
pub struct Collect(pub Vec<(DetectorId, Vec<u8>, u64, Confidence)>);
impl MatchSink for Collect {
    fn on_match(&mut self, m: &Match<'_>) {
        self.0
            .push((m.detector, m.value.to_vec(), m.offset, m.confidence));
    }
}

/// The engine of `signatures/`, built once.
pub fn engine() -> &'static Arc<Engine> {
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
