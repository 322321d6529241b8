//! Policy scenarios (issue 6): real curl -> http.server flows given
//! scenario addresses with tcprewrite (`pcaps/make_scen.sh`), replayed
//! with `pcaps/scenarios/leakwatch-scenarios.toml`. Every `dlp` event must
//! carry exactly the violations, zones, countries, allowed entries and
//! severity that `pcaps/scenarios/policy.truth.json` lists: none missing,
//! none extra, and no event the truth does not expect.

mod common;

use std::collections::BTreeMap;

use common::{hash_hex, parse, replay_with, root};
use leakwatch::config::Config;
use serde_json::Value;

fn scenario_config() -> Config {
    let path = root().join("pcaps/scenarios/leakwatch-scenarios.toml");
    Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn truth() -> Value {
    let path = root().join("pcaps/scenarios/policy.truth.json");
    let text = std::fs::read_to_string(&path).expect("policy truth");
    serde_json::from_str(&text).expect("truth is JSON")
}

/// A violation as a comparable tuple: kind, from, to, from/to country.
fn violation(v: &Value) -> (String, String, String, String, String) {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    (
        s("kind"),
        s("from"),
        s("to"),
        s("from_country"),
        s("to_country"),
    )
}

fn sorted_violations(list: &Value) -> Vec<(String, String, String, String, String)> {
    let mut v: Vec<_> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(violation)
        .collect();
    v.sort();
    v
}

/// `dlp` events keyed by (src_port, dest_port): one flow per case.
fn dlp_by_ports(workers: usize) -> BTreeMap<(u64, u64), Vec<Value>> {
    let pcap = root().join("pcaps/scenarios/policy.pcap");
    let (lines, res) = replay_with(&scenario_config(), &[pcap], workers);
    res.expect("replay");
    let mut out: BTreeMap<(u64, u64), Vec<Value>> = BTreeMap::new();
    for e in parse(&lines)
        .into_iter()
        .filter(|e| e["event_type"] == "dlp")
    {
        let key = (
            e["src_port"].as_u64().unwrap_or(0),
            e["dest_port"].as_u64().unwrap_or(0),
        );
        out.entry(key).or_default().push(e);
    }
    out
}

fn check_case(want: &Value, got: &Value) {
    let case = want["case"].as_str().unwrap_or("?");
    for field in [
        "direction",
        "src_ip",
        "dest_ip",
        "dest_name",
        "src_zone",
        "dest_zone",
        "src_country",
        "dest_country",
        "severity",
    ] {
        assert_eq!(got[field], want[field], "{case}: {field}");
    }
    assert_eq!(
        sorted_violations(&got["violations"]),
        sorted_violations(&want["violations"]),
        "{case}: violations"
    );
    for v in got["violations"].as_array().into_iter().flatten() {
        assert!(
            v["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{case}: every violation explains itself: {v}"
        );
    }
    let allowed: Vec<(String, String)> = got["allowed"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            assert!(
                a["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{case}"
            );
            let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
            (s("kind"), s("rule"))
        })
        .collect();
    let want_allowed: Vec<(String, String)> = want["allowed"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
            (s("kind"), s("rule"))
        })
        .collect();
    assert_eq!(allowed, want_allowed, "{case}: allowed");
    let hashes: Vec<String> = got["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["values"].as_array().cloned().unwrap_or_default())
        .map(|v| v["hash"].as_str().unwrap_or("").to_string())
        .collect();
    for v in want["values"].as_array().into_iter().flatten() {
        let value = v["value"].as_str().unwrap_or("");
        assert!(
            hashes.contains(&hash_hex(value)),
            "{case}: {} found",
            v["type"]
        );
    }
}

#[test]
fn every_scenario_gets_exactly_its_violations() {
    let truth = truth();
    let want = truth["events"].as_array().expect("events");
    assert!(want.len() >= 15, "the scenario set");
    for workers in [1, 4] {
        let mut got = dlp_by_ports(workers);
        for w in want {
            let key = (
                w["src_port"].as_u64().unwrap_or(0),
                w["dest_port"].as_u64().unwrap_or(0),
            );
            let evs = got
                .remove(&key)
                .unwrap_or_else(|| panic!("{}: no dlp event", w["case"]));
            assert_eq!(evs.len(), 1, "{}: one event", w["case"]);
            check_case(w, &evs[0]);
        }
        assert!(got.is_empty(), "events the truth does not expect: {got:?}");
    }
}

/// Direction decides egress: the same foreign client is a cross-border
/// receiver when it downloads from an internal server, and nothing when
/// it downloads from a foreign one.
#[test]
fn direction_decides_cross_border() {
    let got = dlp_by_ports(1);
    let from_internal = &got[&(8080, 42005)][0];
    let from_foreign = &got[&(8080, 42006)][0];
    assert_eq!(from_internal["direction"], "to_client");
    assert!(sorted_violations(&from_internal["violations"])
        .iter()
        .any(|v| v.0 == "cross_border"));
    assert!(!sorted_violations(&from_foreign["violations"])
        .iter()
        .any(|v| v.0 == "cross_border"));
}
