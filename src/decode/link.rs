//! PLACEHOLDER — the decode helper replaces this.
use super::{DecodeError, Decoded};
use crate::capture::LinkType;

pub(super) fn decode_link(_lt: LinkType, _frame: &[u8]) -> Result<Decoded, DecodeError> {
    Err(DecodeError::UnsupportedLink)
}
