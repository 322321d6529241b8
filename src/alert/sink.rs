//! Where serialised events go. For now: stdout or a file (`--eve`); the
//! delivery issue adds sockets, HTTP, Redis and the on-disk spool.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Receives serialised events, one JSON object per call (no newline).
pub trait AlertSink: Send {
    /// Writes one event.
    ///
    /// # Errors
    /// The underlying I/O error.
    fn write_event(&mut self, json: &str) -> io::Result<()>;
    /// Writes one event whose type and severity the caller already knows,
    /// so that a sink filtering on them need not parse the JSON. `head`
    /// must equal the event's top-level `event_type` and `severity`.
    ///
    /// # Errors
    /// The underlying I/O error.
    fn write_event_head(&mut self, json: &str, head: EventHead) -> io::Result<()> {
        let _ = head;
        self.write_event(json)
    }
    /// Pushes buffered events out.
    ///
    /// # Errors
    /// The underlying I/O error.
    fn flush(&mut self) -> io::Result<()>;
}

/// The top-level fields of an event that sinks filter and count on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventHead {
    /// `event_type`.
    pub event_type: &'static str,
    /// `severity`, on the event types that have one.
    pub severity: Option<&'static str>,
}

impl EventHead {
    /// The head of an event type that has no severity.
    pub fn of_type(event_type: &'static str) -> EventHead {
        EventHead {
            event_type,
            severity: None,
        }
    }
}

/// JSON-lines writer to stdout or a file.
pub struct EveWriter {
    out: BufWriter<Box<dyn Write + Send>>,
    path: Option<PathBuf>,
}

impl EveWriter {
    /// Writes to standard output.
    pub fn stdout() -> EveWriter {
        EveWriter {
            out: BufWriter::with_capacity(1 << 16, Box::new(io::stdout())),
            path: None,
        }
    }

    /// Creates (truncates) `path`.
    ///
    /// # Errors
    /// When the file cannot be created; the error names the path.
    pub fn create(path: &Path) -> io::Result<EveWriter> {
        let f = File::create(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create event file {}: {e}", path.display()),
            )
        })?;
        Ok(EveWriter {
            out: BufWriter::with_capacity(1 << 16, Box::new(f)),
            path: Some(path.to_path_buf()),
        })
    }

    /// Any in-memory writer (tests).
    pub fn from_writer(w: Box<dyn Write + Send>) -> EveWriter {
        EveWriter {
            out: BufWriter::new(w),
            path: None,
        }
    }

    fn context(&self, e: io::Error) -> io::Error {
        match &self.path {
            Some(p) => io::Error::new(e.kind(), format!("writing {}: {e}", p.display())),
            None => e,
        }
    }
}

impl AlertSink for EveWriter {
    fn write_event(&mut self, json: &str) -> io::Result<()> {
        let r = self
            .out
            .write_all(json.as_bytes())
            .and_then(|_| self.out.write_all(b"\n"));
        r.map_err(|e| self.context(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().map_err(|e| self.context(e))
    }
}
