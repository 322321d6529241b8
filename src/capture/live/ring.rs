//! Parsing of `TPACKET_V3` ring blocks, in safe code over a byte slice.
//!
//! The kernel fills a block with packets and hands it over by setting
//! `TP_STATUS_USER` in the block header; [`super::afpacket`] turns an owned
//! block into a `&[u8]` and this module walks it. The kernel is trusted
//! less than usual here: every offset is checked, a bad one ends the walk
//! (counted), never a panic.
//!
//! Layouts (`<linux/if_packet.h>`, native endian):
//! ```text
//! tpacket_block_desc: version u32 | offset_to_priv u32 | hdr: tpacket_hdr_v1
//! tpacket_hdr_v1:     block_status u32 @8 | num_pkts u32 @12 |
//!                     offset_to_first_pkt u32 @16 | blk_len u32 @20 | seq_num u64 @24 | ...
//! tpacket3_hdr:       tp_next_offset u32 @0 | tp_sec u32 @4 | tp_nsec u32 @8 |
//!                     tp_snaplen u32 @12 | tp_len u32 @16 | tp_status u32 @20 |
//!                     tp_mac u16 @24 | tp_net u16 @26 | tp_rxhash u32 @28 |
//!                     tp_vlan_tci u32 @32 | tp_vlan_tpid u16 @36 | pad (48 bytes in all)
//! ```

use crate::capture::Timestamp;

/// Offset of `block_status` in the block descriptor.
pub const BLOCK_STATUS: usize = 8;
const NUM_PKTS: usize = 12;
const FIRST_PKT: usize = 16;
const BLK_LEN: usize = 20;
/// Size of the packet header (`tpacket3_hdr`).
pub const PKT_HDR_LEN: usize = 48;

/// `TP_STATUS_VLAN_VALID`: the kernel stripped a VLAN tag into the header.
pub const STATUS_VLAN_VALID: u32 = 1 << 4;
/// `TP_STATUS_VLAN_TPID_VALID`: `tp_vlan_tpid` is set.
pub const STATUS_VLAN_TPID_VALID: u32 = 1 << 6;

/// One packet of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingPacket<'a> {
    /// Capture time (ns since the epoch).
    pub ts: Timestamp,
    /// Length on the wire.
    pub len: u32,
    /// `tp_status` bits.
    pub status: u32,
    /// VLAN tag the kernel stripped: (TPID, TCI).
    pub vlan: Option<(u16, u16)>,
    /// Captured bytes, from the link-layer header.
    pub data: &'a [u8],
}

/// What a block walk found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BlockWalk {
    /// Packets handed over.
    pub packets: u32,
    /// The block header or a packet header was inconsistent (walk stopped).
    pub malformed: bool,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes(s.try_into().ok()?))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes(s.try_into().ok()?))
}

/// The `block_status` word of a block.
pub fn block_status(block: &[u8]) -> Option<u32> {
    u32_at(block, BLOCK_STATUS)
}

/// Walks the packets of a block the kernel handed over, calling `f` for each.
pub fn walk_block<'a>(block: &'a [u8], f: &mut dyn FnMut(&RingPacket<'a>)) -> BlockWalk {
    let mut walk = BlockWalk::default();
    let (Some(n), Some(first), Some(blk_len)) = (
        u32_at(block, NUM_PKTS),
        u32_at(block, FIRST_PKT),
        u32_at(block, BLK_LEN),
    ) else {
        walk.malformed = true;
        return walk;
    };
    // The filled part of the block; offsets beyond it are bogus.
    let filled = block.get(..blk_len as usize).unwrap_or(block);
    let mut at = first as usize;
    for i in 0..n {
        let Some(p) = packet_at(filled, at) else {
            walk.malformed = true;
            return walk;
        };
        f(&p.0);
        walk.packets += 1;
        let next = p.1 as usize;
        if i + 1 < n {
            if next == 0 {
                walk.malformed = true;
                return walk;
            }
            at = at.saturating_add(next);
        }
    }
    walk
}

/// The packet whose header starts at `at`, and its `tp_next_offset`.
fn packet_at(block: &[u8], at: usize) -> Option<(RingPacket<'_>, u32)> {
    let hdr = block.get(at..at.checked_add(PKT_HDR_LEN)?)?;
    let next = u32_at(hdr, 0)?;
    let sec = u32_at(hdr, 4)?;
    let nsec = u32_at(hdr, 8)?;
    let snaplen = u32_at(hdr, 12)?;
    let len = u32_at(hdr, 16)?;
    let status = u32_at(hdr, 20)?;
    let mac = u16_at(hdr, 24)?;
    let tci = u32_at(hdr, 32)?;
    let tpid = u16_at(hdr, 36)?;
    let start = at.checked_add(usize::from(mac))?;
    let data = block.get(start..start.checked_add(snaplen as usize)?)?;
    let vlan = (status & STATUS_VLAN_VALID != 0).then(|| {
        let tpid = if status & STATUS_VLAN_TPID_VALID != 0 && tpid != 0 {
            tpid
        } else {
            0x8100
        };
        (tpid, (tci & 0xffff) as u16)
    });
    let ts = u64::from(sec) * 1_000_000_000 + u64::from(nsec);
    Some((
        RingPacket {
            ts,
            len,
            status,
            vlan,
            data,
        },
        next,
    ))
}

