//! SMTP/POP3/IMAP transcript tests: each `tests/streams/{smtp,pop3,imap}/NN-what.t`
//! (written by `tests/streams/mail_gen.py`) is fed to its parser and what
//! the sink receives (content items with location and bytes, files,
//! transactions) is compared with the golden `NN-what.out` beside it.
//! `UPDATE_GOLDEN=1` rewrites the goldens (review the diff!). Also: any
//! segmentation gives the same output, arbitrary bytes never panic.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use leakwatch::app::mail::{ImapParser, Pop3Parser, SmtpParser};
use leakwatch::app::{AppParser, ContentSink, TxMeta};
use leakwatch::flow::Direction::{self, ToClient, ToServer};
use proptest::prelude::*;

mod common;
use common::transcript::{feed, load, Recorder, Step};

const PROTOS: [&str; 3] = ["smtp", "pop3", "imap"];

fn parser(proto: &str) -> Box<dyn AppParser> {
    match proto {
        "smtp" => Box::new(SmtpParser::default()),
        "pop3" => Box::new(Pop3Parser::default()),
        _ => Box::new(ImapParser::default()),
    }
}

/// The log line of a mail transaction.
fn tx_line(meta: &TxMeta) -> Option<String> {
    let TxMeta::Mail(tx) = meta else {
        return Some("TX not mail".to_string());
    };
    Some(format!(
        "TX helo={:?} from={:?} rcpt={:?} subject={:?} hfrom={:?} to={:?} files={:?} server={:?} login={} limits={:?}",
        tx.helo,
        tx.mail_from,
        tx.rcpt_to,
        tx.subject,
        tx.from,
        tx.to,
        tx.files.iter().map(|f| (&f.name, &f.content_type)).collect::<Vec<_>>(),
        tx.server_name,
        tx.login,
        tx.limits_hit
    ))
}

/// Runs `steps` through `proto`'s parser, each data block cut into pieces
/// of `piece()` bytes; the log ends with the parser's encryption state.
fn run(proto: &str, steps: &[Step], piece: impl FnMut() -> usize) -> String {
    let mut p = parser(proto);
    let mut r = Recorder::new(tx_line, true);
    feed(p.as_mut(), steps, piece, &mut r);
    let _ = writeln!(
        r.log,
        "= encrypted={} server_name={:?}",
        p.is_encrypted(),
        p.server_name()
    );
    r.log
}

fn dir(proto: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/streams")
        .join(proto)
}

fn transcripts(proto: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir(proto))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "t"));
    v.sort();
    v
}

fn all() -> Vec<(&'static str, PathBuf)> {
    PROTOS
        .iter()
        .flat_map(|p| transcripts(p).into_iter().map(move |t| (*p, t)))
        .collect()
}

#[test]
fn transcripts_match_golden() {
    let all = all();
    assert!(
        all.len() >= 10,
        "transcripts missing: run tests/streams/mail_gen.py"
    );
    let mut failed = Vec::new();
    for (proto, t) in &all {
        let steps = load(&std::fs::read(t).unwrap());
        let got = run(proto, &steps, || usize::MAX);
        let golden = t.with_extension("out");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &got).unwrap();
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            eprintln!("--- {}\n{got}", t.display());
            failed.push(t.clone());
        }
    }
    assert!(
        failed.is_empty(),
        "transcripts differ from golden: {failed:?}"
    );
}

fn get(proto: &str, name: &str) -> String {
    let steps = load(&std::fs::read(dir(proto).join(name)).unwrap());
    run(proto, &steps, || usize::MAX)
}

