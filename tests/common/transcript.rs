//! Transcript files (`tests/streams/<proto>/NN-what.t`): `>>>` starts
//! client bytes, `<<<` server bytes, `><> N` marks N lost bytes of the
//! current direction. The LF before each marker is not part of the data.

use leakwatch::flow::Direction::{self, ToClient, ToServer};

/// One step of a transcript.
#[derive(Debug, Clone)]
pub enum Step {
    /// Bytes sent by a direction.
    Data(Direction, Vec<u8>),
    /// Bytes of a direction lost.
    Gap(Direction, u64),
}

/// The steps of a transcript file.
pub fn load(bytes: &[u8]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut dir = ToServer;
    let mut cur: Option<Vec<u8>> = None;
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let flush = |cur: &mut Option<Vec<u8>>, steps: &mut Vec<Step>, dir| {
        if let Some(mut d) = cur.take() {
            if d.last() == Some(&b'\n') {
                d.pop();
            }
            steps.push(Step::Data(dir, d));
        }
    };
    for line in lines {
        let t = line.strip_suffix(b"\n").unwrap_or(line);
        if t == b">>>" || t == b"<<<" {
            flush(&mut cur, &mut steps, dir);
            dir = if t == b">>>" { ToServer } else { ToClient };
            cur = Some(Vec::new());
        } else if let Some(n) = t.strip_prefix(b"><> ") {
            flush(&mut cur, &mut steps, dir);
            let n = std::str::from_utf8(n)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            steps.push(Step::Gap(dir, n));
            cur = Some(Vec::new());
        } else if let Some(c) = cur.as_mut() {
            c.extend_from_slice(line);
        }
    }
    flush(&mut cur, &mut steps, dir);
    steps.retain(|s| !matches!(s, Step::Data(_, d) if d.is_empty()));
    steps
}

/// Bytes as an escaped string, cut at 160 characters.
pub fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let s: String = text
        .chars()
        .take(160)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if text.chars().count() > 160 {
        format!("\"{s}\"... ({} bytes)", bytes.len())
    } else {
        format!("\"{s}\"")
    }
}

/// Formats a finished transaction as its log line (after the arrow), or
/// `None` to log nothing.
pub type TxLine = fn(&leakwatch::app::TxMeta) -> Option<String>;

/// Records what a parser extracts: one line per content item (pieces with
/// the same location are joined), per transaction (`tx`), and per file
/// start when `files` is set.
pub struct Recorder {
    open: [Option<(&'static str, Vec<u8>)>; 2],
    /// Everything recorded so far.
    pub log: String,
    tx: TxLine,
    files: bool,
}

/// `>` for client bytes, `<` for server bytes.
pub fn arrow(dir: Direction) -> &'static str {
    if dir == ToServer {
        ">"
    } else {
        "<"
    }
}

impl Recorder {
    /// A recorder that logs transactions with `tx`.
    pub fn new(tx: TxLine, files: bool) -> Recorder {
        Recorder {
            open: [None, None],
            log: String::new(),
            tx,
            files,
        }
    }

    /// Writes the open content item of `dir`, if any.
    pub fn close(&mut self, dir: Direction) {
        use std::fmt::Write as _;
        if let Some((loc, data)) = self.open[dir.index()].take() {
            let _ = writeln!(self.log, "{} {loc} {}", arrow(dir), show(&data));
        }
    }
}

impl leakwatch::app::ContentSink for Recorder {
    fn on_content(&mut self, dir: Direction, location: &'static str, data: &[u8]) {
        match &mut self.open[dir.index()] {
            Some((l, d)) if *l == location => d.extend_from_slice(data),
            _ => {
                self.close(dir);
                self.open[dir.index()] = Some((location, data.to_vec()));
            }
        }
    }

    fn end_content(&mut self, dir: Direction) {
        self.close(dir);
    }

    fn end_transaction(&mut self, dir: Direction, meta: &leakwatch::app::TxMeta) {
        self.close(dir);
        if let Some(line) = (self.tx)(meta) {
            self.log.push_str(&format!("{} {line}\n", arrow(dir)));
        }
    }

    fn begin_file(&mut self, dir: Direction, f: &leakwatch::app::FileMeta) {
        if !self.files {
            return;
        }
        self.close(dir);
        self.log.push_str(&format!(
            "{} FILE name={:?} type={:?}\n",
            arrow(dir),
            f.name,
            f.content_type
        ));
    }
}

/// Feeds `steps` to `p`, each data block cut into pieces of `piece()`
/// bytes, then closes both directions of the parser and the recorder.
pub fn feed(
    p: &mut dyn leakwatch::app::AppParser,
    steps: &[Step],
    mut piece: impl FnMut() -> usize,
    r: &mut Recorder,
) {
    for s in steps {
        match s {
            Step::Data(dir, d) => {
                let mut rest = d.as_slice();
                while !rest.is_empty() {
                    let (a, b) = rest.split_at(piece().clamp(1, rest.len()));
                    p.on_data(*dir, a, r);
                    rest = b;
                }
            }
            Step::Gap(dir, n) => p.on_gap(*dir, *n, r),
        }
    }
    p.on_close(ToServer, r);
    p.on_close(ToClient, r);
    r.close(ToServer);
    r.close(ToClient);
}