/// Puts back the VLAN tag the kernel stripped (after the two MAC
/// addresses), as libpcap does, so the decoder sees the frame as sent.
pub fn with_vlan(frame: &[u8], tpid: u16, tci: u16, out: &mut Vec<u8>) {
    out.clear();
    let (macs, rest) = frame.split_at(frame.len().min(12));
    out.extend_from_slice(macs);
    out.extend_from_slice(&tpid.to_be_bytes());
    out.extend_from_slice(&tci.to_be_bytes());
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic packet: data, seconds, stripped VLAN tag.
    type Synth<'a> = (&'a [u8], u32, Option<(u16, u16)>);
    /// What the walk handed over: data, ts, wire length, VLAN tag.
    type Seen = (Vec<u8>, u64, u32, Option<(u16, u16)>);

    /// Builds a block like the kernel does: descriptor, then packets at
    /// 16-aligned offsets, each with its header and `mac` offset 64.
    fn block(pkts: &[Synth<'_>], size: usize) -> Vec<u8> {
        let mut b = vec![0u8; size];
        let first = 48usize;
        let mut at = first;
        let put32 = |b: &mut Vec<u8>, o: usize, v: u32| {
            b[o..o + 4].copy_from_slice(&v.to_ne_bytes());
        };
        for (i, (data, sec, vlan)) in pkts.iter().enumerate() {
            let mac = 64usize;
            let total = (mac + data.len()).div_ceil(16) * 16;
            let next = if i + 1 < pkts.len() { total } else { 0 };
            put32(&mut b, at, next as u32);
            put32(&mut b, at + 4, *sec);
            put32(&mut b, at + 8, 500);
            put32(&mut b, at + 12, data.len() as u32);
            put32(&mut b, at + 16, data.len() as u32 + 4);
            let mut status = 1;
            if let Some((tpid, tci)) = vlan {
                status |= STATUS_VLAN_VALID | STATUS_VLAN_TPID_VALID;
                put32(&mut b, at + 32, u32::from(*tci));
                b[at + 36..at + 38].copy_from_slice(&tpid.to_ne_bytes());
            }
            put32(&mut b, at + 20, status);
            b[at + 24..at + 26].copy_from_slice(&(mac as u16).to_ne_bytes());
            b[at + mac..at + mac + data.len()].copy_from_slice(data);
            at += total;
        }
        put32(&mut b, BLOCK_STATUS, 1);
        put32(&mut b, NUM_PKTS, pkts.len() as u32);
        put32(&mut b, FIRST_PKT, first as u32);
        put32(&mut b, BLK_LEN, at as u32);
        b
    }

    fn collect(b: &[u8]) -> (Vec<Seen>, BlockWalk) {
        let mut got = Vec::new();
        let w = walk_block(b, &mut |p| got.push((p.data.to_vec(), p.ts, p.len, p.vlan)));
        (got, w)
    }

    #[test]
    fn walks_all_packets() {
        let b = block(
            &[
                (b"first frame", 10, None),
                (b"second, longer frame....", 11, Some((0x88a8, 42))),
                (b"3", 12, None),
            ],
            4096,
        );
        assert_eq!(block_status(&b), Some(1));
        let (got, w) = collect(&b);
        assert_eq!(
            w,
            BlockWalk {
                packets: 3,
                malformed: false
            }
        );
        assert_eq!(got[0].0, b"first frame");
        assert_eq!(got[0].1, 10_000_000_500);
        assert_eq!(got[0].2, 15);
        assert_eq!(got[1].3, Some((0x88a8, 42)));
        assert_eq!(got[2].0, b"3");
    }

    #[test]
    fn empty_block() {
        let b = block(&[], 4096);
        let (got, w) = collect(&b);
        assert!(got.is_empty());
        assert!(!w.malformed);
    }

    #[test]
    fn lying_counts_and_offsets_stop_the_walk() {
        let mut b = block(&[(b"aaaa", 1, None), (b"bbbb", 2, None)], 4096);
        // One packet more than there is: the third header is all zeros
        // (next offset 0 on the second packet) → malformed, two delivered.
        b[NUM_PKTS..NUM_PKTS + 4].copy_from_slice(&3u32.to_ne_bytes());
        let (got, w) = collect(&b);
        assert_eq!(got.len(), 2);
        assert!(w.malformed);
        // A snaplen running past the filled part.
        let mut b = block(&[(b"aaaa", 1, None)], 4096);
        b[48 + 12..48 + 16].copy_from_slice(&100_000u32.to_ne_bytes());
        let (got, w) = collect(&b);
        assert!(got.is_empty() && w.malformed);
        // A first-packet offset out of the block.
        let mut b = block(&[(b"aaaa", 1, None)], 4096);
        b[FIRST_PKT..FIRST_PKT + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(collect(&b).1.malformed);
        // Too short to hold a descriptor.
        assert!(collect(&[0u8; 10]).1.malformed);
    }

    #[test]
    fn vlan_tag_reinserted() {
        let frame: Vec<u8> = (0u8..20).collect();
        let mut out = Vec::new();
        with_vlan(&frame, 0x8100, 0x0123, &mut out);
        assert_eq!(&out[..12], &frame[..12]);
        assert_eq!(&out[12..16], &[0x81, 0x00, 0x01, 0x23]);
        assert_eq!(&out[16..], &frame[12..]);
        with_vlan(&frame[..5], 0x8100, 1, &mut out);
        assert_eq!(out.len(), 9);
    }

    proptest::proptest! {
        #[test]
        fn walk_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut n = 0usize;
            let w = walk_block(&bytes, &mut |p| n += p.data.len());
            proptest::prop_assert!(w.packets as usize <= bytes.len());
        }
    }
}
