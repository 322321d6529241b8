//! At a sequence gap the engine decides what it carried as if the stream
//! ended there, but reports no value the lost bytes could have changed
//! (see `src/detect/gap.rs`): a complete value just before a gap is
//! reported once, at its offset; a number cut by the gap is not.
//!
//! PI values are synthetic (valid check digits computed here).

mod common;

use std::sync::Arc;

use common::craft::{replay_events, resident_id, stats_of, Capture, Conn, PHONE_A as PHONE};
use common::hash_hex;
use leakwatch::config::Config;
use leakwatch::detect::{Engine, EngineOptions, Match, MatchSink, StreamState};
use serde_json::Value;

fn id() -> String {
    resident_id("11010519491231002")
}

fn engine() -> Arc<Engine> {
    let dir = common::root().join("signatures");
    Arc::new(Engine::load_dir(&dir, &EngineOptions::default()).expect("signatures"))
}

#[derive(Default)]
struct Seen(Vec<(u64, String)>);

impl MatchSink for Seen {
    fn on_match(&mut self, m: &Match<'_>) {
        self.0
            .push((m.offset, String::from_utf8_lossy(m.value).into_owned()));
    }
}

/// Streams `parts` with a gap between each two; returns every match.
fn with_gaps(parts: &[&str]) -> Vec<(u64, String)> {
    let e = engine();
    let mut s = e.scanner();
    let mut st = StreamState::default();
    let mut seen = Seen::default();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.gap(&mut st, &mut seen);
        }
        s.scan_stream(&mut st, p.as_bytes(), &mut seen);
    }
    s.finish_stream(&mut st, &mut seen);
    seen.0
}

#[test]
fn complete_id_and_text_before_a_gap_is_reported_once_at_its_offset() {
    let id = id();
    let before = format!("user {id} lives here. ");
    let got = with_gaps(&[&before, "more text after the gap"]);
    assert_eq!(got, vec![(5, id.clone())]);
    // The same with the bytes in two chunks before the gap.
    let e = engine();
    let mut s = e.scanner();
    let mut st = StreamState::default();
    let mut seen = Seen::default();
    s.scan_stream(&mut st, &before.as_bytes()[..9], &mut seen);
    s.scan_stream(&mut st, &before.as_bytes()[9..], &mut seen);
    s.gap(&mut st, &mut seen);
    s.finish_stream(&mut st, &mut seen);
    assert_eq!(seen.0, vec![(5, id)]);
}

#[test]
fn a_number_cut_by_the_gap_is_not_reported() {
    let id = id();
    // An 11-digit prefix of the 18-digit ID: a mobile number shape.
    let (head, tail) = id.split_at(11);
    assert!(with_gaps(&[&format!("id {head}"), &format!("{tail} x")]).is_empty());
    // Nor the part after the gap (no boundary before it).
    assert!(with_gaps(&[&format!("id {head}"), &format!("{tail}{PHONE} x")]).is_empty());
}

/// Replays a crafted client stream: `first` at offset 0, a hole of
/// `hole` bytes the server acknowledges (lost after the capture point),
/// then `second`.
fn replay_with_hole(first: &[u8], hole: u32, second: &[u8]) -> (Vec<Value>, Value) {
    let mut cap = Capture::new();
    let mut c = Conn::new(41001, 1000);
    c.handshake(&mut cap);
    c.c(&mut cap, 0, first);
    let at = first.len() as u32 + hole;
    c.c(&mut cap, at, second);
    let end = at + second.len() as u32;
    c.s_ack(&mut cap, end);
    c.close(&mut cap, end);
    let events = replay_events(&cap, &Config::default());
    let stats = stats_of(&events);
    (events, stats)
}

/// How often each value hash is reported.
fn count(events: &[Value], value: &str) -> usize {
    let h = hash_hex(value);
    events
        .iter()
        .filter(|e| e["event_type"] == "dlp")
        .flat_map(|e| e["findings"].as_array().cloned().unwrap_or_default())
        .flat_map(|f| f["values"].as_array().cloned().unwrap_or_default())
        .filter(|v| v["hash"] == h.as_str())
        .count()
}

#[test]
fn replay_reports_the_value_just_before_a_hole() {
    let id = id();
    let first = format!("{{\"id\":\"{id}\"}}\n");
    let second = format!("{{\"phone\":\"{PHONE}\"}}\n");
    let (ev, stats) = replay_with_hole(first.as_bytes(), 40, second.as_bytes());
    assert_eq!(stats["reassembly"]["gaps_total"], 1, "{stats}");
    assert_eq!(count(&ev, &id), 1);
    assert_eq!(count(&ev, PHONE), 1);
}

#[test]
fn replay_drops_a_number_cut_by_a_hole() {
    let id = id();
    let (head, _) = id.split_at(11);
    let first = format!("no: {head}");
    let (ev, stats) = replay_with_hole(first.as_bytes(), 7, b" end\n");
    assert_eq!(stats["reassembly"]["gaps_total"], 1, "{stats}");
    assert_eq!(count(&ev, head), 0);
    assert_eq!(count(&ev, &id), 0);
}
