//! Alert: turns matches into events and writes them.
//!
//! PI never leaves this module in clear: values are masked ([`mask`]) and
//! identified by a keyed hash ([`ValueHasher`]).

pub mod event;
pub mod findings;
pub mod hash;
pub mod mask;
pub mod sink;

pub use self::event::{DlpEvent, Envelope, FindingOut, StreamNotes, ValueOut, SCHEMA_VERSION};
pub use self::findings::{FindingLimits, FindingSet};
pub use self::hash::ValueHasher;
pub use self::mask::mask;
pub use self::sink::{AlertSink, EveWriter};
