//! Alert: turns matches into events and writes them.
//!
//! PI never leaves this module in clear: values are masked ([`mask()`]) and
//! identified by a keyed hash ([`ValueHasher`]).

pub mod event;
pub mod event_id;
pub mod findings;
pub mod hash;
pub mod mask;
pub mod sink;
pub mod sinks;

pub use self::event::{
    DlpEvent, Envelope, FindingOut, HexHash, HttpOut, StreamNotes, ValueOut, SCHEMA_VERSION,
};
pub use self::event_id::EventIds;
pub use self::findings::{FindingLimits, FindingSet};
pub use self::hash::ValueHasher;
pub use self::mask::{mask, mask_text};
pub use self::sink::{AlertSink, EveWriter, EventHead};
pub use self::sinks::{SinkControl, SinkSet};
