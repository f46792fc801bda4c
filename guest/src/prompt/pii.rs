//! PII-sensitive mode: phones, payment cards, IBANs and US SSNs in free text become `<phone>`,
//! `<cc>`, `<iban>` and `<ssn>`.
//!
//! Checksums alone are not enough — a random 16-digit order id passes Luhn one time in ten — so
//! each kind needs its shape as well:
//! - IBAN: country code, the registry's length for that country, and mod-97; spaces or dashes;
//! - card: an issuer prefix (IIN) with a length that issuer uses, and Luhn; written in one block
//!   or in card grouping (`4111 1111 1111 1111`, `3782 822463 10005`), with or without a payment
//!   word nearby (issuer + length + Luhn leaves about one random id in a hundred, and those
//!   look like cards to any reader too);
//! - SSN: `ddd-dd-dddd` (also with spaces or dots), numbers the SSA issues;
//! - phone: `+` and 8–15 digits, `(area)`, a trunk `0` national number (`030 12345678`), the
//!   North-American three-group shape, or ten NANP digits in one block (`2125551234`: area and
//!   exchange start with 2–9, not right after an id word like "order") — never a date, a
//!   version, an IP address or grouped thousands.
//!
//! Numbers are read as runs of digit groups joined by single separators, and a run can hold
//! several items ("card, then a phone"): cards are claimed first across the whole run, then SSNs
//! and phones in what is left. A run glued to a word (`ORD-2024-000123`, a UUID, `v1.2.3`) is an
//! identifier and is left alone; when only its end is glued (`212-555-1234 2026-12-07T10:00`),
//! the part before its last space is still read.

pub const PHONE_TOKEN: &str = "<phone>";
pub const CARD_TOKEN: &str = "<cc>";
pub const IBAN_TOKEN: &str = "<iban>";
pub const SSN_TOKEN: &str = "<ssn>";

/// Luhn checksum over the ASCII digits of `digits`; spaces and dashes are ignored, any other
/// character (or fewer than two digits) makes it invalid.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    let mut count = 0usize;
    let mut double = false;
    for c in digits.chars().rev() {
        if c == ' ' || c == '-' {
            continue;
        }
        let Some(d) = c.to_digit(10) else {
            return false;
        };
        sum += if double {
            let x = d * 2;
            if x > 9 {
                x - 9
            } else {
                x
            }
        } else {
            d
        };
        double = !double;
        count += 1;
    }
    count >= 2 && sum.is_multiple_of(10)
}

/// IBAN length by country (SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

pub fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, n)| *n)
}

/// ISO 13616: the country's registered length (spaces and dashes ignored), check digits, and
/// the mod-97 remainder of the rearranged number equals 1.
pub fn iban_valid(s: &str) -> bool {
    let compact: Vec<char> = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.len() < 15 || !compact[2].is_ascii_digit() || !compact[3].is_ascii_digit() {
        return false;
    }
    let country: String = compact[..2].iter().collect();
    if iban_length(&country) != Some(compact.len()) {
        return false;
    }
    let mut rem: u32 = 0;
    for c in compact[4..].iter().chain(compact[..4].iter()) {
        let Some(v) = c.to_digit(36).filter(|_| c.is_ascii_alphanumeric()) else {
            return false;
        };
        rem = if v < 10 {
            (rem * 10 + v) % 97
        } else {
            (rem * 100 + v) % 97
        };
    }
    rem == 1
}

