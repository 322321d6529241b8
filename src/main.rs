//! `leakwatch` command line: arguments, config, run, exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use leakwatch::alert::sinks::redis::{Consumer, RedisUrl};
use leakwatch::alert::{SinkControl, SinkSet};
use leakwatch::config::{Config, HASH_KEY_ENV};
use leakwatch::detect::{Confidence, DetectorId, Engine, EngineOptions, Match, MatchSink};
use leakwatch::ops::logging::{self, LogFormat};
use leakwatch::ops::metrics::{MetricsServer, Sources};
use leakwatch::ops::progress::{self, Progress};
use leakwatch::pipeline::counters::LiveCounters;
use leakwatch::pipeline::{self, ReplayError, RunHooks, Sensor};

/// Network DLP sensor: finds personal information of people in China in traffic.
#[derive(Parser)]
#[command(name = "leakwatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log filter (`error`, `warn`, `info`, `debug`, or `leakwatch=debug,...`);
    /// default: RUST_LOG, else info.
    #[arg(long, global = true)]
    log_level: Option<String>,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Replay pcap/pcapng files (or directories of them) as one capture and
    /// write EVE JSON events.
    Replay(ReplayArgs),
    /// Validate a config file (policy, zones, geo, limits) and the detectors
    /// it names, without reading traffic.
    CheckConfig {
        /// Config file (TOML).
        config: PathBuf,
    },
    /// Read events from a Redis stream with a consumer group and print them
    /// (one JSON per line), acknowledging each after it is printed
    /// (at least once: unacknowledged entries are read again on restart).
    Tail(TailArgs),
    /// Load and check the detector files, running their examples.
    CheckSignatures {
        /// Directory of detector files.
        #[arg(long, default_value = "signatures")]
        signatures: PathBuf,
    },
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// Config file (TOML); every key is optional.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory of detector files (overrides the config).
    #[arg(long)]
    signatures: Option<PathBuf>,
    /// Worker threads (default: config, else the number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Write events to this file instead of stdout.
    #[arg(long)]
    eve: Option<PathBuf>,
    /// Serve Prometheus metrics at this address (e.g. 127.0.0.1:9101).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// Draw a progress bar on a terminal even for small inputs.
    #[arg(long)]
    progress: bool,
    /// Capture files or directories, processed in timestamp order as one capture.
    #[arg(required = true, value_name = "PCAP_OR_DIR")]
    inputs: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct TailArgs {
    /// Redis URL: redis://[:password@]host[:port][/db].
    #[arg(long, value_name = "URL")]
    redis: String,
    /// Stream key.
    #[arg(long, default_value = "leakwatch:events")]
    stream: String,
    /// Consumer group (created at the stream's start when missing).
    #[arg(long)]
    group: String,
    /// Consumer name within the group.
    #[arg(long, default_value = "tail")]
    consumer: String,
    /// Exit after this many events (default: run until killed).
    #[arg(long)]
    max: Option<u64>,
    /// Exit after this many seconds without a new event.
    #[arg(long)]
    idle_exit: Option<u64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init(cli.log_level.as_deref(), cli.log_format) {
        eprintln!("leakwatch: error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Replay(args) => replay(args),
        Command::Tail(args) => tail(&args),
        Command::CheckSignatures { signatures } => check_signatures(&signatures),
        Command::CheckConfig { config } => check_config(&config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("leakwatch: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &ReplayArgs) -> Result<Config> {
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(s) = &args.signatures {
        cfg.signatures = s.clone();
    }
    if let Some(w) = args.workers {
        anyhow::ensure!(w > 0, "--workers must be at least 1");
        cfg.workers = w;
    }
    Ok(cfg)
}

/// The HMAC key: config, then environment, else a random one (with a
/// warning: hashes then cannot be correlated across runs or sensors).
fn hash_key(cfg: &Config) -> Vec<u8> {
    if let Some(k) = &cfg.hash_key {
        return k.as_bytes().to_vec();
    }
    if let Ok(k) = std::env::var(HASH_KEY_ENV) {
        if !k.is_empty() {
            return k.into_bytes();
        }
    }
    tracing::warn!(
        "no hash_key in config and {HASH_KEY_ENV} unset; using a random key, \
         so value hashes will not match across runs or sensors"
    );
    let key: [u8; 32] = rand::random();
    key.to_vec()
}

fn replay(args: ReplayArgs) -> Result<()> {
    let cfg = load_config(&args)?;
    let sensor = Sensor::build(&cfg, args.config.as_deref(), &hash_key(&cfg))?;
    let mut sinks = SinkSet::build(&cfg.output.sinks, args.eve.as_deref())?;
    let control = sinks.control();
    let counters = LiveCounters::new(cfg.worker_count());
    let _metrics = match &args.metrics {
        Some(addr) => Some(MetricsServer::start(
            addr,
            Sources {
                counters: counters.clone(),
                sinks: Some(control.clone()),
            },
        )?),
        None => None,
    };
    let hooks = RunHooks {
        counters: Some(counters.clone()),
        stats_extra: Some(sink_stats(control.clone())),
    };
    let bar = Progress::start(progress::input_bytes(&args.inputs), counters, args.progress);
    let res = pipeline::replay_with(&cfg, &sensor, &args.inputs, &mut sinks, hooks);
    if let Some(b) = bar {
        b.finish();
    }
    let closed = sinks.close();
    let stats = match res {
        Ok(stats) => stats,
        Err(e @ ReplayError::Capture(_)) => {
            return Err(
                anyhow::Error::new(e).context("replay stopped early (events so far were written)")
            )
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(
        "{} packets, {} flows, {} dlp events, {:.1} MB/s",
        stats.reader.packets_total,
        stats.flow.flows_total,
        stats.dlp_events_total,
        stats.throughput_mbps()
    );
    for w in &stats.reader.warnings {
        tracing::warn!("{w}");
    }
    for s in closed? {
        if s.backlog > 0 || s.dropped_total > 0 || s.lost_total > 0 {
            tracing::warn!(
                sink = %s.name,
                delivered = s.delivered_total,
                backlog = s.backlog,
                dropped = s.dropped_total,
                lost = s.lost_total,
                "not every event was delivered"
            );
        }
    }
    Ok(())
}

/// Sink status as a member of periodic `stats` events.
fn sink_stats(control: SinkControl) -> pipeline::counters::StatsExtra {
    std::sync::Arc::new(move || {
        let sinks: Vec<serde_json::Value> = control
            .status()
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name, "type": s.kind, "events_total": s.events_total,
                    "delivered_total": s.delivered_total, "backlog": s.backlog,
                    "spool_bytes": s.backlog_bytes, "dropped_total": s.dropped_total,
                    "lost_total": s.lost_total, "send_errors_total": s.send_errors_total,
                    "up": s.up,
                })
            })
            .collect();
        vec![("sinks", serde_json::Value::Array(sinks))]
    })
}

/// The reference consumer: XREADGROUP, print, XACK.
fn tail(a: &TailArgs) -> Result<()> {
    use std::io::Write;
    let url = RedisUrl::parse(&a.redis).map_err(anyhow::Error::msg)?;
    let timeout = std::time::Duration::from_secs(10);
    let mut c = Consumer::new(&url, &a.stream, &a.group, &a.consumer, timeout)
        .with_context(|| format!("redis {}", url.addr))?;
    let stdout = std::io::stdout();
    let (mut seen, mut idle) = (0u64, std::time::Instant::now());
    loop {
        let entries = c.read(100, 1000)?;
        if entries.is_empty() {
            if a.idle_exit.is_some_and(|s| idle.elapsed().as_secs() >= s) {
                return Ok(());
            }
            continue;
        }
        idle = std::time::Instant::now();
        let mut out = stdout.lock();
        let mut ids = Vec::with_capacity(entries.len());
        for e in entries {
            out.write_all(&e.event)?;
            out.write_all(b"\n")?;
            ids.push(e.id);
            seen += 1;
            if a.max.is_some_and(|m| seen >= m) {
                break;
            }
        }
        out.flush()?;
        c.ack(&ids)?;
        if a.max.is_some_and(|m| seen >= m) {
            return Ok(());
        }
    }
}

fn check_signatures(dir: &std::path::Path) -> Result<()> {
    let engine = std::sync::Arc::new(
        Engine::load_dir(dir, &EngineOptions::default())
            .with_context(|| format!("loading detectors from {}", dir.display()))?,
    );
    let mut failures = 0;
    let mut total = 0;
    for (id, ex) in engine.examples() {
        total += 1;
        if let Some(why) = example_failure(&engine, id, ex) {
            failures += 1;
            let file = engine.detector_file(id).unwrap_or("?");
            eprintln!("{file}:{}: {why}", ex.line);
        }
    }
    println!(
        "{} detectors loaded from {}; {} of {total} examples pass",
        engine.detectors().len(),
        dir.display(),
        total - failures
    );
    anyhow::ensure!(failures == 0, "{failures} examples failed (see above)");
    Ok(())
}

/// Why an example does not behave as its file says, if it does not.
fn example_failure(
    engine: &std::sync::Arc<Engine>,
    id: DetectorId,
    ex: &leakwatch::detect::Example,
) -> Option<String> {
    struct Hits(Vec<(Vec<u8>, Confidence)>, DetectorId);
    impl MatchSink for Hits {
        fn on_match(&mut self, m: &Match<'_>) {
            if m.detector == self.1 {
                self.0.push((m.value.to_vec(), m.confidence));
            }
        }
    }
    let mut hits = Hits(Vec::new(), id);
    engine.scan_buffer(ex.text.as_bytes(), &mut hits);
    if !ex.expect_match {
        return (!hits.0.is_empty()).then(|| "[[no_match]] example matched".to_string());
    }
    let ok = hits.0.iter().any(|(v, c)| {
        ex.value
            .as_ref()
            .is_none_or(|want| want.as_bytes() == v.as_slice())
            && ex.confidence.is_none_or(|want| want == *c)
    });
    (!ok).then(|| {
        "[[match]] example did not match with the expected value and confidence".to_string()
    })
}

fn check_config(path: &std::path::Path) -> Result<()> {
    let cfg = Config::load(path)?;
    let sensor = Sensor::build(&cfg, Some(path), b"check-config")?;
    println!(
        "{}: ok ({} detectors, {} workers, geo: {})",
        path.display(),
        sensor.engine.detectors().len(),
        cfg.worker_count(),
        sensor.policy.geo_description()
    );
    Ok(())
}
