//! Regex and keyword detectors, suppressors and exclusions in the engine:
//! a stream split anywhere gives the matches of one buffer, both back-ends
//! agree, decoys stay silent, and state stays bounded.

use std::path::Path;
use std::sync::Arc;

use leakwatch::detect::{
    Confidence, ContextBackend, DetectorId, Engine, EngineOptions, Match, MatchSink, StreamState,
};
use proptest::prelude::*;

type Hit = (DetectorId, Vec<u8>, u64, Confidence);

#[derive(Default)]
struct Collect(Vec<Hit>);
impl MatchSink for Collect {
    fn on_match(&mut self, m: &Match<'_>) {
        self.0
            .push((m.detector, m.value.to_vec(), m.offset, m.confidence));
    }
}

const SECRET: &str = r#"
id = "secret"
pi_type = "custom:secret"
category = "custom"
kind = "keywords"
confidence = "medium"
context_confidence = "high"
exclude_values = ["public"]
[keywords]
words = ["机密", "Top-Secret", "内部资料", "public", "cat", "category"]
[context]
window = 16
words = ["level"]
"#;

const TICKET: &str = r#"
id = "ticket"
pi_type = "custom:ticket"
category = "custom"
kind = "regex"
confidence = "medium"
[regex]
pattern = 'TK-(?P<value>[0-9]{6})'
"#;

const REF: &str = r#"
id = "ref"
pi_type = "custom:ref"
category = "custom"
kind = "regex"
confidence = "medium"
report = false
[regex]
pattern = 'REF:[0-9]{11}'
"#;

fn options(backend: ContextBackend) -> EngineOptions {
    EngineOptions {
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1),
        context_backend: backend,
        min_confidence: Some(Confidence::Low),
        ..EngineOptions::default()
    }
}

/// The shipped detectors plus two custom ones.
fn engine(backend: ContextBackend) -> Arc<Engine> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures/detectors");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let t = std::fs::read_to_string(&p).expect("read");
            (p.display().to_string(), t)
        })
        .collect();
    files.sort();
    files.push(("secret.toml".into(), SECRET.into()));
    files.push(("ticket.toml".into(), TICKET.into()));
    files.push(("ref.toml".into(), REF.into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    Arc::new(Engine::from_sources(&refs, &options(backend)).expect("engine"))
}

fn backends() -> Vec<ContextBackend> {
    let mut v = vec![ContextBackend::AhoCorasick];
    if cfg!(feature = "hyperscan") {
        v.push(ContextBackend::Hyperscan);
    }
    v
}

fn id_of(e: &Engine, id: &str) -> DetectorId {
    e.detectors()
        .iter()
        .position(|d| d.id == id)
        .expect("detector") as DetectorId
}

fn scan_buf(e: &Arc<Engine>, data: &[u8]) -> Vec<Hit> {
    let mut c = Collect::default();
    e.scan_buffer(data, &mut c);
    c.0
}

fn scan_pieces(e: &Arc<Engine>, data: &[u8], cuts: &[usize]) -> Vec<Hit> {
    let mut s = e.scanner();
    let mut st = StreamState::default();
    let mut c = Collect::default();
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(last, data.len());
        s.scan_stream(&mut st, &data[last..cut], &mut c);
        // Carry (at most its bound), the context history (the
        // longest shipped window, 128, and a word), the reported matches
        // that reach past a call and the select log.
        assert!(
            st.heap_bytes() <= StreamState::CARRY_MAX + 160 + StreamState::EXTRA_MAX,
            "state grew to {}",
            st.heap_bytes()
        );
        last = cut;
    }
    s.finish_stream(&mut st, &mut c);
    c.0
}

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