/// Whether `digits` starts with a prefix some card issuer uses at this length (issuer ranges and
/// lengths as the networks publish them).
pub fn issuer_accepts(digits: &str) -> bool {
    let n = digits.len();
    let p = |k: usize| {
        digits
            .get(..k)
            .and_then(|x| x.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let long = (16..=19).contains(&n);
    let visa = digits.starts_with('4') && matches!(n, 13 | 16 | 19);
    let mastercard = ((51..=55).contains(&p(2)) || (2221..=2720).contains(&p(4))) && n == 16;
    let mir = (2200..=2204).contains(&p(4)) && long;
    let amex = matches!(p(2), 34 | 37) && n == 15;
    let discover = (p(4) == 6011 || (644..=649).contains(&p(3)) || p(2) == 65) && long;
    let jcb = (3528..=3589).contains(&p(4)) && long;
    let diners = ((300..=305).contains(&p(3)) || p(4) == 3095 || matches!(p(2), 36 | 38 | 39))
        && (14..=19).contains(&n);
    let unionpay = p(2) == 62 && long;
    let maestro = matches!(p(4), 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761..=6763)
        && (12..=19).contains(&n);
    // UATP (airline cards): the only issuer whose numbers start with 1, always 15 digits.
    let uatp = digits.starts_with('1') && n == 15;
    visa || mastercard || mir || amex || discover || jcb || diners || unionpay || maestro || uatp
}

/// Words after which a bare ten-digit number is an identifier, not a phone ("Order
/// 4829301745", "invoice no. 2125550100", "PO: 4500012345").
const ID_WORDS: &[&str] = &[
    "order",
    "invoice",
    "po",
    "ref",
    "reference",
    "id",
    "ticket",
    "build",
    "batch",
    "serial",
    "sku",
    "tracking",
    "case",
    "job",
    "txn",
    "transaction",
    "shipment",
    "receipt",
    "booking",
    "confirmation",
];

/// Whether the word right before `start` (or `no.`/`nr`/`number` after such a word) names an
/// identifier.
fn id_word_before(t: &str, start: usize) -> bool {
    let window = tail(&t[..start], 40);
    let mut words = window
        .rsplit(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase);
    // Only punctuation and spaces may stand between the word and the number.
    let gap_ok = window
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .len()
        + 4
        >= window.len();
    let is_id = |w: &str| ID_WORDS.contains(&w);
    match words.next() {
        Some(w) if gap_ok && is_id(&w) => true,
        Some(w) if gap_ok && matches!(w.as_str(), "no" | "nr" | "number" | "num") => {
            words.next().is_some_and(|w| is_id(&w))
        }
        _ => false,
    }
}

/// A North American number in one block: area code and exchange both start with 2–9.
fn nanp10(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10 && (b'2'..=b'9').contains(&b[0]) && (b'2'..=b'9').contains(&b[3])
}

// ---- digit runs ----

/// One group of digits inside a run, with the separator text that precedes it.
#[derive(Debug, Clone)]
struct Group<'a> {
    start: usize,
    end: usize,
    /// Separator between the previous group and this one (`""` for the first).
    sep: &'a str,
}

#[derive(Debug)]
struct Run<'a> {
    start: usize,
    end: usize,
    plus: bool,
    paren_start: bool,
    groups: Vec<Group<'a>>,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads the digit runs of `t`. A run is digit groups joined by one of ` `, `-`, `.`, `/`,
/// or parentheses (`+1 (555) 123-4567`, `+49 (0)30 1234567`), optionally led by `+` or `(`.
fn runs(t: &str) -> Vec<Run<'_>> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut scratch: Vec<Group<'_>> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // Most bytes start nothing: skip them in a tight loop.
        while i < b.len() && !matches!(b[i], b'0'..=b'9' | b'+' | b'(') {
            i += 1;
        }
        if i == b.len() {
            break;
        }
        // `+` leads a phone unless it follows a word (`+0000` of a timestamp, `2+2`).
        let lead_plus = b[i] == b'+'
            && b.get(i + 1).is_some_and(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        let lead_paren = b[i] == b'(' && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(b[i].is_ascii_digit() || lead_plus || lead_paren) {
            i += 1;
            continue;
        }
        let start = i;
        if lead_plus || lead_paren {
            i += 1;
        }
        scratch.clear();
        let groups = &mut scratch;
        let mut sep = "";
        loop {
            let gs = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(Group {
                start: gs,
                end: i,
                sep,
            });
            // A separator: one of ` -./`, or `)` / `(` with an optional space around.
            let mut j = i;
            if j < b.len() && b[j] == b')' {
                j += 1;
                if j < b.len() && (b[j] == b' ' || b[j] == b'-') {
                    j += 1;
                }
            } else if j < b.len() && matches!(b[j], b' ' | b'-' | b'.' | b'/') {
                j += 1;
                if j < b.len() && b[j] == b'(' {
                    j += 1;
                }
            } else if j < b.len() && b[j] == b'(' {
                j += 1;
            }
            if j > i && j < b.len() && b[j].is_ascii_digit() {
                sep = &t[i..j];
                i = j;
                continue;
            }
            break;
        }
        // Fewer than seven digits is no phone, card, SSN (or anything else we redact).
        if groups.iter().map(|g| g.end - g.start).sum::<usize>() >= 7 {
            out.push(Run {
                start,
                end: i,
                plus: lead_plus,
                paren_start: lead_paren,
                groups: groups.clone(),
            });
        }
    }
    out
}

