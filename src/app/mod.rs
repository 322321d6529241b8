//! App layer: turns reassembled streams into labelled content segments.
//!
//! For now every stream is scanned raw; protocol decoders (HTTP, SMTP, ...)
//! plug in here and label what they extract with the names in [`location`].

/// Where in the traffic a finding was made (the `where` of a finding).
pub mod location {
    /// Reassembled TCP bytes that no decoder claimed.
    pub const TCP_STREAM: &str = "tcp.stream";
    /// A UDP datagram's payload.
    pub const UDP_PAYLOAD: &str = "udp.payload";
}

/// `app_proto` names.
pub mod proto_name {
    /// A stream scanned without an application decoder.
    pub const RAW: &str = "raw";
}
