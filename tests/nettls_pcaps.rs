//! Real TLS and DNS captures (`pcaps/make_nettls.sh`): PI inside TLS is
//! not reported while the same PI in cleartext is; DNS query names,
//! encoded labels and TXT answers are scanned; `dest_name` comes from SNI,
//! Host or an earlier DNS answer, the same with 1 and 4 workers.

mod common;

use common::{check_against_truth, hash_hex, parse, pcap, replay_with, Truth};
use leakwatch::config::Config;
use serde_json::Value;

fn replay_events(cfg: &Config, name: &str, workers: usize) -> (Vec<String>, Vec<Value>) {
    let (lines, res) = replay_with(cfg, &[pcap(&format!("{name}.pcap"))], workers);
    if let Err(e) = res {
        panic!("replay of {name} failed: {e}");
    }
    let events = parse(&lines);
    (lines, events)
}

fn with_flow_events() -> Config {
    let mut cfg = Config::default();
    cfg.output.flow_events = true;
    cfg
}

/// Every truth finding with a `dest_name` is reported on an event with
/// that name; those without one on an event without `dest_name`.
fn check_dest_names(name: &str, events: &[Value]) {
    let truth = Truth::load(&pcap(&format!("{name}.truth.json")));
    for f in truth.json["findings"].as_array().into_iter().flatten() {
        let hash = hash_hex(f["value"].as_str().expect("value"));
        let ev = events
            .iter()
            .filter(|e| e["event_type"] == "dlp")
            .find(|e| e.to_string().contains(&hash))
            .unwrap_or_else(|| panic!("{name}: no event for {}", f["where"]));
        assert_eq!(ev["dest_name"], f["dest_name"], "{name}: {}", f["where"]);
    }
}

#[test]
fn tls_sni_truth_and_encryption() {
    for workers in [1, 4] {
        check_against_truth("tls_sni", workers);
    }
    let (_, events) = replay_events(&with_flow_events(), "tls_sni", 1);
    check_dest_names("tls_sni", &events);
    let truth = Truth::load(&pcap("tls_sni.truth.json"));
    for enc in truth.json["encrypted_flows"]
        .as_array()
        .expect("encrypted_flows")
    {
        let port = &enc["dest_port"];
        assert!(
            !events
                .iter()
                .any(|e| e["event_type"] == "dlp" && &e["dest_port"] == port),
            "PI reported inside TLS"
        );
        let flow = events
            .iter()
            .find(|e| e["event_type"] == "flow" && &e["dest_port"] == port)
            .expect("flow event of the TLS flow");
        assert_eq!(flow["app_proto"], "tls");
        assert_eq!(flow["encrypted"], true);
        assert_eq!(flow["dest_name"], enc["sni"]);
        assert_eq!(flow["tls"]["sni"], enc["sni"]);
        assert_eq!(flow["tls"]["alpn"], enc["alpn"]);
        assert_eq!(flow["tls"]["version"], "TLSv1.3");
        let ja4 = flow["tls"]["ja4"].as_str().expect("ja4");
        assert!(ja4.starts_with("t13d"), "{ja4}");
    }
    // The cleartext copy is an `unencrypted` violation.
    let clear = events
        .iter()
        .find(|e| e["event_type"] == "dlp")
        .expect("cleartext event");
    assert!(clear["violations"].to_string().contains("unencrypted"));
}

#[test]
fn dns_names_truth() {
    for workers in [1, 4] {
        let stats = check_against_truth("dns_names", workers);
        assert!(stats["dns_names"]["inserted_total"].as_u64() >= Some(2));
    }
    let (_, events) = replay_events(&Config::default(), "dns_names", 1);
    check_dest_names("dns_names", &events);
    let q = events
        .iter()
        .find(|e| e.to_string().contains("dns.query|base32"))
        .expect("base32 query event");
    assert_eq!(q["app_proto"], "dns");
    assert_eq!(q["dns"]["type"], "query");
    assert_eq!(q["dns"]["rrtype"], "TXT");
    let rrname = q["dns"]["rrname"].as_str().expect("rrname");
    assert!(rrname.contains("***"), "encoded labels masked: {rrname}");
}

#[test]
fn output_is_identical_with_1_and_4_workers() {
    for name in ["tls_sni", "dns_names"] {
        let cfg = with_flow_events();
        let strip = |lines: Vec<String>| -> Vec<String> {
            lines
                .into_iter()
                .filter(|l| !l.contains("\"event_type\":\"stats\""))
                .collect()
        };
        let (one, _) = replay_events(&cfg, name, 1);
        let (four, _) = replay_events(&cfg, name, 4);
        assert_eq!(strip(one), strip(four), "{name}");
    }
}

#[test]
fn allow_list_matches_names_learnt_from_dns() {
    let cfg: Config = toml::from_str(
        r#"
[allow]
log_sanctioned = true
[[allow.rule]]
name = "files-vendor"
reason = "test"
expires = "2200-12-31"
names = ["files.example.cn"]
kinds = ["unencrypted"]
"#,
    )
    .expect("config");
    let (_, events) = replay_events(&cfg, "dns_names", 1);
    let at = |port: u64| {
        events
            .iter()
            .find(|e| e["event_type"] == "dlp" && e["dest_port"] == port)
            .unwrap_or_else(|| panic!("event to port {port}"))
    };
    // Named by the DNS answer (CNAME chain): the rule applies.
    assert!(!at(8081)["violations"].to_string().contains("unencrypted"));
    assert!(at(8081)["allowed"].to_string().contains("files-vendor"));
    // Named api.example.cn: the rule does not apply.
    assert!(at(8080)["violations"].to_string().contains("unencrypted"));
}

#[test]
fn name_cache_bound_evicts_oldest_answer_deterministically() {
    let mut cfg = Config::default();
    cfg.dns.name_cache_entries = 1;
    let (one, events) = replay_events(&cfg, "dns_names", 1);
    let (four, _) = replay_events(&cfg, "dns_names", 4);
    let no_stats = |l: &&String| !l.contains("\"event_type\":\"stats\"");
    assert!(one.iter().filter(no_stats).eq(four.iter().filter(no_stats)));
    let at = |port: u64| {
        events
            .iter()
            .find(|e| e["event_type"] == "dlp" && e["dest_port"] == port)
            .unwrap_or_else(|| panic!("event to port {port}"))
    };
    // api.example.cn was resolved first, then evicted by files.example.cn.
    assert!(at(8080).get("dest_name").is_none());
    assert_eq!(at(8081)["dest_name"], "files.example.cn");
    let stats = events.last().expect("stats");
    assert_eq!(stats["stats"]["dns_names"]["evicted_total"], 1);
}
