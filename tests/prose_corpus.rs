//! Labelled prose corpus: chat messages, order notes, customer-service
//! transcripts, news-like sentences and e-mail bodies with synthetic postal
//! addresses in many written forms, names with and without a context word,
//! and hard decoys (place names without a street address, institutions,
//! companies, travel text, road names in news, bus and metro stops). Every
//! document is scanned with the shipped signatures in UTF-8 and GBK, fed in
//! random chunks, and per-type recall and precision are asserted and printed
//! (`cargo test --test prose_corpus -- --nocapture`; `CORPUS_DEBUG=1` lists
//! misses and false positives with their synthetic values).
//!
//! Scoring is by exact span: a reported value is correct when it equals a
//! labelled span of its type in that document. The labelled address span
//! runs from the first division name to the house number (号), the village
//! house number or the estate building (栋/幢/号楼); a following 3单元502室
//! is outside it.

#![allow(clippy::explicit_auto_deref)] // `*r.pick(..)` picks a `&str` out of `&[&str]`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use leakwatch::detect::normalize::{NormalizeConfig, Normalizer};
use leakwatch::detect::{ContextBackend, Engine, EngineOptions};

mod corpus_gen;
use corpus_gen::{feed_chunked, name, variant, Found, Rng, Sink};

/// (province, short form, city, districts): cities of 2-5 characters,
/// provinces and autonomous regions.
const CITIES: &[(&str, &str, &str, &[&str])] = &[
    (
        "河北省",
        "河北",
        "石家庄市",
        &["长安区", "桥西区", "裕华区"],
    ),
    (
        "黑龙江省",
        "黑龙江",
        "哈尔滨市",
        &["南岗区", "道里区", "香坊区"],
    ),
    ("黑龙江省", "黑龙江", "齐齐哈尔市", &["龙沙区", "建华区"]),
    (
        "内蒙古自治区",
        "内蒙古",
        "呼和浩特市",
        &["新城区", "赛罕区"],
    ),
    ("内蒙古自治区", "内蒙古", "鄂尔多斯市", &["东胜区"]),
    (
        "新疆维吾尔自治区",
        "新疆",
        "乌鲁木齐市",
        &["天山区", "沙依巴克区"],
    ),
    ("广西壮族自治区", "广西", "南宁市", &["青秀区", "兴宁区"]),
    ("宁夏回族自治区", "宁夏", "银川市", &["兴庆区", "金凤区"]),
    ("西藏自治区", "西藏", "拉萨市", &["城关区"]),
    ("浙江省", "浙江", "杭州市", &["西湖区", "拱墅区", "滨江区"]),
    ("广东省", "广东", "深圳市", &["南山区", "福田区"]),
    ("广东省", "广东", "广州市", &["天河区", "越秀区"]),
    ("江苏省", "江苏", "南京市", &["鼓楼区", "玄武区"]),
    ("江苏省", "江苏", "连云港市", &["海州区"]),
    ("四川省", "四川", "成都市", &["武侯区", "锦江区"]),
    ("湖北省", "湖北", "武汉市", &["武昌区", "洪山区"]),
    ("辽宁省", "辽宁", "葫芦岛市", &["龙港区"]),
    ("安徽省", "安徽", "马鞍山市", &["花山区"]),
    ("河南省", "河南", "平顶山市", &["新华区"]),
    ("吉林省", "吉林", "长春市", &["朝阳区", "南关区"]),
    ("山东省", "山东", "青岛市", &["市南区", "崂山区"]),
    ("福建省", "福建", "厦门市", &["思明区", "湖里区"]),
    ("湖南省", "湖南", "张家界市", &["永定区"]),
    ("陕西省", "陕西", "西安市", &["雁塔区", "碑林区"]),
    ("云南省", "云南", "昆明市", &["五华区", "盘龙区"]),
];

/// Municipalities (no province) and their districts.
const MUNICIPALITIES: &[(&str, &[&str])] = &[
    ("北京市", &["海淀区", "朝阳区", "东城区"]),
    ("上海市", &["浦东新区", "黄浦区", "徐汇区"]),
    ("天津市", &["和平区", "南开区"]),
    ("重庆市", &["渝中区", "江北区"]),
];

