//! Column mapping end to end: `leakwatch scan` over a generated CSV export
//! (header thousands of bytes above most rows) and an HTML table, and the
//! HTTP capture `pcaps/records_http.pcap` (a gzip'd CSV upload whose
//! 姓名/手机/住址 columns are named). HTML labels (key/value layouts):
//! the capture `pcaps/html_labels.pcap` against its ground truth.

mod common;

use common::*;
use serde_json::Value;

const SURNAMES: [&str; 20] = [
    "张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];
const GIVEN: [&str; 20] = [
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "霞",
    "平", "刚", "桂英", "丹", "鹏",
];

/// A resident ID with a valid check character (synthetic).
fn id18(n: u32) -> String {
    craft::resident_id(&format!(
        "110105{}{:02}{:02}{:03}",
        1960 + n % 40,
        n % 12 + 1,
        n % 28 + 1,
        n % 1000
    ))
}

/// (detector, confidence, count) of each finding.
fn findings(ev: &Value) -> Vec<(String, String, u64)> {
    ev["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["detector"].as_str().unwrap_or_default().to_string(),
                f["confidence"].as_str().unwrap_or_default().to_string(),
                f["count"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// Distinct values of detector `d` at confidence `c`.
fn count(ev: &Value, d: &str, c: &str) -> u64 {
    findings(ev)
        .iter()
        .filter(|f| f.0 == d && f.1 == c)
        .map(|f| f.2)
        .sum()
}

#[test]
fn csv_export_columns() {
    const ROWS: u32 = 400;
    let mut csv = String::from("序号,姓名,身份证号,手机,住址,备注\r\n");
    for i in 0..ROWS {
        let name = format!(
            "{}{}",
            SURNAMES[(i % 20) as usize],
            GIVEN[(i / 20 % 20) as usize]
        );
        // Decoys in the note column: a name and a partial address that
        // would pass their checks in a name or address column.
        let note = match i % 3 {
            0 => "钱多多".to_string(),
            1 => format!("海淀区中关村大街{}号", i + 1),
            _ => "客户要求周末送货上门，联系前请先发短信确认".to_string(),
        };
        csv.push_str(&format!(
            "{i},{name},{},138{:08},北京市朝阳区建国路{}号,{note}\r\n",
            id18(i),
            10_000_000 + i * 7919,
            i + 1
        ));
    }
    assert!(csv.len() > 30_000);
    let ev = scan_stdin(csv.as_bytes());
    let all = findings(&ev);
    // Every name of the 姓名 column, none of the note column.
    assert_eq!(count(&ev, "cn_name", "high"), u64::from(ROWS), "{all:?}");
    // Every address of the 住址 column, once (the free-text detector's
    // match of the same span is shadowed), none of the note column.
    assert_eq!(count(&ev, "cn_address", "high"), u64::from(ROWS), "{all:?}");
    assert_eq!(count(&ev, "cn_address.text", "medium"), 0, "{all:?}");
    // IDs and mobiles at high confidence though their header is far away.
    assert_eq!(
        count(&ev, "cn_resident_id.18", "high"),
        u64::from(ROWS),
        "{all:?}"
    );
    assert_eq!(count(&ev, "cn_mobile", "high"), u64::from(ROWS), "{all:?}");
    assert!(all.iter().all(|f| f.1 == "high"), "nothing medium: {all:?}");
    assert_eq!(ev["records"], ROWS, "{ev}");
}

#[test]
fn csv_without_named_columns_finds_no_names() {
    // The same rows under headers that name nothing: no name is guessed,
    // and IDs stay medium.
    let mut csv = String::from("a,b,c,d\n");
    for i in 0..50u32 {
        csv.push_str(&format!(
            "{i},{}{},{},北京市朝阳区建国路{}号\n",
            SURNAMES[(i % 20) as usize],
            GIVEN[(i / 20) as usize],
            id18(i),
            i + 1
        ));
    }
    let ev = scan_stdin(csv.as_bytes());
    let all = findings(&ev);
    assert!(!all.iter().any(|f| f.0 == "cn_name"), "{all:?}");
    assert_eq!(count(&ev, "cn_resident_id.18", "medium"), 50, "{all:?}");
    // The free-text address detector still finds full addresses.
    assert_eq!(count(&ev, "cn_address.text", "medium"), 50, "{all:?}");
}

#[test]
fn html_table_columns() {
    let ethnic = ["汉族", "回族", "满族", "壮族", "蒙古族"];
    let mut html = String::from(
        "<!DOCTYPE html><html><head><title>名单</title></head><body>\n<p>王芳 负责</p>\n\
         <table border=\"1\">\n<thead><tr><th>序号</th><th>姓名</th><th class=\"c\">民族</th>\
         <th>身份证号</th><th>备注</th></tr></thead>\n<tbody>\n",
    );
    for i in 0..60u32 {
        html.push_str(&format!(
            "<tr><td>{i}</td><td><span>{}{}</span></td><td>{}</td><td>{}</td><td>钱多多 满族</td></tr>\n",
            SURNAMES[(i % 20) as usize],
            GIVEN[(i / 20) as usize],
            ethnic[(i % 5) as usize],
            id18(i)
        ));
    }
    html.push_str("</tbody></table></body></html>\n");
    let ev = scan_stdin(html.as_bytes());
    let all = findings(&ev);
    assert_eq!(count(&ev, "cn_name", "high"), 60, "{all:?}");
    assert_eq!(count(&ev, "sensitive_attr", "high"), 5, "{all:?}");
    assert_eq!(count(&ev, "cn_resident_id.18", "high"), 60, "{all:?}");
    assert_eq!(ev["records"], 60, "{ev}");
}

#[test]
fn http_csv_upload_columns() {
    // records_http.pcap: 600 rows `订单号,姓名,手机,住址,金额` of 45
    // customers (36 distinct names). Column mapping adds the names,
    // raises the mobiles (手机) and reports the plain addresses through the
    // 住址 column at high confidence; the quoted two-line addresses
    // (`"addr,\nN单元"`) fail the address check as cells and stay with the
    // free-text detector.
    let events = parse(&replay(&[pcap("records_http.pcap")], 1));
    let ev = events
        .iter()
        .find(|e| e["event_type"] == "dlp" && e["direction"] == "to_server")
        .expect("csv upload event");
    let all = findings(ev);
    assert_eq!(count(ev, "cn_name", "high"), 36, "{all:?}");
    assert_eq!(count(ev, "cn_mobile", "high"), 45, "{all:?}");
    assert_eq!(
        count(ev, "cn_address", "high") + count(ev, "cn_address.text", "medium"),
        45,
        "{all:?}"
    );
    assert!(count(ev, "cn_address", "high") >= 30, "{all:?}");
}

/// Distinct values (by their keyed hash) per PI type of one event, over
/// all its findings (a value may be found in the root item and in a
/// derived one, e.g. after the full-width folding of `姓　　名`).
fn distinct_by_hash(ev: &Value) -> std::collections::BTreeMap<String, u64> {
    let mut sets: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for f in ev["findings"].as_array().into_iter().flatten() {
        let t = f["type"].as_str().unwrap_or_default().to_string();
        for v in f["values"].as_array().into_iter().flatten() {
            let h = v["hash"].as_str().unwrap_or_default().to_string();
            sets.entry(t.clone()).or_default().insert(h);
        }
    }
    sets.into_iter().map(|(t, s)| (t, s.len() as u64)).collect()
}

#[test]
fn http_html_labels_match_truth() {
    // html_labels.pcap: a python http.server page of 12 staff profiles in
    // five label layouts (four-column td rows among them), with decoys:
    // header rows 姓名 | 单位 and 姓名 | 成绩 (单 and 成 are surnames), a
    // six-cell td header row ending 密码 | 状态 (no password), an empty
    // form, a name in running text.
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(pcap("html_labels.truth.json")).expect("truth"),
    )
    .expect("truth json");
    let want = &truth["events"][0];
    let want_distinct: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(want["distinct"].clone()).expect("distinct");
    for workers in [1, 2] {
        let events = parse(&replay(&[pcap("html_labels.pcap")], workers));
        let dlp: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "dlp").collect();
        assert_eq!(dlp.len(), 1, "{dlp:#?}");
        let ev = dlp[0];
        assert_eq!(ev["direction"], want["direction"], "{ev}");
        // Names, addresses and ethnicities through their labels (the
        // free-text address detector finds the same spans and gives way).
        assert_event_matches(ev, want, &want_distinct);
    }
}

/// `ev` holds exactly the planted values of `want` (a decoy would add
/// one), the types `want` names in `detectors` through the field
/// detectors at high confidence, all at `want`'s location; page
/// punctuation names no decoding step.
fn assert_event_matches(
    ev: &Value,
    want: &Value,
    want_distinct: &std::collections::BTreeMap<String, u64>,
) {
    assert_eq!(&distinct_by_hash(ev), want_distinct, "{ev}");
    for f in ev["findings"].as_array().into_iter().flatten() {
        let t = f["type"].as_str().unwrap_or_default();
        if want["detectors"].get(t).is_some() {
            assert_eq!(f["detector"].as_str(), Some(t), "{f}");
            assert_eq!(f["confidence"], "high", "{f}");
        }
        let w = f["where"].as_str().unwrap_or_default();
        assert!(!w.contains("fullwidth"), "{f}");
        assert_eq!(w.split('|').next(), want["where"].as_str(), "{f}");
    }
}

#[test]
fn http_form_controls_match_truth() {
    // form_controls.pcap: a python http.server edit page of pre-filled form
    // controls (Django: name before value, textareas; Rails: value before a
    // bracketed name; PHP: bracketed names) and a PHP-style urlencoded post
    // (info%5B0%5D%5Brealname%5D=...), with decoys: a search box holding a
    // name, a meta author, an empty control, an option, a remark textarea
    // naming someone, an address placeholder.
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(pcap("form_controls.truth.json")).expect("truth"),
    )
    .expect("truth json");
    let wants = truth["events"].as_array().expect("events");
    for workers in [1, 2] {
        let events = parse(&replay(&[pcap("form_controls.pcap")], workers));
        let dlp: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "dlp").collect();
        assert_eq!(dlp.len(), wants.len(), "{dlp:#?}");
        for want in wants {
            let ev = dlp
                .iter()
                .find(|e| e["direction"] == want["direction"])
                .unwrap_or_else(|| panic!("no {} event: {dlp:#?}", want["direction"]));
            let want_distinct: std::collections::BTreeMap<String, u64> =
                serde_json::from_value(want["distinct"].clone()).expect("distinct");
            assert_event_matches(ev, want, &want_distinct);
        }
    }
}
