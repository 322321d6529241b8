//! leakwatch — a network DLP sensor that finds personal information (PI) of
//! people in China in network traffic.
//!
//! # Architecture
//!
//! Data flows down the module tree, one module per pipeline stage:
//!
//! ```text
//! capture ─► decode ─► flow ─► app ─► detect ─► policy ─► alert
//!  frames    headers   flows,   content  PI        zones,    EVE JSON
//!  (pcap)    (L2-L4)   TCP      segments matches   geo       events
//!                      streams
//! ```
//!
//! Only [`pipeline`] knows about threads and channels: a reader thread decodes
//! just enough to compute a symmetric flow hash and sends batches of frames to
//! the worker its high bits pick ([`flow::FlowKey::shard`]); each worker owns its shard of the flow table, reassembles
//! TCP, scans the in-order bytes and builds events; one output thread sorts and
//! writes them. [`detect`] never sees packet types, so it can be tested,
//! benchmarked and fuzzed on plain bytes.
//!
//! # Example
//!
//! ```
//! use leakwatch::detect::{Engine, EngineOptions, MatchSink, Match};
//!
//! struct Count(usize);
//! impl MatchSink for Count {
//!     fn on_match(&mut self, _m: &Match<'_>) { self.0 += 1; }
//! }
//! let engine = std::sync::Arc::new(Engine::load_dir("signatures".as_ref(), &EngineOptions::default()).unwrap());
//! let mut n = Count(0);
//! engine.scan_buffer(b"idcard=11010519491231002X&x=1", &mut n);
//! assert_eq!(n.0, 1);
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs, rustdoc::broken_intra_doc_links)]

pub mod alert;
pub mod app;
pub mod capture;
pub mod config;
pub mod decode;
pub mod detect;
pub mod files;
pub mod flow;
pub mod ops;
pub mod pipeline;
pub mod policy;
