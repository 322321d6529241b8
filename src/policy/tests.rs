//! End-to-end policy tests: evaluate() on the issue's scenarios.

use super::*;
use crate::detect::Confidence;

/// Test pcaps: client 10.20.1.15 (office), documentation ranges placed by
/// overrides (198.51.100.0/24 abroad, 203.0.113.0/24 a mainland cloud).
const BASE: &str = r#"
[zones.office]
cidrs = ["10.20.0.0/16", "fd00:20::/48"]
[zones.pci]
cidrs = ["10.2.0.0/16"]
[zones.dc_sh]
cidrs = ["10.30.0.0/16"]
[zones.sg_branch]
cidrs = ["10.9.0.0/16"]
country = "SG"
[geo.overrides]
"198.51.100.0/24" = "DE"
"203.0.113.0/24" = "CN"
"2001:db8:de::/48" = "DE"
[[boundary.deny]]
from = "pci"
to = ["office", "internet"]
types = ["*"]
"#;

fn policy(extra: &str) -> Policy {
    let cfg: PolicyConfig = toml::from_str(&format!("{BASE}{extra}")).unwrap();
    Policy::from_config(&cfg, Path::new(".")).unwrap()
}

const ID: TransferFinding<'static> = TransferFinding {
    pi_type: "cn_resident_id",
    category: "identity",
    distinct: 3,
    confidence: Confidence::High,
};

const MAIL: TransferFinding<'static> = TransferFinding {
    pi_type: "email",
    category: "contact",
    distinct: 1,
    confidence: Confidence::Medium,
};

fn eval(
    p: &Policy,
    sender: &str,
    receiver: &str,
    encrypted: bool,
    f: &[TransferFinding<'_>],
) -> Verdict {
    p.evaluate(&Transfer {
        sender: sender.parse().unwrap(),
        receiver: receiver.parse().unwrap(),
        dest_name: Some("svc.example.com"),
        encrypted,
        findings: f,
        ts_ns: 1_700_000_000_000_000_000,
    })
}

fn kinds(v: &Verdict) -> Vec<&'static str> {
    v.violations.iter().map(|x| x.kind().as_str()).collect()
}

#[test]
fn beijing_client_posting_to_frankfurt_is_egress() {
    let p = policy("");
    // Client (office, CN) sends the POST body to the server abroad.
    let v = eval(&p, "10.20.1.15", "198.51.100.80", true, &[ID]);
    assert_eq!(kinds(&v), ["cross_border"]);
    assert_eq!((&*v.src_zone, &*v.dest_zone), ("office", "internet"));
    assert_eq!(
        (v.src_country.as_str(), v.dest_country.as_str()),
        ("CN", "DE")
    );
    let j = serde_json::to_value(&v.violations[0]).unwrap();
    assert_eq!(j["from_country"], "CN");
    assert_eq!(j["to_country"], "DE");
    assert!(j["reason"].as_str().unwrap().contains("cn_resident_id"));
}

#[test]
fn downloading_from_frankfurt_is_not_egress() {
    let p = policy("");
    // Same flow, PI in the response: the server abroad is the sender.
    let v = eval(&p, "198.51.100.80", "10.20.1.15", true, &[ID]);
    assert!(v.violations.is_empty(), "{:?}", v.violations);
    assert_eq!((&*v.src_zone, &*v.dest_zone), ("internet", "office"));
}

#[test]
fn foreign_client_downloading_from_shanghai_is_egress() {
    let p = policy("");
    // Server in a mainland cloud (203.0.113.x = CN by override) answers a
    // foreign client: the server is the sender.
    let v = eval(&p, "203.0.113.10", "198.51.100.7", true, &[ID]);
    assert_eq!(kinds(&v), ["cross_border"]);
    // Real public addresses through the embedded table: Shanghai DNS -> Google.
    let v = eval(&p, "114.114.114.114", "8.8.8.8", true, &[ID]);
    assert_eq!(kinds(&v), ["cross_border"]);
    assert_eq!(v.dest_country.as_str(), "US");
    // Internal server in the Shanghai DC zone answering a foreign client.
    let v = eval(&p, "10.30.0.5", "198.51.100.7", true, &[ID]);
    assert_eq!(kinds(&v), ["cross_border"]);
}

