//! Pipeline: the only module that knows about threads and channels.
//!
//! ```text
//! reader ──batches (bounded, blocking)──► worker 0..N ──events──► output
//! ```
//! The reader decodes each frame once and routes it by the symmetric flow
//! hash, so every flow lives on exactly one worker and needs no locks. In
//! replay the channels block when full (backpressure): nothing is dropped.

pub mod anomaly;
pub mod batch;
pub mod counters;
pub mod dump;
pub mod filescan;
pub mod ftp_route;
pub mod live;
mod nettls;
pub mod output;
pub mod reader;
pub mod stats;
pub mod worker;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::bounded;

use crate::alert::{AlertSink, EventIds, FindingLimits, ValueHasher};
use crate::capture::{self, CaptureError};
use crate::config::Config;
use crate::detect::{Engine, EngineOptions};
use crate::flow::table::{Emergency, Timeouts};
use crate::flow::ReassemblyConfig;
use crate::policy::{Policy, PolicyConfig};

pub use self::stats::RunStats;

/// Batches queued per worker before the reader blocks.
const WORKER_QUEUE: usize = 8;
/// Event batches queued before workers block on the output thread.
const OUTPUT_QUEUE: usize = 64;

/// Why a replay failed.
#[derive(Debug)]
pub enum ReplayError {
    /// An input could not be opened; nothing was processed.
    Open(CaptureError),
    /// An input was corrupt part-way; everything before was processed and
    /// written (with the stats), then the run stopped.
    Capture(CaptureError),
    /// Events could not be written.
    Output(std::io::Error),
    /// A thread of ours panicked (a bug: please report it with the pcap).
    Internal(String),
    /// A live capture failed part-way (events so far were written).
    Live(crate::capture::live::LiveError),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Open(e) | ReplayError::Capture(e) => write!(f, "{e}"),
            ReplayError::Output(e) => write!(f, "cannot write events: {e}"),
            ReplayError::Live(e) => write!(f, "capture failed: {e}"),
            ReplayError::Internal(m) => {
                write!(f, "internal error: {m}; please report it with the capture")
            }
        }
    }
}

impl std::error::Error for ReplayError {}

/// The PI types of the DESIGN.md vocabulary, valid in policy rules even
/// before a detector of that type is loaded.
pub const PI_TYPES: &[&str] = &[
    "cn_resident_id",
    "cn_mobile",
    "cn_landline",
    "bank_card",
    "email",
    "cn_passport",
    "hk_macau_permit",
    "cn_name",
    "cn_address",
    "credential",
    "sensitive_attr",
    "device_id",
];

/// What a run needs besides the config: compiled detectors, the policy and
/// the keyed hasher. Built once, validated before the first packet.
#[derive(Clone)]
pub struct Sensor {
    /// Compiled detectors.
    pub engine: Arc<Engine>,
    /// Compiled policy (swap the `Arc` to reload).
    pub policy: Arc<Policy>,
    /// Keyed hasher for values.
    pub hasher: ValueHasher,
}

