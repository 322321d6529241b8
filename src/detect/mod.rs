//! Detect: finds PI in plain bytes.
//!
//! Detectors are data (`signatures/detectors/*.toml`), compiled at start-up
//! by [`Engine::load_dir`] into the fastest matcher for each family: numeric
//! PI through a SIMD digit-run scanner plus validators, keywords and context
//! words through Hyperscan (or `aho-corasick` without the `hyperscan`
//! feature), e-mail through `memchr(b'@')` plus local validation, custom
//! regexes (`kind = "regex"`) through one Hyperscan database used as a
//! prefilter for the `regex` crate, and keyword dictionaries (`kind =
//! "keywords"`, UTF-8 and GBK) through a literal database. Exclusion lists
//! (by value or keyed hash) apply before a match is recorded.
//!
//! Streams are scanned incrementally: [`Scanner::scan_stream`] is called with
//! each next run of in-order bytes of one direction of one flow, and a
//! [`StreamState`] carries what is needed so that a value split across calls
//! is found exactly once.
//!
//! This module never sees packets. Matches go to a [`MatchSink`].

/// Index of a detector in the [`Engine`] (stable for the engine's lifetime).
pub type DetectorId = u16;

/// How sure a match is (`low`, `medium`, `high` in config files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Weak pattern, no context; reported only when configured.
    Low,
    /// Pattern plus validators.
    Medium,
    /// Pattern, validators and a context keyword or field name nearby.
    High,
}

impl Confidence {
    /// Name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Static facts about one detector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectorInfo {
    /// Detector id from its file (e.g. `cn_resident_id.18`).
    pub id: String,
    /// PI type (DESIGN.md vocabulary, e.g. `cn_resident_id`).
    pub pi_type: String,
    /// Category (e.g. `identity`, `contact`, `financial`).
    pub category: String,
}

/// One validated match. `value` is the normalised value (DESIGN.md: ID
/// uppercase with `X`, mobile the 11 digits, card the digits, e-mail
/// lowercased); it is PI in clear and must never be written anywhere.
#[derive(Debug)]
pub struct Match<'a> {
    /// Which detector matched.
    pub detector: DetectorId,
    /// Normalised value.
    pub value: &'a [u8],
    /// Confidence after context.
    pub confidence: Confidence,
    /// Offset of the first byte of the match within the stream (counting
    /// every byte passed to `scan_stream` for this state).
    pub offset: u64,
}

/// Receives matches.
pub trait MatchSink {
    /// Called once per validated match, in stream order.
    fn on_match(&mut self, m: &Match<'_>);
}

/// Engine options (from config).
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Report low-confidence matches too.
    pub report_low: bool,
    /// "Today" for birth-date checks (`None`: the system date at load time).
    /// Tests set it for determinism.
    pub today: Option<chrono::NaiveDate>,
    /// Matcher for context words, keywords and the regex prefilter
    /// (default: Hyperscan when the feature is on).
    pub context_backend: ContextBackend,
    /// Lowest confidence reported (`None`: `Low` when `report_low`, else
    /// `Medium`).
    pub min_confidence: Option<Confidence>,
    /// HMAC key for `exclude_hashes` (`None`: hash exclusions never match).
    pub hash_key: Option<Vec<u8>>,
    /// Directory of compiled Hyperscan databases (`None`: compile every
    /// database at each load).
    pub hs_cache: Option<std::path::PathBuf>,
}

pub use self::context::ContextBackend;
/// Column mapping of tabular content (see `columns.rs`).
pub use self::engine::columns;
pub use self::engine::{Engine, Scanner, SignatureError, StreamState};
pub use self::signature::Example;

mod blocks;
mod cn_divisions;
mod context;
mod digits;
mod email;
mod engine;
pub mod exclude;
pub mod fields;
mod fields_attr;
mod fields_html;
pub mod hs_cache;
mod keywords;
pub mod normalize;
pub mod records;
mod regex;
pub mod selftest;
mod signature;
pub mod validators;
