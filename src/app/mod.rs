//! app stage (in progress).