/// (province, prefecture-level unit, county-level city): 自治州, 盟, 地区
/// and ordinary cities with a county-level city under them.
const PREFECTURES: &[(&str, &str, &str)] = &[
    ("云南省", "大理白族自治州", "大理市"),
    ("吉林省", "延边朝鲜族自治州", "延吉市"),
    ("湖北省", "恩施土家族苗族自治州", "恩施市"),
    ("四川省", "凉山彝族自治州", "西昌市"),
    ("新疆维吾尔自治区", "伊犁哈萨克自治州", "伊宁市"),
    ("内蒙古自治区", "锡林郭勒盟", "锡林浩特市"),
    ("内蒙古自治区", "兴安盟", "乌兰浩特市"),
    ("新疆维吾尔自治区", "阿克苏地区", "阿克苏市"),
    ("新疆维吾尔自治区", "喀什地区", "喀什市"),
    ("江苏省", "苏州市", "昆山市"),
    ("江苏省", "苏州市", "张家港市"),
    ("浙江省", "金华市", "义乌市"),
    ("四川省", "成都市", "都江堰市"),
];

/// (province, city, county) for rural addresses.
const COUNTIES: &[(&str, &str, &str)] = &[
    ("河南省", "周口市", "郸城县"),
    ("山东省", "菏泽市", "曹县"),
    ("湖南省", "邵阳市", "隆回县"),
    ("河北省", "保定市", "阜平县"),
    ("四川省", "南充市", "仪陇县"),
];
const TOWNS: &[&str] = &["汲冢镇", "城关镇", "新华镇", "石桥乡", "马庄乡"];
const VILLAGES: &[&str] = &["王楼村", "李家村", "前进村", "张庄村", "桃园村"];

const ROADS: &[&str] = &[
    "人民路",
    "中山路",
    "解放路",
    "建设大道",
    "文化街",
    "新华东路",
    "长江路",
    "胜利街",
    "和平路",
    "幸福大街",
    "光明巷",
    "东四胡同",
    "花园里",
    "体育西路",
];
const LANE_ROADS: &[&str] = &["南京东路", "淮海中路", "长乐路", "愚园路"];
const ESTATES: &[&str] = &["望京花园", "阳光", "幸福家园", "金色家园", "绿城"];