#[test]
fn hk_mo_tw_are_outside_and_mainland_cloud_is_inside() {
    let p = policy("");
    for (dst, cc) in [
        ("202.45.84.1", "HK"),
        ("202.175.3.1", "MO"),
        ("168.95.1.1", "TW"),
    ] {
        let v = eval(&p, "10.20.1.15", dst, true, &[ID]);
        assert_eq!(kinds(&v), ["cross_border"], "{dst}");
        assert_eq!(v.dest_country.as_str(), cc);
    }
    let v = eval(&p, "10.20.1.15", "203.0.113.9", true, &[ID]);
    assert!(v.violations.is_empty());
    let v = eval(&p, "10.20.1.15", "114.114.114.114", true, &[ID]);
    assert!(v.violations.is_empty());
}

#[test]
fn private_zone_abroad_and_unknown_addresses() {
    let p = policy("");
    // Office -> Singapore branch (private range with country SG) leaves CN.
    let v = eval(&p, "10.20.1.15", "10.9.0.3", true, &[ID]);
    assert_eq!(kinds(&v), ["cross_border"]);
    assert_eq!(v.dest_country.as_str(), "SG");
    // The branch sending home is not egress.
    assert!(eval(&p, "10.9.0.3", "10.20.1.15", true, &[ID])
        .violations
        .is_empty());
    // Unallocated public space: unknown, counted as outside the mainland.
    let v = eval(&p, "10.20.1.15", "0.0.0.0", true, &[ID]);
    assert!(v.violations.is_empty(), "0.0.0.0 is special: on site");
    let v = eval(&p, "10.20.1.15", "4000::1", true, &[ID]);
    assert_eq!(v.dest_country, Country::UNKNOWN);
    assert_eq!(kinds(&v), ["cross_border"]);
    // A private address in no zone is on site (home country), internet zone.
    let v = eval(&p, "10.20.1.15", "192.168.7.7", true, &[ID]);
    assert!(v.violations.is_empty());
    assert_eq!(&*v.dest_zone, "internet");
}

#[test]
fn ipv6_and_v4_mapped() {
    let p = policy("");
    let v = eval(&p, "fd00:20::15", "2001:db8:de::80", true, &[ID]);
    assert_eq!(kinds(&v), ["cross_border"]);
    assert_eq!(&*v.src_zone, "office");
    let v = eval(&p, "::ffff:10.20.1.15", "::ffff:198.51.100.80", true, &[ID]);
    assert_eq!(kinds(&v), ["cross_border"]);
    let v = eval(&p, "240e::1", "2001:4860::1", true, &[ID]);
    assert_eq!(kinds(&v), ["cross_border"]);
}

#[test]
fn boundary_and_unencrypted() {
    let p = policy("");
    let v = eval(&p, "10.2.0.5", "10.20.1.15", false, &[ID, MAIL]);
    assert_eq!(kinds(&v), ["unencrypted", "boundary"]);
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["violations"][1]["from"], "pci");
    assert_eq!(j["violations"][1]["to"], "office");
    let reason = j["violations"][1]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("boundary.deny[0] forbids cn_resident_id, email"),
        "{reason}"
    );
    // Office -> office in cleartext: only unencrypted (scope always).
    let v = eval(&p, "10.20.1.15", "10.20.1.16", false, &[MAIL]);
    assert_eq!(kinds(&v), ["unencrypted"]);
    // No findings, no violations.
    assert!(eval(&p, "10.2.0.5", "10.20.1.15", false, &[])
        .violations
        .is_empty());
}

#[test]
fn unencrypted_scopes() {
    let cases = [
        ("always", [true, true, true]),
        ("cross_zone", [false, true, true]),
        ("leaves_site", [false, false, true]),
        ("never", [false, false, false]),
    ];
    for (scope, want) in cases {
        let p = policy(&format!("[unencrypted]\nscope = \"{scope}\"\n"));
        // office->office, office->dc_sh, office->internet (mainland cloud).
        let got: Vec<bool> = ["10.20.1.16", "10.30.0.1", "203.0.113.9"]
            .iter()
            .map(|r| kinds(&eval(&p, "10.20.1.15", r, false, &[MAIL])).contains(&"unencrypted"))
            .collect();
        assert_eq!(got, want, "{scope}");
    }
}

