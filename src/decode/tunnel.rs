//! Tunnels: walks encapsulations down to the innermost IP packet.
//!
//! Mirrored traffic often arrives wrapped (ERSPAN from a switch, VXLAN from
//! a cloud mirror, GRE, MPLS, IP-in-IP); the inner flow is what is analysed,
//! the outermost tunnel is kept as metadata.

use std::net::IpAddr;

use serde_json::{json, Value};

use super::ip::{self, IpInfo};
use super::link::{Next, L3};
use super::{ethernet, gre, mpls, proto, vxlan, DecodeError, FragmentRef, Frame};

/// Tunnels nested deeper than this are counted as
/// [`DecodeError::TunnelTooDeep`] and not analysed.
pub const MAX_TUNNEL_DEPTH: usize = 4;

/// IP protocol numbers of IP-in-IP and GRE.
mod ipproto {
    pub const IPV4: u8 = 4;
    pub const IPV6: u8 = 41;
    pub const GRE: u8 = 47;
}

/// Kind of encapsulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// GRE carrying IP, Ethernet (0x6558) or MPLS.
    Gre,
    /// ERSPAN type I (GRE 0x88BE without sequence number).
    ErspanI,
    /// ERSPAN type II (GRE 0x88BE).
    ErspanII,
    /// ERSPAN type III (GRE 0x22EB).
    ErspanIII,
    /// VXLAN (UDP 4789).
    Vxlan,
    /// MPLS label stack.
    Mpls,
    /// IPv4 or IPv6 in IPv4 or IPv6 (protocols 4 and 41).
    IpIp,
}

impl TunnelKind {
    /// Name used in events.
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre",
            TunnelKind::ErspanI => "erspan1",
            TunnelKind::ErspanII => "erspan2",
            TunnelKind::ErspanIII => "erspan3",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Mpls => "mpls",
            TunnelKind::IpIp => "ipip",
        }
    }

    /// Event field name of [`TunnelInfo::id`] for this kind.
    pub fn id_name(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre_key",
            TunnelKind::ErspanI | TunnelKind::ErspanII | TunnelKind::ErspanIII => "session_id",
            TunnelKind::Vxlan => "vni",
            TunnelKind::Mpls => "label",
            TunnelKind::IpIp => "id",
        }
    }
}

/// The outermost tunnel a packet came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TunnelInfo {
    /// Kind of the outermost tunnel.
    pub kind: TunnelKind,
    /// Source address of the IP header carrying the tunnel (none for MPLS
    /// directly on Ethernet).
    pub outer_src: Option<IpAddr>,
    /// Destination address of that IP header.
    pub outer_dst: Option<IpAddr>,
    /// VXLAN VNI, GRE key, ERSPAN session id or bottom MPLS label.
    pub id: Option<u32>,
    /// Number of tunnel layers walked (1 = not nested).
    pub depth: u8,
}

impl TunnelInfo {
    /// The VXLAN network id, when the outermost tunnel is VXLAN.
    pub fn vxlan_vni(&self) -> Option<u32> {
        if self.kind == TunnelKind::Vxlan {
            self.id
        } else {
            None
        }
    }

    /// The `tunnel` object of events, e.g.
    /// `{"kind":"vxlan","outer_src_ip":"192.0.2.1","outer_dest_ip":"192.0.2.2","vni":42,"depth":1}`;
    /// absent fields are left out.
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "kind": self.kind.name(), "depth": self.depth });
        if let Some(o) = v.as_object_mut() {
            if let Some(a) = self.outer_src {
                o.insert("outer_src_ip".into(), json!(a.to_string()));
            }
            if let Some(a) = self.outer_dst {
                o.insert("outer_dest_ip".into(), json!(a.to_string()));
            }
            if let Some(id) = self.id {
                o.insert(self.kind.id_name().into(), json!(id));
            }
        }
        v
    }
}

/// A tunnel header found after an IP header (or a label stack).
pub(super) struct Inner {
    pub(super) kind: TunnelKind,
    pub(super) id: Option<u32>,
    pub(super) next: Next,
}

