//! On-disk cache of compiled Hyperscan databases.
//!
//! Compiling the default signatures' databases takes most of start-up (the
//! address regex alone about 0.1 s), which a replay of a small pcap or a
//! signature reload pays every time. Suricata caches its databases the same
//! way. A database is stored under the SHA-256 of everything that shaped it
//! (Hyperscan version, every pattern's expression, flags, id and extended
//! parameters), so a changed signature simply misses.
//!
//! The cache is untrusted input: a file is used only when its magic and its
//! own SHA-256 check out and Hyperscan accepts it for this CPU; anything else
//! is compiled again and the file rewritten. Writes go to a temporary file
//! that is renamed, so a concurrent start-up never reads half a database.
//! Without the `hyperscan` feature there is nothing to cache.
#![cfg_attr(not(feature = "hyperscan"), allow(dead_code))]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// File magic and format version.
const MAGIC: &[u8; 8] = b"LWHSDB1\0";
/// Largest cache file read (a database of the default set is ~1 MB).
pub const MAX_FILE: u64 = 256 * 1024 * 1024;

/// Where compiled databases are kept; [`HsCache::off`] compiles every time.
#[derive(Debug, Default)]
pub struct HsCache {
    dir: Option<PathBuf>,
    stats: HsCacheCounters,
}

#[derive(Debug, Default)]
struct HsCacheCounters {
    hits: AtomicU64,
    builds: AtomicU64,
    rejected: AtomicU64,
    store_errors: AtomicU64,
}

/// What the cache did while an engine was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HsCacheStats {
    /// Databases loaded from the cache.
    pub hits: u64,
    /// Databases compiled (cache off, missing or rejected file).
    pub builds: u64,
    /// Cache files present but unusable (corrupt, other CPU or version).
    pub rejected: u64,
    /// Compiled databases that could not be written to the cache.
    pub store_errors: u64,
}

impl HsCache {
    /// No cache: every database is compiled.
    pub fn off() -> HsCache {
        HsCache::default()
    }

    /// A cache in `dir` (created on the first store, mode 0700).
    pub fn at(dir: impl Into<PathBuf>) -> HsCache {
        HsCache {
            dir: Some(dir.into()),
            stats: HsCacheCounters::default(),
        }
    }

