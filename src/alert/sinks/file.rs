//! JSON lines to a file that rotates by size and/or age and can be
//! reopened (logrotate's `postrotate` sends SIGHUP, the signal handler
//! calls [`super::SinkControl::reopen`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// When a file sink rotates.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rotation {
    /// Past this size.
    pub max_bytes: Option<u64>,
    /// After this long (wall clock) since the file was opened.
    pub every: Option<Duration>,
    /// Rotated files kept: `path.1` (newest) .. `path.keep`.
    pub keep: usize,
}

/// An appending, rotating JSON-lines file.
pub struct RotatingFile {
    path: PathBuf,
    out: BufWriter<File>,
    size: u64,
    opened: Instant,
    rot: Rotation,
    /// Rotations done.
    pub rotations_total: u64,
}

fn open_append(path: &Path) -> io::Result<(File, u64)> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open event file {}: {e}", path.display()),
            )
        })?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((f, size))
}

impl RotatingFile {
    /// Opens `path` for appending.
    ///
    /// # Errors
    /// The file cannot be opened; the error names it.
    pub fn open(path: &Path, rot: Rotation) -> io::Result<RotatingFile> {
        let (f, size) = open_append(path)?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, f),
            size,
            opened: Instant::now(),
            rot,
            rotations_total: 0,
        })
    }

    /// Writes one line, rotating first when due.
    ///
    /// # Errors
    /// I/O; the error names the file.
    pub fn write_line(&mut self, json: &[u8]) -> io::Result<()> {
        let len = json.len() as u64 + 1;
        let by_size = self
            .rot
            .max_bytes
            .is_some_and(|m| self.size > 0 && self.size + len > m);
        let by_age = self.rot.every.is_some_and(|d| self.opened.elapsed() >= d);
        if by_size || by_age {
            self.rotate()?;
        }
        self.out
            .write_all(json)
            .and_then(|_| self.out.write_all(b"\n"))
            .map_err(|e| self.context(e))?;
        self.size += len;
        Ok(())
    }

    /// Flushes to the kernel.
    ///
    /// # Errors
    /// I/O.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush().map_err(|e| self.context(e))
    }

    /// Closes and reopens the path (after an external rotation).
    ///
    /// # Errors
    /// I/O.
    pub fn reopen(&mut self) -> io::Result<()> {
        self.flush()?;
        let (f, size) = open_append(&self.path)?;
        self.out = BufWriter::with_capacity(1 << 16, f);
        self.size = size;
        self.opened = Instant::now();
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.flush()?;
        let name = |i: usize| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{i}"));
            PathBuf::from(p)
        };
        if self.rot.keep == 0 {
            fs::remove_file(&self.path).map_err(|e| self.context(e))?;
        } else {
            let _ = fs::remove_file(name(self.rot.keep));
            for i in (1..self.rot.keep).rev() {
                let _ = fs::rename(name(i), name(i + 1));
            }
            fs::rename(&self.path, name(1)).map_err(|e| self.context(e))?;
        }
        self.rotations_total += 1;
        self.reopen()
    }

    fn context(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("writing {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_n() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("eve.json");
        let rot = Rotation {
            max_bytes: Some(20),
            every: None,
            keep: 2,
        };
        let mut f = RotatingFile::open(&p, rot).unwrap();
        for i in 0..8 {
            f.write_line(format!("{{\"n\":{i}}}").as_bytes()).unwrap(); // 8 bytes + \n
        }
        f.flush().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "{\"n\":6}\n{\"n\":7}\n");
        assert_eq!(
            fs::read_to_string(d.path().join("eve.json.1")).unwrap(),
            "{\"n\":4}\n{\"n\":5}\n"
        );
        assert!(d.path().join("eve.json.2").exists());
        assert!(!d.path().join("eve.json.3").exists());
        assert_eq!(f.rotations_total, 3);
    }

    #[test]
    fn reopen_follows_an_external_rename() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("eve.json");
        let mut f = RotatingFile::open(&p, Rotation::default()).unwrap();
        f.write_line(b"{\"a\":1}").unwrap();
        f.flush().unwrap();
        fs::rename(&p, d.path().join("old.json")).unwrap();
        f.reopen().unwrap();
        f.write_line(b"{\"b\":2}").unwrap();
        f.flush().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "{\"b\":2}\n");
        assert_eq!(
            fs::read_to_string(d.path().join("old.json")).unwrap(),
            "{\"a\":1}\n"
        );
    }

    #[test]
    fn failed_reopen_keeps_writing_to_the_moved_file() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("logs");
        fs::create_dir(&sub).unwrap();
        let p = sub.join("eve.json");
        let mut f = RotatingFile::open(&p, Rotation::default()).unwrap();
        f.write_line(b"1").unwrap();
        let moved = d.path().join("moved.json");
        fs::rename(&p, &moved).unwrap();
        fs::remove_dir(&sub).unwrap(); // the path cannot be created again
        let e = f.reopen().unwrap_err();
        assert!(e.to_string().contains("eve.json"), "{e}");
        f.write_line(b"2").unwrap();
        f.flush().unwrap();
        assert_eq!(fs::read_to_string(&moved).unwrap(), "1\n2\n");
    }

    #[test]
    fn rotates_by_age() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("eve.json");
        let rot = Rotation {
            max_bytes: None,
            every: Some(Duration::ZERO),
            keep: 1,
        };
        let mut f = RotatingFile::open(&p, rot).unwrap();
        f.write_line(b"1").unwrap();
        f.write_line(b"2").unwrap();
        f.flush().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "2\n");
        assert_eq!(
            fs::read_to_string(d.path().join("eve.json.1")).unwrap(),
            "1\n"
        );
    }
}