#[test]
fn allow_rule_suppresses_and_is_logged() {
    let rule = r#"
[[allow.rule]]
name = "payroll-provider"
reason = "contract 2026-17, PIPL art. 38 filing"
expires = "2030-12-31"
from = "office"
names = ["*.example.com"]
types = ["identity"]
kinds = ["cross_border"]
"#;
    let p = policy(rule);
    let v = eval(&p, "10.20.1.15", "198.51.100.80", false, &[ID]);
    assert_eq!(kinds(&v), ["unencrypted"]);
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["allowed"][0]["rule"], "payroll-provider");
    assert_eq!(j["allowed"][0]["kind"], "cross_border");
    assert!(j["allowed"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("contract"));
    // Email is not covered by the rule: the violation stands.
    let v = eval(&p, "10.20.1.15", "198.51.100.80", true, &[ID, MAIL]);
    assert_eq!(kinds(&v), ["cross_border"]);
    assert!(v.allowed.is_empty());
    // Expired rules do nothing.
    let p = policy(&rule.replace("2030-12-31", "2023-11-13"));
    let v = eval(&p, "10.20.1.15", "198.51.100.80", true, &[ID]);
    assert_eq!(kinds(&v), ["cross_border"]);
    // Not logged when log_sanctioned is off.
    let p = policy(&format!("[allow]\nlog_sanctioned = false\n{rule}"));
    let v = eval(&p, "10.20.1.15", "198.51.100.80", true, &[ID]);
    assert!(v.violations.is_empty() && v.allowed.is_empty());
    assert!(!serde_json::to_string(&v).unwrap().contains("allowed"));
}

#[test]
fn severity_rises_with_violations() {
    let p = policy("");
    let many = TransferFinding {
        distinct: 600,
        ..ID
    };
    assert_eq!(
        eval(&p, "198.51.100.80", "10.20.1.15", true, &[ID]).severity,
        Severity::Medium
    );
    assert_eq!(
        eval(&p, "10.20.1.15", "198.51.100.80", true, &[ID]).severity,
        Severity::High
    );
    assert_eq!(
        eval(&p, "10.20.1.15", "198.51.100.80", true, &[many]).severity,
        Severity::Critical
    );
}

#[test]
fn verdict_json_shape() {
    let p = policy("");
    let v = eval(&p, "10.2.0.5", "198.51.100.80", false, &[ID]);
    let j = serde_json::to_value(&v).unwrap();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "dest_country",
            "dest_zone",
            "severity",
            "severity_reason",
            "src_country",
            "src_zone",
            "violations"
        ]
    );
    let u = j["violations"][0].as_object().unwrap();
    assert_eq!(u.keys().collect::<Vec<_>>(), ["kind", "reason"]);
    let b = j["violations"][1].as_object().unwrap();
    assert_eq!(
        b.keys().collect::<Vec<_>>(),
        ["from", "kind", "reason", "to"]
    );
    let c = j["violations"][2].as_object().unwrap();
    assert_eq!(
        c.keys().collect::<Vec<_>>(),
        ["from_country", "kind", "reason", "to_country"]
    );
    assert_eq!(j["severity"], "high");
}

#[test]
fn config_errors_name_key_paths() {
    let bad = |extra: &str| {
        let cfg: PolicyConfig = toml::from_str(extra).unwrap();
        Policy::from_config(&cfg, Path::new("/nonexistent")).unwrap_err()
    };
    assert_eq!(bad("home_country = \"China\"").key(), "home_country");
    assert_eq!(bad("home_country = \"ZZ\"").key(), "home_country");
    assert_eq!(
        bad("[geo.overrides]\n\"1.2.3.0/24\" = \"usa\"").key(),
        "geo.overrides.\"1.2.3.0/24\""
    );
    assert_eq!(
        bad("[geo.overrides]\n\"1.2.3.4/24\" = \"US\"").key(),
        "geo.overrides.\"1.2.3.4/24\""
    );
    let text = "[zones.a]\ncidrs = [\"10.0.0.0/8\"]\n[[boundary.deny]]\nfrom = \"a\"\nto = \"b\"\n";
    let e = bad(text);
    assert_eq!((e.key(), e.line_in(text)), ("boundary.deny[0].to", Some(5)));
    let e = bad("[geo]\nmmdb = \"missing.mmdb\"");
    assert_eq!(e.key(), "geo.mmdb");
    assert!(e.to_string().contains("/nonexistent/missing.mmdb"), "{e}");
    assert_eq!(
        bad("[[boundary.allow]]\nfrom = \"x\"\nto = \"*\"").key(),
        "boundary.allow[0].from"
    );
    assert_eq!(bad("[dedup]\nwindow = 0").key(), "dedup");
    assert_eq!(bad("[severity]\ntiers = [1, 1, 2]").key(), "severity.tiers");
}

