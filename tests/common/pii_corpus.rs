//! A generated corpus for PII-sensitive mode (shared by `tests/prompt_pii.rs` and
//! `benches/prompt.rs`): real shapes of phones, SSNs, cards, IBANs and emails in varied
//! sentences, and decoys that must pass through untouched (versions, dates, amounts, Jira keys,
//! UUIDs, build ids, epoch-millisecond timestamps, order ids that pass Luhn by chance, IBAN
//! look-alikes of the wrong length). Deterministic: a fixed-seed generator.
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

fn card(r: &mut Rng) -> (String, bool) {
    let (prefix, len) = match r.below(7) {
        0 => ("4".to_string(), 16),
        1 => (format!("5{}", 1 + r.below(5)), 16),
        2 => (format!("{}", 2221 + r.below(500)), 16),
        3 => (format!("3{}", r.pick(&["4", "7"])), 15),
        4 => ("6011".to_string(), 16),
        5 => (format!("35{}", 28 + r.below(60)), 16),
        _ => ("62".to_string(), 16),
    };
    let body = format!("{prefix}{}", r.digits(len - 1 - prefix.len()));
    let n = luhn_complete(&body);
    match (len, r.below(4)) {
        (15, 3) => (n, false),
        (15, _) => (format!("{} {} {}", &n[..4], &n[4..10], &n[10..]), true),
        (_, 0) => (group(&n, 4, " "), true),
        (_, 1) => (group(&n, 4, "-"), true),
        (_, 2) => (group(&n, 4, " "), true),
        _ => (n, false),
    }
}

fn iban(r: &mut Rng) -> String {
    let raw = match r.below(6) {
        0 => iban_with_check("DE", &r.digits(18)),
        1 => {
            let bank: String = (0..4)
                .map(|_| char::from(b'A' + r.below(26) as u8))
                .collect();
            iban_with_check("GB", &format!("{bank}{}", r.digits(14)))
        }
        2 => iban_with_check("FR", &r.digits(23)),
        3 => {
            let bank: String = (0..4)
                .map(|_| char::from(b'A' + r.below(26) as u8))
                .collect();
            iban_with_check("NL", &format!("{bank}{}", r.digits(10)))
        }
        4 => iban_with_check("ES", &r.digits(20)),
        _ => iban_with_check("CH", &r.digits(17)),
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

/// `n` samples of each sensitive kind, plus the combinations the issue names.
pub fn sensitive(r: &mut Rng, n: usize) -> Vec<Sample> {
    let mut out = Vec::new();
    for _ in 0..n {
        let (lead, tail) = (r.pick(LEADS), r.pick(TAILS));
        let p = phone(r);
        out.push(Sample {
            kind: "phone",
            text: format!("{lead} {p}{tail}"),
            item: p,
            token: Some("<phone>"),
        });
        let s = ssn(r);
        out.push(Sample {
            kind: "ssn",
            text: format!("SSN on file: {s}{tail}"),
            item: s,
            token: Some("<ssn>"),
        });
        let (c, formatted) = card(r);
        let text = if formatted {
            format!("{lead} {c}{tail}")
        } else {
            format!("Paid with card {c}{tail}")
        };
        out.push(Sample {
            kind: "card",
            text,
            item: c,
            token: Some("<cc>"),
        });
        let i = iban(r);
        out.push(Sample {
            kind: "iban",
            text: format!("{lead} IBAN {i}{tail}"),
            item: i,
            token: Some("<iban>"),
        });
        let e = email(r);
        out.push(Sample {
            kind: "email",
            text: format!("{lead} {e}{tail}"),
            item: e,
            token: Some("<email>"),
        });
        // A second card directly after a first one, and a card right after a timestamp.
        let (c1, _) = loop {
            let x = card(r);
            if x.1 {
                break x;
            }
        };
        let (c2, _) = loop {
            let x = card(r);
            if x.1 {
                break x;
            }
        };
        out.push(Sample {
            kind: "card after card",
            text: format!("Cards {c1} {c2}{tail}"),
            item: c2,
            token: Some("<cc>"),
        });
        let ts = format!(
            "2026-0{}-1{} 1{}:{}{}:0{}",
            1 + r.below(9),
            r.below(10),
            r.below(10),
            r.below(6),
            r.below(10),
            r.below(10)
        );
        let (c3, _) = loop {
            let x = card(r);
            if x.1 {
                break x;
            }
        };
        out.push(Sample {
            kind: "card after timestamp",
            text: format!("{ts} {c3}{tail}"),
            item: c3,
            token: Some("<cc>"),
        });
        let p2 = phone(r);
        let (c4, _) = loop {
            let x = card(r);
            if x.1 {
                break x;
            }
        };
        out.push(Sample {
            kind: "phone after card",
            text: format!("{lead} {c4} {p2}{tail}"),
            item: p2,
            token: Some("<phone>"),
        });
    }
    out
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
            "build id",
            format!(
                "build {}{:02}{:02}.{} on runner #{}",
                2020 + r.below(10),
                1 + r.below(12),
                1 + r.below(28),
                r.below(20),
                r.digits(7)
            ),
        );
        push(
            "epoch ms",
            format!(
                "Logged at {} and {}",
                1_600_000_000_000 + r.below(200_000_000_000),
                1_700_000_000_000 + r.below(99_999_999_999)
            ),
        );
        // Order ids of card lengths that pass Luhn by chance, some with card-issuer prefixes.
        let body = format!("{}{}", 1 + r.below(9), r.digits(14));
        push(
            "order id (Luhn-valid)",
            format!("Order {} shipped", luhn_complete(&body)),
        );
        let body = format!("4{}", r.digits(14));
        push(
            "order id (Luhn-valid)",
            format!("Invoice ref {} attached", luhn_complete(&body)),
        );
        // Right checksum, wrong length for the country.
        let wrong = iban_with_check("DE", &r.digits(16));
        push("iban, wrong length", format!("Reference {wrong} noted"));
        push(
            "time",
            "Meeting 10:30-11:45, room 4.12, ext. 4321".to_string(),
        );
    }
    out
}
