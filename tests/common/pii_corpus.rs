//! A generated corpus for PII-sensitive mode (shared by `tests/prompt_pii.rs` and
//! `benches/prompt.rs`): real shapes of phones (international, national, North American with and
//! without formatting, followed by a timestamp), SSNs, cards (every issuer range the spec names,
//! each at the lengths that issuer uses, grouped or in one block, with or without a payment
//! word), IBANs and emails in varied sentences, and decoys that must pass through untouched
//! (versions, dates, ISO and epoch timestamps, amounts, Jira keys, UUIDs, build numbers, order
//! ids, Luhn-valid ids no issuer uses or of a length the issuer does not use, IBAN look-alikes).
//! Deterministic: a fixed-seed generator. The issuer table here is written out independently of
//! the detector's, from the networks' published ranges.
#![allow(dead_code)]

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// One sample: the text, and the token that must replace the item (None for a decoy).
pub struct Sample {
    pub kind: &'static str,
    pub text: String,
    /// The sensitive item as written (must be gone from the output).
    pub item: String,
    pub token: Option<&'static str>,
    /// Text next to the item that must come out unchanged (a timestamp after a phone), or "".
    pub keep: String,
}

fn luhn_complete(body: &str) -> String {
    // The check digit that makes body + digit Luhn-valid.
    for d in 0..10 {
        let s = format!("{body}{d}");
        if luhn(&s) {
            return s;
        }
    }
    unreachable!()
}