const CN_DIGITS: &[&str] = &["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// `n` (1-99) in Chinese numerals: 八, 十二, 八十八.
fn cn_number(n: u64) -> String {
    let (t, u) = ((n / 10) as usize, (n % 10) as usize);
    let tens = match t {
        0 => String::new(),
        1 => "十".to_string(),
        _ => format!("{}十", CN_DIGITS[t]),
    };
    let units = if u == 0 { "" } else { CN_DIGITS[u] };
    format!("{tens}{units}")
}

/// A house number: 88号, 88-1号, 八十八号.
fn house_number(r: &mut Rng) -> String {
    match r.below(6) {
        0 => format!("{}-{}号", 1 + r.below(300), 1 + r.below(9)),
        1 => format!("{}号", cn_number(1 + r.below(99))),
        _ => format!("{}号", 1 + r.below(999)),
    }
}

/// Province as written: full, short form or left out.
fn province<'a>(r: &mut Rng, full: &'a str, short: &'a str) -> &'a str {
    match r.below(4) {
        0 | 1 => full,
        2 => short,
        _ => "",
    }
}

/// A synthetic address: the labelled span and unlabelled text after it.
fn address(r: &mut Rng) -> (String, String) {
    let room = match r.below(4) {
        0 => format!("{}单元{}室", 1 + r.below(6), 101 + r.below(1500)),
        1 => format!("{}室", 101 + r.below(900)),
        _ => String::new(),
    };
    let span = match r.below(11) {
        0..=2 => {
            let &(p, ps, c, ds) = r.pick(CITIES);
            let p = province(r, p, ps);
            let d = if r.below(5) == 0 { "" } else { *r.pick(ds) };
            format!("{p}{c}{d}{}{}", r.pick(ROADS), house_number(r))
        }
        3 => {
            let &(m, ds) = r.pick(MUNICIPALITIES);
            format!("{m}{}{}{}", r.pick(ds), r.pick(ROADS), house_number(r))
        }
        4 => {
            let &(p, pref, c) = r.pick(PREFECTURES);
            let p = if r.below(3) == 0 { "" } else { p };
            format!("{p}{pref}{c}{}{}", r.pick(ROADS), house_number(r))
        }
        5 => {
            let &(p, c, county) = r.pick(COUNTIES);
            let p = if r.below(3) == 0 { "" } else { p };
            let group = if r.below(2) == 0 {
                format!("{}组", 1 + r.below(12))
            } else {
                String::new()
            };
            format!(
                "{p}{c}{county}{}{}{group}{}号",
                r.pick(TOWNS),
                r.pick(VILLAGES),
                1 + r.below(200)
            )
        }
        6 => {
            let &(_, _, c, ds) = r.pick(CITIES);
            let b = *r.pick(&["栋", "幢", "号楼"]);
            let s = format!(
                "{c}{}{}小区{}{b}",
                r.pick(ds),
                r.pick(ESTATES),
                1 + r.below(30)
            );
            return (s, room);
        }
        9 => hard_address(r),
        7 => format!(
            "上海市{}{}{}弄{}号",
            r.pick(&["黄浦区", "静安区", "长宁区"]),
            r.pick(LANE_ROADS),
            1 + r.below(800),
            1 + r.below(60)
        ),
        _ => {
            let &(m, ds) = r.pick(MUNICIPALITIES);
            format!("{m}{}{}{}号", r.pick(ds), r.pick(ROADS), 1 + r.below(200))
        }
    };
    (span, room)
}

/// Forms written in prose that the detector is not designed for (kept to
/// measure them): parts separated by spaces (supported: one space), a
/// district without its city, an unlisted three-character county-level city
/// without its province, a prefecture name longer than the pattern allows,
/// full-width digits (supported: reported as ASCII digits).
fn hard_address(r: &mut Rng) -> String {
    let &(_, _, c, ds) = r.pick(CITIES);
    let d = *r.pick(ds);
    let road = *r.pick(ROADS);
    let n = 1 + r.below(300);
    match r.below(5) {
        0 => format!("{c} {d} {road}{n}号"),
        1 => format!("{d}{road}{n}号"),
        2 => format!("阿勒泰市{road}{n}号"),
        3 => format!("新疆维吾尔自治区克孜勒苏柯尔克孜自治州阿图什市{road}{n}号"),
        _ => {
            let wide: String = n
                .to_string()
                .chars()
                .map(|ch| char::from_u32(ch as u32 - 0x30 + 0xFF10).unwrap_or(ch))
                .collect();
            format!("{c}{d}{road}{wide}号")
        }
    }
}

/// A place or road mention that is not a postal address.
fn place_decoy(r: &mut Rng) -> String {
    let &(_, _, c, ds) = r.pick(CITIES);
    let d = *r.pick(ds);
    match r.below(9) {
        0 => format!(
            "{c}{d}{}",
            r.pick(&["人民法院", "人民政府", "教育局", "公安分局", "人民检察院"])
        ),
        1 => r
            .pick(&[
                "北京市海淀区人民法院",
                "上海市浦东新区人民政府",
                "杭州市西湖区教育局",
                "哈尔滨工业大学",
                "浙江大学紫金港校区",
                "北京大学第三医院",
                "中山大学附属第一医院",
            ])
            .to_string(),
        2 => format!(
            "{c}{}有限公司",
            r.pick(&["华信科技", "长城贸易", "天宇网络技术", "石家庄物流"])
        ),
        3 => format!("{c}{d}{}", r.pick(ROADS)),
        4 => format!("{c}{d}{}小区", r.pick(ESTATES)),
        5 => {
            let &(_, c2, county) = r.pick(COUNTIES);
            format!("{c2}{county}{}{}", r.pick(TOWNS), r.pick(VILLAGES))
        }
        6 => format!("{c}第{}人民医院", cn_number(1 + r.below(9))),
        // A branch store: 中山路3号店 reads like a house number (known FP).
        7 if r.below(4) == 0 => format!(
            "{}{c}{}{}号店",
            r.pick(&["瑞幸咖啡", "肯德基", "华为授权"]),
            r.pick(ROADS),
            1 + r.below(9)
        ),
        7 => format!("{c}{}", r.pick(&["火车站", "东站", "国际机场", "体育中心"])),
        _ => format!("{c}{d}"),
    }
}

/// A mobile number (not scored here).
fn phone(r: &mut Rng) -> String {
    format!("1{}{}", r.pick(&["38", "39", "86", "50"]), r.digits(8))
}

/// One labelled value.
struct Label {
    ty: &'static str,
    /// The labelled span.
    span: String,
    /// The span with the text after it that completes it (3单元502室), also
    /// a correct value.
    full: Option<String>,
    /// Names: written after a context word and separator. Addresses: always.
    ctx: bool,
}

impl Label {
    fn is(&self, t: &str, v: &[u8]) -> bool {
        self.ty == t
            && (self.span.as_bytes() == v || self.full.as_ref().is_some_and(|f| f.as_bytes() == v))
    }
}

/// One document and its labels.
#[derive(Default)]
struct Doc {
    text: String,
    labels: Vec<Label>,
}

impl Doc {
    fn s(&mut self, t: &str) -> &mut Doc {
        self.text.push_str(t);
        self
    }
    /// A labelled address (and its unlabelled tail).
    fn addr(&mut self, r: &mut Rng) -> &mut Doc {
        let (written, tail) = address(r);
        self.text.push_str(&written);
        self.text.push_str(&tail);
        // The value is reported with ASCII digits.
        let span: String = written
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - 0xFF10 + 0x30).unwrap_or(c),
                _ => c,
            })
            .collect();
        // A field detector (地址：...) rightly takes the room too.
        let full = (!tail.is_empty()).then(|| format!("{span}{tail}"));
        self.labels.push(Label {
            ty: "cn_address",
            span,
            full,
            ctx: true,
        });
        self
    }
    /// A labelled name; `ctx`: written after a context word and separator.
    fn name(&mut self, r: &mut Rng, ctx: bool) -> &mut Doc {
        let n = name(r);
        self.text.push_str(&n);
        self.labels.push(Label {
            ty: "cn_name",
            span: n,
            full: None,
            ctx,
        });
        self
    }
    fn decoy(&mut self, r: &mut Rng) -> &mut Doc {
        let d = place_decoy(r);
        self.s(&d)
    }
    fn phone(&mut self, r: &mut Rng) -> &mut Doc {
        let p = phone(r);
        self.s(&p)
    }
}