#[test]
fn keywords_utf8_gbk_whole_words_and_exclusions() {
    for b in backends() {
        let e = engine(b);
        let d = id_of(&e, "secret");
        let mut data = "x TOP-SECRET y 机密 public cat category catalog level 内部资料 "
            .as_bytes()
            .to_vec();
        data.extend_from_slice(&gbk("文件 机密"));
        let got: Vec<(Vec<u8>, Confidence)> = scan_buf(&e, &data)
            .into_iter()
            .filter(|h| h.0 == d)
            .map(|h| (h.1, h.3))
            .collect();
        let want = vec![
            (b"top-secret".to_vec(), Confidence::Medium),
            ("机密".as_bytes().to_vec(), Confidence::Medium),
            (b"cat".to_vec(), Confidence::Medium),
            (b"category".to_vec(), Confidence::Medium),
            ("内部资料".as_bytes().to_vec(), Confidence::High),
            ("机密".as_bytes().to_vec(), Confidence::Medium),
        ];
        assert_eq!(got, want, "{b:?}");
    }
}

#[test]
fn regex_value_group_and_boundaries() {
    let e = engine(ContextBackend::AhoCorasick);
    let d = id_of(&e, "ticket");
    let got: Vec<Vec<u8>> = scan_buf(&e, b"TK-123456 xTK-123456 TK-1234567 (TK-654321)")
        .into_iter()
        .filter(|h| h.0 == d)
        .map(|h| h.1)
        .collect();
    assert_eq!(got, vec![b"123456".to_vec(), b"654321".to_vec()]);
}

#[test]
fn suppressors_claim_and_hide() {
    for b in backends() {
        let e = engine(b);
        let card = id_of(&e, "bank_card");
        let mobile = id_of(&e, "cn_mobile");
        // An all-digit USCC that also passes the card checks (62, Luhn).
        let hits = scan_buf(&e, b"uscc 621100000000000465 card 6217000000000000004");
        let ids: Vec<DetectorId> = hits.iter().map(|h| h.0).collect();
        assert_eq!(ids, vec![card], "{b:?}");
        assert_eq!(hits[0].1, b"6217000000000000004");
        let hits = scan_buf(&e, b"tel 13900139000");
        let vals: Vec<(DetectorId, Vec<u8>)> = hits.into_iter().map(|h| (h.0, h.1)).collect();
        assert_eq!(vals, vec![(mobile, b"13900139000".to_vec())], "{b:?}");
        assert!(!e.reports(id_of(&e, "uscc.digits")));
    }
}

/// A synthetic 18-digit resident ID.
fn id18(seed: u64) -> String {
    let first = format!(
        "110105{:04}{:02}{:02}{:03}",
        1950 + seed % 60,
        1 + seed % 12,
        1 + seed % 28,
        seed % 1000
    );
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = first
        .bytes()
        .zip(w)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{first}{}", b"10X98765432"[(s % 11) as usize] as char)
}

fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<u64>().prop_map(|s| id18(s).into_bytes()),
        (0u64..100_000_000).prop_map(|n| format!("护照 E{n:08}").into_bytes()),
        (0u64..100_000_000).prop_map(|n| format!("H{n:08}01").into_bytes()),
        (0u64..10_000_000)
            .prop_map(|n| format!("C{}{n:07}", (b'A' + (n % 8) as u8) as char).into_bytes()),
        (0u64..100_000_000)
            .prop_map(|n| format!("010-{:08}", 20_000_000 + n % 80_000_000).into_bytes()),
        Just(b"imei 354178036859789".to_vec()),
        Just(b"91350100M000100Y43".to_vec()),
        Just(b"911100007109340071".to_vec()),
        Just(b"621100000000000465".to_vec()),
        Just(b"REF:13800138000".to_vec()),
        Just(b"REF:".to_vec()),
        (0u64..1_000_000).prop_map(|n| format!("TK-{n:06}").into_bytes()),
        Just("机密".as_bytes().to_vec()),
        Just(gbk("机密")),
        Just(b"Top-Secret".to_vec()),
        Just(b"level".to_vec()),
        Just(b"category".to_vec()),
        "[ a-zA-Z0-9.:@+\\-]{0,12}".prop_map(String::into_bytes),
        "[0-9]{1,25}".prop_map(String::into_bytes),
        proptest::collection::vec(0x80u8..=0xff, 1..4),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn stream_equals_buffer(parts in proptest::collection::vec(piece(), 1..14),
                            cuts in proptest::collection::vec(0usize..500, 0..8)) {
        let e = engine(ContextBackend::AhoCorasick);
        let data: Vec<u8> = parts.concat();
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(scan_pieces(&e, &data, &cuts), scan_buf(&e, &data));
    }
}

