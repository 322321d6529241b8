//! Labelled corpus: realistic JSON / form / XML / log / e-mail text with
//! synthetic PI of every type and hard decoys, in plain UTF-8, GBK,
//! percent-encoded, full-width, JSON-escaped, HTML-entity, base64 and
//! UTF-16LE variants, scanned through the normalisation chain in random
//! chunks. Asserts per-type recall and precision and prints the table the
//! README reports (`cargo test --test norm_corpus -- --nocapture`).
//!
//! Adding a PI type is one generator function plus one line in [`TYPES`].

#![allow(clippy::explicit_auto_deref)] // `*r.pick(..)` picks a `&str` out of `&[&str]`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use leakwatch::detect::normalize::{Chain, NormalizeConfig, Normalizer};
use leakwatch::detect::{Engine, EngineOptions};

mod corpus_gen;
use corpus_gen::{feed_chunked, name, variant, Found, Rng, Sink, VARIANTS};

/// One labelled value: the field name it sits under, its text and its
/// normalised value (what the detector reports).
struct Sample {
    key: &'static str,
    text: String,
    norm: String,
}

type Gen = fn(&mut Rng) -> Sample;

/// Every PI type of this branch and its generator.
const TYPES: &[(&str, Gen)] = &[
    ("cn_resident_id", gen_id),
    ("cn_mobile", gen_mobile),
    ("bank_card", gen_card),
    ("email", gen_email),
    ("cn_name", gen_name),
    ("cn_address", gen_address),
    ("credential", gen_credential),
    ("sensitive_attr", gen_sensitive),
];

fn id_check(first: &str) -> char {
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = first
        .bytes()
        .zip(w)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    char::from(b"10X98765432"[(s % 11) as usize])
}

fn id_body(r: &mut Rng) -> String {
    let region = r.pick(&["110105", "440305", "320102", "510107", "330106", "210102"]);
    format!(
        "{region}{}{:02}{:02}{}",
        1950 + r.below(60),
        1 + r.below(12),
        1 + r.below(28),
        r.digits(3)
    )
}

fn gen_id(r: &mut Rng) -> Sample {
    let first = id_body(r);
    let id = format!("{first}{}", id_check(&first));
    Sample {
        key: *r.pick(&["idCard", "sfzh", "身份证号", "cert_no"]),
        text: id.clone(),
        norm: id,
    }
}

fn gen_mobile(r: &mut Rng) -> Sample {
    let pre = r.pick(&["138", "139", "186", "150", "177", "199", "135", "158"]);
    let m = format!("{pre}{}", r.digits(8));
    let text = match r.below(3) {
        0 => m.clone(),
        1 => format!("+86 {} {} {}", &m[..3], &m[3..7], &m[7..]),
        _ => format!("{}-{}-{}", &m[..3], &m[3..7], &m[7..]),
    };
    Sample {
        key: *r.pick(&["mobile", "phone", "手机", "tel"]),
        text,
        norm: m,
    }
}

fn luhn_complete(payload: &str) -> String {
    for d in 0..10 {
        let v = format!("{payload}{d}");
        let sum: u32 = v
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let x = u32::from(b - b'0');
                if i % 2 == 1 {
                    if x * 2 > 9 {
                        x * 2 - 9
                    } else {
                        x * 2
                    }
                } else {
                    x
                }
            })
            .sum();
        if sum.is_multiple_of(10) {
            return v;
        }
    }
    unreachable!()
}

