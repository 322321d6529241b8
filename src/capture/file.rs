//! PLACEHOLDER — the capture helper replaces this.
use std::path::PathBuf;

use super::{CaptureError, FrameSource};

pub(super) fn open_inputs(paths: &[PathBuf]) -> Result<Box<dyn FrameSource>, CaptureError> {
    Err(CaptureError::no_inputs(
        paths.first().cloned().unwrap_or_default(),
    ))
}
