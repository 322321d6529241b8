//! A progress bar for long replays, drawn on stderr only when stderr is a
//! terminal and the input is large; quiet otherwise (logs, CI, pipes).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::pipeline::counters::LiveCounters;

/// Inputs smaller than this replay too fast to need a bar.
pub const MIN_BYTES: u64 = 32 << 20;

/// Per-packet overhead of pcap records, to turn captured bytes into an
/// estimate of file bytes read.
const RECORD_OVERHEAD: u64 = 16;

/// A running progress bar.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Total size of the input files (directories: their regular files).
pub fn input_bytes(inputs: &[PathBuf]) -> u64 {
    let mut total = 0;
    for p in inputs {
        match std::fs::read_dir(p) {
            Ok(rd) => {
                total += rd
                    .filter_map(|e| e.ok()?.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum::<u64>()
            }
            Err(_) => total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
        }
    }
    total
}

impl Progress {
    /// Starts a bar when stderr is a terminal and `total` is at least
    /// [`MIN_BYTES`] (or `force`).
    pub fn start(total: u64, counters: Arc<LiveCounters>, force: bool) -> Option<Progress> {
        if !std::io::stderr().is_terminal() || (total < MIN_BYTES && !force) {
            return None;
        }
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("lw-progress".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    let p = counters.packets_total.load(Ordering::Relaxed);
                    let b = counters.bytes_total.load(Ordering::Relaxed);
                    bar.set_position((b + p * RECORD_OVERHEAD).min(total));
                    std::thread::sleep(Duration::from_millis(200));
                }
                bar.finish_and_clear();
            })
            .ok()?;
        Some(Progress {
            stop,
            thread: Some(thread),
        })
    }

    /// Removes the bar.
    pub fn finish(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_now();
    }
}