/// Name context words as written in prose (word + separator).
const NAME_CTX: &[&str] = &[
    "收件人：",
    "联系人：",
    "姓名：",
    "收货人：",
    "客户姓名：",
    "联系人: ",
    "寄件人：",
];

fn chat(r: &mut Rng, d: &mut Doc) {
    match r.below(9) {
        0 => d.s("亲，麻烦寄到").addr(r).s("，谢谢！"),
        1 => d.s("我搬家了，新地址是").addr(r).s("，有空来玩"),
        2 => d.s("明天下午三点在").addr(r).s("门口见，别迟到"),
        3 => d.name(r, false).s("说他下周去").decoy(r).s("办事"),
        4 => d.s("刚到").decoy(r).s("，这边人好多，晚点回你"),
        5 => d
            .s("我是")
            .name(r, false)
            .s("，昨天下的单还没发货，能帮忙看看吗"),
        6 => d
            .s("你把东西放")
            .addr(r)
            .s("就行，我让")
            .name(r, false)
            .s("去拿"),
        7 => {
            let c = *r.pick(NAME_CTX);
            d.s(c)
                .name(r, true)
                .s("，手机")
                .phone(r)
                .s("，麻烦尽快发货")
        }
        _ => d.s("周末一起去").decoy(r).s("吧？我开车"),
    };
}

fn order_note(r: &mut Rng, d: &mut Doc) {
    match r.below(6) {
        0 => d.s("订单备注：请送到").addr(r).s("，放门卫室"),
        1 => d.s("备注：").addr(r).s("，到了打电话").phone(r),
        2 => {
            let c = *r.pick(NAME_CTX);
            d.s("配送信息 ")
                .s(c)
                .name(r, true)
                .s(" 电话：")
                .phone(r)
                .s(" 送货地址：")
                .addr(r)
        }
        3 => {
            let c = *r.pick(NAME_CTX);
            d.s("[备注] 周末送货，").addr(r).s("，").s(c).name(r, true)
        }
        4 => d.s("发票寄送：").decoy(r).s("财务部，不用写门牌"),
        _ => d.s("不要放快递柜，直接送").addr(r),
    };
}

fn transcript(r: &mut Rng, d: &mut Doc) {
    match r.below(4) {
        0 => d
            .s("客服：您好，请问有什么可以帮您？\n用户：我想改一下收货地址\n客服：请提供新地址\n用户：")
            .addr(r)
            .s("\n客服：好的，已修改，收件人还是")
            .name(r, false)
            .s("吗？\n用户：对"),
        1 => {
            let c = *r.pick(NAME_CTX);
            d.s("客服：请核对信息，")
                .s(c)
                .name(r, true)
                .s("\n地址：")
                .addr(r)
                .s("\n用户：没错，谢谢")
        }
        2 => d
            .s("用户：你们门店在哪？\n客服：我们在")
            .decoy(r)
            .s("，乘坐")
            .s(&format!("{}", 1 + r.below(300)))
            .s("路公交车到")
            .s(*r.pick(ROADS))
            .s("口站下车即到"),
        _ => d
            .s("客服：师傅已出发，预计30分钟到")
            .addr(r)
            .s("，请保持电话畅通"),
    };
}

