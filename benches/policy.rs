//! Policy cost per `dlp` event: `Policy::evaluate` on a mix of transfers
//! (IPv4/IPv6, zoned and public addresses, cleartext and TLS, one to three
//! findings) under a config with 10 zones, boundary rules, overrides and an
//! allow rule; plus the dedup check per value and the geo lookup alone.
//! Throughput is in events (ns/event = time per element).

use std::net::IpAddr;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakwatch::detect::Confidence;
use leakwatch::policy::{Policy, PolicyConfig, Transfer, TransferFinding};

const CONFIG: &str = r#"
[zones.office]
cidrs = ["10.20.0.0/16", "fd00:20::/48"]
[zones.pci]
cidrs = ["10.2.0.0/16"]
[zones.hr]
cidrs = ["10.3.0.0/16", "10.3.9.0/24"]
[zones.dc_sh]
cidrs = ["10.30.0.0/16", "fd00:30::/48"]
[zones.dc_bj]
cidrs = ["10.31.0.0/16"]
[zones.lab]
cidrs = ["10.40.0.0/16", "10.40.7.0/24", "10.40.7.128/25"]
[zones.guest]
cidrs = ["192.168.0.0/16"]
[zones.vpn]
cidrs = ["100.64.0.0/10"]
[zones.sg_branch]
cidrs = ["10.9.0.0/16"]
country = "SG"
[zones.de_branch]
cidrs = ["10.8.0.0/16"]
country = "DE"
[geo.overrides]
"198.51.100.0/24" = "DE"
"203.0.113.0/24" = "CN"
[[boundary.deny]]
from = ["pci", "hr"]
to = "*"
[[boundary.allow]]
from = ["pci", "hr"]
to = ["dc_sh", "dc_bj"]
[[boundary.deny]]
from = "*"
to = "guest"
types = ["identity", "financial"]
[[boundary.allow]]
from = "hr"
to = "office"
types = ["email"]
[[allow.rule]]
name = "payroll"
reason = "contract 17"
expires = "2099-12-31"
from = "hr"
names = ["*.payroll.example"]
"#;

const PAIRS: &[(&str, &str, bool)] = &[
    ("10.20.1.15", "198.51.100.80", false), // office -> abroad, cleartext
    ("198.51.100.80", "10.20.1.15", true),  // download from abroad
    ("10.20.1.15", "114.114.114.114", true), // office -> mainland public
    ("10.2.0.5", "10.20.1.15", false),      // pci -> office (boundary)
    ("10.3.9.1", "8.8.8.8", true),          // hr -> US (boundary + cross-border)
    ("203.0.113.10", "1.1.1.1", true),      // mainland server -> AU client
    ("10.20.1.15", "10.9.0.3", true),       // office -> SG branch
    ("fd00:20::15", "2001:4860::1", true),  // IPv6 office -> US
    ("240e::1", "fd00:30::5", false),       // IPv6 CN public -> DC
    ("10.40.7.200", "202.45.84.1", true),   // lab -> HK
];

const FINDINGS: &[TransferFinding<'static>] = &[
    TransferFinding {
        pi_type: "cn_resident_id",
        category: "identity",
        distinct: 12,
        confidence: Confidence::High,
    },
    TransferFinding {
        pi_type: "cn_mobile",
        category: "contact",
        distinct: 3,
        confidence: Confidence::Medium,
    },
    TransferFinding {
        pi_type: "email",
        category: "contact",
        distinct: 1,
        confidence: Confidence::Low,
    },
];

fn bench(c: &mut Criterion) {
    let cfg: PolicyConfig = toml::from_str(CONFIG).expect("bench config");
    let policy = Policy::from_config(&cfg, Path::new(".")).expect("bench policy");
    let transfers: Vec<Transfer<'_>> = PAIRS
        .iter()
        .enumerate()
        .map(|(i, (s, r, enc))| Transfer {
            sender: s.parse().expect("ip"),
            receiver: r.parse().expect("ip"),
            dest_name: Some("api.payroll.example"),
            encrypted: *enc,
            findings: &FINDINGS[..1 + i % FINDINGS.len()],
            ts_ns: 1_700_000_000_000_000_000,
        })
        .collect();
    // The expected judgement of the mix, so a broken policy cannot bench fast.
    let violations: usize = transfers
        .iter()
        .map(|t| policy.evaluate(t).violations.len())
        .sum();
    // 2+0+0+2+0+1+1+1+1+1: hr -> 8.8.8.8 is sanctioned by the payroll rule.
    assert_eq!(violations, 9, "violations over the bench mix");

    let mut g = c.benchmark_group("policy");
    g.throughput(Throughput::Elements(transfers.len() as u64));
    g.bench_function("evaluate", |b| {
        b.iter(|| {
            transfers
                .iter()
                .map(|t| std::hint::black_box(policy.evaluate(t)).violations.len())
                .sum::<usize>()
        })
    });
    let ips: Vec<IpAddr> = transfers.iter().map(|t| t.receiver).collect();
    g.throughput(Throughput::Elements(ips.len() as u64));
    g.bench_function("locate", |b| {
        b.iter(|| {
            ips.iter()
                .map(|ip| policy.locate(*ip).0)
                .filter(|c| c.as_str() == "CN")
                .count()
        })
    });
    let mut dedup = policy.new_deduper();
    let path = dedup.path(ips[0], ips[1], 0);
    let mut n: u64 = 0;
    g.throughput(Throughput::Elements(1));
    g.bench_function("dedup_value", |b| {
        b.iter(|| {
            n += 1;
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&(n % 50_000).to_le_bytes());
            dedup.is_repeat(path, &h, n * 1000)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
