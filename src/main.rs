//! `leakwatch` command line: arguments, config, run, exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use leakwatch::alert::{AlertSink, EveWriter};
use leakwatch::capture::{
    self,
    live::{open_interfaces, paced::PacedSource, privs, Backend, OpenOptions, PacketSource},
};
use leakwatch::config::{Config, HASH_KEY_ENV};
use leakwatch::detect::{Engine, EngineOptions};

use leakwatch::pipeline::live::{self, Control, LiveOptions, SensorSlot};
use leakwatch::pipeline::{self, ReplayError, Sensor};

/// Network DLP sensor: finds personal information of people in China in traffic.
#[derive(Parser)]
#[command(name = "leakwatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(args) => replay(args),
        Command::Live(args) => live(args),
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
    eprintln!(
        "leakwatch: warning: no hash_key in config and {HASH_KEY_ENV} unset; using a random key, \
         so value hashes will not match across runs or sensors"
    );
    let key: [u8; 32] = rand::random();
    key.to_vec()
}

fn open_sink(eve: Option<&Path>) -> Result<Box<dyn AlertSink>> {
    Ok(match eve {
        Some(p) => Box::new(EveWriter::create(p)?),
        None => Box::new(EveWriter::stdout()),
    })
}

fn replay(args: ReplayArgs) -> Result<()> {
    let cfg = load_config(&args)?;
    let key = hash_key(&cfg);
    let sensor = Sensor::build(&cfg, args.config.as_deref(), &key)?;
    let mut sink = open_sink(args.eve.as_deref())?;
    let control = Control::with_signals().context("installing signal handlers")?;
    let res = if args.realtime {
        let src = capture::open_inputs(&args.inputs)?;
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
            stats_interval: Duration::from_secs(cfg.live.stats_interval),
        };
        let slot = Arc::new(SensorSlot::new(sensor));
        live::run(&cfg, &slot, vec![source], &opts, sink.as_mut())
    } else {
        pipeline::replay_until(
            &cfg,
            &sensor,
            &args.inputs,
            sink.as_mut(),
            Some(Arc::clone(&control.stop)),
        )
    };
    report(res)
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
    let mut sink = open_sink(args.eve.as_deref())?;
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
    let opts = LiveOptions {
        control: &control,
        reloader: &reloader,
        stats_interval: Duration::from_secs(cfg.live.stats_interval),
    };
    eprintln!(
        "leakwatch: capturing on {} ({backend:?}, {} capture threads, {} workers)",
        ifaces.join(", "),
        sources.len(),
        cfg.worker_count()
    );
    let slot = Arc::new(SensorSlot::new(sensor));
    let res = live::run(&cfg, &slot, sources, &opts, sink.as_mut());
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
        l.stats_interval = n;
    }
    Ok(cfg)
}

fn check_signatures(dir: &std::path::Path) -> Result<()> {
    let engine = std::sync::Arc::new(
        Engine::load_dir(dir, &EngineOptions::default())
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