pub fn luhn(s: &str) -> bool {
    let mut sum = 0;
    for (i, c) in s.chars().rev().enumerate() {
        let mut d = c.to_digit(10).unwrap();
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

fn iban_with_check(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut rem = 0u32;
    for c in rearranged.chars() {
        let v = c.to_digit(36).unwrap();
        rem = if v < 10 {
            (rem * 10 + v) % 97
        } else {
            (rem * 100 + v) % 97
        };
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

fn group(s: &str, n: usize, sep: &str) -> String {
    s.as_bytes()
        .chunks(n)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(sep)
}

/// Splits `s` into groups of the given lengths joined by `sep`.
fn split(s: &str, lens: &[usize], sep: &str) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    for &l in lens {
        parts.push(&s[i..i + l]);
        i += l;
    }
    assert_eq!(i, s.len());
    parts.join(sep)
}

fn letters(r: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'A' + r.below(26) as u8))
        .collect()
}

const LEADS: &[&str] = &[
    "Please call",
    "Reach me at",
    "Customer wrote:",
    "Details:",
    "fyi",
    "Kontakt",
    "As discussed,",
];
const TAILS: &[&str] = &[
    ".",
    " today.",
    ", thanks",
    "",
    " (urgent)",
    "!",
    " - see above",
];

/// International numbers (`+` and a country code) and national ones with a trunk 0.
fn phone_international(r: &mut Rng) -> String {
    match r.below(13) {
        0 => format!("+49 30 {}", r.digits(7)),
        1 => format!("+49 30 {}", r.digits(6)),
        2 => format!("+91 {}{}", 4 + r.below(6), r.digits(9)),
        3 => format!("+44 7{} {}", r.digits(3), r.digits(6)),
        4 => format!("+44 20 7{} {}", r.digits(3), r.digits(4)),
        5 => format!(
            "+33 {} {} {} {} {}",
            1 + r.below(9),
            r.digits(2),
            r.digits(2),
            r.digits(2),
            r.digits(2)
        ),
        6 => format!("+49 (0)30 {}", r.digits(7)),
        7 => format!("+31 20 {} {}", r.digits(3), r.digits(4)),
        8 => format!("+81 3 {} {}", r.digits(4), r.digits(4)),
        9 => format!("+61 2 {} {}", r.digits(4), r.digits(4)),
        10 => format!("+86 13{} {} {}", r.digits(1), r.digits(4), r.digits(4)),
        11 => format!("+{}{}", 2 + r.below(8), r.digits(10)),
        _ => format!("+44{}", r.digits(10)),
    }
}

fn phone_national(r: &mut Rng) -> String {
    match r.below(4) {
        0 => format!("030 {}", r.digits(8)),
        1 => format!("0{} {}", 150 + r.below(30), r.digits(7)),
        2 => format!("020 {} {}", r.digits(4), r.digits(4)),
        _ => format!(
            "0{} {} {} {} {}",
            1 + r.below(9),
            r.digits(2),
            r.digits(2),
            r.digits(2),
            r.digits(2)
        ),
    }
}

/// A North American number: area code and exchange start with 2–9 (NANP).
fn nanp(r: &mut Rng) -> (String, String, String) {
    (
        format!("{}{}", 2 + r.below(8), r.digits(2)),
        format!("{}{}", 2 + r.below(8), r.digits(2)),
        r.digits(4),
    )
}

fn phone_us_formatted(r: &mut Rng) -> String {
    let (a, e, s) = nanp(r);
    match r.below(8) {
        0 => format!("({a}) {e}-{s}"),
        1 => format!("{a}-{e}-{s}"),
        2 => format!("{a}.{e}.{s}"),
        3 => format!("{a} {e} {s}"),
        4 => format!("+1 {a} {e} {s}"),
        5 => format!("+1 ({a}) {e}-{s}"),
        6 => format!("1-{a}-{e}-{s}"),
        _ => format!("+1{a}{e}{s}"),
    }
}

fn phone_us_plain(r: &mut Rng) -> String {
    let (a, e, s) = nanp(r);
    format!("{a}{e}{s}")
}

/// The older generator's shapes (random exchange digits): kept so earlier figures stay comparable.
fn phone(r: &mut Rng) -> String {
    match r.below(14) {
        0 => format!("+49 30 {}", r.digits(7)),
        1 => format!("+91 {}{}", 4 + r.below(6), r.digits(9)),
        2 => format!("+44 7{} {}", r.digits(3), r.digits(6)),
        3 => format!("030 {}", r.digits(8)),
        4 => format!("({}) {}-{}", 200 + r.below(700), r.digits(3), r.digits(4)),
        5 => format!("{}-{}-{}", 200 + r.below(700), r.digits(3), r.digits(4)),
        6 => format!("+1 {} {} {}", 200 + r.below(700), r.digits(3), r.digits(4)),
        7 => format!(
            "+33 {} {} {} {} {}",
            1 + r.below(9),
            r.digits(2),
            r.digits(2),
            r.digits(2),
            r.digits(2)
        ),
        8 => format!("0{} {}", 150 + r.below(30), r.digits(7)),
        9 => format!("+49 (0)30 {}", r.digits(7)),
        10 => format!("020 {} {}", r.digits(4), r.digits(4)),
        11 => format!("{}.{}.{}", 200 + r.below(700), r.digits(3), r.digits(4)),
        12 => format!("+31 20 {} {}", r.digits(3), r.digits(4)),
        _ => format!("+{}{}", 1 + r.below(9), r.digits(10)),
    }
}

fn ssn(r: &mut Rng) -> String {
    let area = loop {
        let a = 1 + r.below(899);
        if a != 666 {
            break a;
        }
    };
    let g = 1 + r.below(99);
    let s = 1 + r.below(9999);
    let sep = r.pick(&["-", " ", "."]);
    format!("{area:03}{sep}{g:02}{sep}{s:04}")
}

/// Issuer ranges and the lengths each issuer uses (Visa, Mastercard, Amex, Discover, Diners,
/// JCB, UnionPay, Maestro, UATP), as the networks publish them.
pub const ISSUERS: &[(&str, &[&str], &[usize])] = &[
    ("Visa", &["4"], &[13, 16, 19]),
    ("Mastercard", &["51", "52", "53", "54", "55"], &[16]),
    ("Mastercard 2-series", &["2221-2720"], &[16]),
    ("Amex", &["34", "37"], &[15]),
    ("Discover", &["6011", "644-649", "65"], &[16, 17, 18, 19]),
    ("Diners", &["36", "300-305", "38", "39"], &[14, 15, 16]),
    ("JCB", &["3528-3589"], &[16, 17, 18, 19]),
    ("UnionPay", &["62"], &[16, 17, 18, 19]),
    (
        "Maestro",
        &[
            "5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763",
        ],
        &[12, 13, 14, 15, 16, 17, 18, 19],
    ),
    ("UATP", &["1"], &[15]),
];

fn prefix(r: &mut Rng, ranges: &[&str]) -> String {
    let range = r.pick(ranges);
    match range.split_once('-') {
        Some((a, b)) => {
            let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
            (a + r.below(b - a + 1)).to_string()
        }
        None => range.to_string(),
    }
}

/// A valid card number of some issuer at one of its lengths: (issuer, number).
fn card_number(r: &mut Rng) -> (&'static str, String) {
    let (name, ranges, lens) = ISSUERS[r.below(ISSUERS.len() as u64) as usize];
    let p = prefix(r, ranges);
    let len = lens[r.below(lens.len() as u64) as usize];
    let body = format!("{p}{}", r.digits(len - 1 - p.len()));
    (name, luhn_complete(&body))
}

/// How a card of this issuer and length is printed: Amex 4-6-5, UATP 4-5-6, 14 digits 4-6-4,
/// otherwise groups of four (the last one shorter).
fn card_grouped(r: &mut Rng, issuer: &str, n: &str) -> String {
    let sep = r.pick(&[" ", " ", "-"]);
    match (issuer, n.len()) {
        ("Amex", _) => split(n, &[4, 6, 5], sep),
        ("UATP", _) => split(n, &[4, 5, 6], sep),
        (_, 14) => split(n, &[4, 6, 4], sep),
        _ => group(n, 4, sep),
    }
}

/// A grouped card (for the combinations with other items).
fn card(r: &mut Rng) -> String {
    let (issuer, n) = card_number(r);
    card_grouped(r, issuer, &n)
}

fn iban(r: &mut Rng) -> String {
    let raw = match r.below(12) {
        0 => iban_with_check("DE", &r.digits(18)),
        1 => {
            let bank = letters(r, 4);
            iban_with_check("GB", &format!("{bank}{}", r.digits(14)))
        }
        2 => iban_with_check("FR", &r.digits(23)),
        3 => {
            let bank = letters(r, 4);
            iban_with_check("NL", &format!("{bank}{}", r.digits(10)))
        }
        4 => iban_with_check("ES", &r.digits(20)),
        5 => iban_with_check("CH", &r.digits(17)),
        // Andorra: 24 characters, all of them hex digits when compact (an account-id look-alike).
        6 => iban_with_check("AD", &r.digits(20)),
        7 => {
            let cin = letters(r, 1);
            iban_with_check("IT", &format!("{cin}{}", r.digits(22)))
        }
        8 => iban_with_check("BE", &r.digits(12)),
        9 => iban_with_check("AT", &r.digits(16)),
        10 => iban_with_check("PL", &r.digits(24)),
        _ => iban_with_check("NO", &r.digits(11)),
    };
    match r.below(3) {
        0 => raw,
        1 => group(&raw, 4, " "),
        _ => group(&raw, 4, "-"),
    }
}

fn email(r: &mut Rng) -> String {
    let user = r.pick(&["anna.k", "j.smith+billing", "ops_team", "x-77"]);
    let domain = r.pick(&["example", "firma-gmbh", "shop", "bank"]);
    let tld = r.pick(&[
        "xn--p1ai",
        "xn--80asehdb",
        "com",
        "co.uk",
        "xn--mgbaam7a8h",
        "de",
    ]);
    format!("{user}@{domain}.{tld}")
}

fn iso_timestamp(r: &mut Rng) -> String {
    let (y, mo, d) = (2020 + r.below(10), 1 + r.below(12), 1 + r.below(28));
    let (h, mi, s) = (r.below(24), r.below(60), r.below(60));
    match r.below(4) {
        0 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        1 => format!(
            "{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}+0000",
            r.below(1000)
        ),
        2 => format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
        _ => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+02:00"),
    }
}

fn epoch_ms(r: &mut Rng) -> String {
    (1_600_000_000_000 + r.below(200_000_000_000)).to_string()
}

/// `n` samples of each sensitive kind, plus the combinations the issues name.
pub fn sensitive(r: &mut Rng, n: usize) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut push = |kind: &'static str, text: String, item: String, token: &'static str| {
        out.push(Sample {
            kind,
            text,
            item,
            token: Some(token),
            keep: String::new(),
        });
    };
    let mut with_keep = Vec::new();
    for _ in 0..n {
        let (lead, tail) = (r.pick(LEADS), r.pick(TAILS));
        let p = phone(r);
        push(
            "phone (mixed shapes)",
            format!("{lead} {p}{tail}"),
            p,
            "<phone>",
        );
        let p = phone_international(r);
        push(
            "phone, international",
            format!("{lead} {p}{tail}"),
            p,
            "<phone>",
        );
        let p = phone_national(r);
        push(
            "phone, national trunk 0",
            format!("{lead} {p}{tail}"),
            p,
            "<phone>",
        );
        let p = phone_us_formatted(r);
        push(
            "phone, US formatted",
            format!("{lead} {p}{tail}"),
            p,
            "<phone>",
        );
        let p = phone_us_plain(r);
        push(
            "phone, US 10 digits",
            format!("{lead} {p}{tail}"),
            p,
            "<phone>",
        );
        // A phone followed by a timestamp: the phone goes, the timestamp stays.
        let p = if r.below(2) == 0 {
            phone_us_plain(r)
        } else {
            phone_us_formatted(r)
        };
        let ts = if r.below(4) == 0 {
            epoch_ms(r)
        } else {
            iso_timestamp(r)
        };
        with_keep.push(Sample {
            kind: "phone then timestamp",
            text: format!("call {p} {ts}{tail}"),
            item: p,
            token: Some("<phone>"),
            keep: ts,
        });
        let s = ssn(r);
        push("ssn", format!("SSN on file: {s}{tail}"), s, "<ssn>");
        let (issuer, c) = card_number(r);
        let g = card_grouped(r, issuer, &c);
        push("card, grouped", format!("{lead} {g}{tail}"), g, "<cc>");
        let (_, c) = card_number(r);
        let word = r.pick(&["Paid with card", "Visa", "Kreditkarte", "card no.", "PAN:"]);
        push(
            "card, one block, payment word",
            format!("{word} {c}{tail}"),
            c,
            "<cc>",
        );
        let (_, c) = card_number(r);
        let lead2 = r.pick(&["Customer wrote:", "fyi", "see", "Details:", "number"]);
        push(
            "card, one block, no context",
            format!("{lead2} {c}{tail}"),
            c,
            "<cc>",
        );
        let i = iban(r);
        push("iban", format!("{lead} IBAN {i}{tail}"), i, "<iban>");
        let e = email(r);
        push("email", format!("{lead} {e}{tail}"), e, "<email>");
        // A second card directly after a first one, a card right after a timestamp, a phone
        // right after a card.
        let (c1, c2) = (card(r), card(r));
        push(
            "card after card",
            format!("Cards {c1} {c2}{tail}"),
            c2,
            "<cc>",
        );
        let ts = format!(
            "2026-0{}-1{} 1{}:{}{}:0{}",
            1 + r.below(9),
            r.below(10),
            r.below(10),
            r.below(6),
            r.below(10),
            r.below(10)
        );
        let c3 = card(r);
        push(
            "card after timestamp",
            format!("{ts} {c3}{tail}"),
            c3,
            "<cc>",
        );
        let p2 = phone(r);
        let c4 = card(r);
        push(
            "phone after card",
            format!("{lead} {c4} {p2}{tail}"),
            p2,
            "<phone>",
        );
    }
    out.extend(with_keep);
    out
}

