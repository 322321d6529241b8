//! PLACEHOLDER — the detect helper replaces this file. Signatures only.
#![allow(missing_docs, unused_variables, dead_code)]

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::{DetectorInfo, EngineOptions, MatchSink};

/// Compiled detectors, shared read-only by all workers (`Arc<Engine>`).
pub struct Engine {
    detectors: Vec<DetectorInfo>,
}

/// Per-thread scanning context (Hyperscan scratch, work buffers).
pub struct Scanner {
    engine: Arc<Engine>,
}

/// Per-stream carry-over (one per direction of a flow). Small when idle.
#[derive(Default)]
pub struct StreamState {}

/// A signature file that cannot be loaded: names file, line, detector, field.
#[derive(Debug)]
pub struct SignatureError {
    msg: String,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}
impl std::error::Error for SignatureError {}

impl Engine {
    pub fn load_dir(dir: &Path, opts: &EngineOptions) -> Result<Engine, SignatureError> {
        Ok(Engine {
            detectors: Vec::new(),
        })
    }
    pub fn detectors(&self) -> &[DetectorInfo] {
        &self.detectors
    }
    pub fn scanner(self: &Arc<Self>) -> Scanner {
        Scanner {
            engine: Arc::clone(self),
        }
    }
    /// Convenience for tests: a scanner on a fresh state over one buffer.
    pub fn scan_buffer(self: &Arc<Self>, data: &[u8], sink: &mut dyn MatchSink) {
        let mut s = self.scanner();
        s.scan_buffer(data, sink)
    }
}

impl Scanner {
    pub fn scan_stream(&mut self, st: &mut StreamState, data: &[u8], sink: &mut dyn MatchSink) {}
    pub fn finish_stream(&mut self, st: &mut StreamState, sink: &mut dyn MatchSink) {}
    pub fn gap(&mut self, st: &mut StreamState) {}
    pub fn scan_buffer(&mut self, data: &[u8], sink: &mut dyn MatchSink) {
        let mut st = StreamState::default();
        self.scan_stream(&mut st, data, sink);
        self.finish_stream(&mut st, sink);
    }
}
