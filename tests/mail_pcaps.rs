//! Real mail captures (pcaps/make_mail.sh): smtplib -> aiosmtpd (AUTH LOGIN,
//! MIME with GBK, base64, QP, attachments; a STARTTLS session), and
//! poplib/imaplib against dovecot. Every true value is reported at its
//! location, nothing else; nothing sent after STARTTLS is seen.
//!
//! Two kinds of finding come from helpers merged separately and are
//! tolerated either way: `credential` (the credential detector) and the
//! truth's `pending_files` (PI inside a deflated docx, found once
//! attachments are unpacked).

mod common;

use std::collections::BTreeSet;

use common::*;

fn check(name: &str, workers: usize) -> Vec<serde_json::Value> {
    let truth = Truth::load(&pcap(&format!("{name}.truth.json")));
    let lines = replay(&[pcap(&format!("{name}.pcap"))], workers);
    let events = parse(&lines);
    let pending: BTreeSet<String> = truth.json["pending_files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["value"].as_str().map(hash_hex))
        .collect();
    let got: BTreeSet<Reported> = reported(&events)
        .into_iter()
        .filter(|r| r.0 != "credential" && !pending.contains(&r.3))
        .collect();
    let (want, values) = truth.expected();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty(), "{name}: not reported: {missing:#?}");
    assert!(extra.is_empty(), "{name}: not in the truth: {extra:#?}");
    for d in truth.decoys() {
        let h = hash_hex(&d);
        assert!(!got.iter().any(|r| r.3 == h), "{name}: decoy reported");
    }
    assert_no_clear_pi(&lines, &values);
    events
}

#[test]
fn smtp_capture_exact() {
    for workers in [1, 2] {
        let events = check("mail_smtp", workers);
        let dlp: Vec<_> = events.iter().filter(|e| e["event_type"] == "dlp").collect();
        assert!(dlp.iter().all(|e| e["app_proto"] == "smtp"));
        assert!(dlp.iter().all(|e| e["dest_port"] == 2525));
        // One login event and one message event, with the envelope masked.
        let msg = dlp
            .iter()
            .find(|e| e["smtp"]["mail_from"].is_string())
            .expect("message event");
        assert_eq!(msg["smtp"]["helo"], "pc15.example.org");
        assert_eq!(msg["dest_name"], "mx.example.cn");
        assert!(msg["smtp"]["mail_from"]
            .as_str()
            .is_some_and(|m| m.contains('*') && m.ends_with("@example.cn")));
        assert_eq!(msg["mail"]["attachments"].as_array().map(Vec::len), Some(2));
        assert!(dlp.iter().any(|e| e["mail"]["login"] == true));
    }
}

#[test]
fn pop3_and_imap_captures_exact() {
    for (name, proto) in [("mail_pop3", "pop3"), ("mail_imap", "imap")] {
        let events = check(name, 1);
        let dlp: Vec<_> = events.iter().filter(|e| e["event_type"] == "dlp").collect();
        assert!(dlp.iter().all(|e| e["app_proto"] == proto), "{name}");
        // The login and the fetched message are separate events.
        assert!(dlp.iter().any(|e| e["mail"]["login"] == true), "{name}");
        assert!(
            dlp.iter().any(|e| e["direction"] == "to_client"
                && e["mail"]["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains('*'))),
            "{name}: subject masked"
        );
    }
}
