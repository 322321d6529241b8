//! alert stage (in progress).
