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
