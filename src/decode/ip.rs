//! From an IP header to a [`Decoded`]: transport dispatch and payload bounds.

use std::net::IpAddr;

use super::link::L3;
use super::tunnel::TunnelInfo;
use super::{ipv4, ipv6, proto, tcp, udp, DecodeError, Decoded};

/// What the network layer says about the packet.
#[derive(Debug)]
pub(super) struct IpInfo {
    pub(super) src: IpAddr,
    pub(super) dst: IpAddr,
    pub(super) proto: u8,
    /// Offset in the frame of the upper-layer header.
    pub(super) l4_start: usize,
    /// Offset in the frame where the IP length says the packet ends; may be
    /// past the captured bytes.
    pub(super) end: usize,
}

/// Decodes the IP header at `offset` (and IPv6 extension headers).
pub(super) fn header(frame: &[u8], l3: L3, offset: usize) -> Result<IpInfo, DecodeError> {
    match l3 {
        L3::V4 => ipv4::decode(frame, offset),
        L3::V6 => ipv6::decode(frame, offset),
    }
}

/// Decodes the transport header after the IP header `ip` (at `l3_offset`).
pub(super) fn transport(
    frame: &[u8],
    ip: &IpInfo,
    l3_offset: usize,
    vlan: [u16; 2],
    tunnel: Option<TunnelInfo>,
) -> Result<Decoded, DecodeError> {
    let truncated = ip.end > frame.len();
    // Clip to the IP length (drops Ethernet padding) and to the capture.
    let end = ip.end.min(frame.len());
    let l4 = frame.get(ip.l4_start..end).unwrap_or_default();
    let mut d = Decoded {
        src: ip.src,
        dst: ip.dst,
        proto: ip.proto,
        sport: 0,
        dport: 0,
        vlan,
        tcp: None,
        payload: ip.l4_start.min(end)..end,
        truncated,
        tunnel,
        l3_offset,
        l4_offset: ip.l4_start,
    };
    let l4_hdr = match ip.proto {
        proto::TCP => tcp::decode(l4, &mut d),
        proto::UDP => udp::decode(l4, ip.end.saturating_sub(ip.l4_start), &mut d),
        _ => Ok(0),
    };
    // A transport header cut short by the IP length is malformed; cut short
    // by the capture, truncated.
    let hdr_len = l4_hdr.map_err(|e| match e {
        DecodeError::Truncated if !truncated => DecodeError::Malformed,
        e => e,
    })?;
    d.payload.start = (d.payload.start + hdr_len).min(d.payload.end);
    Ok(d)
}