#[test]
fn one_byte_pieces_equal_buffer() {
    let e = engine(ContextBackend::AhoCorasick);
    let mut data = "护照 E12345678 TK-123456 91350100M000100Y43 机密 "
        .as_bytes()
        .to_vec();
    data.extend_from_slice(&gbk("绝密 机密"));
    data.extend_from_slice(b" tel +86 10 62345678 imei 354178036859789 H1234567801");
    let whole = scan_buf(&e, &data);
    assert!(whole.len() >= 6, "{}", whole.len());
    let ones: Vec<usize> = (1..data.len()).collect();
    assert_eq!(scan_pieces(&e, &data, &ones), whole);
}

#[test]
fn backends_agree_on_a_mixed_corpus() {
    let mut data = Vec::new();
    for i in 0..300u64 {
        data.extend_from_slice(
            format!(
                "ts=2026-01-02T03:04:{:02}Z po=E{:08} guid=3f2504e0-4f89-11d3-9a0c-{:012x} ",
                i % 60,
                i * 7919,
                i
            )
            .as_bytes(),
        );
        let v = match i % 6 {
            0 => format!("护照号 E{:08} ", i * 31),
            1 => format!("回乡证 H{:08}0{} ", i * 17, i % 10),
            2 => format!("电话 0{}-{} ", 755 + i % 3, 2_345_678 + i),
            3 => format!("TK-{:06} Top-Secret ", i),
            4 => "统一社会信用代码 91110000600037341L ".to_string(),
            _ => format!("idCard={} ", id18(i)),
        };
        data.extend_from_slice(v.as_bytes());
        data.extend_from_slice(&gbk("机密 "));
    }
    let all: Vec<Vec<Hit>> = backends()
        .into_iter()
        .map(|b| scan_buf(&engine(b), &data))
        .collect();
    let e = engine(ContextBackend::AhoCorasick);
    let mut per: std::collections::BTreeMap<String, usize> = Default::default();
    for h in &all[0] {
        *per.entry(e.detectors()[usize::from(h.0)].id.clone())
            .or_default() += 1;
    }
    assert!(all[0].len() >= 850, "{per:?}");
    for other in &all[1..] {
        assert_eq!(&all[0], other);
    }
}

#[test]
fn decoys_stay_silent_at_the_default_threshold() {
    let opts = EngineOptions {
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1),
        ..EngineOptions::default()
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    let e = Arc::new(Engine::load_dir(&dir, &opts).expect("engine"));
    let decoys = [
        "ts=2026-11-22 10:12:34.123 epoch=1763000000123 t=20261122101234",
        "guid 3f2504e0-4f89-11d3-9a0c-0305e82c3301 GUID 3F2504E0-4F89-11D3-9A0C-0305E82C3301",
        "order E2026112200001234 order_no=G2026112201 sku=E12345678",
        "tracking SF1234567890123 YT1234567890123 JD0012345678901",
        "uscc 91110000600037341L 911100007109340071 91350100M000100Y43",
        "imei 354178036859788 imei 35-417803-685978-1",
        "seg 15400138000 19400138000 tel 026-62345678 010-1234567",
        "hex deadbeefE12345678cafe C12345678x H1234567801x",
        "price 13800138000.55 ver 1.0755.2345678",
        "ref E12345678 ref C12345678 ref H12345678 ref DE1234567",
        "card 4111111111111112 id 110105194912310021",
    ];
    for d in decoys {
        let hits = scan_buf(&e, d.as_bytes());
        let named: Vec<&str> = hits
            .iter()
            .map(|h| e.detectors()[usize::from(h.0)].id.as_str())
            .collect();
        assert!(hits.is_empty(), "decoy {d:?} fired: {named:?}");
    }
}

