//! HTTP evasion set checked against real clients (`pcaps/http_evasion.pcap`,
//! built by `pcaps/make_http_evasion.sh`). Each case is one connection
//! (client port in the truth) carrying its own synthetic resident ID. The
//! truth records what curl, urllib3, requests, http.client and headless
//! Chromium decoded; leakwatch must find the ID exactly when the oracle
//! (Chromium, else curl) decoded it or the clients disagree (a sensor errs
//! toward finding), and note the lenient framing it accepted.

mod common;

use std::collections::BTreeMap;

use common::{check_against_truth, hash_hex, parse, pcap, replay, Truth};
use serde_json::Value;

/// Client port -> (resident-ID hashes found, `http.limits_hit` notes).
fn per_connection(events: &[Value]) -> BTreeMap<u64, (Vec<String>, Vec<String>)> {
    let mut out: BTreeMap<u64, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for e in events.iter().filter(|e| e["event_type"] == "dlp") {
        let port = if e["direction"] == "to_server" {
            &e["src_port"]
        } else {
            &e["dest_port"]
        };
        let entry = out.entry(port.as_u64().unwrap_or_default()).or_default();
        for f in e["findings"].as_array().into_iter().flatten() {
            if f["type"] == "cn_resident_id" {
                for v in f["values"].as_array().into_iter().flatten() {
                    entry
                        .0
                        .push(v["hash"].as_str().unwrap_or_default().to_string());
                }
            }
        }
        for l in e["http"]["limits_hit"].as_array().into_iter().flatten() {
            entry.1.push(l.as_str().unwrap_or_default().to_string());
        }
    }
    out
}

fn truth() -> Truth {
    Truth::load(&pcap("http_evasion.truth.json"))
}

fn cases(t: &Truth) -> Vec<Value> {
    t.json["cases"].as_array().expect("truth cases").clone()
}

fn case_value(t: &Truth, port: u64) -> String {
    let f = t.json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["src_port"] == port)
        .unwrap_or_else(|| panic!("no finding for client port {port}"));
    f["value"].as_str().expect("value").to_string()
}

#[test]
fn every_case_matches_the_real_clients() {
    let t = truth();
    let events = parse(&replay(&[pcap("http_evasion.pcap")], 1));
    let got = per_connection(&events);
    let mut wrong = Vec::new();
    for c in cases(&t) {
        let port = c["client_port"].as_u64().expect("client_port");
        let found = got.get(&port).is_some_and(|g| !g.0.is_empty());
        if found != c["expect_found"].as_bool().expect("expect_found") {
            wrong.push(format!(
                "{} (expected found={}, clients {})",
                c["name"], c["expect_found"], c["clients_decoded"]
            ));
        }
        if found {
            let want = hash_hex(&case_value(&t, port));
            assert!(got[&port].0.iter().all(|h| *h == want), "{}", c["name"]);
        }
    }
    assert!(
        wrong.is_empty(),
        "cases decoded unlike the clients: {wrong:#?}"
    );
}

#[test]
fn whole_capture_matches_the_truth_with_1_and_4_workers() {
    let n = cases(&truth()).len() as u64;
    for w in [1, 4] {
        let stats = check_against_truth("http_evasion", w);
        assert_eq!(stats["flow"]["flows_total"], n, "one connection per case");
    }
}

#[test]
fn the_set_covers_agreement_and_disagreement() {
    let t = truth();
    let cs = cases(&t);
    assert!(cs.len() >= 30, "{} cases", cs.len());
    let disagree = cs.iter().filter(|c| c["clients_disagree"] == true).count();
    let none = cs.iter().filter(|c| c["expect_found"] == false).count();
    assert!(
        disagree >= 5,
        "cases where real clients disagree: {disagree}"
    );
    assert!(none >= 3, "cases no client decodes: {none}");
    assert!(
        cs.iter().any(|c| c["oracle"] == "chromium"),
        "Chromium was the oracle"
    );
}

/// Where leakwatch accepted framing that real clients reject (or read
/// differently), the event says so in `http.limits_hit`.
#[test]
fn lenient_framing_is_noted() {
    let t = truth();
    let events = parse(&replay(&[pcap("http_evasion.pcap")], 1));
    let got = per_connection(&events);
    let want: &[(&str, &str)] = &[
        ("cl_conflicting", "bad_content_length"),
        ("cl_and_te", "bad_content_length"),
        ("chunk_ws_after_size", "lenient_chunk_size"),
        ("chunk_ws_before_size", "lenient_chunk_size"),
        ("chunk_0x_prefix", "lenient_chunk_size"),
        ("chunk_no_final_crlf", "truncated_chunked"),
        ("obs_fold_te", "header_folding"),
        ("obs_fold_ce", "header_folding"),
        ("ws_before_colon", "header_name_space"),
    ];
    for (name, note) in want {
        let c = cases(&t)
            .into_iter()
            .find(|c| c["name"] == *name)
            .unwrap_or_else(|| panic!("case {name}"));
        let port = c["client_port"].as_u64().expect("port");
        let notes = got.get(&port).map(|g| g.1.clone()).unwrap_or_default();
        assert!(notes.iter().any(|n| n == note), "{name}: {notes:?}");
    }
    // Clean framing gets no note.
    let plain = cases(&t)
        .into_iter()
        .find(|c| c["name"] == "chunked_small")
        .expect("chunked_small");
    let notes = &got[&plain["client_port"].as_u64().expect("port")].1;
    assert!(notes.is_empty(), "{notes:?}");
}
