//! The TCP sink over TLS against a rustls server on loopback with a
//! self-signed certificate given as `ca_file`; and a wrong name is refused.
#![cfg(feature = "tls")]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use leakwatch::alert::sinks::config::{SinkConfig, SinkKind};
use leakwatch::alert::{AlertSink, SinkSet};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

fn server_config() -> (Arc<rustls::ServerConfig>, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    (Arc::new(cfg), ck.cert.pem())
}

fn sink(addr: String, ca: &std::path::Path, name: &str) -> SinkConfig {
    let mut c = SinkConfig::new(SinkKind::Tcp);
    c.address = Some(addr);
    c.tls = Some(true);
    c.ca_file = Some(ca.to_path_buf());
    c.server_name = Some(name.into());
    c.backoff_min_ms = Some(10);
    c.backoff_max_ms = Some(50);
    c.timeout_ms = Some(2000);
    c.drain_timeout_ms = Some(300);
    c
}

#[test]
fn tcp_sink_over_tls_verifies_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, pem) = server_config();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let conn = rustls::ServerConnection::new(cfg).unwrap();
        let tls = rustls::StreamOwned::new(conn, s);
        BufReader::new(tls)
            .lines()
            .take(3)
            .map(|l| l.unwrap())
            .collect::<Vec<String>>()
    });
    let mut set = SinkSet::build(&[sink(addr.clone(), &ca, "localhost")], None).unwrap();
    for i in 0..3 {
        set.write_event(&format!("{{\"event_id\":\"{i}\"}}"))
            .unwrap();
    }
    let got = server.join().unwrap();
    assert_eq!(
        got,
        [
            "{\"event_id\":\"0\"}",
            "{\"event_id\":\"1\"}",
            "{\"event_id\":\"2\"}"
        ]
    );
    let st = set.close().unwrap();
    assert_eq!(st[0].delivered_total, 3);

    // The certificate is not valid for another name: nothing is delivered.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (cfg, _) = (server_config().0, ());
    std::thread::spawn(move || {
        for s in l.incoming().take(3) {
            let Ok(s) = s else { break };
            let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, s);
            let _ = std::io::Read::read(&mut tls, &mut [0u8; 64]);
        }
    });
    let mut set = SinkSet::build(&[sink(addr, &ca, "other.example")], None).unwrap();
    set.write_event("{\"event_id\":\"x\"}").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let st = set.close().unwrap();
    assert_eq!(st[0].delivered_total, 0);
    assert!(st[0].send_errors_total > 0);
}