    /// The default directory: `$XDG_CACHE_HOME/leakwatch/hyperscan`, else
    /// `$HOME/.cache/leakwatch/hyperscan`; `None` when neither is set.
    pub fn default_dir() -> Option<PathBuf> {
        dir_from(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
    }

    /// Counters so far.
    pub fn stats(&self) -> HsCacheStats {
        let s = &self.stats;
        HsCacheStats {
            hits: s.hits.load(Ordering::Relaxed),
            builds: s.builds.load(Ordering::Relaxed),
            rejected: s.rejected.load(Ordering::Relaxed),
            store_errors: s.store_errors.load(Ordering::Relaxed),
        }
    }

    /// The database for `pats`: from the cache when a valid entry exists,
    /// else compiled (and stored when the cache is on).
    ///
    /// # Errors
    /// Hyperscan's compile error for the patterns.
    #[cfg(feature = "hyperscan")]
    pub fn block_database(
        &self,
        pats: hyperscan::Patterns,
    ) -> Result<hyperscan::BlockDatabase, String> {
        use hyperscan::prelude::*;
        use hyperscan::Serialized;
        let Some(dir) = &self.dir else {
            self.stats.builds.fetch_add(1, Ordering::Relaxed);
            return pats.build().map_err(|e| e.to_string());
        };
        let path = dir.join(format!("{}.db", hex::encode(key(&pats))));
        match load(&path).map(|body| body.map(|b| b.deserialize::<hyperscan::BlockMode>())) {
            Some(Some(Ok(db))) => {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(db);
            }
            Some(_) => {
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
        self.stats.builds.fetch_add(1, Ordering::Relaxed);
        let db = pats.build().map_err(|e| e.to_string())?;
        let stored = db
            .serialize()
            .ok()
            .is_some_and(|bytes| store(dir, &path, &bytes).is_ok());
        if !stored {
            self.stats.store_errors.fetch_add(1, Ordering::Relaxed);
        }
        Ok(db)
    }
}

/// [`HsCache::default_dir`] for given `XDG_CACHE_HOME` and `HOME` values.
fn dir_from(xdg: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let base = match (
        xdg.filter(|v| !v.is_empty()),
        home.filter(|v| !v.is_empty()),
    ) {
        (Some(x), _) => PathBuf::from(x),
        (None, Some(h)) => PathBuf::from(h).join(".cache"),
        (None, None) => return None,
    };
    Some(base.join("leakwatch").join("hyperscan"))
}

/// SHA-256 of what shapes a database: Hyperscan's version and every
/// pattern, each field length-prefixed so that no two sets collide.
#[cfg(feature = "hyperscan")]
fn key(pats: &hyperscan::Patterns) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(MAGIC);
    h.update(hyperscan::version_str().to_bytes());
    h.update((pats.0.len() as u64).to_le_bytes());
    for p in &pats.0 {
        let id = p.id.map_or(u64::MAX, |i| i as u64);
        h.update(id.to_le_bytes());
        h.update(p.flags.bits().to_le_bytes());
        for field in [
            p.expression.clone(),
            p.ext.to_string(),
            format!("{:?}", p.som),
        ] {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
    }
    h.finalize().into()
}

/// A cache file's serialised database: `None` when there is no file,
/// `Some(None)` when it cannot be read or its magic or checksum is wrong.
fn load(path: &Path) -> Option<Option<Vec<u8>>> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut data = Vec::new();
    if f.take(MAX_FILE).read_to_end(&mut data).is_err() {
        return Some(None);
    }
    Some(checked_body(&data).map(<[u8]>::to_vec))
}

/// The body of a cache file: after the magic and the body's SHA-256.
fn checked_body(data: &[u8]) -> Option<&[u8]> {
    let rest = data.strip_prefix(MAGIC.as_slice())?;
    let (digest, body) = rest.split_at_checked(32)?;
    (Sha256::digest(body).as_slice() == digest).then_some(body)
}

/// The file bytes for a serialised database.
fn file_bytes(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 32 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&Sha256::digest(body));
    out.extend_from_slice(body);
    out
}

/// Writes a cache file through a temporary file and a rename.
fn store(dir: &Path, path: &Path, body: &[u8]) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)?;
    // Unique per process and call: threads of one process may store the
    // same database at once.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, file_bytes(body))?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_body_needs_magic_and_digest() {
        let f = file_bytes(b"database");
        assert_eq!(checked_body(&f), Some(&b"database"[..]));
        let mut bad = f.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(checked_body(&bad), None, "changed body");
        assert_eq!(checked_body(&f[..20]), None, "truncated digest");
        assert_eq!(checked_body(b"LWHSDB0\0"), None, "other magic");
    }

    #[cfg(feature = "hyperscan")]
    fn pats(words: &[&str]) -> hyperscan::Patterns {
        use hyperscan::prelude::*;
        let v = words.iter().enumerate().map(|(i, w)| {
            let mut p = Pattern::new(*w).unwrap();
            p.id = Some(i);
            p
        });
        Patterns(v.collect())
    }

    #[cfg(feature = "hyperscan")]
    fn hits(db: &hyperscan::BlockDatabase, hay: &str) -> Vec<(u32, u64)> {
        use hyperscan::prelude::*;
        let s = db.alloc_scratch().unwrap();
        let mut v = Vec::new();
        db.scan(hay, &s, |id, _, to, _| {
            v.push((id, to));
            Matching::Continue
        })
        .unwrap();
        v
    }

    #[cfg(feature = "hyperscan")]
    #[test]
    fn second_build_loads_the_stored_database() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HsCache::at(dir.path().join("hs"));
        let a = cache.block_database(pats(&["ab[0-9]+", "zz"])).unwrap();
        let b = cache.block_database(pats(&["ab[0-9]+", "zz"])).unwrap();
        let s = cache.stats();
        assert_eq!((s.builds, s.hits, s.store_errors), (1, 1, 0));
        assert_eq!(hits(&a, "ab12 zz"), hits(&b, "ab12 zz"));
        assert_eq!(hits(&b, "ab12 zz"), vec![(0, 3), (0, 4), (1, 7)]);
        // A different pattern set is a different entry.
        cache.block_database(pats(&["ab[0-9]+", "zy"])).unwrap();
        assert_eq!(cache.stats().builds, 2);
    }

    #[cfg(feature = "hyperscan")]
    #[test]
    fn corrupt_or_foreign_files_are_rebuilt_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HsCache::at(dir.path());
        cache.block_database(pats(&["x[0-9]{3}"])).unwrap();
        let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap();
        let path = file.unwrap().path();
        // Valid checksum, but not a Hyperscan database.
        std::fs::write(&path, file_bytes(b"not a database")).unwrap();
        let db = cache.block_database(pats(&["x[0-9]{3}"])).unwrap();
        assert_eq!(hits(&db, "x123"), vec![(0, 4)]);
        // Flipped byte: the checksum fails.
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        cache.block_database(pats(&["x[0-9]{3}"])).unwrap();
        let s = cache.stats();
        assert_eq!((s.builds, s.rejected, s.hits), (3, 2, 0));
        // Rewritten: the next build is a hit.
        cache.block_database(pats(&["x[0-9]{3}"])).unwrap();
        assert_eq!(cache.stats().hits, 1);
    }

    #[cfg(feature = "hyperscan")]
    #[test]
    fn unwritable_directory_still_compiles() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let cache = HsCache::at(blocker.join("hs"));
        let db = cache.block_database(pats(&["q+"])).unwrap();
        assert_eq!(hits(&db, "q"), vec![(0, 1)]);
        assert_eq!(cache.stats().store_errors, 1);
    }

    #[test]
    fn default_dir_follows_xdg_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        let want = |s: &str| Some(PathBuf::from(s));
        assert_eq!(dir_from(os("/x"), os("/h")), want("/x/leakwatch/hyperscan"));
        assert_eq!(
            dir_from(os(""), os("/h")),
            want("/h/.cache/leakwatch/hyperscan")
        );
        assert_eq!(
            dir_from(None, os("/h")),
            want("/h/.cache/leakwatch/hyperscan")
        );
        assert_eq!(dir_from(None, os("")), None);
        assert_eq!(dir_from(None, None), None);
    }
}