/// The configuration, detectors or policy cannot be used.
#[derive(Debug)]
pub struct SetupError(String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

impl Sensor {
    /// Loads the detectors (`cfg.signatures`) and compiles the policy, whose
    /// relative paths resolve against the config file's directory.
    ///
    /// # Errors
    /// The first problem, naming the file, the line or key and the fix.
    pub fn build(
        cfg: &Config,
        config_path: Option<&Path>,
        hash_key: &[u8],
    ) -> Result<Sensor, SetupError> {
        let opts = EngineOptions {
            report_low: cfg.detect.report_low,
            min_confidence: cfg.detect.min_confidence,
            hash_key: Some(hash_key.to_vec()),
            hs_cache: cfg.detect.hyperscan_cache_dir(),
            ..EngineOptions::default()
        };
        let engine = Engine::load_dir(&cfg.signatures, &opts).map_err(|e| {
            SetupError(format!(
                "loading detectors from {}: {e}",
                cfg.signatures.display()
            ))
        })?;
        warn_cache_store(&engine, opts.hs_cache.as_deref());
        let base = config_path.and_then(Path::parent).unwrap_or(Path::new("."));
        let pcfg = PolicyConfig::from(cfg);
        // Rules may name any type of the DESIGN.md vocabulary (detectors for
        // some arrive later) or any type/category a loaded detector has.
        let vocabulary = PI_TYPES.iter().map(|t| (*t, *t));
        let known = engine
            .detectors()
            .iter()
            .map(|d| (d.pi_type.as_str(), d.category.as_str()))
            .chain(vocabulary);
        let policy = Policy::from_config(&pcfg, base)
            .and_then(|p| p.check_types(&pcfg, known).map(|()| p))
            .map_err(|e| {
                let line = config_path
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .and_then(|text| e.line_in(&text));
                let at = match (config_path, line) {
                    (Some(p), Some(l)) => format!("config {} line {l}: ", p.display()),
                    (Some(p), None) => format!("config {}: ", p.display()),
                    (None, _) => "policy: ".to_string(),
                };
                SetupError(format!("{at}{e}"))
            })?;
        Ok(Sensor {
            engine: Arc::new(engine),
            policy: Arc::new(policy),
            hasher: ValueHasher::new(hash_key),
        })
    }
}

/// Says once on stderr when compiled databases could not be cached (start-up
/// then stays slow, nothing else changes).
fn warn_cache_store(engine: &Engine, dir: Option<&Path>) {
    let (failed, Some(dir)) = (engine.hs_cache_stats().store_errors, dir) else {
        return;
    };
    if failed > 0 {
        eprintln!(
            "leakwatch: warning: could not write {failed} compiled Hyperscan database(s) to {}; \
             make it writable, or set [detect] hyperscan_cache = \"\" to stop caching",
            dir.display()
        );
    }
}

/// Builds the per-worker setup from the config.
fn worker_setup(cfg: &Config, sensor: &Sensor, workers: usize) -> worker::WorkerSetup {
    let r = &cfg.reassembly;
    worker::WorkerSetup {
        engine: Arc::clone(&sensor.engine),
        policy: Arc::clone(&sensor.policy),
        hasher: sensor.hasher.clone(),
        ids: EventIds::new(&cfg.sensor_id()),
        limits: FindingLimits {
            values_cap: cfg.output.values_cap,
            max_distinct: cfg.output.max_distinct,
        },
        reassembly: ReassemblyConfig {
            depth: r.depth,
            memcap: (r.memcap / workers).max(1),
            max_segments: r.max_segments,
            overlap: r.overlap_policy,
            on_limit: r.on_limit,
            recent_window: r.recent_window,
        },
        max_flows: (cfg.flow.max_flows / workers).max(1),
        mail: cfg.mail,
        timeouts: Timeouts::from_secs(
            cfg.flow.timeout_embryonic,
            cfg.flow.timeout_established,
            cfg.flow.timeout_closed,
            cfg.flow.timeout_udp,
        ),
        emergency: Emergency {
            timeouts: Timeouts::from_secs(
                cfg.flow.emergency_timeout_embryonic,
                cfg.flow.emergency_timeout_established,
                cfg.flow.emergency_timeout_closed,
                cfg.flow.emergency_timeout_udp,
            ),
            enter_pct: cfg.flow.emergency_enter_pct,
            leave_pct: cfg.flow.emergency_leave_pct,
        },
        event_max_age: cfg.output.event_max_age.saturating_mul(1_000_000_000),
        flow_events: cfg.output.flow_events,
        anomaly: anomaly_options(cfg),
        dump_streams: cfg.output.dump_streams.clone(),
        reload: None,
        files: cfg.files,
        normalize: cfg.normalize.clone(),
        counters: None,
    }
}

/// Reporting hooks of a run (all optional).
#[derive(Default, Clone)]
pub struct RunHooks {
    /// Live counters (metrics endpoint, progress bar, periodic stats).
    pub counters: Option<Arc<counters::LiveCounters>>,
    /// Extra members of periodic `stats` events (e.g. sink status).
    pub stats_extra: Option<counters::StatsExtra>,
    /// Set (SIGINT) to stop reading early; what was read is still reported.
    pub stop: Option<Arc<std::sync::atomic::AtomicBool>>,
}

fn anomaly_options(cfg: &Config) -> anomaly::AnomalyOptions {
    anomaly::AnomalyOptions {
        enabled: cfg.output.anomaly_events,
        max_per_flow: cfg.output.anomaly_max_per_flow,
        rate: cfg.output.anomaly_rate,
        overlap: cfg.reassembly.overlap_policy,
    }
}

/// Replays capture files through the pipeline and writes events, then a
/// final `stats` event, to `sink`.
///
/// # Errors
/// See [`ReplayError`]; on [`ReplayError::Capture`] the events of the
/// packets before the corruption were still written.
pub fn replay(
    cfg: &Config,
    sensor: &Sensor,
    inputs: &[PathBuf],
    sink: &mut dyn AlertSink,
) -> Result<RunStats, ReplayError> {
    replay_until(cfg, sensor, inputs, sink, None)
}

/// [`replay`] that stops reading early when `stop` is set (SIGINT): the
/// frames read so far are still processed, their events and the stats
/// (with `capture.interrupted`) written.
///
/// # Errors
/// As [`replay`].
pub fn replay_until(
    cfg: &Config,
    sensor: &Sensor,
    inputs: &[PathBuf],
    sink: &mut dyn AlertSink,
    stop: Option<Arc<std::sync::atomic::AtomicBool>>,
) -> Result<RunStats, ReplayError> {
    let hooks = RunHooks {
        stop,
        ..RunHooks::default()
    };
    replay_with(cfg, sensor, inputs, sink, hooks)
}

/// [`replay`] with reporting hooks: live counters, periodic `stats` events
/// every `stats_interval` seconds of packet time, a stop flag.
///
/// # Errors
/// As [`replay`].
pub fn replay_with(
    cfg: &Config,
    sensor: &Sensor,
    inputs: &[PathBuf],
    sink: &mut dyn AlertSink,
    hooks: RunHooks,
) -> Result<RunStats, ReplayError> {
    let started = Instant::now();
    let source =
        capture::open_inputs_with(inputs, &cfg.replay.inputs()).map_err(ReplayError::Open)?;
    let files: Vec<String> = source
        .file_names()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let workers = cfg.worker_count();
    let mut setup = worker_setup(cfg, sensor, workers);
    let counters = match (&hooks.counters, cfg.stats_interval(false)) {
        (Some(c), _) => Some(Arc::clone(c)),
        (None, 0) => None,
        (None, _) => Some(counters::LiveCounters::new(workers)),
    };
    let ids = EventIds::new(&cfg.sensor_id());
    if let Some(d) = &cfg.output.dump_streams {
        std::fs::create_dir_all(d).map_err(ReplayError::Output)?;
    }
    let dedup = sensor.policy.new_deduper();
    let (out_tx, out_rx) = bounded(OUTPUT_QUEUE);
    let result = std::thread::scope(|s| {
        let mut links = Vec::new();
        let mut handles = Vec::new();
        for i in 0..workers {
            let (tx, rx) = bounded(WORKER_QUEUE);
            let (pool_tx, pool_rx) = bounded(WORKER_QUEUE + 2);
            links.push(reader::WorkerLink { tx, pool: pool_rx });
            setup.counters = counters.as_ref().map(|c| (Arc::clone(c), i));
            let (setup, out_tx) = (setup.clone(), out_tx.clone());
            let h = std::thread::Builder::new()
                .name(format!("lw-worker-{i}"))
                .spawn_scoped(s, move || worker::run(setup, rx, pool_tx, out_tx));
            handles.push(h);
        }
        let ticker = match (&counters, cfg.stats_interval(false)) {
            (Some(c), n) if n > 0 => Some(counters::StatsTicker::new(
                n,
                Arc::clone(c),
                hooks.stats_extra.clone(),
                out_tx.clone(),
            )),
            _ => None,
        };
        let reader_hooks = reader::ReaderHooks {
            counters: counters.clone(),
            ticker,
        };
        let opts = reader::ReaderOptions {
            defrag: cfg.defrag.to_config(),
            validate_checksums: cfg.decode.validate_checksums,
            anomaly: anomaly_options(cfg),
            anomaly_tx: Some(out_tx),
            dns_names: cfg.dns.to_config(),
            stop: hooks.stop.clone(),
            ftp_max_expectations: cfg.files.ftp_max_expectations,
            ftp_expect_timeout: cfg.files.ftp_expect_timeout,
            shared_defrag: None,
        };
        let reader = std::thread::Builder::new()
            .name("lw-reader".into())
            .spawn_scoped(s, move || {
                reader::run_with(source, links, opts, reader_hooks)
            });
        let sort_buffer = cfg.output.sort_buffer;
        let out = output::run(out_rx, sink, sort_buffer, dedup, &ids);
        let reader = join(reader)?;
        let mut worker_stats = Vec::new();
        for h in handles {
            worker_stats.push(join(h)?);
        }
        Ok::<_, ReplayError>((reader, worker_stats, out))
    });
    let ((reader, error), worker_stats, out) = result?;
    let out_stats = out.map_err(ReplayError::Output)?;
    let stats = RunStats::new(
        files,
        workers,
        reader,
        &worker_stats,
        out_stats,
        started.elapsed(),
    );
    let last = [stats.reader.last_ts, u64::MAX, 0, 0];
    let json = counters::with_extra(stats.to_event_json(), hooks.stats_extra.as_ref());
    sink.write_event(&ids.stamp(last, &json))
        .map_err(ReplayError::Output)?;
    sink.flush().map_err(ReplayError::Output)?;
    match error {
        Some(e) => Err(ReplayError::Capture(e)),
        None => Ok(stats),
    }
}

fn join<T>(h: std::io::Result<std::thread::ScopedJoinHandle<'_, T>>) -> Result<T, ReplayError> {
    let h = h.map_err(|e| ReplayError::Internal(format!("cannot start thread: {e}")))?;
    let name = h.thread().name().unwrap_or("thread").to_string();
    h.join()
        .map_err(|_| ReplayError::Internal(format!("{name} panicked")))
}