/// Found by the `detect_scan` fuzz target: the field value of `MM:` (a
/// password key) lies after markup, past the value of the later `MM:`
/// (`:::`); the first was deferred (another family undecided before it),
/// which moved the field frontier back to its separator, and the second,
/// already reported, was found and reported again by the next call. Any
/// split, and one stream call, must equal the whole buffer.
#[test]
fn a_deferred_field_value_defers_the_later_separators_too() {
    let data = b"MM:<a\rMM::::\"m\x00\r\x0e,<-\x00>>@:<MM<ariRR1\rMMariR1\rM[{::::::::\"m\x00\r\x0e,<-\x00>>@`MM:<ar\x00\x00\x00\x00\rM[{::::::::\"m\x00\r\x0e,<-\x00>>@`MM:<ar\x00\x00\x00\x00\x00\x00\x00riR1\rMM:<ariR1";
    for backend in backends() {
        let e = engine(backend);
        let whole = scan_buf(&e, data);
        assert_eq!(whole.iter().filter(|h| h.2 == 9).count(), 1, "{whole:?}");
        for cut in 0..=data.len() {
            assert_eq!(scan_pieces(&e, data, &[cut]), whole, "cut at {cut}");
        }
    }
}

/// A `<select>`'s selected option is its field's value, however far after
/// the select's name it lies; closed selects and unnamed ones give none;
/// any split, and one stream call, equals the whole buffer.
#[test]
fn selected_options_are_their_selects_values_at_any_split() {
    let ethnic: String = [
        "汉族",
        "壮族",
        "满族",
        "回族",
        "苗族",
        "维吾尔族",
        "土家族",
        "彝族",
    ]
    .iter()
    .enumerate()
    .map(|(i, n)| format!("    <option value=\"{:02}\">{n}</option>\n", i + 1))
    .collect::<String>()
    .repeat(6);
    let page = format!(
        "<form>\n<select name=\"nation\" class=\"form-control\" id=\"nation\">\n\
         {ethnic}    <option value=\"42\" selected=\"selected\">蒙古族</option>\n</select>\n\
         <select name=\"user[zzmm]\">\n<option value=\"01\">中共党员</option>\n\
         <option selected value=\"13\">群众</option>\n</select>\n\
         <select name=\"religion\"><option>无</option><option selected>佛教</option></select>\n\
         <select id=\"city\">\n<option value=\"1\" selected>回族</option>\n</select>\n\
         <select name=\"grade\"><option value=\"3\" selected>伊斯兰教</option></select>\n\
         <option value=\"9\" selected>佛教</option>\n</form>\n"
    );
    attr_values_at_any_split(page.as_bytes(), &["蒙古族", "群众", "佛教"], 13);
}

/// A label names the `<select>` right after it, whatever the select's own
/// name (`<label>民族：</label><select name="f12">`): with or without a
/// colon, in a `label`, `th` or `td` cell, even with no name or id at all.
/// A select whose name is a field keeps its own field; text that is no
/// label layout, or a label before another control, names nothing; any
/// split equals the whole buffer.
#[test]
fn labels_name_the_selects_after_them_at_any_split() {
    let many: String = (1..=30)
        .map(|i| format!("<option value=\"{i:02}\">选项{i}</option>"))
        .collect();
    let page = format!(
        "<form class=\"form-horizontal\">\n\
         <div class=\"form-group\"><label class=\"col-sm-2 control-label\">民族：</label>\n\
         <div class=\"col-sm-4\"><select name=\"field_12\" class=\"form-control select2\">\n\
         {many}<option value=\"97\" selected=\"selected\">蒙古族</option></select></div></div>\n\
         <table><tr><th>政治面貌</th><td><select class=\"f\"><option>中共党员</option>\
         <option selected>群众</option></select></td></tr>\n\
         <tr><td>宗教信仰</td><td><select id=\"s3\"><option value=\"1\" selected>佛教</option>\
         </select></td></tr></table>\n\
         <label>民族</label><select name=\"religion\"><option selected>道教</option></select>\n\
         <p>民族 <select name=\"f9\"><option selected>回族</option></select></p>\n\
         <label>民族：</label><input name=\"f10\" value=\"x\"><select name=\"f11\">\
         <option selected>壮族</option></select>\n\
         <label>备注：</label><select name=\"f13\"><option selected>满族</option></select>\n</form>\n"
    );
    attr_values_at_any_split(page.as_bytes(), &["蒙古族", "群众", "佛教", "道教"], 11);
}

