//! Event objects of the TLS and DNS decoders (`tls`, `dns`).

use serde_json::{json, Value};

use crate::alert::mask_text;
use crate::app::dns::parser::{rcode_name, rrtype_name};
use crate::app::dns::DnsTx;
use crate::app::tls::TlsInfo;

/// Longest query name shown (masked).
const MAX_RRNAME: usize = 255;

/// The `tls` object: `sni`, `version`, `client_versions`, `alpn`, `ja4`,
/// `ja4s`, `cipher` (hex, the server's choice). The SNI is a host name, not PI.
pub fn tls_out(t: &TlsInfo) -> Value {
    let mut v = json!({
        "sni": t.sni,
        "version": t.version,
        "client_versions": t.client_versions,
        "alpn": t.alpn,
        "ja4": t.ja4,
        "ja4s": t.ja4s,
    });
    if let (Some(c), Some(o)) = (t.cipher, v.as_object_mut()) {
        o.insert("cipher".into(), json!(format!("0x{c:04x}")));
    }
    v
}

/// Masks a query name: digit runs as in URLs, and long labels (encoded
/// data, e.g. base32 PI) keep only their first 3 and last 2 characters.
fn mask_rrname(name: &[u8]) -> String {
    const LONG_LABEL: usize = 12;
    let masked = mask_text(name, MAX_RRNAME);
    let labels: Vec<String> = masked
        .split('.')
        .map(|l| {
            let n = l.chars().count();
            if n <= LONG_LABEL {
                return l.to_string();
            }
            l.chars()
                .enumerate()
                .map(|(i, c)| if i < 3 || i >= n - 2 { c } else { '*' })
                .collect()
        })
        .collect();
    labels.join(".")
}

/// The `dns` object: `type` (`query`/`answer`), `id`, `rrname` (masked like
/// the HTTP URL: PI may be smuggled in it), `rrtype`, `rcode` (answers),
/// `answers` (count), `limits_hit`.
pub fn dns_out(t: &DnsTx) -> Value {
    let mut v = json!({
        "type": if t.response { "answer" } else { "query" },
        "id": t.id,
        "rrname": t.rrname.as_deref().map(mask_rrname),
        "rrtype": t.rrtype.map(rrtype_name),
    });
    if let Some(o) = v.as_object_mut() {
        if let Some(r) = t.rcode {
            o.insert("rcode".into(), json!(rcode_name(r)));
            o.insert("answers".into(), json!(t.answers));
        }
        if !t.limits_hit.is_empty() {
            o.insert("limits_hit".into(), json!(t.limits_hit));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrname_is_masked() {
        let tx = DnsTx {
            rrname: Some(b"13800138000.leak.example.com".to_vec()),
            rrtype: Some(16),
            ..DnsTx::default()
        };
        let v = dns_out(&tx);
        assert_eq!(v["rrname"], "138******00.leak.example.com");
        assert_eq!(v["rrtype"], "TXT");
        assert_eq!(v["type"], "query");
        assert!(v.get("rcode").is_none());
        let b32 = DnsTx {
            rrname: Some(b"nfsggylsmq5dgmzq.x.example.com".to_vec()),
            ..DnsTx::default()
        };
        assert_eq!(dns_out(&b32)["rrname"], "nfs***********zq.x.example.com");
    }

    #[test]
    fn tls_object_fields() {
        let t = TlsInfo {
            sni: Some("api.example.cn".into()),
            version: Some("TLSv1.3"),
            cipher: Some(0x1301),
            ..TlsInfo::default()
        };
        let v = tls_out(&t);
        assert_eq!(v["sni"], "api.example.cn");
        assert_eq!(v["version"], "TLSv1.3");
        assert_eq!(v["cipher"], "0x1301");
    }
}