fn gen_card(r: &mut Rng) -> Sample {
    let iin = r.pick(&["621700", "622202", "622848", "625807", "436742", "622588"]);
    let c = luhn_complete(&format!("{iin}{}", r.digits(12)));
    let text = if r.below(2) == 0 {
        c.clone()
    } else {
        c.as_bytes()
            .chunks(4)
            .map(|x| String::from_utf8_lossy(x).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    Sample {
        key: *r.pick(&["cardNo", "银行卡号", "bank_account"]),
        text,
        norm: c,
    }
}

fn gen_email(r: &mut Rng) -> Sample {
    let user = format!(
        "{}{}",
        r.pick(&["zhang.wei", "li_na", "wangfang", "chen"]),
        r.below(1000)
    );
    let dom = r.pick(&["example.com", "example.cn", "mail.example.org"]);
    let e = format!("{user}@{dom}");
    Sample {
        key: *r.pick(&["email", "邮箱", "mail"]),
        text: e.clone(),
        norm: e,
    }
}

fn gen_name(r: &mut Rng) -> Sample {
    let n = name(r);
    Sample {
        key: *r.pick(&["name", "realName", "姓名", "xm", "收件人", "contact_name"]),
        text: n.clone(),
        norm: n,
    }
}

fn gen_address(r: &mut Rng) -> Sample {
    let (p, c, d) = *r.pick(&[
        ("北京市", "", "朝阳区"),
        ("上海市", "", "浦东新区"),
        ("广东省", "深圳市", "南山区"),
        ("浙江省", "杭州市", "西湖区"),
        ("四川省", "成都市", "武侯区"),
        ("江苏省", "南京市", "鼓楼区"),
    ]);
    let road = r.pick(&["建国路", "人民路", "中山路", "科技园路", "文三路", "解放街"]);
    let tail = match r.below(3) {
        0 => format!("{}号", 1 + r.below(300)),
        1 => format!(
            "{}号{}栋{}室",
            1 + r.below(99),
            1 + r.below(20),
            101 + r.below(900)
        ),
        _ => format!("{}号{}单元", 1 + r.below(99), 1 + r.below(6)),
    };
    let a = format!("{p}{c}{d}{road}{tail}");
    Sample {
        key: *r.pick(&["address", "addr", "地址", "收货地址", "homeAddress"]),
        text: a.clone(),
        norm: a,
    }
}

fn gen_credential(r: &mut Rng) -> Sample {
    let pw = format!(
        "{}{}{}",
        r.pick(&["Qw", "Zx", "Pa", "Mm"]),
        r.digits(4),
        r.pick(&["!x", "#a", "Yt", "k9"])
    );
    Sample {
        key: *r.pick(&["password", "pwd", "passwd", "密码", "newPassword"]),
        text: pw.clone(),
        norm: pw,
    }
}

fn gen_sensitive(r: &mut Rng) -> Sample {
    let (key, v) = *r.pick(&[
        ("民族", "汉族"),
        ("nation", "回族"),
        ("ethnicity", "维吾尔族"),
        ("宗教信仰", "佛教"),
        ("religion", "伊斯兰教"),
        ("政治面貌", "中共党员"),
        ("zzmm", "共青团员"),
        ("diagnosis", "2型糖尿病"),
        ("诊断", "高血压"),
    ]);
    Sample {
        key,
        text: v.to_string(),
        norm: v.to_string(),
    }
}

/// Hard decoys: values that must not be reported.
fn decoys(r: &mut Rng) -> Vec<(&'static str, String)> {
    let bad_id = {
        let first = id_body(r);
        let good = id_check(&first);
        let bad = if good == '0' { '1' } else { '0' };
        format!("{first}{bad}")
    };
    let bad_card = {
        let c = luhn_complete(&format!("436742{}", r.digits(12)));
        let last = (c.as_bytes()[18] - b'0' + 1) % 10;
        format!("{}{}", &c[..18], last)
    };
    vec![
        ("orderNo", format!("2026{}", r.digits(16))),
        ("ts", format!("17638{}", r.digits(8))),
        ("tracking", format!("SF{}", r.digits(12))),
        ("uscc", format!("91110105MA0{}", r.digits(7))),
        ("ref", bad_id),
        ("acct", bad_card),
        (
            "guid",
            format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                r.next() as u32,
                r.below(65536),
                r.below(4096),
                r.below(4096),
                r.next() & 0xFFFF_FFFF_FFFF
            ),
        ),
        ("callId", format!("12{}", r.digits(9))),
        (
            "note",
            r.pick(&["王府井大街店", "张家界旅游", "李宁运动鞋", "周末促销"])
                .to_string(),
        ),
        ("user", r.pick(&["admin", "test_user", "guest"]).to_string()),
    ]
}

/// The layout of [`render`] that reads as a header row of `td` cells: a
/// password or a health note in it is not read (a header row has the
/// same shape; see the README's HTML labels).
const FOUR_COLUMN_TABLE: u64 = 6;

/// Whether the sample's value is meant to be read in `layout`.
fn read_in(layout: u64, ty: &str, s: &Sample) -> bool {
    let free_text = ty == "credential" || ["diagnosis", "诊断"].contains(&s.key);
    !(layout == FOUR_COLUMN_TABLE && free_text)
}

/// Renders a record with the sample among decoys in one of seven
/// layouts; also the layout.
fn render(r: &mut Rng, s: &Sample) -> (String, u64) {
    let mut kv = decoys(r);
    let at = r.below(kv.len() as u64 + 1) as usize;
    kv.insert(at, (s.key, s.text.clone()));
    let layout = r.below(7);
    let text = match layout {
        0 => {
            let body: Vec<String> = kv
                .iter()
                .map(|(k, v)| format!("\"{k}\": \"{v}\""))
                .collect();
            format!("{{{}}}", body.join(", "))
        }
        1 => kv
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&"),
        2 => {
            let body: String = kv.iter().map(|(k, v)| format!("<{k}>{v}</{k}>")).collect();
            format!("<record>{body}</record>")
        }
        3 => {
            let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("2026-11-22 10:00:01 INFO api.update {}", body.join("; "))
        }
        4 => {
            let body: String = kv.iter().map(|(k, v)| format!("{k}：{v}\r\n")).collect();
            format!("Subject: 订单通知\r\n\r\n您好，\r\n{body}谢谢\r\n")
        }
        5 => {
            // An edit form: Django order, Rails order with a bracketed
            // name, a read-only value named by its id or by the label
            // before it (Bootstrap's `form-control-static`, Element's
            // description list), a select whose
            // unselected options hold a valid ethnic group (and surname)
            // as a decoy, named by its name or, with a form builder's
            // name, by the label before it (with a colon, or in a column
            // of its own); unchecked radio buttons.
            let options = |v: &str| {
                format!(
                    "\n  <option value=\"\">请选择</option>\n  <option value=\"1\">满族</option>\n  \
                     <option value=\"2\" selected=\"selected\">{v}</option>\n</select>"
                )
            };
            let body: String = kv
                .iter()
                .enumerate()
                .map(|(i, (k, v))| match i % 8 {
                    0 => format!("<p><input type=\"text\" name=\"{k}\" value=\"{v}\"></p>\n"),
                    // Element's description list: the classes say which
                    // span is the label.
                    4 => format!(
                        "<div class=\"el-descriptions-item__container\">\
                         <span class=\"el-descriptions-item__label has-colon\">{k}</span>\
                         <span class=\"el-descriptions-item__content\">{v}</span></div>\n"
                    ),
                    1 | 5 => format!("<input type=\"text\" value=\"{v}\" name=\"user[{k}]\" />\n"),
                    2 => format!("<p><span class=\"value\" id=\"{k}\">{v}</span></p>\n"),
                    // Bootstrap's read-only group: the value indented ~75
                    // bytes of markup after its label.
                    6 => format!(
                        "<div class=\"form-group\">\n    <label class=\"col-sm-2 control-label\">{k}\
                         </label>\n    <div class=\"col-sm-10\">\n      \
                         <p class=\"form-control-static\">{v}</p>\n    </div>\n</div>\n"
                    ),
                    3 => format!(
                        "<select class=\"form-control\" name=\"{k}\">{}\n",
                        options(v)
                    ),
                    _ if v.len() % 2 == 0 => format!(
                        "<div class=\"form-group\"><label class=\"control-label\">{k}：</label>\n\
                         <div class=\"col-sm-4\"><select class=\"form-control\" name=\"field_{i}\">{}\
                         </div></div>\n",
                        options(v)
                    ),
                    // The label in its own column, indented.
                    _ => format!(
                        "<div class=\"form-group\">\n    <div class=\"col-sm-2\"><label>{k}</label>\
                         </div>\n    <div class=\"col-sm-4\">\n        \
                         <select class=\"form-control\" name=\"field_{i}\">{}\n    </div>\n</div>\n",
                        options(v)
                    ),
                })
                .collect();
            // Unchecked radio buttons offer valid groups: no values.
            let radios = "<p><input type=\"radio\" name=\"mz\" value=\"满族\"> 满族\n\
                 <input name=\"mz\" value=\"赫哲族\" type=\"radio\"> 赫哲族</p>\n\
                 <div class=\"form-check\"><input class=\"form-check-input\" type=\"radio\" \
                 name=\"mz\" id=\"mz3\" value=\"鄂伦春族\"><label for=\"mz3\">鄂伦春族</label></div>\n";
            format!("<form method=\"post\">\n{radios}{body}</form>")
        }
        _ => {
            // A profile table of four columns (label, value, label,
            // value) under a header row of td cells naming the fields.
            let header: String = kv.iter().map(|(k, _)| format!("<td>{k}</td>")).collect();
            let rows: String = kv
                .chunks(2)
                .map(|pair| {
                    let cells: String = pair
                        .iter()
                        .map(|(k, v)| format!("\n    <td class=\"k\">{k}</td><td>{v}</td>"))
                        .collect();
                    format!("  <tr>{cells}\n  </tr>\n")
                })
                .collect();
            format!("<table>\n  <tr>{header}</tr>\n{rows}</table>")
        }
    };
    (text, layout)
}

#[derive(Default, Debug, Clone, Copy)]
struct Score {
    records: u64,
    recalled: u64,
    /// The records in layouts meant to be read, and those recalled.
    readable: u64,
    read: u64,
    reported: u64,
    correct: u64,
}

#[test]
fn corpus_recall_and_precision() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    let opts = EngineOptions {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 22),
        ..EngineOptions::default()
    };
    let engine = Arc::new(Engine::load_dir(&dir, &opts).expect("signatures"));
    let mut scanner = engine.scanner();
    let mut norm = Normalizer::new(&NormalizeConfig::default());
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let per = 40;
    let mut score: BTreeMap<String, Score> = BTreeMap::new();
    let mut by_variant: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (ty, gen) in TYPES {
        for v in VARIANTS {
            for _ in 0..per {
                let s = gen(&mut rng);
                let (rec, layout) = render(&mut rng, &s);
                let bytes = variant(v, &rec);
                let mut found = Found::default();
                let mut sink = Sink {
                    engine: &engine,
                    found: &mut found,
                };
                // The cuts draw from their own generator, so that the
                // samples and layouts do not depend on record lengths.
                let mut cuts = Rng(rng.next());
                feed_chunked(&mut norm, &mut scanner, &mut sink, &mut cuts, &bytes, 64);
                let sc = score.entry((*ty).to_string()).or_default();
                sc.records += 1;
                let hit = found
                    .0
                    .iter()
                    .any(|(t, val, _)| t == ty && val == s.norm.as_bytes());
                if read_in(layout, ty, &s) {
                    sc.readable += 1;
                    sc.read += u64::from(hit);
                }
                if hit {
                    sc.recalled += 1;
                } else if std::env::var("CORPUS_DEBUG").is_ok() {
                    eprintln!("miss {ty}/{v}: {}", s.text);
                }
                let bv = by_variant.entry(v).or_default();
                bv.0 += 1;
                bv.1 += u64::from(hit);
                for (t, val, _) in &found.0 {
                    let e = score.entry(t.clone()).or_default();
                    e.reported += 1;
                    if t == ty && val == s.norm.as_bytes() {
                        e.correct += 1;
                    } else {
                        eprintln!(
                            "false positive {t} in {ty}/{v} {}",
                            if std::env::var("CORPUS_DEBUG").is_ok() {
                                String::from_utf8_lossy(val).into_owned()
                            } else {
                                String::new()
                            }
                        );
                    }
                }
            }
        }
    }
    println!("| type | records | recall | recall where read | precision |");
    println!("|---|---|---|---|---|");
    for (t, s) in &score {
        let recall = s.recalled as f64 / s.records.max(1) as f64;
        let read = s.read as f64 / s.readable.max(1) as f64;
        let precision = s.correct as f64 / s.reported.max(1) as f64;
        println!(
            "| `{t}` | {} | {recall:.3} | {read:.3} | {precision:.3} |",
            s.records
        );
    }
    println!("| variant | recall |");
    for (v, (n, h)) in &by_variant {
        println!("| {v} | {:.3} |", *h as f64 / (*n).max(1) as f64);
    }
    for (t, s) in &score {
        // A free-text value in the four-column table is not read by
        // design: the floor applies to the layouts meant to be read.
        let recall = s.read as f64 / s.readable.max(1) as f64;
        let precision = s.correct as f64 / s.reported.max(1) as f64;
        let (r_min, p_min) = match t.as_str() {
            "cn_resident_id" | "bank_card" | "cn_mobile" | "email" => (0.99, 0.99),
            _ => (0.90, 0.95),
        };
        assert!(recall >= r_min, "{t}: recall {recall:.3} < {r_min}");
        assert!(
            precision >= p_min,
            "{t}: precision {precision:.3} < {p_min}"
        );
    }
}

