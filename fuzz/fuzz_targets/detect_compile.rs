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
    let text = match sel % 5 {
        0 => body.to_string(),
        1 => format!("{HEAD}kind = \"digits\"\nconfidence = \"medium\"\n{body}"),
        2 => format!("{HEAD}kind = \"email\"\nconfidence = \"low\"\n{body}"),
        // Untrusted regex syntax and keyword lists go through both
        // compilers (regex-syntax checks, Hyperscan database build).
        3 => format!(
            "{HEAD}kind = \"regex\"\nconfidence = \"medium\"\n[regex]\npattern = {:?}\n",
            body
        ),
        _ => format!(
            "{HEAD}kind = \"keywords\"\nconfidence = \"medium\"\n[keywords]\nwords = {:?}\n",
            body.split('\n').collect::<Vec<_>>()
        ),
    };
    if let Ok(e) = Engine::from_sources(&[("fuzz.toml", &text)], &EngineOptions::default()) {
        let e = Arc::new(e);
        for (_, ex) in e.examples() {
            e.scan_buffer(ex.text.as_bytes(), &mut Null);
        }
        e.scan_buffer(body.as_bytes(), &mut Null);
    }
});
