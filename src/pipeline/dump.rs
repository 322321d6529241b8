//! Debug output: each TCP flow direction's reassembled bytes, written to
//! a file of its own (`replay --dump-streams DIR`), to compare what the
//! sensor inspected with what an endpoint received.
//!
//! File name: `FLOWID_SRCIP_SRCPORT_DSTIP_DSTPORT.bin`, the sender of the
//! direction first (IPv6 addresses as written by `Display`). Holes are
//! not filled: the bytes after a gap follow the bytes before it.
//! Never enable on live traffic: it writes the payload (PI) in clear.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::flow::{Direction, FlowKey};

/// The file of one flow direction.
pub fn path(
    dir_path: &Path,
    flow_id: u64,
    key: &FlowKey,
    client_is_lo: bool,
    dir: Direction,
) -> PathBuf {
    let sender_is_lo = (dir == Direction::ToServer) == client_is_lo;
    let (s, sp, d, dp) = if sender_is_lo {
        (key.lo_ip, key.lo_port, key.hi_ip, key.hi_port)
    } else {
        (key.hi_ip, key.hi_port, key.lo_ip, key.lo_port)
    };
    dir_path.join(format!("{flow_id}_{s}_{sp}_{d}_{dp}.bin"))
}

/// Appends `data` to the direction's file. A debug aid: a write error is
/// reported once per call on stderr and otherwise ignored.
pub fn append(
    dir_path: &Path,
    flow_id: u64,
    key: &FlowKey,
    client_is_lo: bool,
    dir: Direction,
    data: &[u8],
) {
    let p = path(dir_path, flow_id, key, client_is_lo, dir);
    let res = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .and_then(|mut f| f.write_all(data));
    if let Err(e) = res {
        eprintln!("leakwatch: --dump-streams: {}: {e}", p.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_sender_first_and_appends() {
        let tmp = std::env::temp_dir().join(format!("lw-dump-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let (key, a_is_lo) = FlowKey::new(
            "10.0.0.2".parse().unwrap(),
            40000,
            "10.0.0.1".parse().unwrap(),
            80,
            6,
            [0, 0],
        );
        // The client (10.0.0.2) is the first packet's sender.
        let client_is_lo = a_is_lo;
        append(&tmp, 7, &key, client_is_lo, Direction::ToServer, b"GET ");
        append(&tmp, 7, &key, client_is_lo, Direction::ToServer, b"/");
        append(&tmp, 7, &key, client_is_lo, Direction::ToClient, b"200");
        let up = std::fs::read(tmp.join("7_10.0.0.2_40000_10.0.0.1_80.bin")).unwrap();
        let down = std::fs::read(tmp.join("7_10.0.0.1_80_10.0.0.2_40000.bin")).unwrap();
        assert_eq!(
            (up.as_slice(), down.as_slice()),
            (&b"GET /"[..], &b"200"[..])
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