/// (detector, value) of every match over `pieces` fed as one item.
fn scan_pieces(engine: &Arc<Engine>, pieces: &[&[u8]]) -> Vec<(String, Vec<u8>)> {
    let mut scanner = engine.scanner();
    let mut norm = Normalizer::new(&NormalizeConfig::default());
    let mut found = Found::default();
    let mut sink = Sink {
        engine,
        found: &mut found,
    };
    for p in pieces {
        norm.push(&mut scanner, "tcp.stream", Chain::EMPTY, p, &mut sink);
    }
    norm.finish(&mut scanner, &mut sink);
    let mut v: Vec<(String, Vec<u8>)> = found.0.into_iter().map(|(t, v, _)| (t, v)).collect();
    v.sort();
    v
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Chunked input decodes and matches the same as the whole input.
    #[test]
    fn chunked_equals_whole(seed in 0u64..u64::MAX, ty in 0usize..8, var in 0usize..8,
                            cuts in proptest::collection::vec(0usize..2000, 0..8)) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
        let opts = EngineOptions {
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 22),
            ..EngineOptions::default()
        };
        let engine = Arc::new(Engine::load_dir(&dir, &opts).expect("signatures"));
        let mut rng = Rng(seed | 1);
        let s = (TYPES[ty].1)(&mut rng);
        let (rec, _) = render(&mut rng, &s);
        let bytes = variant(VARIANTS[var], &rec);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        let mut pieces: Vec<&[u8]> = Vec::new();
        let mut at = 0;
        for c in cuts {
            pieces.push(&bytes[at..c]);
            at = c;
        }
        pieces.push(&bytes[at..]);
        proptest::prop_assert_eq!(scan_pieces(&engine, &pieces), scan_pieces(&engine, &[&bytes]));
    }
}

