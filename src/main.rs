//! `leakwatch` command line: arguments, config, run, exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use leakwatch::alert::sinks::redis::{Consumer, RedisUrl};
use leakwatch::alert::{AlertSink, EveWriter, SinkControl, SinkSet};
use leakwatch::capture::{
    self,
    live::{open_interfaces, paced::PacedSource, privs, Backend, OpenOptions, PacketSource},
};
use leakwatch::config::{Config, HASH_KEY_ENV};
use leakwatch::detect::{Engine, EngineOptions};
use leakwatch::ops::logging::{self, LogFormat};
use leakwatch::ops::metrics::{MetricsServer, Sources};
use leakwatch::ops::progress::{self, Progress};
use leakwatch::pipeline::counters::LiveCounters;
use leakwatch::pipeline::live::{self, Control, LiveOptions, SensorSlot};
use leakwatch::pipeline::{self, ReplayError, RunHooks, Sensor};

/// mimalloc: the workers allocate and free per transaction and per event
/// from several threads; glibc's malloc spent ~5 % of a replay in
/// bin consolidation and unlinking.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Capture live from network interfaces (a span/mirror port) until
    /// SIGTERM/SIGINT; SIGHUP reloads signatures, policy and geo.
    Live(LiveArgs),
    /// Validate a config file (policy, zones, geo, limits) and the detectors
    /// it names, without reading traffic.
    CheckConfig {
        /// Config file (TOML).
        config: PathBuf,
    },
    /// Load and check the detector files, running their examples (same as
    /// `signatures test`).
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
    /// Work with detector files.
    #[command(subcommand)]
    Signatures(SignaturesCommand),
    /// Run the detectors over a plain file (or `-` for stdin) and write
    /// `dlp` events as for traffic.
    Scan(ScanArgs),
}

#[derive(Subcommand)]
enum SignaturesCommand {
    /// Run every detector's examples and print a table; exit 1 on failure.
    Test {
        /// Directory of detector files.
        #[arg(default_value = "signatures")]
        dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Config file (TOML); every key is optional.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory of detector files (overrides the config).
    #[arg(long)]
    signatures: Option<PathBuf>,
    /// Write events to this file instead of stdout.
    #[arg(long)]
    eve: Option<PathBuf>,
    /// File to scan, or `-` for stdin.
    #[arg(value_name = "FILE")]
    input: PathBuf,
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
    /// Debug: write each TCP flow direction's reassembled bytes to a file
    /// in DIR (payload in clear: never on production traffic).
    #[arg(long, value_name = "DIR")]
    dump_streams: Option<PathBuf>,
    /// Serve Prometheus metrics at this address (e.g. 127.0.0.1:9101).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// Draw a progress bar on a terminal even for small inputs.
    #[arg(long)]
    progress: bool,
    /// Capture files or directories, processed in timestamp order as one capture.
    #[arg(required = true, value_name = "PCAP_OR_DIR")]
    inputs: Vec<PathBuf>,
    /// Pace the packets at their recorded speed, through the live code path.
    #[arg(long)]
    realtime: bool,
    /// With --realtime: speed multiplier (2 = twice as fast).
    #[arg(long, requires = "realtime", default_value_t = 1.0)]
    speed: f64,
}

#[derive(clap::Args)]
struct LiveArgs {
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
    /// Interface to capture on (repeat for several; default: [live] interfaces).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    interfaces: Vec<String>,
    /// BPF filter (tcpdump syntax), e.g. "not port 22".
    #[arg(long)]
    bpf: Option<String>,
    /// Capture mechanism: afpacket (Linux default) or pcap.
    #[arg(long, value_parser = ["afpacket", "pcap"])]
    capture: Option<String>,
    /// Bytes captured per frame.
    #[arg(long)]
    snaplen: Option<u32>,
    /// libpcap kernel buffer size in bytes.
    #[arg(long)]
    buffer_size: Option<usize>,
    /// Promiscuous mode (the default).
    #[arg(long, overrides_with = "no_promisc")]
    promisc: bool,
    /// No promiscuous mode.
    #[arg(long)]
    no_promisc: bool,
    /// Switch to this user once the captures are open.
    #[arg(long)]
    user: Option<String>,
    /// Process traffic as root (refused otherwise).
    #[arg(long)]
    allow_root: bool,
    /// Seconds between periodic stats events (0 = only at exit).
    #[arg(long)]
    stats_interval: Option<u64>,
}

/// A signal stopped a replay early (exit status 130).
#[derive(Debug)]
struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted; the events of the packets read so far were written")
    }
}

impl std::error::Error for Interrupted {}

