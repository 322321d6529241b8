//! `leakwatch` command line: arguments, config, run, exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use leakwatch::alert::{AlertSink, EveWriter};
use leakwatch::config::{Config, HASH_KEY_ENV};
use leakwatch::detect::{Engine, EngineOptions};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(args) => replay(args),
        Command::CheckSignatures { signatures } => check_signatures(&signatures),
        Command::Signatures(SignaturesCommand::Test { dir }) => check_signatures(&dir),
        Command::Scan(args) => scan(args),
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
    if let Some(d) = &args.dump_streams {
        cfg.output.dump_streams = Some(d.clone());
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

fn replay(args: ReplayArgs) -> Result<()> {
    let cfg = load_config(&args)?;
    let sensor = Sensor::build(&cfg, args.config.as_deref(), &hash_key(&cfg))?;
    let mut sink: Box<dyn AlertSink> = match &args.eve {
        Some(p) => Box::new(EveWriter::create(p)?),
        None => Box::new(EveWriter::stdout()),
    };
    let res = pipeline::replay(&cfg, &sensor, &args.inputs, sink.as_mut());
    match res {
        Ok(stats) => {
            eprintln!(
                "leakwatch: {} packets, {} flows, {} dlp events, {:.1} MB/s",
                stats.reader.packets_total,
                stats.flow.flows_total,
                stats.dlp_events_total,
                stats.throughput_mbps()
            );
            for w in &stats.reader.warnings {
                eprintln!("leakwatch: warning: {w}");
            }
            Ok(())
        }
        Err(e @ ReplayError::Capture(_)) => {
            Err(anyhow::Error::new(e).context("replay stopped early (events so far were written)"))
        }
        Err(e) => Err(e.into()),
    }
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
