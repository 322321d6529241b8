//! Capture files mapped into memory window by window, so the reader hands
//! out frames without copying them out of the page cache.
//!
//! A window is unmapped when the last batch pointing into it is done, so
//! the resident pages stay bounded by the batches in flight. A file that
//! another process truncates while it is mapped raises a bus error on the
//! next access to the lost pages: [`install_bus_error_handler`] turns that
//! into a clear message and exit status instead of a bare crash.
#![allow(unsafe_code)]

use std::fs::File;
use std::sync::{Arc, Once};

use super::{Chunk, ChunkBytes};

/// Bytes per window (larger than the largest record plus its header, so a
/// window starting at a record always holds it whole).
pub const WINDOW: usize = 4 << 20;
const _: () = assert!(WINDOW > super::file::MAX_CAPLEN as usize + 16);

/// A window of a mapped file.
pub(super) struct Window {
    /// The mapped bytes (empty at the end of the file).
    pub(super) chunk: Chunk,
    /// The window reaches the end of the file.
    pub(super) last: bool,
}

/// A regular file mapped in windows of [`WINDOW`] bytes.
pub(super) struct MappedFile {
    file: File,
    /// The file's size when it was opened.
    len: u64,
    /// File offset of the current chunk's first byte.
    base: u64,
    /// Tests: the next mapping fails.
    #[cfg(test)]
    pub(super) fail: bool,
}

impl MappedFile {
    /// Maps `file` (`len` bytes) from offset `base` on.
    pub(super) fn new(file: File, len: u64, base: u64) -> MappedFile {
        install_bus_error_handler();
        MappedFile {
            file,
            len,
            base,
            #[cfg(test)]
            fail: false,
        }
    }

    /// The file, positioned `held` bytes after the current chunk's start
    /// (past the bytes the chunk holds), to be read from there on.
    pub(super) fn into_reader(mut self, held: usize) -> std::io::Result<File> {
        use std::io::{Seek, SeekFrom};
        self.file.seek(SeekFrom::Start(self.base + held as u64))?;
        Ok(self.file)
    }

    /// Maps the next window: it starts `skip` bytes into the current one,
    /// at the incomplete record there (so nothing is copied), and holds
    /// [`WINDOW`] bytes or what is left of the file.
    pub(super) fn next_window(&mut self, skip: usize) -> std::io::Result<Window> {
        let at = self.base + skip as u64;
        let left = self.len.saturating_sub(at);
        let len = usize::try_from(left).map_or(WINDOW, |l| l.min(WINDOW));
        let last = left <= len as u64;
        if len == 0 {
            let chunk = Arc::new(Vec::new().into());
            return Ok(Window { chunk, last });
        }
        #[cfg(test)]
        if self.fail {
            return Err(std::io::Error::other("mapping refused (test)"));
        }
        // SAFETY: the map is read-only and private. A file another process
        // rewrites while it is read may change under us, which is as good
        // as reading it at some moment; a truncation raises SIGBUS, caught
        // by the handler installed in `new`.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(at)
                .len(len)
                .map(&self.file)?
        };
        // Only a hint: read-ahead as for a sequential read.
        let _ = map.advise(memmap2::Advice::Sequential);
        self.base = at;
        Ok(Window {
            chunk: Arc::new(ChunkBytes::Mapped(map)),
            last,
        })
    }
}

/// Exit status after a bus error (`EX_IOERR`).
const BUS_ERROR_EXIT: i32 = 74;

/// Installs (once) a `SIGBUS` handler that says what most likely happened
/// and exits with status 74.
pub fn install_bus_error_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain sigaction with an async-signal-safe handler
        // (write and _exit only).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_bus_error as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
        }
    });
}

extern "C" fn on_bus_error(_: libc::c_int) {
    const MSG: &[u8] = b"leakwatch: bus error while reading a capture file: it most likely \
shrank (was truncated or rewritten) while it was being replayed. Replay a copy that \
nothing writes to, or set `mmap = false` under [replay] in the config to read it \
without mapping it.\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(BUS_ERROR_EXIT);
    }
}
