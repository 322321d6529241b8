//! Text normalisers for HTTP content. They live in
//! [`crate::detect::normalize::text`], shared with the normalisation chain
//! that runs on every content item; re-exported here for the HTTP body
//! pipeline.

pub use crate::detect::normalize::text::*;