/// A decoding step is named in `where` only once it decoded a character
/// that can be part of PI: the markup and layout escapes of real text
/// (`&amp;`, `&nbsp;`, `%20`, `\u003c`, `，`, U+3000) name nothing.
#[test]
fn where_names_only_steps_that_decoded_pi_characters() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    let engine = Arc::new(Engine::load_dir(&dir, &EngineOptions::default()).expect("signatures"));
    let mut scanner = engine.scanner();
    let mut norm = Normalizer::new(&NormalizeConfig::default());
    let mobile = "13800138000";
    for (text, want) in [
        ("a &amp; b&nbsp;c &lt;p&gt; 手机 13800138000", "tcp.stream"),
        ("see /a%20b%2Fc?x=1 手机 13800138000", "tcp.stream"),
        (
            r#"{"h":"\u003cb\u003e","n":"\/x","tel":"13800138000"}"#,
            "tcp.stream",
        ),
        ("备注：已联系，（加急）　手机 13800138000", "tcp.stream"),
        ("手机 &#49;3800138000", "tcp.stream|html"),
        ("tel=%31%33800138000", "tcp.stream|urlencoded"),
        (r#"{"tel":"\u0031\u00338001380\u00300"}"#, "tcp.stream|json"),
        ("手机 １３８００１３８０００", "tcp.stream|fullwidth"),
    ] {
        let mut found = Found::default();
        let mut sink = Sink {
            engine: &engine,
            found: &mut found,
        };
        norm.push(
            &mut scanner,
            "tcp.stream",
            Chain::EMPTY,
            text.as_bytes(),
            &mut sink,
        );
        norm.finish(&mut scanner, &mut sink);
        let hits: Vec<&str> = found
            .0
            .iter()
            .filter(|(t, v, _)| t == "cn_mobile" && v == mobile.as_bytes())
            .map(|(_, _, w)| *w)
            .collect();
        assert_eq!(hits, vec![want], "{text}");
    }
}