fn news(r: &mut Rng, d: &mut Doc) {
    match r.below(7) {
        0 => d.s("据当地媒体报道，").decoy(r).s("今日召开新闻发布会。"),
        1 => d
            .s("昨天下午，")
            .addr(r)
            .s("一居民楼发生火情，所幸无人受伤。"),
        2 => d
            .s("今天早上")
            .s(*r.pick(ROADS))
            .s("上发生一起交通事故，造成两人受伤，")
            .s(&format!("{}", 1 + r.below(99)))
            .s("路公交车临时改道。"),
        3 => d
            .s("市民")
            .name(r, false)
            .s("告诉记者，")
            .decoy(r)
            .s("附近经常堵车。"),
        4 => d.s("警方在").addr(r).s("抓获一名犯罪嫌疑人。"),
        5 => d
            .s("地铁")
            .s(&format!("{}", 1 + r.below(12)))
            .s("号线")
            .s(*r.pick(ROADS))
            .s("站将于下月开通，")
            .decoy(r)
            .s("表示欢迎。"),
        _ => d
            .s("第一天从")
            .decoy(r)
            .s("出发，沿")
            .s(*r.pick(ROADS))
            .s("一路向东，晚上住在")
            .decoy(r)
            .s("附近。"),
    };
}

fn email(r: &mut Rng, d: &mut Doc) {
    match r.below(4) {
        0 => d
            .s("尊敬的")
            .name(r, false)
            .s("先生：\r\n\r\n您好！您订购的商品已发往")
            .addr(r)
            .s("，请注意查收。\r\n\r\n此致\r\n敬礼"),
        1 => d
            .s("各位同事：\r\n本周五团建地点为")
            .decoy(r)
            .s("，请于上午9点在")
            .s(*r.pick(ROADS))
            .s("站集合。\r\n行政部 ")
            .name(r, false),
        2 => {
            let c = *r.pick(NAME_CTX);
            d.s("Hi，\r\n发票请邮寄到")
                .addr(r)
                .s("\r\n")
                .s(c)
                .name(r, true)
                .s("\r\n电话：")
                .phone(r)
                .s("\r\n谢谢")
        }
        _ => d
            .s("您好，面试地点：")
            .decoy(r)
            .s("，具体为")
            .addr(r)
            .s("，请携带身份证。"),
    };
}

/// Name-shaped words after a context word that are not names.
fn name_decoy(r: &mut Rng, d: &mut Doc) {
    let c = *r.pick(NAME_CTX);
    d.s(c).s(*r.pick(&["前台", "物业", "本人", "同上", "暂无"]));
    d.s("，").s(*r.pick(&[
        "王府井大街很热闹",
        "周末愉快",
        "黄金周出行",
        "李宁运动鞋打折",
    ]));
}

fn document(r: &mut Rng) -> Doc {
    let mut d = Doc::default();
    match r.below(11) {
        0 | 1 => chat(r, &mut d),
        2 | 3 => order_note(r, &mut d),
        4 | 5 => transcript(r, &mut d),
        6 | 7 => news(r, &mut d),
        8 | 9 => email(r, &mut d),
        _ => name_decoy(r, &mut d),
    }
    d
}

#[derive(Default, Debug, Clone, Copy)]
struct Score {
    labels: u64,
    found: u64,
    ctx_labels: u64,
    ctx_found: u64,
    /// Names without a context word that were reported (must stay 0).
    bare_found: u64,
    reported: u64,
    correct: u64,
}

const SCORED: &[&str] = &["cn_address", "cn_name"];

/// Scans `bytes` in random chunks of at most `chunk` bytes; returns `(pi_type, value)` of each match.
fn scan(engine: &Arc<Engine>, r: &mut Rng, bytes: &[u8], chunk: usize) -> Vec<(String, Vec<u8>)> {
    let mut scanner = engine.scanner();
    let mut norm = Normalizer::new(&NormalizeConfig::default());
    let mut found = Found::default();
    let mut sink = Sink {
        engine,
        found: &mut found,
    };
    feed_chunked(&mut norm, &mut scanner, &mut sink, r, bytes, chunk as u64);
    found.0.into_iter().map(|(t, v, _)| (t, v)).collect()
}

