//! Decode: link, network and transport headers of one frame.
//!
//! [`decode`] turns a frame into a [`Decoded`]: addresses, ports, TCP header
//! fields and where the L4 payload sits in the frame. Malformed traffic is
//! data, not an error of ours: it comes back as a [`DecodeError`] that the
//! caller counts, never a panic.
//!
//! Tunnels (GRE, ERSPAN I/II/III, VXLAN, MPLS, IP-in-IP) are walked to the
//! innermost IP packet, which is what [`Decoded`] describes; the outermost
//! tunnel is kept as [`TunnelInfo`]. IP fragments come back as
//! [`Frame::Fragment`] for the [`Defragmenter`].

use std::net::IpAddr;
use std::ops::Range;

use crate::capture::LinkType;

/// IP protocol numbers the flow stage handles specially.
pub mod proto {
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
}

/// TCP flag bits (as in the header's flags byte).
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
}

/// TCP header fields the reassembler needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpMeta {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful when `ACK` is set).
    pub ack: u32,
    /// Flags byte (see [`tcp_flags`]).
    pub flags: u8,
    /// Raw window field (unscaled).
    pub window: u16,
    /// Window scale option from a SYN, if present.
    pub wscale: Option<u8>,
}

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol (6 TCP, 17 UDP, others kept for counting).
    pub proto: u8,
    /// Source port (0 when the protocol has none).
    pub sport: u16,
    /// Destination port (0 when the protocol has none).
    pub dport: u16,
    /// Outer and inner VLAN ids (0 = none); part of the flow key.
    pub vlan: [u16; 2],
    /// TCP fields when `proto` is TCP.
    pub tcp: Option<TcpMeta>,
    /// Offsets of the L4 payload within the frame, clipped to the IP
    /// length (Ethernet padding removed) and to the captured bytes.
    pub payload: Range<usize>,
    /// True when the frame was snapped: the payload is shorter than the IP
    /// header says.
    pub truncated: bool,
    /// The outermost tunnel the packet came through, if any.
    pub tunnel: Option<TunnelInfo>,
    /// Offset of the (innermost) IP header in the decoded frame.
    pub l3_offset: usize,
    /// Offset of the transport header in the decoded frame.
    pub l4_offset: usize,
}

impl Default for Decoded {
    /// An empty IPv4 packet from and to 0.0.0.0 (for tests and builders).
    fn default() -> Self {
        let any = IpAddr::from([0u8; 4]);
        Decoded {
            src: any,
            dst: any,
            proto: 0,
            sport: 0,
            dport: 0,
            vlan: [0; 2],
            tcp: None,
            payload: 0..0,
            truncated: false,
            tunnel: None,
            l3_offset: 0,
            l4_offset: 0,
        }
    }
}

/// A frame is either a whole packet or an IP fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A decoded packet.
    Packet(Decoded),
    /// An IP fragment, to be reassembled.
    Fragment(FragmentRef),
}

/// Where the IP header of a fragment sits in its frame, and the link and
/// tunnel context that is part of its reassembly key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragmentRef {
    /// IP version.
    pub l3: L3,
    /// Offset of the fragment's IP header in the frame.
    pub ip_offset: usize,
    /// Where the enclosing packet ends in the frame (outer IP length,
    /// Ethernet padding excluded).
    pub end: usize,
    /// VLAN ids, as in [`Decoded::vlan`].
    pub vlan: [u16; 2],
    /// Outermost tunnel, as in [`Decoded::tunnel`].
    pub tunnel: Option<TunnelInfo>,
}

/// Why a frame could not be decoded; each kind is a counter in stats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// Frame ends inside a header.
    Truncated,
    /// A header field is impossible (bad IP version, header length, ...).
    Malformed,
    /// Not IP (ARP, LLDP, STP, ...): not an anomaly, just not ours.
    NotIp,
    /// Link type not supported.
    UnsupportedLink,
    /// IPv4/IPv6 fragment (see [`decode_frame`] and [`Defragmenter`]).
    Fragment,
    /// Tunnels nested deeper than [`MAX_TUNNEL_DEPTH`].
    TunnelTooDeep,
}

impl DecodeError {
    /// All kinds, for stats.
    pub const ALL: [DecodeError; 6] = [
        DecodeError::Truncated,
        DecodeError::Malformed,
        DecodeError::NotIp,
        DecodeError::UnsupportedLink,
        DecodeError::Fragment,
        DecodeError::TunnelTooDeep,
    ];
    /// Stats counter name.
    pub fn counter_name(self) -> &'static str {
        match self {
            DecodeError::Truncated => "truncated_total",
            DecodeError::Malformed => "malformed_total",
            DecodeError::NotIp => "not_ip_total",
            DecodeError::UnsupportedLink => "unsupported_link_total",
            DecodeError::Fragment => "fragment_total",
            DecodeError::TunnelTooDeep => "tunnel_too_deep_total",
        }
    }
}

/// Decodes one frame of the given link type; fragments are an error.
///
/// # Errors
/// A [`DecodeError`] saying why the frame carries no usable IP packet.
pub fn decode(linktype: LinkType, frame: &[u8]) -> Result<Decoded, DecodeError> {
    match link::decode_link(linktype, frame)? {
        Frame::Packet(d) => Ok(d),
        Frame::Fragment(_) => Err(DecodeError::Fragment),
    }
}

/// Decodes one frame of the given link type; a fragment comes back with
/// where its IP header is, for the [`Defragmenter`].
///
/// # Errors
/// A [`DecodeError`] saying why the frame carries no usable IP packet.
pub fn decode_frame(linktype: LinkType, frame: &[u8]) -> Result<Frame, DecodeError> {
    link::decode_link(linktype, frame)
}

mod bytes;
pub mod checksum;
pub mod defrag;
mod ethernet;
mod gre;
mod ip;
mod ipv4;
mod ipv6;
mod link;
mod mpls;
mod sll;
mod tcp;
#[cfg(test)]
pub(crate) mod testutil;
mod tunnel;
mod udp;
mod vxlan;

pub use self::defrag::{DefragConfig, DefragResult, DefragStats, Defragmenter, OverlapPolicy};
pub use self::link::L3;
pub use self::tunnel::{TunnelInfo, TunnelKind, MAX_TUNNEL_DEPTH};