/// `tail`: the reference consumer of a Redis stream.
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
        Command::Live(args) => live(args),
        Command::Tail(args) => tail(&args),
        Command::CheckSignatures { signatures } => check_signatures(&signatures),
        Command::Signatures(SignaturesCommand::Test { dir }) => check_signatures(&dir),
        Command::Scan(args) => scan(args),
        Command::CheckConfig { config } => check_config(&config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Interrupted>() => {
            eprintln!("leakwatch: {e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("leakwatch: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &ReplayArgs) -> Result<Config> {
    let mut cfg = load_config_from(
        args.config.as_deref(),
        args.signatures.as_ref(),
        args.workers,
    )?;
    if let Some(d) = &args.dump_streams {
        cfg.output.dump_streams = Some(d.clone());
    }
    Ok(cfg)
}

fn load_config_from(
    config: Option<&Path>,
    signatures: Option<&PathBuf>,
    workers: Option<usize>,
) -> Result<Config> {
    let mut cfg = match config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(s) = signatures {
        cfg.signatures = s.clone();
    }
    if let Some(w) = workers {
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
    let key = hash_key(&cfg);
    let sensor = Sensor::build(&cfg, args.config.as_deref(), &key)?;
    let mut sinks = SinkSet::build(&cfg.output.sinks, args.eve.as_deref())?;
    let sink_ctl = sinks.control();
    let control = Control::with_signals().context("installing signal handlers")?;
    let counters = LiveCounters::new(cfg.worker_count());
    let _metrics = match &args.metrics {
        Some(addr) => Some(MetricsServer::start(
            addr,
            Sources {
                counters: counters.clone(),
                sinks: Some(sink_ctl.clone()),
            },
        )?),
        None => None,
    };
    let res = if args.realtime {
        let src = capture::open_inputs_with(&args.inputs, &cfg.replay.inputs())?;
        let name = args
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",");
        anyhow::ensure!(
            args.speed.is_finite() && args.speed > 0.0,
            "--speed must be a positive number"
        );
        let source: Box<dyn PacketSource> = Box::new(PacedSource::new(src, name, args.speed));
        let reloader = || {
            let cfg = load_config(&args).map_err(|e| format!("{e:#}"))?;
            Sensor::build(&cfg, args.config.as_deref(), &key).map_err(|e| e.to_string())
        };
        let opts = LiveOptions {
            control: &control,
            reloader: &reloader,
            stats_interval: Duration::from_secs(cfg.stats_interval(true)),
            on_hup: Some(&|| sink_ctl.reopen()),
            hooks: RunHooks {
                counters: Some(counters.clone()),
                stats_extra: Some(sink_stats(sink_ctl.clone())),
                stop: None,
            },
        };
        let slot = Arc::new(SensorSlot::new(sensor));
        live::run(&cfg, &slot, vec![source], &opts, &mut sinks)
    } else {
        let hooks = RunHooks {
            counters: Some(counters.clone()),
            stats_extra: Some(sink_stats(sink_ctl.clone())),
            stop: Some(Arc::clone(&control.stop)),
        };
        let bar = Progress::start(progress::input_bytes(&args.inputs), counters, args.progress);
        let res = pipeline::replay_with(&cfg, &sensor, &args.inputs, &mut sinks, hooks);
        if let Some(b) = bar {
            b.finish();
        }
        res
    };
    close_sinks(sinks)?;
    report(res)
}

/// Flushes and closes the sinks; warns about events not delivered.
fn close_sinks(sinks: SinkSet) -> Result<()> {
    for s in sinks.close()? {
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

/// Prints the summary of a run, or turns its failure into the error.
fn report(res: Result<pipeline::RunStats, ReplayError>) -> Result<()> {
    match res {
        Ok(stats) if stats.reader.interrupted => {
            summary(&stats);
            Err(Interrupted.into())
        }
        Ok(stats) => {
            summary(&stats);
            Ok(())
        }
        Err(e @ ReplayError::Capture(_)) => {
            Err(anyhow::Error::new(e).context("replay stopped early (events so far were written)"))
        }
        Err(e @ ReplayError::Live(_)) => {
            Err(anyhow::Error::new(e).context("capture stopped (events so far were written)"))
        }
        Err(e) => Err(e.into()),
    }
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

fn summary(stats: &pipeline::RunStats) {
    eprintln!(
        "leakwatch: {} packets, {} flows, {} dlp events, {:.1} MB/s",
        stats.reader.packets_total,
        stats.flow.flows_total,
        stats.dlp_events_total,
        stats.throughput_mbps()
    );
    for i in &stats.interfaces {
        if i.kernel.drops() > 0 {
            eprintln!(
                "leakwatch: warning: {}: {} frames dropped by the kernel/interface",
                i.name,
                i.kernel.drops()
            );
        }
    }
    for w in &stats.reader.warnings {
        eprintln!("leakwatch: warning: {w}");
    }
}

fn live(args: LiveArgs) -> Result<()> {
    let cfg = live_config(&args)?;
    let ifaces = if args.interfaces.is_empty() {
        cfg.live.interfaces.clone()
    } else {
        args.interfaces.clone()
    };
    anyhow::ensure!(
        !ifaces.is_empty(),
        "give at least one interface with -i IFACE (or [live] interfaces in the config)"
    );
    let key = hash_key(&cfg);
    let sensor = Sensor::build(&cfg, args.config.as_deref(), &key)?;
    let backend = cfg.live.capture.unwrap_or_else(Backend::platform_default);
    let fanout = match cfg.live.fanout {
        0 => cfg.worker_count(),
        n => n,
    };
    let open = OpenOptions {
        backend,
        live: cfg.live.clone(),
        fanout,
    };
    let sources = open_interfaces(&ifaces, &open)?;
    // The output file is opened while still privileged, like the captures.
    let mut sinks = SinkSet::build(&cfg.output.sinks, args.eve.as_deref())?;
    let sink_ctl = sinks.control();
    if let Some(user) = args.user.as_ref().or(cfg.run.user.as_ref()) {
        privs::drop_to(user).map_err(anyhow::Error::msg)?;
    }
    match privs::check_root(privs::is_root(), args.allow_root || cfg.run.allow_root) {
        Ok(Some(w)) => eprintln!("leakwatch: warning: {w}"),
        Ok(None) => {}
        Err(e) => anyhow::bail!(e),
    }
    let control = Control::with_signals().context("installing signal handlers")?;
    let reloader = || {
        let cfg = live_config(&args).map_err(|e| format!("{e:#}"))?;
        Sensor::build(&cfg, args.config.as_deref(), &key).map_err(|e| e.to_string())
    };
    let reopen = || sink_ctl.reopen();
    let opts = LiveOptions {
        control: &control,
        reloader: &reloader,
        stats_interval: Duration::from_secs(cfg.stats_interval(true)),
        on_hup: Some(&reopen),
        hooks: RunHooks {
            counters: None,
            stats_extra: Some(sink_stats(sink_ctl.clone())),
            stop: None,
        },
    };
    eprintln!(
        "leakwatch: capturing on {} ({backend:?}, {} capture threads, {} workers)",
        ifaces.join(", "),
        sources.len(),
        cfg.worker_count()
    );
    let slot = Arc::new(SensorSlot::new(sensor));
    let res = live::run(&cfg, &slot, sources, &opts, &mut sinks);
    close_sinks(sinks)?;
    match res {
        // A stop signal is the normal end of a live run.
        Ok(stats) => {
            summary(&stats);
            Ok(())
        }
        Err(e) => report(Err(e)),
    }
}

/// The config with the command line's overrides applied.
fn live_config(args: &LiveArgs) -> Result<Config> {
    let mut cfg = load_config_from(
        args.config.as_deref(),
        args.signatures.as_ref(),
        args.workers,
    )?;
    let l = &mut cfg.live;
    if let Some(b) = &args.bpf {
        l.bpf = b.clone();
    }
    if let Some(c) = &args.capture {
        l.capture = Backend::parse(c);
    }
    if let Some(n) = args.snaplen {
        l.snaplen = n;
    }
    if let Some(n) = args.buffer_size {
        l.buffer_size = n;
    }
    if args.promisc {
        l.promisc = true;
    }
    if args.no_promisc {
        l.promisc = false;
    }
    if let Some(n) = args.stats_interval {
        cfg.output.stats_interval = Some(n);
    }
    Ok(cfg)
}

fn check_signatures(dir: &std::path::Path) -> Result<()> {
    // The default cache, as a replay with the default config uses it.
    let opts = EngineOptions {
        hs_cache: Config::default().detect.hyperscan_cache_dir(),
        ..EngineOptions::default()
    };
    let engine = std::sync::Arc::new(
        Engine::load_dir(dir, &opts)
            .with_context(|| format!("loading detectors from {}", dir.display()))?,
    );
    let report = leakwatch::detect::selftest::run_examples(&engine);
    print!("{report}");
    anyhow::ensure!(
        report.failed() == 0,
        "{} examples failed (see above)",
        report.failed()
    );
    Ok(())
}

fn scan(args: ScanArgs) -> Result<()> {
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(s) = &args.signatures {
        cfg.signatures = s.clone();
    }
    let sensor = Sensor::build(&cfg, args.config.as_deref(), &hash_key(&cfg))?;
    let mut sink: Box<dyn AlertSink> = match &args.eve {
        Some(p) => Box::new(EveWriter::create(p)?),
        None => Box::new(EveWriter::stdout()),
    };
    let limits = leakwatch::alert::FindingLimits {
        values_cap: cfg.output.values_cap,
        max_distinct: cfg.output.max_distinct,
    };
    let name = args.input.display().to_string();
    let mut input: Box<dyn std::io::Read> = if name == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(&args.input).with_context(|| format!("cannot open {name}"))?)
    };
    let st = pipeline::filescan::scan_reader(&sensor, &limits, &name, &mut input, sink.as_mut())
        .with_context(|| format!("scanning {name}"))?;
    eprintln!(
        "leakwatch: {} bytes scanned, {} distinct values, {} dlp events",
        st.bytes, st.distinct, st.events
    );
    Ok(())
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
