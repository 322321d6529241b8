//! Policy on real captures: direction-aware cross-border, boundary and
//! unencrypted violations on the `dlp` events of `http_form_json.pcap`
//! (client 10.20.1.15 POSTs PI to 198.51.100.80, which answers with PI).

mod common;

use common::*;
use leakwatch::config::Config;
use serde_json::Value;

fn events_with(toml: &str) -> Vec<Value> {
    let cfg = Config::parse(toml).expect("config");
    let (lines, res) = replay_with(&cfg, &[pcap("http_form_json.pcap")], 2);
    res.expect("replay");
    parse(&lines)
        .into_iter()
        .filter(|e| e["event_type"] == "dlp")
        .collect()
}

fn kinds(e: &Value) -> Vec<String> {
    e["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["kind"].as_str().map(str::to_string))
        .collect()
}

const OFFICE_TO_US: &str = r#"
[zones.office]
cidrs = ["10.20.0.0/16"]
[geo.overrides]
"198.51.100.0/24" = "US"
"#;

#[test]
fn upload_abroad_is_cross_border_download_is_not() {
    let events = events_with(OFFICE_TO_US);
    assert!(!events.is_empty());
    for e in &events {
        let k = kinds(e);
        if e["direction"] == "to_server" {
            assert!(k.contains(&"cross_border".to_string()), "upload: {k:?}");
            let v = e["violations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["kind"] == "cross_border")
                .unwrap();
            assert_eq!(v["from_country"], "CN");
            assert_eq!(v["to_country"], "US");
            assert_eq!(e["src_zone"], "office");
            assert_eq!(e["dest_zone"], "internet");
        } else {
            assert!(!k.contains(&"cross_border".to_string()), "download: {k:?}");
            assert_eq!(e["src_country"], "US");
            assert_eq!(e["dest_country"], "CN");
        }
        assert!(k.contains(&"unencrypted".to_string()), "cleartext HTTP");
    }
}

#[test]
fn foreign_client_downloading_from_a_mainland_server_is_egress() {
    // Place the server in a mainland zone and the client abroad.
    let events = events_with(
        r#"
[zones.dc_shanghai]
cidrs = ["198.51.100.0/24"]
[zones.sg_branch]
cidrs = ["10.20.0.0/16"]
country = "SG"
"#,
    );
    let down: Vec<&Value> = events
        .iter()
        .filter(|e| e["direction"] == "to_client")
        .collect();
    assert!(!down.is_empty());
    for e in down {
        assert!(kinds(e).contains(&"cross_border".to_string()));
        assert_eq!(e["src_zone"], "dc_shanghai");
    }
    for e in events.iter().filter(|e| e["direction"] == "to_server") {
        assert!(
            !kinds(e).contains(&"cross_border".to_string()),
            "SG -> CN is not egress"
        );
    }
}

#[test]
fn boundary_deny_names_the_zones_and_scope_never_drops_unencrypted() {
    let events = events_with(
        r#"
[zones.pci]
cidrs = ["10.20.1.0/24"]
[zones.partner]
cidrs = ["198.51.100.0/24"]
[[boundary.deny]]
from = "pci"
to = "partner"
types = ["bank_card"]
[unencrypted]
scope = "never"
"#,
    );
    for e in &events {
        let k = kinds(e);
        assert!(!k.contains(&"unencrypted".to_string()));
        if e["direction"] == "to_server" {
            let b = e["violations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["kind"] == "boundary");
            let b = b.expect("pci -> partner with a card is a boundary violation");
            assert_eq!(b["from"], "pci");
            assert_eq!(b["to"], "partner");
        } else {
            assert!(
                !k.contains(&"boundary".to_string()),
                "partner -> pci is allowed"
            );
        }
    }
}
