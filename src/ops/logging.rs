//! Logs to stderr with `tracing`: `leakwatch: warning: message key=value`
//! (or JSON objects with `--log-format json`). Levels come from
//! `--log-level`, else `RUST_LOG`, else `info`. Log messages never contain
//! PI: events carry it masked and hashed, logs carry counts, paths and
//! sink names only.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `leakwatch: warning: message key=value`.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The plain format: program name, level word (none for info), message,
/// fields.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        ev: &Event<'_>,
    ) -> fmt::Result {
        let level = match *ev.metadata().level() {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            Level::INFO => "",
            Level::DEBUG => "debug: ",
            Level::TRACE => "trace: ",
        };
        write!(w, "leakwatch: {level}")?;
        ctx.field_format().format_fields(w.by_ref(), ev)?;
        writeln!(w)
    }
}

/// Installs the global subscriber (once; later calls do nothing).
///
/// # Errors
/// A `--log-level` that is not a valid filter (`warn`, `leakwatch=debug`, ...).
pub fn init(level: Option<&str>, format: LogFormat) -> Result<(), String> {
    let filter = match level {
        Some(l) => EnvFilter::try_new(l).map_err(|e| format!("--log-level {l:?}: {e}"))?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.event_format(Plain).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}
