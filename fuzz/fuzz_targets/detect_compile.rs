//! Arbitrary TOML text into the signature loader: errors, never panics.
//! The first byte selects a template so the structured fields get mutated
//! as well as raw text.
#![no_main]

use std::sync::Arc;

use leakwatch::detect::{Engine, EngineOptions, Match, MatchSink};
use libfuzzer_sys::fuzz_target;

struct Null;
impl MatchSink for Null {
    fn on_match(&mut self, _m: &Match<'_>) {}
}

const HEAD: &str = "id = \"f\"\npi_type = \"custom\"\ncategory = \"test\"\n";

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(body) = std::str::from_utf8(rest) else {
        return;
    };
    let text = match sel % 3 {
        0 => body.to_string(),
        1 => format!("{HEAD}kind = \"digits\"\nconfidence = \"medium\"\n{body}"),
        _ => format!("{HEAD}kind = \"email\"\nconfidence = \"low\"\n{body}"),
    };
    if let Ok(e) = Engine::from_sources(&[("fuzz.toml", &text)], &EngineOptions::default()) {
        let e = Arc::new(e);
        for (_, ex) in e.examples() {
            e.scan_buffer(ex.text.as_bytes(), &mut Null);
        }
        e.scan_buffer(body.as_bytes(), &mut Null);
    }
});