#[test]
fn key_extractions() {
    let id = "11010519491231002X";
    let m = "13812345678";
    let smtp = get("smtp", "01-auth-login-data.t");
    assert!(smtp.contains(&format!("> smtp.auth \"LOGIN zhangsan:{m}\"")));
    assert!(smtp.contains("> smtp.envelope \"zhangsan@example.cn\\n\""));
    assert!(smtp.contains(&format!(
        "> mail.body \"line one\\r\\n.dot stuffed {id}\\r\\n\""
    )));
    let bdat = get("smtp", "02-pipelining-bdat.t");
    assert!(bdat.contains(&format!("> mail.body \"first part {id} end\\r\\n\"")));
    assert!(bdat.contains(&format!("> mail.body \"mobile {m}\\r\\n\"")));
    let tls = get("smtp", "03-starttls.t");
    assert!(!tls.contains(id) && !tls.contains(m), "{tls}");
    assert!(tls.contains("= encrypted=true server_name=Some(\"mx.example.cn\")"));
    let mime = get("smtp", "04-mime-gbk.t");
    assert!(mime.contains("Subject: 主题：张三的身份证"));
    assert!(mime.contains(&format!("> mail.body \"姓名：张三 身份证：{id}\\n\"")));
    assert!(mime.contains(&format!("<p>手机 {m}</p>")));
    assert!(mime.contains("> FILE name=Some(\"张三.csv\") type=Some(\"text/csv\")"));
    assert!(mime.contains(&format!("> mail.attachment \"name,mobile\\nzhang,{m}\\n\"")));
    let gap = get("smtp", "05-gap-resync.t");
    assert!(gap.contains(&format!("resynced {id}")));
    assert!(gap.contains("limits=[\"gap\"]"));
    let rej = get("smtp", "06-auth-plain-rejected-data.t");
    assert!(rej.contains(&format!("> smtp.auth \"PLAIN lisi:{id}\"")));
    assert!(rej.contains("> smtp.envelope \"g@example.cn\\n\""), "{rej}");
    let pop = get("pop3", "01-user-pass-retr.t");
    assert!(pop.contains(&format!("> pop3.auth \"USER zhangsan:{m}\"")));
    assert!(pop.contains(&format!(
        "< mail.body \"身份证 {id}\\r\\n.leading dot\\r\\n\""
    )));
    assert!(pop.contains("Subject: 工资单"));
    let pop2 = get("pop3", "02-auth-plain-top-stls.t");
    assert!(pop2.contains(&format!("> pop3.auth \"PLAIN wangwu:{m}\"")));
    assert!(pop2.contains(&format!("Subject: top {id}")));
    assert!(pop2.contains("= encrypted=true"));
    // Only the TOP headers and their subject: nothing after STLS.
    assert_eq!(pop2.matches(id).count(), 2, "{pop2}");
    let imap = get("imap", "01-login-fetch.t");
    assert!(imap.contains(&format!("> imap.auth \"LOGIN zhangsan:{m}\"")));
    assert!(imap.contains(&format!("< mail.body \"姓名：张三 身份证：{id}\\n\"")));
    assert!(
        imap.contains(&format!("身份证 {id}")),
        "ENVELOPE subject decoded"
    );
    assert!(imap.contains("< mail.body \"mobile 1381234567\""));
    let imap2 = get("imap", "02-literal-login-authenticate-append-starttls.t");
    assert!(imap2.contains(&format!("> imap.auth \"LOGIN zhangsan:{m}\"")));
    assert!(imap2.contains(&format!("> imap.auth \"PLAIN lisi:{id}\"")));
    assert!(imap2.contains(&format!("> mail.body \"card holder {id}\\r\\n\"")));
    assert!(imap2.contains("= encrypted=true"));
    assert!(!imap2.contains("LOGIN x"), "{imap2}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn split_invariance(seed in any::<u64>(), max in 1usize..64) {
        let mut rng = seed;
        for (proto, t) in all() {
            let steps = load(&std::fs::read(&t).unwrap());
            let whole = run(proto, &steps, || usize::MAX);
            let split = run(proto, &steps, || {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                1 + (rng >> 33) as usize % max
            });
            prop_assert_eq!(&whole, &split, "{}", t.display());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(c in proptest::collection::vec(any::<u8>(), 0..400),
                                   s in proptest::collection::vec(any::<u8>(), 0..400),
                                   which in 0usize..3) {
        let proto = PROTOS[which];
        let mut p = parser(proto);
        let mut r = Recorder::new(tx_line, true);
        let prefix: &[u8] = match proto {
            "smtp" => b"EHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            "pop3" => b"RETR 1\r\n",
            _ => b"a LOGIN {3}\r\n",
        };
        p.on_data(ToServer, prefix, &mut r);
        p.on_data(ToServer, &c, &mut r);
        p.on_data(ToClient, b"+OK\r\n* 1 FETCH (BODY[] {50}\r\n", &mut r);
        p.on_data(ToClient, &s, &mut r);
        p.on_gap(ToClient, 10, &mut r);
        p.on_gap(ToServer, 10, &mut r);
        p.on_data(ToClient, &c, &mut r);
        p.on_data(ToServer, &s, &mut r);
        p.on_close(ToServer, &mut r);
        p.on_close(ToClient, &mut r);
        prop_assert!(r.log.len() < 64 * 1024);
    }
}

/// Throughput of SMTP DATA through the MIME decoder (base64 attachment
/// and QP text); run with
/// `cargo test --test mail_streams throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    use base64::Engine;
    struct Null(usize);
    impl ContentSink for Null {
        fn on_content(&mut self, _: Direction, _: &'static str, d: &[u8]) {
            self.0 += d.len();
        }
        fn end_content(&mut self, _: Direction) {}
        fn end_transaction(&mut self, _: Direction, _: &TxMeta) {}
    }
    let raw: Vec<u8> = (0..4 << 20)
        .map(|i| b"abcdefghij klmnopqrstuvwxyz 0123456789\n"[i % 39])
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    let mut wire = b"EHLO x\r\nMAIL FROM:<a@b.cn>\r\nRCPT TO:<c@d.cn>\r\nDATA\r\n".to_vec();
    wire.extend_from_slice(b"Subject: t\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    for line in b64.as_bytes().chunks(76) {
        wire.extend_from_slice(line);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    for line in raw.split_inclusive(|&b| b == b'\n') {
        wire.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"--b--\r\n.\r\n");
    let mut p = SmtpParser::default();
    let mut n = Null(0);
    let t = std::time::Instant::now();
    for seg in wire.chunks(1460) {
        p.on_data(ToServer, seg, &mut n);
    }
    let s = t.elapsed().as_secs_f64();
    assert!(n.0 >= 2 * raw.len(), "{}", n.0);
    println!(
        "smtp+mime: wire {:.1} MB/s ({} bytes, decoded {})",
        wire.len() as f64 / s / 1e6,
        wire.len(),
        n.0
    );
}