/// A label whose wrappers close before the select or value element opens
/// (`<div><label>民族</label></div><div><select name="field_21">`), also
/// indented past a text value's markup bound, names it; a grid of labels
/// and a span that is no label do not; any split equals the whole buffer.
#[test]
fn wrapped_labels_name_what_follows_at_any_split() {
    let page = "<form>\n<div class=\"form-group\">\n  <div class=\"col-md-2\"><label>民族</label></div>\n  \
        <div class=\"col-md-4\">\n    <select name=\"field_21\" class=\"form-control\">\
        <option value=\"01\">汉族</option><option value=\"05\" selected>维吾尔族</option></select>\n  \
        </div>\n</div>\n<div class=\"form-group\"><label class=\"col-sm-2 control-label\">宗教信仰</label>\n            \
        </div>\n            <div class=\"col-sm-10\">\n                <select name=\"field_22\" class=\"form-control\">\
        <option selected>佛教</option></select></div>\n\
        <div class=\"row\"><div class=\"col\"><label>政治面貌</label></div><div class=\"col\"><span>群众</span></div></div>\n\
        <div class=\"grid\"><div><label>民族</label></div><div><label>政治面貌</label></div></div>\n\
        <div><span>民族</span></div><div><select name=\"f30\"><option selected>回族</option></select></div>\n</form>\n";
    attr_values_at_any_split(page.as_bytes(), &["维吾尔族", "佛教", "群众"], 13);
}

/// Radio buttons and checkboxes offer choices: only a checked one's value
/// is the field's (`<input type="radio" name="zzmm" value="群众" checked>`),
/// whatever the attribute order (also after a long `class`, as Bootstrap
/// writes them), or its text when the value is a code;
/// any split equals the whole buffer.
#[test]
fn only_checked_radio_buttons_and_checkboxes_are_values_at_any_split() {
    let page = "<form><p>政治面貌：\n\
        <input type=\"radio\" name=\"zzmm\" value=\"中共党员\"> 中共党员\n\
        <input type=\"radio\" name=\"zzmm\" value=\"共青团员\"> 共青团员\n\
        <input type=\"radio\" name=\"zzmm\" value=\"群众\" checked> 群众</p>\n\
        <p>宗教信仰：<input type=\"checkbox\" value=\"佛教\" name=\"religion\">佛教\n\
        <input type=\"checkbox\" value=\"道教\" name=\"religion\" checked=\"checked\">道教</p>\n\
        <input name=\"mz\" value=\"回族\" type=\"radio\"><input name=\"mz\" value=\"汉族\" \
        class=\"form-check-input\" type=\"radio\">\n\
        <input type=\"text\" name=\"nation\" value=\"壮族\">\n\
        <label><input type=\"radio\" name=\"zjxy\" value=\"1\">佛教</label>\n\
        <label><input type=\"radio\" name=\"zjxy\" value=\"5\" checked>伊斯兰教</label>\n\
        <div class=\"form-check\"><input class=\"form-check-input\" type=\"radio\" name=\"mz\" \
        id=\"mz1\" value=\"苗族\"><label class=\"form-check-label\" for=\"mz1\">苗族</label></div>\n\
        <div class=\"form-check\"><input class=\"form-check-input\" type=\"radio\" name=\"mz\" \
        id=\"mz2\" value=\"瑶族\" checked><label class=\"form-check-label\" for=\"mz2\">瑶族</label></div></form>\n";
    attr_values_at_any_split(
        page.as_bytes(),
        &["群众", "道教", "壮族", "伊斯兰教", "瑶族"],
        9,
    );
}

/// The `sensitive_attr` values of `data` are `want` ([`values_at_any_split`]).
fn attr_values_at_any_split(data: &[u8], want: &[&str], piece: usize) {
    values_at_any_split(data, "sensitive_attr", want, piece);
}

