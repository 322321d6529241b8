//! `leakwatch signatures test` and `leakwatch scan`: tables, exit codes,
//! events for files, custom detectors (regex, keywords in UTF-8 and GBK),
//! exclusion lists and the confidence threshold, end to end on the binary.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::root;

const KEY: &str = "det-cli-test-key";

fn leakwatch(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakwatch"))
        .current_dir(root())
        .env("LEAKWATCH_HASH_KEY", KEY)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run leakwatch");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.unwrap_or_default()).expect("stdin");
    }
    child.wait_with_output().expect("wait")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A resident ID with a valid MOD 11-2 check character.
fn id18() -> String {
    let first = "44030519900307123";
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = first
        .bytes()
        .zip(w)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{first}{}", b"10X98765432"[(s % 11) as usize] as char)
}

/// Copies the shipped detectors into a temp dir to add files to.
fn sig_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let det = dir.path().join("detectors");
    std::fs::create_dir(&det).expect("mkdir");
    for e in std::fs::read_dir(root().join("signatures/detectors")).expect("read") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, det.join(p.file_name().expect("name"))).expect("copy");
    }
    dir
}

fn hmac_hex(v: &str) -> String {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).expect("key");
    m.update(v.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

#[test]
fn signatures_test_prints_a_table_of_every_detector() {
    let o = leakwatch(&["signatures", "test"], None);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let t = out(&o);
    assert!(t.starts_with("detector"), "{t}");
    for id in [
        "cn_passport",
        "hk_macau_permit.exit",
        "hk_macau_permit.home_return",
        "cn_landline",
        "device_id.imei",
        "uscc.digits",
        "cn_mobile",
    ] {
        assert!(
            t.lines().any(|l| l.split_whitespace().next() == Some(id)),
            "{id} missing:\n{t}"
        );
    }
    assert!(t.contains("examples pass"), "{t}");
    // The old command still works.
    let o = leakwatch(&["check-signatures"], None);
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn failing_example_exits_1_with_file_and_line() {
    let dir = sig_copy();
    std::fs::write(
        dir.path().join("detectors/zz.toml"),
        "id = \"zz\"\npi_type = \"custom:zz\"\ncategory = \"custom\"\nkind = \"regex\"\n\
         confidence = \"medium\"\n[regex]\npattern = 'ZZ[0-9]{4}'\n\n[[no_match]]\ntext = \"x ZZ1234\"\n",
    )
    .expect("write");
    let o = leakwatch(&["signatures", "test", dir.path().to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let t = out(&o);
    assert!(
        t.contains("zz.toml:9: zz: [[no_match]] example matched"),
        "{t}"
    );
    assert!(!t.contains("ZZ1234"), "example text printed: {t}");
}

#[test]
fn bad_signature_file_is_rejected_with_file_line_reason() {
    let dir = sig_copy();
    std::fs::write(
        dir.path().join("detectors/bad.toml"),
        "id = \"bad\"\npi_type = \"custom:bad\"\ncategory = \"custom\"\nkind = \"regex\"\n\
         confidence = \"medium\"\n[regex]\npattern = 'A[0-9]+'\n",
    )
    .expect("write");
    let o = leakwatch(&["signatures", "test", dir.path().to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(
        e.contains("bad.toml:7") && e.contains("regex.pattern") && e.contains("at most"),
        "{e}"
    );
}

#[test]
fn scan_file_writes_one_masked_file_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("export.csv");
    let id = id18();
    let text = format!(
        "name,idcard,phone,tel,passport\nx,{id},13800138000,010-87654321,护照 E12345678\n\
         org,91110000600037341L,,,\n"
    );
    std::fs::write(&f, &text).expect("write");
    let o = leakwatch(&["scan", f.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", err(&o));
    let ev = out(&o);
    assert_eq!(ev.lines().count(), 1, "{ev}");
    let v: serde_json::Value = serde_json::from_str(ev.trim()).expect("json");
    assert_eq!(v["event_type"], "dlp");
    assert_eq!(v["app_proto"], "file");
    let mut types: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            assert_eq!(f["where"], "file");
            f["type"].as_str().unwrap_or("")
        })
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        ["cn_landline", "cn_mobile", "cn_passport", "cn_resident_id"]
    );
    for clear in [id.as_str(), "13800138000", "87654321", "E12345678"] {
        assert!(!ev.contains(clear), "clear value in {ev}");
    }
    assert!(err(&o).contains("1 dlp events"), "{}", err(&o));
}

#[test]
fn scan_stdin_and_min_confidence() {
    // A bare IMEI-shaped number is `low`: hidden by default.
    let input = b"serial 354178036859789\n";
    let o = leakwatch(&["scan", "-"], Some(input));
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).is_empty(), "{}", out(&o));
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("lw.toml");
    let sigs = root().join("signatures");
    std::fs::write(
        &cfg,
        format!(
            "signatures = {:?}\n[detect]\nmin_confidence = \"low\"\n",
            sigs.display().to_string()
        ),
    )
    .expect("write");
    let o = leakwatch(
        &["scan", "--config", cfg.to_str().unwrap(), "-"],
        Some(input),
    );
    assert!(o.status.success(), "{}", err(&o));
    let ev = out(&o);
    assert!(
        ev.contains("\"type\":\"device_id\"") && ev.contains("\"confidence\":\"low\""),
        "{ev}"
    );
}

#[test]
fn exclusions_by_value_and_hash() {
    let dir = sig_copy();
    std::fs::write(
        dir.path().join("exclude.toml"),
        format!(
            "values = [\"13800138000\"]\nhashes = [\"{}\"]\n",
            hmac_hex("13900139000")
        ),
    )
    .expect("write");
    let input = b"a 13800138000 b 13900139000 c 13700137000\n";
    let o = leakwatch(
        &["scan", "--signatures", dir.path().to_str().unwrap(), "-"],
        Some(input),
    );
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(out(&o).trim()).expect("json");
    assert_eq!(v["findings"][0]["count"], 1, "{v}");
    assert_eq!(
        v["findings"][0]["values"][0]["hash"],
        hmac_hex("13700137000")
    );
}

#[test]
fn custom_keywords_from_a_file_match_utf8_and_gbk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let det = dir.path().join("detectors");
    std::fs::create_dir(&det).expect("mkdir");
    let mut words: Vec<String> = (0..3000).map(|i| format!("codeword{i:04}")).collect();
    words.push("机密项目".to_string());
    words.push("Project-Phoenix".to_string());
    std::fs::write(det.join("words.txt"), words.join("\n")).expect("write");
    std::fs::write(
        det.join("secret.toml"),
        "id = \"secret\"\npi_type = \"custom:secret\"\ncategory = \"custom\"\n\
         kind = \"keywords\"\nconfidence = \"medium\"\n[keywords]\nfile = \"words.txt\"\n\
         words = [\"绝密\"]\n[[match]]\ntext = \"x PROJECT-PHOENIX y\"\nvalue = \"project-phoenix\"\n\
         [[no_match]]\ntext = \"codeword00012\"\n",
    )
    .expect("write");
    let o = leakwatch(&["signatures", "test", dir.path().to_str().unwrap()], None);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let (gbk, _, _) = encoding_rs::GBK.encode("文件：机密项目，绝密");
    let mut input = b"codeword2999 xcodeword0001 ".to_vec();
    input.extend_from_slice(&gbk);
    let o = leakwatch(
        &["scan", "--signatures", dir.path().to_str().unwrap(), "-"],
        Some(&input),
    );
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(out(&o).trim()).expect("json");
    assert_eq!(v["findings"][0]["type"], "custom:secret");
    assert_eq!(v["findings"][0]["count"], 3, "{v}");
}

#[test]
fn scan_missing_file_fails_cleanly() {
    let o = leakwatch(&["scan", "/nonexistent/leakwatch-input"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("cannot open"), "{}", err(&o));
    assert!(Path::new(env!("CARGO_BIN_EXE_leakwatch")).exists());
}