fn show(debug: bool, v: &[u8]) -> String {
    if debug {
        String::from_utf8_lossy(v).into_owned()
    } else {
        String::new()
    }
}

fn engine(backend: ContextBackend) -> Arc<Engine> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    let opts = EngineOptions {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 22),
        context_backend: backend,
        ..EngineOptions::default()
    };
    Arc::new(Engine::load_dir(&dir, &opts).expect("signatures"))
}

/// Both back-ends, and the whole text against random chunks, give the same
/// matches on the corpus.
#[test]
fn backends_and_chunking_agree() {
    let engines = [
        engine(ContextBackend::AhoCorasick),
        engine(ContextBackend::default()),
    ];
    let mut rng = Rng(0x5eed_9a0d_0e55_0005);
    let text: String = (0..400).map(|_| document(&mut rng).text + "\n").collect();
    let whole = |e: &Arc<Engine>| {
        let mut r = Rng(1);
        let mut v = scan(e, &mut r, text.as_bytes(), usize::MAX);
        v.sort();
        v
    };
    let want = whole(&engines[0]);
    assert!(want.iter().filter(|m| m.0 == "cn_address").count() > 100);
    assert_eq!(whole(&engines[1]), want);
    for e in &engines {
        let mut v = scan(e, &mut rng, text.as_bytes(), 200);
        v.sort();
        assert_eq!(v, want);
    }
}

#[test]
fn prose_recall_and_precision() {
    let engine = engine(ContextBackend::default());
    let debug = std::env::var("CORPUS_DEBUG").is_ok();
    let mut rng = Rng(0x5eed_9a0d_0e55_0004);
    let docs: Vec<Doc> = (0..1500).map(|_| document(&mut rng)).collect();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let mut score: BTreeMap<(&str, &str), Score> = BTreeMap::new();
    for v in ["utf8", "gbk"] {
        for d in &docs {
            let got = scan(&engine, &mut rng, &variant(v, &d.text), 200);
            for l in &d.labels {
                let (t, ctx) = (l.ty, l.ctx);
                let hit = got.iter().any(|(gt, gv)| l.is(gt, gv));
                let sc = score.entry((t, v)).or_default();
                sc.labels += 1;
                sc.found += u64::from(hit);
                sc.ctx_labels += u64::from(ctx);
                sc.ctx_found += u64::from(ctx && hit);
                sc.bare_found += u64::from(!ctx && hit);
                if !hit && ctx && debug {
                    eprintln!("miss {t}/{v}: {} in {}", l.span, d.text);
                }
            }
            for (t, val) in &got {
                let Some(&t) = SCORED.iter().find(|s| *s == t) else {
                    continue;
                };
                let ok = d.labels.iter().any(|l| l.is(t, val));
                let sc = score.entry((t, v)).or_default();
                sc.reported += 1;
                sc.correct += u64::from(ok);
                if !ok {
                    eprintln!("false positive {t}/{v} {}", show(debug, val));
                }
            }
        }
    }
    println!(
        "prose corpus: {} documents, {bytes} bytes (UTF-8)",
        docs.len()
    );
    println!("| type | variant | labels | recall | with context | recall (context) | precision |");
    println!("|---|---|---|---|---|---|---|");
    for ((t, v), s) in &score {
        let f = |a: u64, b: u64| a as f64 / b.max(1) as f64;
        println!(
            "| `{t}` | {v} | {} | {:.3} | {} | {:.3} | {:.3} |",
            s.labels,
            f(s.found, s.labels),
            s.ctx_labels,
            f(s.ctx_found, s.ctx_labels),
            f(s.correct, s.reported)
        );
    }
    for ((t, v), s) in &score {
        let recall = s.ctx_found as f64 / s.ctx_labels.max(1) as f64;
        let precision = s.correct as f64 / s.reported.max(1) as f64;
        let (r_min, p_min) = match *t {
            "cn_address" => (0.95, 0.96),
            _ => (0.98, 0.98),
        };
        assert!(s.ctx_labels > 100, "{t}/{v}: too few labels");
        assert_eq!(
            s.bare_found, 0,
            "{t}/{v}: a name without context was reported"
        );
        assert!(recall >= r_min, "{t}/{v}: recall {recall:.3} < {r_min}");
        assert!(
            precision >= p_min,
            "{t}/{v}: precision {precision:.3} < {p_min}"
        );
    }
}
