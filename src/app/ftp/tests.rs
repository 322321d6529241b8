//! FTP control and data parser tests (transcripts as unit tests).

use super::*;
use proptest::prelude::*;
use Direction::{ToClient, ToServer};

/// Records what the parser hands over.
#[derive(Default)]
struct Rec {
    content: Vec<(Direction, &'static str, Vec<u8>)>,
    txs: Vec<(Direction, FtpTx)>,
    files: Vec<Direction>,
}

impl ContentSink for Rec {
    fn on_content(&mut self, dir: Direction, location: &'static str, data: &[u8]) {
        match self.content.last_mut() {
            Some((d, l, buf)) if *d == dir && *l == location => buf.extend_from_slice(data),
            _ => self.content.push((dir, location, data.to_vec())),
        }
    }
    fn end_content(&mut self, _dir: Direction) {
        self.content.push((ToServer, "end", Vec::new()));
    }
    fn end_transaction(&mut self, dir: Direction, meta: &TxMeta) {
        if let TxMeta::Ftp(tx) = meta {
            self.txs.push((dir, tx.clone()));
        }
    }
    fn begin_file(&mut self, dir: Direction, _file: &FileMeta) {
        self.files.push(dir);
    }
}

/// Runs a transcript (`C: ` client lines, `S: ` server lines), each line
/// fed in pieces of `piece` bytes.
fn run(transcript: &str, piece: usize) -> (FtpParser, Rec) {
    let mut p = FtpParser::default();
    let mut rec = Rec::default();
    for line in transcript.lines() {
        let (dir, text) = match line.split_at(3) {
            ("C: ", t) => (ToServer, t),
            ("S: ", t) => (ToClient, t),
            _ => continue,
        };
        let wire = format!("{text}\r\n");
        for chunk in wire.as_bytes().chunks(piece) {
            p.on_data(dir, chunk, &mut rec);
        }
    }
    (p, rec)
}

const SESSION: &str = "\
S: 220 pyftpdlib 1.5.9 ready.
C: USER 13800138000
S: 331 Username ok, send password.
C: PASS s3cret-11010519491231002X
S: 230 Login successful.
C: TYPE I
S: 200 Type set to: Binary.
C: PASV
S: 227 Entering passive mode (127,0,0,1,195,80).
C: STOR report-13900139000.xlsx
S: 150 File status okay. About to open data connection.
S: 226 Transfer complete.
C: EPSV
S: 229 Entering extended passive mode (|||50001|).
C: RETR a.pdf
S: 150-Opening data connection for a.pdf (2048 bytes)
S:  more text
S: 150 go
C: PORT 127,0,0,1,156,65
S: 200 Active data connection established.
C: QUIT
S: 221 Goodbye.";

#[test]
fn session_any_split() {
    for piece in [1, 3, 1000] {
        let (p, rec) = run(SESSION, piece);
        assert!(!p.is_encrypted());
        let auth: Vec<&[u8]> = rec
            .content
            .iter()
            .filter(|c| c.1 == location::FTP_AUTH)
            .map(|c| c.2.as_slice())
            .collect();
        assert_eq!(
            auth,
            vec![&b"13800138000"[..], b"s3cret-11010519491231002X"]
        );
        let ports: Vec<DataPort> = rec.txs.iter().filter_map(|t| t.1.data_port).collect();
        assert_eq!(
            ports,
            vec![
                DataPort {
                    port: 50000,
                    passive: true
                },
                DataPort {
                    port: 50001,
                    passive: true
                },
                DataPort {
                    port: 40001,
                    passive: false
                },
            ]
        );
        let stor = rec
            .txs
            .iter()
            .find(|t| t.1.command.as_deref() == Some("STOR"))
            .unwrap();
        assert_eq!(
            stor.1.filename.as_deref(),
            Some(&b"report-13900139000.xlsx"[..])
        );
        let sized: Vec<_> = rec.txs.iter().filter_map(|t| t.1.declared_size).collect();
        assert_eq!(sized, vec![2048], "the multi-line 150 reply's size");
        let replies: Vec<u16> = rec.txs.iter().filter_map(|t| t.1.reply_code).collect();
        assert_eq!(
            replies,
            vec![220, 331, 230, 200, 227, 150, 226, 229, 150, 200, 221]
        );
    }
}

#[test]
fn auth_tls_makes_the_rest_encrypted() {
    let (p, rec) = run(
        "S: 220 FTP\nC: AUTH TLS\nS: 234 Proceed.\nC: USER 13800138000",
        1000,
    );
    assert!(p.is_encrypted());
    assert!(rec.content.iter().all(|c| c.1 != location::FTP_AUTH));
}

#[test]
fn probe_needs_greeting_and_command() {
    assert_eq!(probe_flow(b"", b"220 (vsFTPd 3.0.5)\r\n"), Some(true));
    assert_eq!(probe_flow(b"", b"220 host ready\r\n"), Some(false));
    assert_eq!(
        probe_flow(b"USER bob\r\n", b"220 host ready\r\n"),
        Some(true)
    );
    assert_eq!(probe_flow(b"EHLO mx\r\n", b"220 host ESMTP\r\n"), None);
    assert_eq!(probe_flow(b"AUTH PLAIN x\r\n", b"220 host ESMTP\r\n"), None);
    assert_eq!(probe_flow(b"GET / HTTP/1.1\r\n", b""), None);
    assert_eq!(probe_flow(b"", b"+OK POP3\r\n"), None);
}

#[test]
fn announcements_parse() {
    assert_eq!(
        parse_six_numbers(b"Entering Passive Mode (10,1,2,3,4,5)"),
        Some(1029)
    );
    assert_eq!(parse_six_numbers(b"(10,1,2,3,4)"), None);
    assert_eq!(parse_six_numbers(b"(10,1,2,3,4,300)"), None);
    assert_eq!(parse_extended(b"|2|::1|6446|"), Some(6446));
    assert_eq!(
        parse_extended(b"Extended Passive Mode (|||6446|)"),
        Some(6446)
    );
    assert_eq!(
        reply_size(
            150,
            b"Opening BINARY mode data connection for x (1234 bytes)."
        ),
        Some(1234)
    );
    assert_eq!(reply_size(213, b"99"), Some(99));
}

#[test]
fn data_connection_is_one_file_per_direction() {
    let mut d = FtpDataParser::default();
    let mut rec = Rec::default();
    d.on_data(ToClient, b"abc", &mut rec);
    d.on_data(ToClient, b"def", &mut rec);
    d.on_close(ToClient, &mut rec);
    d.on_close(ToServer, &mut rec);
    assert_eq!(rec.files, vec![ToClient]);
    assert_eq!(rec.content[0].2, b"abcdef");
    assert_eq!(rec.txs.len(), 1);
}

#[test]
fn long_lines_are_cut() {
    let long = format!("C: STOR {}\nC: NOOP", "x".repeat(3 * MAX_LINE));
    let (_, rec) = run(&long, 1000);
    let cmds: Vec<_> = rec.txs.iter().filter_map(|t| t.1.command.clone()).collect();
    assert_eq!(cmds, vec!["STOR", "NOOP"]);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(a in proptest::collection::vec(any::<u8>(), 0..600), b in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut p = FtpParser::default();
        let mut rec = Rec::default();
        p.on_data(ToServer, &a, &mut rec);
        p.on_data(ToClient, &b, &mut rec);
        p.on_gap(ToClient, 5, &mut rec);
        p.on_data(ToClient, &a, &mut rec);
        p.on_close(ToServer, &mut rec);
        p.on_close(ToClient, &mut rec);
        let _ = probe_flow(&a, &b);
        let _ = data_port_of(ToServer, &a);
        let _ = data_port_of(ToClient, &b);
        prop_assert!(rec.txs.len() <= a.len() + 2 * b.len() + 2);
    }
}