/// The values of detector `det` in `data` are `want`, with every back-end,
/// and the matches are the same with one cut every 7 bytes and in pieces
/// of `piece` bytes.
fn values_at_any_split(data: &[u8], det: &str, want: &[&str], piece: usize) {
    for backend in backends() {
        let e = engine(backend);
        let attr = id_of(&e, det);
        let whole = scan_buf(&e, data);
        let values: Vec<&str> = whole
            .iter()
            .filter(|h| h.0 == attr)
            .map(|h| std::str::from_utf8(&h.1).unwrap())
            .collect();
        assert_eq!(values, want, "{whole:?}");
        for cut in (0..=data.len()).step_by(7) {
            assert_eq!(scan_pieces(&e, data, &[cut]), whole, "cut at {cut}");
        }
        let cuts: Vec<usize> = (0..data.len()).step_by(piece).collect();
        assert_eq!(
            scan_pieces(&e, data, &cuts),
            whole,
            "cut every {piece} bytes"
        );
    }
}

/// An `id` names the value of a tag without a `name` (a read-only detail
/// page: `<span id="realName">张伟</span>`); a tag with a `name` is
/// decided by its name alone; any split equals the whole buffer.
#[test]
fn ids_name_the_values_of_tags_without_a_name_at_any_split() {
    let page =
        "<div class=\"detail\">\n<p>姓名 <span class=\"v\" id=\"realName\">张伟</span></p>\n\
                <p><input type=\"text\" id=\"xm\" value=\"李娜\" readonly></p>\n\
                <textarea id=\"jtzz\" rows=\"2\">北京市海淀区中关村大街27号</textarea>\n\
                <span id=\"pageTitle\">王芳的主页</span>\n\
                <input name=\"keyword\" id=\"xm\" value=\"赵敏\">\n\
                <b id=\"xm\"><i>周杰</i></b>\n</div>\n";
    let data = page.as_bytes();
    for backend in backends() {
        let e = engine(backend);
        let (name, addr) = (id_of(&e, "cn_name"), id_of(&e, "cn_address"));
        let whole = scan_buf(&e, data);
        let got = |d| -> Vec<String> {
            whole
                .iter()
                .filter(|h| h.0 == d)
                .map(|h| String::from_utf8_lossy(&h.1).into_owned())
                .collect()
        };
        assert_eq!(got(name), ["张伟", "李娜"], "{whole:?}");
        assert_eq!(got(addr), ["北京市海淀区中关村大街27号"], "{whole:?}");
        assert!(whole.iter().all(|h| h.3 == Confidence::High), "{whole:?}");
        for cut in (0..=data.len()).step_by(5) {
            assert_eq!(scan_pieces(&e, data, &[cut]), whole, "cut at {cut}");
        }
    }
}

/// Spaces between a separator and its value are bounded
/// (`fields::SPACE_MAX`): a value a few spaces after `姓名:` is found, one
/// behind a long run of them is no value, and the result is the same at
/// every split (a long run once outgrew the carry, so a split there
/// changed it).
#[test]
fn spaces_before_a_value_are_bounded_at_any_split() {
    let near = format!("姓名:{}张伟\n", " ".repeat(6));
    let far = format!("姓名:{}王芳\n", " ".repeat(300));
    let json = format!("{{\"realName\":{}\"李娜\"}}\n", " ".repeat(250));
    let data = format!("{near}{far}{json}");
    let data = data.as_bytes();
    for backend in backends() {
        let e = engine(backend);
        let name = id_of(&e, "cn_name");
        let whole = scan_buf(&e, data);
        let names: Vec<&[u8]> = whole
            .iter()
            .filter(|h| h.0 == name)
            .map(|h| h.1.as_slice())
            .collect();
        assert_eq!(names, ["张伟".as_bytes()], "{whole:?}");
        for cut in 0..=data.len() {
            assert_eq!(scan_pieces(&e, data, &[cut]), whole, "cut at {cut}");
        }
        let cuts: Vec<usize> = (0..data.len()).step_by(11).collect();
        assert_eq!(scan_pieces(&e, data, &cuts), whole, "cut every 11");
    }
}

