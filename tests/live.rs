//! Live capture: the paced (`replay --realtime`) path against a plain
//! replay, stop requests, the deployment config, and — only as root with
//! `LEAKWATCH_LIVE_TESTS=1` — the real netns/veth/tcpreplay test
//! (`scripts/live_test.sh --quick`).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{pcap, root, sensor, VecSink};
use leakwatch::capture::live::paced::PacedSource;
use leakwatch::capture::live::PacketSource;
use leakwatch::config::Config;
use leakwatch::pipeline::live::{self, Control, LiveOptions, SensorSlot};
use leakwatch::pipeline::{ReplayError, RunStats, Sensor};

/// Non-stats events (the stats event holds wall-clock figures).
fn events(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| !l.contains("\"event_type\":\"stats\""))
        .cloned()
        .collect()
}

fn realtime(
    cfg: &Config,
    input: PathBuf,
    speed: f64,
    control: &Control,
) -> (Vec<String>, Result<RunStats, ReplayError>) {
    let src = leakwatch::capture::open_inputs(std::slice::from_ref(&input)).unwrap();
    let name = input.display().to_string();
    let sources: Vec<Box<dyn PacketSource>> = vec![Box::new(PacedSource::new(src, name, speed))];
    let reloader = || Err::<Sensor, String>("no reload in this test".into());
    let opts = LiveOptions {
        control,
        reloader: &reloader,
        stats_interval: Duration::ZERO,
        on_hup: None,
        hooks: Default::default(),
    };
    let slot = Arc::new(SensorSlot::new(sensor(cfg)));
    let mut sink = VecSink::default();
    let res = live::run(cfg, &slot, sources, &opts, &mut sink);
    (sink.0, res)
}

#[test]
fn realtime_replay_gives_the_replay_events() {
    for name in ["demo.pcap", "raw_tcp_segments.pcap", "udp_fragments.pcap"] {
        let want = events(&common::replay(&[pcap(name)], 2));
        assert!(!want.is_empty(), "{name}: no events to compare");
        let cfg = Config {
            workers: 2,
            ..Config::default()
        };
        let (lines, res) = realtime(&cfg, pcap(name), 20.0, &Control::default());
        let stats = res.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!stats.reader.interrupted);
        assert_eq!(events(&lines), want, "{name}");
        let last = lines.last().unwrap();
        assert!(last.contains("\"interfaces\""), "{last}");
    }
}

#[test]
fn stop_request_ends_a_slow_replay_and_flushes_flows() {
    // udp_fragments spans 0.78 s; at 1/20 speed it would take 16 s.
    let control = Control::default();
    let stop = Arc::clone(&control.stop);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
    });
    let started = Instant::now();
    let (lines, res) = realtime(
        &Config::default(),
        pcap("udp_fragments.pcap"),
        0.05,
        &control,
    );
    t.join().unwrap();
    let stats = res.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(stats.reader.interrupted);
    assert!(stats.reader.packets_total > 0);
    let last = lines.last().unwrap();
    assert!(last.contains("\"interrupted\":true"), "{last}");
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leakwatch"));
    c.current_dir(root())
        .env("LEAKWATCH_HASH_KEY", "test-key-0123456789abcdef");
    c
}

#[test]
fn span_config_passes_check_config() {
    let out = bin()
        .args(["check-config", "deploy/leakwatch-span.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = Config::load(&root().join("deploy/leakwatch-span.toml")).unwrap();
    assert!(!cfg.live.interfaces.is_empty());
    assert!(cfg.run.user.is_some());
}

#[test]
fn sigint_stops_replay_with_status_130() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let child = bin()
        .args(["replay", "--realtime", "--speed", "0.05", "--eve"])
        .arg(&eve)
        .arg("pcaps/udp_fragments.pcap")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let text = std::fs::read_to_string(&eve).unwrap();
    let last = text.lines().last().unwrap();
    assert!(last.contains("\"interrupted\":true"), "{last}");
}

#[test]
fn live_without_interface_is_refused() {
    let out = bin().args(["live"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-i IFACE"), "{err}");
}

/// The real thing: netns + veth + tcpreplay, both backends. Root only.
#[test]
fn netns_veth_tcpreplay() {
    let why = if std::env::var("LEAKWATCH_LIVE_TESTS").as_deref() != Ok("1") {
        Some("LEAKWATCH_LIVE_TESTS=1 not set")
    } else if !nix_is_root() {
        Some("not root")
    } else if Command::new("ip").arg("-V").output().is_err() {
        Some("`ip` not available")
    } else {
        None
    };
    if let Some(why) = why {
        eprintln!("skipped: {why} (run scripts/live_test.sh as root)");
        return;
    }
    let status = Command::new("bash")
        .current_dir(root())
        .args([
            "scripts/live_test.sh",
            "--quick",
            "--bin",
            env!("CARGO_BIN_EXE_leakwatch"),
        ])
        .status()
        .unwrap();
    assert!(status.success() || status.code() == Some(77), "{status}");
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
