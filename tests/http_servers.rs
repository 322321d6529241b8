//! Real servers (`pcaps/http_servers.pcap`, built by
//! `pcaps/make_http_evasion.sh`): nginx with gzip, brotli and chunking in
//! front of an aiohttp app, curl and python clients with keep-alive, form,
//! JSON and multipart uploads. Every planted value is found where the truth
//! says, URLs are masked, status and hostname are right, and the uploads
//! are `fileinfo` events.

mod common;

use common::{assert_no_clear_pi, parse, pcap, replay_with, reported, Truth};
use leakwatch::config::Config;
use serde_json::Value;

/// Each flow reports its own values (the same values cross nginx and
/// aiohttp on different connections).
fn no_dedup() -> Config {
    Config::parse("[dedup]\nenabled = false\n").expect("config")
}

fn run(workers: usize) -> (Vec<String>, Vec<Value>) {
    let (lines, res) = replay_with(&no_dedup(), &[pcap("http_servers.pcap")], workers);
    res.expect("replay");
    let events = parse(&lines);
    (lines, events)
}

#[test]
fn every_planted_value_is_found_where_the_truth_says() {
    let truth = Truth::load(&pcap("http_servers.truth.json"));
    let (want, values) = truth.expected();
    for w in [1, 4] {
        let (lines, events) = run(w);
        let got = reported(&events);
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(missing.is_empty(), "not reported: {missing:#?}");
        assert!(extra.is_empty(), "not in the truth: {extra:#?}");
        assert_no_clear_pi(&lines, &values);
    }
}

#[test]
fn http_metadata_is_right_and_urls_are_masked() {
    let truth = Truth::load(&pcap("http_servers.truth.json"));
    let (_, values) = truth.expected();
    let (_, events) = run(1);
    let dlp: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "dlp").collect();
    assert!(dlp.len() >= 10, "{} dlp events", dlp.len());
    for e in &dlp {
        let h = &e["http"];
        assert_eq!(e["app_proto"], "http");
        let server_port = if e["direction"] == "to_server" {
            &e["dest_port"]
        } else {
            &e["src_port"]
        };
        let host = truth.json["hostnames"][server_port.to_string()]
            .as_str()
            .expect("host");
        // As sent in `Host`: curl and requests add the port, http.client here not.
        let got = h["hostname"].as_str().expect("hostname");
        assert!(
            got == host || got == format!("{host}:{server_port}"),
            "{got}"
        );
        let url = h["url"].as_str().expect("url");
        assert!(url.starts_with('/'), "{url}");
        assert!(
            !values.iter().any(|v| url.contains(v.as_str())),
            "url not masked"
        );
        if e["direction"] == "to_client" {
            assert_eq!(h["status"], 200, "{url}");
        }
    }
    let lookups: Vec<&str> = dlp
        .iter()
        .filter_map(|e| e["http"]["url"].as_str())
        .filter(|u| u.starts_with("/api/lookup?id="))
        .collect();
    assert!(!lookups.is_empty());
    assert!(lookups.iter().all(|u| u.contains('*')), "{lookups:?}");
    // The codings the real servers chose are in the location chain.
    let wheres: Vec<String> = dlp
        .iter()
        .flat_map(|e| e["findings"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f["where"].as_str().map(str::to_string))
        .collect();
    for w in ["http.response_body|gzip", "http.response_body|br"] {
        assert!(wheres.iter().any(|x| x.starts_with(w)), "{w}: {wheres:?}");
    }
}

#[test]
fn uploads_are_files() {
    let truth = Truth::load(&pcap("http_servers.truth.json"));
    let (_, events) = run(1);
    let files = truth.json["files"].as_array().expect("files");
    for f in files {
        let infos: Vec<&Value> = events
            .iter()
            .filter(|e| e["event_type"] == "fileinfo")
            .filter(|e| e["fileinfo"]["filename"] == f["name"])
            .collect();
        let ports: Vec<u64> = infos
            .iter()
            .filter_map(|e| e["dest_port"].as_u64())
            .collect();
        assert_eq!(
            ports,
            vec![8088, 8091],
            "one upload through nginx, one direct"
        );
        for e in infos {
            let fi = &e["fileinfo"];
            assert_eq!(fi["sha256"], f["sha256"]);
            assert_eq!(fi["size"], f["size"]);
            assert_eq!(fi["complete"], true);
            assert_eq!(e["direction"], "to_server");
        }
    }
}