/// The last `n` bytes of `s` or fewer (on a character boundary).
fn tail(s: &str, n: usize) -> &str {
    let mut i = s.len().saturating_sub(n);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// Glued to a word on the left (`ORD-2024`, `v1.2`, `x123`, `#123`) or the right (`123abc`,
/// `…-446655440000` of a UUID is glued on the left).
fn attached(t: &str, start: usize, end: usize) -> bool {
    let before = t[..start].chars().next_back();
    let before2 = t[..start].chars().rev().nth(1);
    let after = t[end..].chars().next();
    let after2 = t[end..].chars().nth(1);
    let left = match before {
        Some(c) if is_word(c) || c == '#' => true,
        Some('-' | '.' | '/') => before2.is_some_and(|c| is_word(c) && c != ' '),
        _ => false,
    };
    let right = match after {
        Some(c) if is_word(c) => true,
        // A decimal part or a further identifier segment ("2024-01-15T", "1.5", "12/26").
        Some('-' | '/' | '_') => after2.is_some_and(is_word),
        Some('.' | ',') => after2.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    left || right
}

/// Detects PII inside one run; returns `(byte start, byte end, token)` spans.
fn scan_run(t: &str, r: &Run<'_>) -> Vec<(usize, usize, &'static str)> {
    let g = &r.groups;
    // The run's digits in one buffer, so any stretch of groups is a slice.
    let all: String = g.iter().map(|x| &t[x.start..x.end]).collect();
    let mut offs = Vec::with_capacity(g.len() + 1);
    offs.push(0);
    for x in g {
        offs.push(offs[offs.len() - 1] + (x.end - x.start));
    }
    let digits = |i: usize, j: usize| -> &str { &all[offs[i]..offs[j + 1]] };
    let len = |i: usize| g[i].end - g[i].start;
    let mut claimed: Vec<Option<&'static str>> = vec![None; g.len()];
    let mut spans: Vec<(usize, usize, usize, &'static str)> = Vec::new(); // (gi, gj, _, tok)

    // Cards first, over the whole run (a card can follow a timestamp's last group).
    {
        // Every `j` such that groups `i..=j` are a card: issuer, length, Luhn, and card
        // grouping with one separator or a single block. Longest first.
        let card_ends = |i: usize| -> Vec<usize> {
            let mut ends = Vec::new();
            for j in (i..g.len()).rev() {
                let d = digits(i, j);
                if d.len() < 12 || d.len() > 19 {
                    continue;
                }
                let first_sep = g.get(i + 1).map_or(" ", |x| x.sep);
                let same_sep = matches!(first_sep, " " | "-")
                    && g[i + 1..=j].iter().all(|x| x.sep == first_sep);
                if !same_sep || !issuer_accepts(d) || !luhn_valid(d) {
                    continue;
                }
                let lens: Vec<usize> = (i..=j).map(len).collect();
                // Groups of four (the last one shorter), Amex / Diners 4-6-5 and 4-6-4, UATP
                // 4-5-6; or the whole number in one block.
                let grouped = lens.len() > 1
                    && ((lens[..lens.len() - 1].iter().all(|&l| l == 4)
                        && (1..=4).contains(&lens[lens.len() - 1]))
                        || lens == [4, 6, 5]
                        || lens == [4, 6, 4]
                        || lens == [4, 5, 6]);
                if grouped || lens.len() == 1 {
                    ends.push(j);
                }
            }
            ends
        };
        // Not at the start of a `+` run: that is a phone's country code.
        let mut i = usize::from(r.plus);
        while i < g.len() {
            let ends = card_ends(i);
            // When several lengths validate (`5020 8319 5276 3608 228766 8962`: a 12-digit
            // Maestro and a Diners card, or one 16-digit Maestro), take the longest whose rest
            // of the run reads as something (another card, a phone, an SSN, a date); failing
            // that, the longest that does not end in a short group, since that group is more
            // likely the start of the next number (`4111 … 1111 584.372.7598`).
            let reads = |j: usize| {
                let k = j + 1;
                k == g.len()
                    || !card_ends(k).is_empty()
                    || phone_at(t, r, g, k, g.len(), true).is_some()
                    || ssn_at(t, g, k, g.len()).is_some()
                    || date_at(t, g, k, g.len()).is_some()
            };
            let short_tail = |j: usize| j > i && len(j) < 4;
            let found = if ends.len() > 1 {
                ends.iter()
                    .copied()
                    .find(|&j| reads(j))
                    .or_else(|| ends.iter().copied().find(|&j| !short_tail(j)))
                    .or(ends.first().copied())
            } else {
                ends.first().copied()
            };
            match found {
                Some(j) => {
                    for c in claimed.iter_mut().take(j + 1).skip(i) {
                        *c = Some(CARD_TOKEN);
                    }
                    spans.push((i, j, 0, CARD_TOKEN));
                    i = j + 1;
                }
                None => i += 1,
            }
        }
    }

    // SSNs and phones in the unclaimed stretches.
    let mut i = 0;
    while i < g.len() {
        if claimed[i].is_some() {
            i += 1;
            continue;
        }
        let mut stop = i;
        while stop < g.len() && claimed[stop].is_none() {
            stop += 1;
        }
        // [i, stop) is free.
        let mut k = i;
        let mut fresh = true;
        while k < stop {
            if let Some(e) = date_at(t, g, k, stop) {
                k = e + 1;
                fresh = true;
                continue;
            }
            if let Some(e) = ssn_at(t, g, k, stop) {
                spans.push((k, e, 0, SSN_TOKEN));
                k = e + 1;
                fresh = true;
                continue;
            }
            if let Some(e) = phone_at(t, r, g, k, stop, fresh) {
                spans.push((k, e, 0, PHONE_TOKEN));
                k = e + 1;
                fresh = true;
                continue;
            }
            k += 1;
            fresh = false;
        }
        i = stop;
    }
    spans.sort_by_key(|s| s.0);
    spans
        .into_iter()
        .map(|(i, j, _, tok)| {
            let mut s = g[i].start;
            let mut e = g[j].end;
            // A leading `+` / `(` and a closing `)` belong to a phone.
            if i == 0 && tok == PHONE_TOKEN && (r.plus || r.paren_start) {
                s = r.start;
            }
            if i > 0 && tok == PHONE_TOKEN && g[i].sep.ends_with('(') {
                s = g[i].start - 1;
            }
            if tok == PHONE_TOKEN && r.paren_start && t[e..].starts_with(')') && j == 0 {
                e += 1;
            }
            (s, e, tok)
        })
        .collect()
}

fn group_str<'a>(t: &'a str, g: &[Group<'_>], i: usize) -> &'a str {
    &t[g[i].start..g[i].end]
}

/// A date at group `k` (`2024-01-15`, `15.01.2024`, `01/15/2024`, `15 01 2024`): its last group.
fn date_at(t: &str, g: &[Group<'_>], k: usize, stop: usize) -> Option<usize> {
    if k + 2 >= stop {
        return None;
    }
    let (a, b, c) = (
        group_str(t, g, k),
        group_str(t, g, k + 1),
        group_str(t, g, k + 2),
    );
    if g[k + 1].sep != g[k + 2].sep || !matches!(g[k + 1].sep, "-" | "." | "/" | " ") {
        return None;
    }
    // A date is three groups: more with the same separator is some other number (a French
    // phone `01 27 26 68 43` starts like a date).
    if g.get(k + 3).is_some_and(|x| x.sep == g[k + 1].sep) {
        return None;
    }
    let n = |s: &str| s.parse::<u32>().unwrap_or(0);
    let ymd = a.len() == 4
        && b.len() <= 2
        && c.len() <= 2
        && (1..=12).contains(&n(b))
        && (1..=31).contains(&n(c));
    let dmy = a.len() <= 2
        && b.len() <= 2
        && (c.len() == 4 || c.len() == 2)
        && (1..=31).contains(&n(a))
        && (1..=31).contains(&n(b))
        && (n(a) <= 12 || n(b) <= 12);
    (ymd || dmy).then_some(k + 2)
}

/// A date with a four-digit year at group `k`: where a phone must stop (`2026-12-07` after a
/// number). Two-digit-year dates are not used here: `6 23 66` of a French number would be one.
fn year_date_at(t: &str, g: &[Group<'_>], k: usize, stop: usize) -> bool {
    let four = |i: usize| g.get(i).is_some_and(|x| x.end - x.start == 4);
    (four(k) || four(k + 2)) && date_at(t, g, k, stop).is_some()
}

fn ssn_at(t: &str, g: &[Group<'_>], k: usize, stop: usize) -> Option<usize> {
    if k + 2 >= stop {
        return None;
    }
    let (a, b, c) = (
        group_str(t, g, k),
        group_str(t, g, k + 1),
        group_str(t, g, k + 2),
    );
    let sep = g[k + 1].sep;
    if (a.len(), b.len(), c.len()) != (3, 2, 4)
        || g[k + 2].sep != sep
        || !matches!(sep, "-" | " " | ".")
    {
        return None;
    }
    // Not part of a longer chain with the same separator (a part number 123-45-6789-01).
    if g.get(k + 3).is_some_and(|x| x.sep == sep) || (k > 0 && g[k].sep == sep) {
        return None;
    }
    // Numbers the SSA never issues are not SSNs.
    if a == "000" || a == "666" || a.starts_with('9') || b == "00" || c == "0000" {
        return None;
    }
    Some(k + 2)
}

/// A phone starting at group `k`, if one does. `fresh` is true when `k` starts the free stretch
/// or follows an item just recognised: only there may a bare national number begin (inside a
/// longer grouped number a `0…` group is part of that number, not a phone).
fn phone_at(
    t: &str,
    r: &Run<'_>,
    g: &[Group<'_>],
    k: usize,
    stop: usize,
    fresh: bool,
) -> Option<usize> {
    let len = |i: usize| g[i].end - g[i].start;
    let total = |j: usize| (k..=j).map(len).sum::<usize>();
    let seps = |j: usize| g[k + 1..=j].iter().map(|x| x.sep).collect::<Vec<_>>();
    // International: `+` and 8–15 digits; a group of six or more digits ends the number (the
    // subscriber part is written last, in one block).
    if k == 0 && r.plus {
        // `+1` is North America: exactly ten digits follow, whatever comes after them.
        if group_str(t, g, k).starts_with('1') {
            if let Some(j) = (k..stop).find(|&j| total(j) == 11) {
                return Some(j);
            }
        }
        let mut end = k;
        while end + 1 < stop
            && len(end) < 6
            && total(end + 1) <= 15
            && !year_date_at(t, g, end + 1, stop)
        {
            end += 1;
        }
        return (8..=15).contains(&total(end)).then_some(end);
    }
    // `(555) 123-4567`, `(030) 1234567`, also after another number in the same run: an area
    // code of 2–5 digits closed by `)` and more number after it. A number that merely follows a
    // `(` (an order id, a timestamp in brackets) is not a phone.
    let area_code =
        (2..=5).contains(&len(k)) && k + 1 < stop && g[k + 1].sep.trim_start().starts_with(')');
    if area_code && ((k == 0 && r.paren_start) || (k > 0 && g[k].sep.ends_with('('))) {
        let mut end = k;
        while end + 1 < stop
            && total(end + 1) <= 15
            && len(end) < 6
            && !year_date_at(t, g, end + 1, stop)
        {
            end += 1;
        }
        return (7..=15).contains(&total(end)).then_some(end);
    }
    let first = group_str(t, g, k);
    // National with a trunk 0: `030 12345678`, `0171 1234567`, `020 7946 0958`, `01 23 45 67 89`.
    if fresh
        && first.starts_with('0')
        && first.as_bytes().get(1).is_some_and(|&d| d != b'0')
        && (2..=5).contains(&first.len())
        && k + 1 < stop
    {
        let mut end = k;
        while end + 1 < stop
            && matches!(g[end + 1].sep, " " | "/" | "-")
            && len(end + 1) >= 2
            && total(end + 1) <= 12
            && len(end) < 6
            && !year_date_at(t, g, end + 1, stop)
        {
            end += 1;
        }
        let lens: Vec<usize> = (k..=end).map(len).collect();
        if end > k
            && (9..=12).contains(&total(end))
            && uniform_after_first(&seps(end))
            && lens != [3, 2, 4]
        {
            return Some(end);
        }
    }
    // North America in one block (`2125551234`): a number of its own (spaces around it), and not
    // an id that a word like "order" announces.
    if len(k) == 10
        && nanp10(first)
        && (k == 0 || g[k].sep == " ")
        && g.get(k + 1).is_none_or(|x| x.sep == " ")
        && !(k == 0 && id_word_before(t, r.start))
    {
        return Some(k);
    }
    // North America: `555-123-4567`, `555.123.4567`, `555 123 4567`, `1-800-555-0199`.
    for shape in [&[3usize, 3, 4][..], &[1, 3, 3, 4][..]] {
        let j = k + shape.len() - 1;
        if j >= stop {
            continue;
        }
        let lens: Vec<usize> = (k..=j).map(len).collect();
        let s = seps(j);
        if lens == shape
            && s.windows(2).all(|w| w[0] == w[1])
            && matches!(s[0], "-" | "." | " ")
            && (shape.len() == 3 || group_str(t, g, k) == "1")
            // Not a longer chain of short groups with the same separator (a part number); a
            // timestamp after the number is fine.
            && g.get(j + 1).is_none_or(|x| {
                x.sep != s[0] || x.end - x.start > 4 || year_date_at(t, g, j + 1, stop)
            })
        {
            return Some(j);
        }
    }
    None
}

/// `030/1234 567` is fine; what matters is that the groups after the area code agree.
fn uniform_after_first(seps: &[&str]) -> bool {
    seps.len() < 2 || seps[1..].windows(2).all(|w| w[0] == w[1])
}

/// Replaces IBANs. A candidate starts at a word boundary with two capitals and two digits and
/// takes capitals and digits, each optionally after one space or dash (at most 34); the longest
/// prefix (ending at a separator or the candidate's end) that is a valid IBAN of its country's
/// length is replaced. Scanned by hand: this runs on every text in PII mode.
fn redact_ibans(t: &str) -> std::borrow::Cow<'_, str> {
    let b = t.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    while i + 4 <= b.len() {
        // Skip ahead on the fourth byte: a candidate at i or i+1 needs a digit there, one at
        // i+2 or i+3 a capital; a byte that is neither (most text) rules out all four.
        let c = b[i + 3];
        if !c.is_ascii_digit() && !c.is_ascii_uppercase() {
            i += 4;
            continue;
        }
        let starts = b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && !t[..i].chars().next_back().is_some_and(is_word);
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + 4;
        let mut n = 4;
        let mut ends: Vec<usize> = Vec::new();
        while n < 34 {
            let (skip, next) = match b.get(j) {
                Some(b' ' | b'-') => (1, b.get(j + 1)),
                other => (0, other),
            };
            if !next.is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
                break;
            }
            if skip == 1 {
                ends.push(j);
            }
            j += skip + 1;
            n += 1;
        }
        if !t[j..].chars().next().is_some_and(is_word) {
            ends.push(j);
        }
        match ends.into_iter().rev().find(|&e| iban_valid(&t[i..e])) {
            Some(e) => {
                if out.is_empty() {
                    out.reserve(t.len());
                }
                out.push_str(&t[last..i]);
                out.push_str(IBAN_TOKEN);
                last = e;
                i = e;
            }
            None => i += 4,
        }
    }
    if last == 0 {
        return std::borrow::Cow::Borrowed(t);
    }
    out.push_str(&t[last..]);
    std::borrow::Cow::Owned(out)
}

/// The part of a run that is not glued to a word: the whole run, or, when only its end is glued
/// (`212-555-1234 2026-12-07T10:00:00Z`, `2125551234 12abc`), the groups before its last space.
/// A run glued on the left is an identifier (`ORD-2024-000123`, `v1.2.3`) and yields nothing.
fn unglued<'a>(t: &str, mut r: Run<'a>) -> Option<Run<'a>> {
    if !attached(t, r.start, r.end) {
        return Some(r);
    }
    let cut = r.groups.iter().rposition(|g| g.sep == " ")?;
    r.groups.truncate(cut);
    r.end = r.groups[cut - 1].end;
    let digits: usize = r.groups.iter().map(|g| g.end - g.start).sum();
    (digits >= 7 && !attached(t, r.start, r.end)).then_some(r)
}

/// Applies PII-sensitive mode to one piece of text.
pub fn redact(text: &str) -> String {
    let text = redact_ibans(text);
    let text: &str = &text;
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in runs(text) {
        if r.end < last {
            continue;
        }
        let Some(r) = unglued(text, r) else {
            continue;
        };
        let spans = scan_run(text, &r);
        for (s, e, tok) in spans {
            if s < last {
                continue;
            }
            out.push_str(&text[last..s]);
            out.push_str(tok);
            last = e;
        }
    }
    out.push_str(&text[last..]);
    out
}
