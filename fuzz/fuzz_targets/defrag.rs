//! Feeds the defragmenter arbitrary fragment sequences: each record of the
//! input builds one IPv4 or IPv6 fragment (few ids, so fragments meet), or
//! is a raw frame. Checks the memory bound and that reassembled datagrams
//! decode without panicking.
#![no_main]

use leakwatch::capture::LinkType;
use leakwatch::decode::{decode, DefragConfig, DefragResult, Defragmenter, OverlapPolicy};
use libfuzzer_sys::fuzz_target;

const MEMCAP: usize = 64 * 1024;
const RECORD: usize = 8;

/// IPv4 fragment 10.0.0.1 -> 10.0.0.2.
fn v4(id: u16, off: u16, more: bool, data: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&((20 + data.len()) as u16).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&((off & 0x1FFF) | if more { 0x2000 } else { 0 }).to_be_bytes());
    p.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(data);
    p
}

/// IPv6 fragment ::1 -> ::2.
fn v6(id: u16, off: u16, more: bool, data: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[44, 64]);
    p.extend_from_slice(&[0; 15]);
    p.push(1);
    p.extend_from_slice(&[0; 15]);
    p.push(2);
    p.extend_from_slice(&[17, 0]);
    p.extend_from_slice(&(((off & 0x1FFF) << 3) | u16::from(more)).to_be_bytes());
    p.extend_from_slice(&u32::from(id).to_be_bytes());
    p.extend_from_slice(data);
    p
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mut rest)) = data.split_first() else {
        return;
    };
    let policies = [
        OverlapPolicy::First,
        OverlapPolicy::Last,
        OverlapPolicy::Bsd,
        OverlapPolicy::Linux,
        OverlapPolicy::Windows,
    ];
    let mut d = Defragmenter::new(DefragConfig {
        max_fragments: 16,
        memcap: MEMCAP,
        timeout: 10,
        policy: policies[usize::from(pick) % policies.len()],
    });
    let mut ts = 0u64;
    while rest.len() >= RECORD {
        let (r, tail) = rest.split_at(RECORD);
        rest = tail;
        ts += u64::from(r[0] & 0x0F);
        let id = u16::from(r[1] & 0x03);
        let off = u16::from_be_bytes([r[2], r[3]]);
        let len = usize::from(u16::from_be_bytes([r[4], r[5]]) % 3000);
        let (more, ipv6, raw) = (r[6] & 1 != 0, r[6] & 2 != 0, r[6] & 4 != 0);
        let frame = if raw {
            let n = len.min(rest.len());
            let (f, tail) = rest.split_at(n);
            rest = tail;
            f.to_vec()
        } else {
            let payload: Vec<u8> = (0..len).map(|i| r[7].wrapping_add(i as u8)).collect();
            if ipv6 {
                v6(id, off, more, &payload)
            } else {
                v4(id, off, more, &payload)
            }
        };
        let link = if raw && ipv6 { LinkType::ETHERNET } else { LinkType::RAW };
        if let DefragResult::Complete(buf) = d.push_frame(ts, link, &frame) {
            assert!(buf.len() <= 65535 + 40);
            if let Ok(p) = decode(LinkType::RAW, buf) {
                assert!(p.payload.end <= buf.len());
            }
        }
        assert!(d.memory_used() <= MEMCAP);
    }
});
