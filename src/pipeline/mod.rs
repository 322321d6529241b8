//! Pipeline: the only module that knows about threads and channels.
//!
//! ```text
//! reader ──batches (bounded, blocking)──► worker 0..N ──events──► output
//! ```
//! The reader decodes each frame once and routes it by the symmetric flow
//! hash, so every flow lives on exactly one worker and needs no locks. In
//! replay the channels block when full (backpressure): nothing is dropped.

pub mod batch;
pub mod output;
pub mod reader;
pub mod stats;
pub mod worker;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::bounded;

use crate::alert::{AlertSink, FindingLimits, ValueHasher};
use crate::capture::{self, CaptureError};
use crate::config::Config;
use crate::detect::Engine;
use crate::flow::table::{Emergency, Timeouts};
use crate::flow::ReassemblyConfig;

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
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Open(e) | ReplayError::Capture(e) => write!(f, "{e}"),
            ReplayError::Output(e) => write!(f, "cannot write events: {e}"),
            ReplayError::Internal(m) => {
                write!(f, "internal error: {m}; please report it with the capture")
            }
        }
    }
}

impl std::error::Error for ReplayError {}

/// Builds the per-worker setup from the config.
fn worker_setup(
    cfg: &Config,
    engine: Arc<Engine>,
    hasher: ValueHasher,
    workers: usize,
) -> worker::WorkerSetup {
    let r = &cfg.reassembly;
    worker::WorkerSetup {
        engine,
        hasher,
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
    engine: Arc<Engine>,
    hasher: ValueHasher,
    inputs: &[PathBuf],
    sink: &mut dyn AlertSink,
) -> Result<RunStats, ReplayError> {
    let started = Instant::now();
    let source = capture::open_inputs(inputs).map_err(ReplayError::Open)?;
    let files: Vec<String> = source
        .file_names()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let workers = cfg.worker_count();
    let setup = worker_setup(cfg, engine, hasher, workers);
    let (out_tx, out_rx) = bounded(OUTPUT_QUEUE);
    let result = std::thread::scope(|s| {
        let mut links = Vec::new();
        let mut handles = Vec::new();
        for i in 0..workers {
            let (tx, rx) = bounded(WORKER_QUEUE);
            let (pool_tx, pool_rx) = bounded(WORKER_QUEUE + 2);
            links.push(reader::WorkerLink { tx, pool: pool_rx });
            let (setup, out_tx) = (setup.clone(), out_tx.clone());
            let h = std::thread::Builder::new()
                .name(format!("lw-worker-{i}"))
                .spawn_scoped(s, move || worker::run(setup, rx, pool_tx, out_tx));
            handles.push(h);
        }
        drop(out_tx);
        let reader = std::thread::Builder::new()
            .name("lw-reader".into())
            .spawn_scoped(s, move || reader::run(source, links));
        let sort_buffer = cfg.output.sort_buffer;
        let out = output::run(out_rx, sink, sort_buffer);
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
    sink.write_event(&stats.to_event_json())
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