#[test]
fn config_toml_carries_policy() {
    let c = crate::config::Config::parse(BASE).unwrap();
    check_config(&c, Path::new(".")).unwrap();
    let p = Policy::from_config(&PolicyConfig::from(&c), Path::new(".")).unwrap();
    assert_eq!(&**p.zone_of("10.2.3.4".parse().unwrap()), "pci");
    let e = crate::config::Config::parse("[zones.a]\ncidr = []\n").unwrap_err();
    assert!(e.contains("line 2") && e.contains("cidr"), "{e}");
}

#[test]
fn check_types_against_detectors() {
    let p = policy(
        "[[boundary.allow]]\nfrom = \"pci\"\nto = \"office\"\ntypes = [\"contact\", \"emial\"]\n",
    );
    let cfg: PolicyConfig = toml::from_str(BASE).unwrap();
    let known = [("email", "contact"), ("cn_resident_id", "identity")];
    let e = p.check_types(&cfg, known.iter().copied()).unwrap_err();
    assert_eq!(e.key(), "boundary.allow[0].types");
    assert!(e.to_string().contains("emial"));
    assert!(policy("").check_types(&cfg, known.iter().copied()).is_ok());
}

#[test]
fn policy_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<std::sync::Arc<Policy>>();
}

#[test]
fn mmdb_locates_between_overrides_and_embedded() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/geo");
    let cfg: PolicyConfig = toml::from_str(
        "[geo]\nmmdb = \"test-country.mmdb\"\n[geo.overrides]\n\"8.8.4.0/24\" = \"CN\"\n",
    )
    .unwrap();
    let p = Policy::from_config(&cfg, &dir).unwrap();
    let loc = |s: &str| p.locate(s.parse().unwrap());
    // The test database says 8.8.8.0/24 is JP and 114.114.114.0/24 is SG.
    assert_eq!(
        loc("8.8.8.8"),
        (Country::parse("JP").unwrap(), GeoSource::Mmdb)
    );
    assert_eq!(
        loc("114.114.114.114"),
        (Country::parse("SG").unwrap(), GeoSource::Mmdb)
    );
    // IPinfo-style record (country_code) and an IPv6 network.
    assert_eq!(
        loc("1.1.1.1"),
        (Country::parse("AU").unwrap(), GeoSource::Mmdb)
    );
    assert_eq!(
        loc("2001:4860::8888"),
        (Country::parse("US").unwrap(), GeoSource::Mmdb)
    );
    // Override wins; absent from the mmdb: embedded table.
    assert_eq!(
        loc("8.8.4.4"),
        (Country::parse("CN").unwrap(), GeoSource::Override)
    );
    assert_eq!(
        loc("223.5.5.5"),
        (Country::parse("CN").unwrap(), GeoSource::Embedded)
    );
    assert!(p.geo_description().contains("mmdb"));
    let e = Policy::from_config(
        &toml::from_str("[geo]\nmmdb = \"make-test-mmdb.py\"\n").unwrap(),
        &dir,
    )
    .unwrap_err();
    assert_eq!(e.key(), "geo.mmdb");
}

#[test]
fn example_config_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let c = crate::config::Config::load(&dir.join("leakwatch.toml")).unwrap();
    check_config(&c, dir).unwrap();
    let p = Policy::from_config(&PolicyConfig::from(&c), dir).unwrap();
    let v = p.evaluate(&Transfer {
        sender: "10.3.0.9".parse().unwrap(),
        receiver: "203.0.113.5".parse().unwrap(),
        dest_name: Some("api.payroll.example.com"),
        encrypted: true,
        findings: &[ID],
        ts_ns: 1_700_000_000_000_000_000,
    });
    assert!(v.violations.is_empty(), "{:?}", v.violations);
    assert_eq!(v.allowed.len(), 2);
}

#[test]
#[ignore = "prints a sample verdict for docs"]
fn print_sample() {
    let p = policy("");
    let v = eval(&p, "10.2.0.5", "198.51.100.80", false, &[ID, MAIL]);
    println!("{}", serde_json::to_string_pretty(&v).unwrap());
}