/// A Luhn-valid number no issuer uses: a first digit no network issues (7, 9, 0, 8 outside
/// RuPay's 81/82), a 1 at a length other than UATP's 15, or a 2/3 prefix between the ranges.
fn luhn_id_no_issuer(r: &mut Rng) -> String {
    let len = 12 + r.below(8) as usize;
    let p = match r.below(6) {
        0 => "7".to_string(),
        1 => format!("9{}", r.below(7)), // not 97 (Troy 9792)
        2 => "0".to_string(),
        3 => format!("8{}", 3 + r.below(7)),
        4 => r
            .pick(&["20", "21", "28", "29", "31", "32", "33"])
            .to_string(),
        _ => {
            // 1 at any length but 15.
            let len = if len == 15 { 16 } else { len };
            return luhn_complete(&format!("1{}", r.digits(len - 2)));
        }
    };
    luhn_complete(&format!("{p}{}", r.digits(len - 1 - p.len())))
}

/// A Luhn-valid number with an issuer's prefix at a length that issuer does not use.
fn luhn_id_wrong_length(r: &mut Rng) -> String {
    let (p, len) = match r.below(6) {
        0 => (
            "4".to_string(),
            *[14usize, 15, 17, 18].get(r.below(4) as usize).unwrap(),
        ),
        1 => (format!("5{}", 1 + r.below(5)), 15 + 2 * r.below(2) as usize),
        2 => (
            format!("3{}", r.pick(&["4", "7"])),
            16 + r.below(2) as usize,
        ),
        3 => ("1".to_string(), 14 + 2 * r.below(2) as usize),
        4 => (format!("35{}", 28 + r.below(60)), 15),
        _ => ("62".to_string(), 14 + r.below(2) as usize),
    };
    luhn_complete(&format!("{p}{}", r.digits(len - 1 - p.len())))
}