/// Walks from `next` through tunnels to the innermost IP packet.
pub(super) fn walk(frame: &[u8], mut next: Next, mut vlan: [u16; 2]) -> Result<Frame, DecodeError> {
    let mut frame = frame;
    let mut tunnel: Option<TunnelInfo> = None;
    // Each tunnel layer is at most three steps (IP, MPLS or Ethernet, IP);
    // `enter` stops at the depth bound first.
    for _ in 0..(MAX_TUNNEL_DEPTH + 1) * 3 {
        let (l3, offset) = match next {
            Next::Ip(l3, offset) => (l3, offset),
            Next::Eth(offset) => {
                next = inner_ethernet(frame, offset, &mut vlan)?;
                continue;
            }
            Next::Mpls(offset) => {
                let inner = mpls::decode(frame, offset)?;
                enter(&mut tunnel, &inner, None)?;
                next = inner.next;
                continue;
            }
        };
        let ip = match ip::header(frame, l3, offset) {
            Err(DecodeError::Fragment) => {
                let end = frame.len();
                return Ok(Frame::Fragment(FragmentRef {
                    l3,
                    ip_offset: offset,
                    end,
                    vlan,
                    tunnel,
                }));
            }
            r => r?,
        };
        match tunnel_after_ip(frame, &ip)? {
            Some(inner) => {
                enter(&mut tunnel, &inner, Some(&ip))?;
                next = inner.next;
                // Inner headers end where the outer IP length says.
                frame = frame.get(..ip.end).unwrap_or(frame);
            }
            None => return ip::transport(frame, &ip, offset, vlan, tunnel).map(Frame::Packet),
        }
    }
    Err(DecodeError::TunnelTooDeep)
}

/// An Ethernet frame inside a tunnel; its VLAN tags, if any, replace the
/// outer ones (they describe the inner flow).
fn inner_ethernet(frame: &[u8], offset: usize, vlan: &mut [u16; 2]) -> Result<Next, DecodeError> {
    let mut inner_vlan = [0u16; 2];
    let next = ethernet::decode(frame, offset, &mut inner_vlan)?;
    if inner_vlan != [0, 0] {
        *vlan = inner_vlan;
    }
    Ok(next)
}

/// Records a tunnel layer: the outermost one is kept, the depth counted.
fn enter(
    tunnel: &mut Option<TunnelInfo>,
    inner: &Inner,
    outer_ip: Option<&IpInfo>,
) -> Result<(), DecodeError> {
    match tunnel {
        Some(t) if usize::from(t.depth) >= MAX_TUNNEL_DEPTH => {
            return Err(DecodeError::TunnelTooDeep)
        }
        Some(t) => t.depth += 1,
        None => {
            *tunnel = Some(TunnelInfo {
                kind: inner.kind,
                outer_src: outer_ip.map(|i| i.src),
                outer_dst: outer_ip.map(|i| i.dst),
                id: inner.id,
                depth: 1,
            })
        }
    }
    Ok(())
}

/// The tunnel an IP packet carries, if any.
fn tunnel_after_ip(frame: &[u8], ip: &IpInfo) -> Result<Option<Inner>, DecodeError> {
    let ipip = |l3| {
        Ok(Some(Inner {
            kind: TunnelKind::IpIp,
            id: None,
            next: Next::Ip(l3, ip.l4_start),
        }))
    };
    match ip.proto {
        ipproto::IPV4 => ipip(L3::V4),
        ipproto::IPV6 => ipip(L3::V6),
        ipproto::GRE => gre::decode(frame, ip.l4_start, ip.end).map(Some),
        proto::UDP => Ok(vxlan::decode(frame, ip.l4_start, ip.end)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_the_id_by_kind() {
        let t = TunnelInfo {
            kind: TunnelKind::Vxlan,
            outer_src: Some("192.0.2.1".parse().unwrap()),
            outer_dst: None,
            id: Some(42),
            depth: 1,
        };
        let v = t.to_json();
        assert_eq!(v["kind"], "vxlan");
        assert_eq!(v["vni"], 42);
        assert_eq!(v["outer_src_ip"], "192.0.2.1");
        assert!(v.get("outer_dest_ip").is_none());
        assert_eq!(TunnelKind::ErspanII.id_name(), "session_id");
    }
}