/// Bootstrap's read-only form (`form-control-static`) indents the value's
/// element well past 48 bytes of markup after its label; such a value is
/// found (names, attributes, with and without a colon), text behind more
/// than 128 bytes of markup is not, and a grid of labels stays silent; any
/// split equals the whole buffer.
#[test]
fn indented_static_values_after_labels_at_any_split() {
    let group = |label: &str, value: &str| {
        format!(
            "<div class=\"form-group\">\n    <label class=\"col-sm-2 control-label\">{label}</label>\n    \
             <div class=\"col-sm-10\">\n        <p class=\"form-control-static\">{value}</p>\n    </div>\n</div>\n"
        )
    };
    let far = format!(
        "<div><label>姓名</label></div>{}<div><p>李娜</p></div>\n",
        "\n".repeat(120)
    );
    let page = format!(
        "<form class=\"form-horizontal\">\n{}{}{}{}{far}\
         <div class=\"row\">\n    <div class=\"col-2\"><label>民族</label></div>\n    \
         <div class=\"col-2\"><label>宗教信仰</label></div>\n</div>\n</form>\n",
        group("姓名", "张伟"),
        group("民族：", "回族"),
        group("政治面貌", "群众"),
        group("联系电话", "请输入"),
    );
    values_at_any_split(page.as_bytes(), "cn_name", &["张伟"], 13);
    attr_values_at_any_split(page.as_bytes(), &["回族", "群众"], 17);
}

/// Vue component libraries write description lists as pairs of spans or
/// divs whose classes say which is the label (Element:
/// `el-descriptions-item__label has-colon`, its colon drawn by CSS; Ant
/// Design: `ant-descriptions-item-label ant-descriptions-item-colon`, the
/// class too long for the look-behind but for its colon token): the text
/// after such a label is its value, also in custom elements (uni-app's
/// `<uni-view>`, and `<uni-text>`, whose text is in a bare `<span>`). A row of class-named labels, a label
/// before another one and a class that only contains the word stay
/// silent; any split equals the whole buffer.
#[test]
fn class_named_labels_name_what_follows_at_any_split() {
    let page = "<div class=\"el-descriptions\"><table><tbody><tr class=\"el-descriptions-row\">\
        <td colspan=\"1\" class=\"el-descriptions-item el-descriptions-item__cell\">\
        <div class=\"el-descriptions-item__container\">\
        <span class=\"el-descriptions-item__label has-colon\">姓名</span>\
        <span class=\"el-descriptions-item__content\">张伟</span></div></td>\
        <td colspan=\"1\" class=\"el-descriptions-item el-descriptions-item__cell\">\
        <div class=\"el-descriptions-item__container\">\
        <span class=\"el-descriptions-item__label has-colon\">民族</span>\
        <span class=\"el-descriptions-item__content\">回族</span></div></td></tr></tbody></table></div>\n\
        <div class=\"ant-descriptions-view\"><div class=\"ant-descriptions-item-container\">\
        <span class=\"ant-descriptions-item-label ant-descriptions-item-colon\">联系人</span>\
        <span class=\"ant-descriptions-item-content\">李娜</span></div></div>\n\
        <div class=\"info-label\">宗教信仰</div><div class=\"info-value\">佛教</div>\n\
        <uni-view class=\"row\"><uni-view class=\"label\">姓名</uni-view>\
        <uni-view class=\"value\">赵敏</uni-view></uni-view>\n\
        <uni-view class=\"row\"><uni-text class=\"label\"><span>民族</span></uni-text>\
        <uni-text class=\"value\"><span>壮族</span></uni-text></uni-view>\n\
        <div class=\"head\"><span class=\"col-label\">姓名</span><span class=\"col-label\">单位</span></div>\n\
        <div><span class=\"x-label\">民族</span><span class=\"x-label\">备注</span><span>汉族</span></div>\n\
        <p><span class=\"labels\">姓名</span><span>王芳</span>\
        <span title=\"label\">民族</span><span>满族</span></p>\n";
    values_at_any_split(page.as_bytes(), "cn_name", &["张伟", "李娜", "赵敏"], 13);
    attr_values_at_any_split(page.as_bytes(), &["回族", "佛教", "壮族"], 11);
}