/// `n` decoys of each kind: text that must come out unchanged.
pub fn decoys(r: &mut Rng, n: usize) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut push = |kind: &'static str, text: String| {
        out.push(Sample {
            kind,
            item: text.clone(),
            text,
            token: None,
            keep: String::new(),
        });
    };
    for _ in 0..n {
        push(
            "version",
            format!(
                "Upgrade to v{}.{}.{} or {}.{}.{}.{}",
                r.below(20),
                r.below(40),
                r.below(100),
                r.below(20),
                r.below(40),
                r.below(100),
                r.below(999)
            ),
        );
        push("date", format!("Due {}-{:02}-{:02}, signed {:02}.{:02}.{}, or {:02}/{:02}/{} at 2026-01-15T10:00:00.000+0000", 2020 + r.below(10), 1 + r.below(12), 1 + r.below(28), 1 + r.below(28), 1 + r.below(12), 2020 + r.below(10), 1 + r.below(12), 1 + r.below(28), 2020 + r.below(10)));
        let (t1, t2) = (iso_timestamp(r), iso_timestamp(r));
        push("ISO timestamp", format!("Created {t1}, updated {t2}"));
        push(
            "amount",
            format!(
                "Budget {} {:03} {:03} EUR, {},{:03},{:03}.{:02} USD, {}.{:03}.{:03} units",
                1 + r.below(9),
                r.below(1000),
                r.below(1000),
                1 + r.below(99),
                r.below(1000),
                r.below(1000),
                r.below(100),
                1 + r.below(99),
                r.below(1000),
                r.below(1000)
            ),
        );
        push(
            "amount",
            format!(
                "Total ${},{:03},{:03}.{:02} or {}{:03}{:03}.{:02} EUR ({} seats)",
                1 + r.below(99),
                r.below(1000),
                r.below(1000),
                r.below(100),
                1 + r.below(9),
                r.below(1000),
                r.below(1000),
                r.below(100),
                r.below(10_000)
            ),
        );
        push(
            "jira key",
            format!(
                "Blocked by AIR-{} and OPS-{}",
                r.below(100_000),
                r.below(10_000)
            ),
        );
        push(
            "uuid",
            format!(
                "Request {:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                r.next() as u32,
                r.below(65536),
                r.below(4096),
                r.below(4096),
                r.next() & 0xffff_ffff_ffff
            ),
        );
        push(
            "build number",
            format!(
                "build {}{:02}{:02}.{} on runner #{}",
                2020 + r.below(10),
                1 + r.below(12),
                1 + r.below(28),
                r.below(20),
                r.digits(7)
            ),
        );
        let last = 4 + r.below(4) as usize;
        push(
            "build number",
            format!(
                "Build {} ({}.{}.{}.{}) passed",
                r.below(100_000),
                r.below(10),
                r.below(100),
                r.below(100),
                r.digits(last)
            ),
        );
        push(
            "epoch ms",
            format!("Logged at {} and {}", epoch_ms(r), epoch_ms(r)),
        );
        push(
            "epoch in parentheses",
            format!(
                "Job ran ({}) and retried ({}) at ({}000)",
                epoch_ms(r),
                1_600_000_000 + r.below(200_000_000),
                1_600_000_000_000 + r.below(200_000_000_000)
            ),
        );
        let digits = 6 + r.below(6) as usize;
        let id = format!("{}{}", 1 + r.below(9), r.digits(digits - 1));
        let word = r.pick(&["Order", "Invoice", "PO", "Order no.", "Ticket", "Ref:"]);
        push("order id", format!("{word} {id} shipped"));
        let id = format!("{}{}", 1 + r.below(9), r.digits(digits - 1));
        push("order id in parentheses", format!("{word} ({id}) shipped"));
        push(
            "order id in parentheses",
            format!("Shipped (ref {}) today", r.digits(digits)),
        );
        push(
            "Luhn-valid id, no issuer prefix",
            format!("Tracking {} updated", luhn_id_no_issuer(r)),
        );
        push(
            "Luhn-valid id, wrong length",
            format!("Reference {} noted", luhn_id_wrong_length(r)),
        );
        // Right checksum, wrong length for the country; right length, wrong checksum.
        let wrong = iban_with_check("DE", &r.digits(16));
        push("iban look-alike", format!("Reference {wrong} noted"));
        let good = iban_with_check("DE", &r.digits(18));
        let bad_check = (good[2..4].parse::<u32>().unwrap() + 1 + r.below(90) as u32) % 97;
        let bad = format!("DE{:02}{}", bad_check.max(2), &good[4..]);
        if bad != good {
            push(
                "iban look-alike",
                format!("Ref {} noted", group(&bad, 4, " ")),
            );
        }
        push(
            "time",
            "Meeting 10:30-11:45, room 4.12, ext. 4321".to_string(),
        );
    }
    out
}
