//! Per-execution anonymisation of everything that leaves the tenant in an AI prompt.
//!
//! Always on: emails → `<email>`, account ids removed, people → stable `<user-N>` tokens (real
//! names are only substituted in free text when they have two or more words, so a user called
//! "River" does not mangle the word "river"). PII-sensitive mode adds phones, payment cards
//! (Luhn-checked), IBANs (mod-97-checked) and US SSNs. Candidates are validated before they are
//! replaced, so order numbers (`ORD-2024-000123`), issue keys (`AIR-42`), dates and Luhn-invalid
//! digit runs pass through untouched.

use regex::{NoExpand, Regex};
use std::sync::OnceLock;

/// Custom fields whose name (or id) contains one of these are dropped in PII-sensitive mode.
pub const PII_FIELD_KEYWORDS: &[&str] = &[
    "email", "phone", "mobile", "address", "dob", "birth", "ssn", "passport", "tax", "iban",
    "card", "credit", "national", "personal",
];

pub const EMAIL_TOKEN: &str = "<email>";
/// Stands in for an account id that belongs to nobody registered in this execution.
pub const ACCOUNT_TOKEN: &str = "<account>";
pub const PHONE_TOKEN: &str = "<phone>";
pub const CARD_TOKEN: &str = "<cc>";
pub const IBAN_TOKEN: &str = "<iban>";
pub const SSN_TOKEN: &str = "<ssn>";

/// Case-insensitive substring match against [`PII_FIELD_KEYWORDS`]. Deliberately broad
/// ("Discard date" matches "card"): dropping a harmless field beats leaking a sensitive one.
pub fn is_pii_field_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    PII_FIELD_KEYWORDS.iter().any(|k| lower.contains(k))
}

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
        if !c.is_ascii_digit() {
            return false;
        }
        let d = c as u32 - '0' as u32;
        let v = if double {
            let x = d * 2;
            if x > 9 {
                x - 9
            } else {
                x
            }
        } else {
            d
        };
        sum += v;
        double = !double;
        count += 1;
    }
    count >= 2 && sum.is_multiple_of(10)
}

/// ISO 13616 check: 15–34 alphanumerics (whitespace ignored), country letters, check digits,
/// and the mod-97 remainder of the rearranged number equals 1.
pub fn iban_valid(s: &str) -> bool {
    let compact: Vec<char> = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.len() < 15 || compact.len() > 34 {
        return false;
    }
    if !compact[0].is_ascii_uppercase()
        || !compact[1].is_ascii_uppercase()
        || !compact[2].is_ascii_digit()
        || !compact[3].is_ascii_digit()
    {
        return false;
    }
    let mut rem: u32 = 0;
    for c in compact[4..].iter().chain(compact[..4].iter()) {
        if !c.is_ascii_alphanumeric() {
            return false;
        }
        let Some(v) = c.to_digit(36) else {
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

#[derive(Debug, Clone)]
struct Person {
    token: String,
    account_id: String,
    display_name: String,
    email: Option<String>,
    /// Only for multi-word names: single words are too likely to be ordinary English.
    name_re: Option<Regex>,
}

impl Person {
    fn is(&self, account_id: &str, display_name: &str, email: Option<&str>) -> bool {
        // Two known account ids decide on their own: same display name ≠ same person.
        if !account_id.is_empty() && !self.account_id.is_empty() {
            return self.account_id == account_id;
        }
        if let (Some(a), Some(b)) = (email, self.email.as_deref()) {
            if a.eq_ignore_ascii_case(b) {
                return true;
            }
        }
        self.display_name == display_name
    }
}

fn name_pattern(display_name: &str) -> Option<Regex> {
    let words: Vec<&str> = display_name.split_whitespace().collect();
    if words.len() < 2 {
        return None;
    }
    let body = words
        .iter()
        .map(|w| regex::escape(w))
        .collect::<Vec<_>>()
        .join(r"\s+");
    // `\b` only next to word characters, so names like "Smith Jr." still match at their end.
    let starts_word = display_name
        .trim_start()
        .chars()
        .next()
        .is_some_and(char::is_alphanumeric);
    let ends_word = display_name
        .trim_end()
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric);
    let pattern = format!(
        "(?i){}{}{}",
        if starts_word { r"\b" } else { "" },
        body,
        if ends_word { r"\b" } else { "" }
    );
    Regex::new(&pattern).ok()
}

/// One execution's anonymiser: the token table plus the free-text scrubbing rules.
#[derive(Debug, Clone)]
pub struct Scrubber {
    pii_mode: bool,
    people: Vec<Person>,
}

impl Scrubber {
    pub fn new(pii_mode: bool) -> Self {
        Scrubber {
            pii_mode,
            people: Vec::new(),
        }
    }

    pub fn pii_mode(&self) -> bool {
        self.pii_mode
    }

    /// How many distinct people have been tokenised so far.
    pub fn people_count(&self) -> usize {
        self.people.len()
    }

    /// Returns the person's stable `<user-N>` token, allocating the next number on first sight.
    /// A person is recognised by account id, else by email, else by display name; details
    /// learned later (an email, an id) are merged into the existing entry.
    pub fn register_user(
        &mut self,
        account_id: &str,
        display_name: &str,
        email: Option<&str>,
    ) -> String {
        let account_id = account_id.trim();
        let display_name = display_name.trim();
        let email = email.map(str::trim).filter(|e| !e.is_empty());
        if let Some(i) = self
            .people
            .iter()
            .position(|p| p.is(account_id, display_name, email))
        {
            let p = &mut self.people[i];
            if p.account_id.is_empty() && !account_id.is_empty() {
                p.account_id = account_id.to_string();
            }
            if p.email.is_none() {
                p.email = email.map(str::to_string);
            }
            if p.display_name.is_empty() && !display_name.is_empty() {
                p.display_name = display_name.to_string();
                p.name_re = name_pattern(display_name);
            }
            return p.token.clone();
        }
        let token = format!("<user-{}>", self.people.len() + 1);
        self.people.push(Person {
            token: token.clone(),
            account_id: account_id.to_string(),
            display_name: display_name.to_string(),
            email: email.map(str::to_string),
            name_re: name_pattern(display_name),
        });
        token
    }

    /// The token already given to this account id, if any.
    pub fn token_for_account(&self, account_id: &str) -> Option<&str> {
        if account_id.is_empty() {
            return None;
        }
        self.people
            .iter()
            .find(|p| p.account_id == account_id)
            .map(|p| p.token.as_str())
    }

    /// Applies every rule to one piece of free text. Emails go first so that names and digits
    /// inside addresses are never half-replaced.
    pub fn scrub_text(&self, s: &str) -> String {
        if s.is_empty() {
            return String::new();
        }
        let mut text = email_re()
            .replace_all(s, NoExpand(EMAIL_TOKEN))
            .into_owned();

        // Registered account ids, longest first (one id can't then eat part of another).
        let mut ids: Vec<(&str, &str)> = self
            .people
            .iter()
            .filter(|p| p.account_id.len() >= 6)
            .map(|p| (p.account_id.as_str(), p.token.as_str()))
            .collect();
        ids.sort_by_key(|x| std::cmp::Reverse(x.0.len()));
        for (id, token) in ids {
            if text.contains(id) {
                text = replace_bounded(&text, id, token);
            }
        }
        // Account-id-shaped strings nobody registered are still identifiers: remove them.
        text = replace_checked(&text, account_re(), account_replacement);

        let mut named: Vec<&Person> = self.people.iter().filter(|p| p.name_re.is_some()).collect();
        named.sort_by_key(|x| std::cmp::Reverse(x.display_name.len()));
        for p in named {
            if let Some(re) = &p.name_re {
                text = re.replace_all(&text, NoExpand(&p.token)).into_owned();
            }
        }

        if self.pii_mode {
            // IBANs and cards before SSNs and phones: a phone pattern would match their digits.
            text = replace_checked(&text, iban_re(), iban_replacement);
            text = replace_checked(&text, card_re(), card_replacement);
            text = replace_checked(&text, ssn_re(), ssn_replacement);
            text = replace_checked(&text, phone_re(), phone_replacement);
        }
        text
    }
}

// ---- patterns (compiled once) ----

fn compiled(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex is valid"))
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    compiled(
        &RE,
        r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    )
}

fn account_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    compiled(
        &RE,
        r"[0-9a-fA-F]{24}|[0-9]{5,6}:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    )
}

fn iban_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    compiled(&RE, r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}")
}

fn card_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    compiled(&RE, r"[0-9](?:[ \-]?[0-9]){12,18}")
}

fn ssn_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    compiled(&RE, r"[0-9]{3}-[0-9]{2}-[0-9]{4}")
}

fn phone_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    compiled(
        &RE,
        r"\+[0-9]{8,15}|(?:\+[0-9]{1,3}[ .\-]?)?(?:\([0-9]{1,4}\)[ .\-]?)?[0-9]{1,4}(?:[ .\-][0-9]{2,5}){1,5}",
    )
}

// ---- validated replacement ----

/// Like `replace_all`, but each match is offered to `accept(text, start, end)`, which returns
/// the replacement or `None` to keep the original. (The regex crate has no look-around, so
/// boundary and checksum rules live here.)
fn replace_checked(
    text: &str,
    re: &Regex,
    accept: impl Fn(&str, usize, usize) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        if let Some(rep) = accept(text, m.start(), m.end()) {
            out.push_str(&text[last..m.start()]);
            out.push_str(&rep);
            last = m.end();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Replaces whole-word occurrences of `needle` only (an id inside a longer hash stays).
fn replace_bounded(text: &str, needle: &str, rep: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(needle) {
        if i < last {
            continue;
        }
        let end = i + needle.len();
        if clear_before(text, i, "") && clear_after(text, end, "") {
            out.push_str(&text[last..i]);
            out.push_str(rep);
            last = end;
        }
    }
    out.push_str(&text[last..]);
    out
}

fn prev_char(t: &str, i: usize) -> Option<char> {
    t[..i].chars().next_back()
}

fn next_char(t: &str, i: usize) -> Option<char> {
    t[i..].chars().next()
}

/// True when the character before `i` is not a word character nor one of `extra`.
fn clear_before(t: &str, i: usize, extra: &str) -> bool {
    match prev_char(t, i) {
        None => true,
        Some(c) => !(c.is_alphanumeric() || extra.contains(c)),
    }
}

fn clear_after(t: &str, i: usize, extra: &str) -> bool {
    match next_char(t, i) {
        None => true,
        Some(c) => !(c.is_alphanumeric() || extra.contains(c)),
    }
}

/// A greedy candidate may run into the next word or number ("DE89 … 00 BANK"); try the longest
/// prefix that ends before a separator (or at the end) and passes `ok`.
fn longest_valid_prefix(m: &str, seps: &[char], ok: impl Fn(&str) -> bool) -> Option<usize> {
    let mut ends: Vec<usize> = m
        .char_indices()
        .filter(|(_, c)| seps.contains(c))
        .map(|(i, _)| i)
        .collect();
    ends.push(m.len());
    ends.into_iter().rev().find(|&e| e > 0 && ok(&m[..e]))
}

fn account_replacement(t: &str, a: usize, b: usize) -> Option<String> {
    if !clear_before(t, a, "") || !clear_after(t, b, "") {
        return None;
    }
    let m = &t[a..b];
    if !m.contains(':') {
        // 24 hex chars: an Atlassian id mixes digits and letters; pure digit runs are numbers.
        let has_letter = m.chars().any(|c| c.is_ascii_alphabetic());
        let has_digit = m.chars().any(|c| c.is_ascii_digit());
        if !(has_letter && has_digit) {
            return None;
        }
    }
    Some(ACCOUNT_TOKEN.to_string())
}

fn iban_replacement(t: &str, a: usize, b: usize) -> Option<String> {
    if !clear_before(t, a, "") {
        return None;
    }
    let m = &t[a..b];
    let full_ok = clear_after(t, b, "");
    let end = longest_valid_prefix(m, &[' '], |p| {
        (p.len() < m.len() || full_ok) && iban_valid(p)
    })?;
    Some(format!("{}{}", IBAN_TOKEN, &m[end..]))
}

fn card_replacement(t: &str, a: usize, b: usize) -> Option<String> {
    if !clear_before(t, a, "-+_./") {
        return None;
    }
    let m = &t[a..b];
    let full_ok = clear_after(t, b, "-_");
    let end = longest_valid_prefix(m, &[' ', '-'], |p| {
        let n = p.chars().filter(char::is_ascii_digit).count();
        (p.len() < m.len() || full_ok) && (13..=19).contains(&n) && luhn_valid(p)
    })?;
    Some(format!("{}{}", CARD_TOKEN, &m[end..]))
}

fn ssn_replacement(t: &str, a: usize, b: usize) -> Option<String> {
    if !clear_before(t, a, "-_/.") || !clear_after(t, b, "-_/") {
        return None;
    }
    let m = &t[a..b];
    let area = &m[0..3];
    let group = &m[4..6];
    let serial = &m[7..11];
    // Numbers the SSA never issues are not SSNs (keeps look-alike references intact).
    if area == "000" || area == "666" || area.starts_with('9') || group == "00" || serial == "0000"
    {
        return None;
    }
    Some(SSN_TOKEN.to_string())
}

fn phone_replacement(t: &str, a: usize, b: usize) -> Option<String> {
    // Part of an identifier (ORD-2024-000123, AIR-42, path/123) or of a decimal number.
    match prev_char(t, a) {
        Some(c) if c.is_alphanumeric() || "-_/#+".contains(c) => return None,
        Some('.') | Some(',') => {
            let before = prev_char(t, a - 1);
            if before.is_some_and(|c| c.is_ascii_digit()) {
                return None;
            }
        }
        _ => {}
    }
    match next_char(t, b) {
        Some(c) if c.is_alphanumeric() || "-_/".contains(c) => return None,
        Some('.') | Some(',') if next_char(t, b + 1).is_some_and(|c| c.is_ascii_digit()) => {
            return None;
        }
        _ => {}
    }
    let m = &t[a..b];
    let digits = m.chars().filter(char::is_ascii_digit).count();
    if !(7..=15).contains(&digits) {
        return None;
    }
    let explicit = m.starts_with('+') || m.contains('(');
    if !explicit {
        let groups: Vec<&str> = m.split([' ', '.', '-']).filter(|g| !g.is_empty()).collect();
        // Two groups are too often a year range or an amount ("2019-2024").
        if groups.len() < 3 {
            return None;
        }
        let (g0, g1, g2) = (groups[0].len(), groups[1].len(), groups[2].len());
        // Dates: 2024-01-15, and (without spaces) 15.01.2024 / 01/15/24.
        if g0 == 4 && g1 <= 2 && g2 <= 2 {
            return None;
        }
        if !m.contains(' ') && g0 <= 2 && g1 <= 2 && (g2 == 2 || g2 == 4) {
            return None;
        }
        // SSN-shaped (ddd-dd-dddd) but rejected as an SSN above: not a phone either.
        if groups.len() == 3 && (g0, g1, g2) == (3, 2, 4) && m.contains('-') {
            return None;
        }
        // Thousands grouping: 1 234 567, 12.345.678.
        if g0 <= 3 && groups[1..].iter().all(|g| g.len() == 3) {
            return None;
        }
        // IPv4 addresses.
        if groups.len() == 4
            && !m.contains(' ')
            && !m.contains('-')
            && groups.iter().all(|g| g.len() <= 3)
        {
            return None;
        }
    }
    Some(PHONE_TOKEN.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pii() -> Scrubber {
        Scrubber::new(true)
    }

    // covers: AP-130
    #[test]
    fn emails_are_always_replaced() {
        let s = Scrubber::new(false);
        assert_eq!(
            s.scrub_text("Contact alice.smith+billing@example.co.uk or BOB@corp.io today."),
            "Contact <email> or <email> today."
        );
    }

    // covers: AP-132
    #[test]
    fn same_person_gets_same_token_in_first_registration_order() {
        let mut s = Scrubber::new(false);
        let a = s.register_user(
            "5ad8a1033b4801af4cd6c510",
            "Alice Smith",
            Some("alice@example.com"),
        );
        let b = s.register_user(
            "712020:0e2b1c4d-1234-4abc-9def-0123456789ab",
            "Bob Jones",
            None,
        );
        assert_eq!(a, "<user-1>");
        assert_eq!(b, "<user-2>");
        // Same id again, and the same person seen only by email (e.g. a JSM customer object).
        assert_eq!(
            s.register_user("5ad8a1033b4801af4cd6c510", "Alice Smith", None),
            "<user-1>"
        );
        assert_eq!(
            s.register_user("", "A. Smith", Some("ALICE@example.com")),
            "<user-1>"
        );
        // Same display name but a different account id is a different person.
        assert_eq!(
            s.register_user("aaaaaaaaaaaaaaaaaaaaaaa1", "Alice Smith", None),
            "<user-3>"
        );
        assert_eq!(s.people_count(), 3);
        assert_eq!(
            s.token_for_account("5ad8a1033b4801af4cd6c510"),
            Some("<user-1>")
        );
    }

    // covers: AP-131, AP-132
    #[test]
    fn registered_ids_become_tokens_and_unregistered_ids_are_removed() {
        let mut s = Scrubber::new(false);
        s.register_user("5ad8a1033b4801af4cd6c510", "Alice Smith", None);
        let out = s.scrub_text(
            "Owner 5ad8a1033b4801af4cd6c510; also 6f1e2d3c4b5a697887766554 and \
             557058:f58131cb-b67d-43c7-b30d-6b58d40bd077 were tagged.",
        );
        assert_eq!(
            out,
            "Owner <user-1>; also <account> and <account> were tagged."
        );
        // A 24-digit number or a longer hex run (a commit hash) is not an account id.
        let keep = "Ref 123456789012345678901234 commit 5ad8a1033b4801af4cd6c5109f3e2d1c0b9a8f7e";
        assert_eq!(s.scrub_text(keep), keep);
    }

    // covers: AP-132, AP-133
    #[test]
    fn multi_word_names_are_replaced_but_single_word_names_are_not() {
        let mut s = Scrubber::new(false);
        let alice = s.register_user("5ad8a1033b4801af4cd6c510", "Alice Smith", None);
        let river = s.register_user("6f1e2d3c4b5a697887766554", "River", None);
        assert_eq!(river, "<user-2>");
        let out = s.scrub_text(
            "alice  SMITH asked; Alice Smith's team crossed the river. River approved.",
        );
        assert_eq!(
            out,
            format!("{alice} asked; {alice}'s team crossed the river. River approved.")
        );
        // Longer names win over shorter ones that are contained in them.
        s.register_user("aaaaaaaaaaaaaaaaaaaaaaa1", "Alice Smith Jones", None);
        assert_eq!(s.scrub_text("Alice Smith Jones signed"), "<user-3> signed");
    }

    // covers: AP-135
    #[test]
    fn pii_patterns_untouched_when_mode_is_off() {
        let s = Scrubber::new(false);
        let text = "Call +1 (555) 123-4567, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789.";
        assert_eq!(s.scrub_text(text), text);
    }

    // covers: AP-135
    #[test]
    fn pii_mode_replaces_phone_card_iban_ssn() {
        let s = pii();
        assert_eq!(
            s.scrub_text(
                "Call +1 (555) 123-4567 or 555-123-4567 or +44 20 7946 0958 or +442079460958."
            ),
            "Call <phone> or <phone> or <phone> or <phone>."
        );
        assert_eq!(
            s.scrub_text("Card 4111 1111 1111 1111 exp 12/26, also 5500-0000-0000-0004 and 4012888888881881."),
            "Card <cc> exp 12/26, also <cc> and <cc>."
        );
        assert_eq!(
            s.scrub_text("Pay DE89 3704 0044 0532 0130 00 or GB82WEST12345698765432 NOW"),
            "Pay <iban> or <iban> NOW"
        );
        assert_eq!(s.scrub_text("SSN 123-45-6789."), "SSN <ssn>.");
    }

    // covers: AP-135
    #[test]
    fn pii_mode_leaves_identifiers_dates_and_invalid_numbers_alone() {
        let s = pii();
        for keep in [
            "Order ORD-2024-000123 for AIR-42 is ready.",
            "Luhn-invalid 4111 1111 1111 1112 and 4111111111111112 stay.",
            "Created 2024-01-15T10:00:00.000+0000, due 15.01.2024, FY 2019-2024.",
            "Budget 1 234 567 EUR, 12.345.678 units, host 192.168.100.200, v1.2.3.",
            "IBAN-like DE89 3704 0044 0532 0130 01 fails mod-97.",
            "Not an SSN: 000-12-3456 or 999-12-3456.",
            "Ticket 4567 and PO 20240115.",
        ] {
            assert_eq!(s.scrub_text(keep), keep, "mangled: {keep}");
        }
    }

    #[test]
    fn luhn_and_iban_checks() {
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("4111a111"));
        assert!(!luhn_valid(""));
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(iban_valid("de89370400440532013000"));
        assert!(!iban_valid("DE89370400440532013001"));
        assert!(!iban_valid("DE8937"));
        assert!(!iban_valid("1289370400440532013000"));
    }

    // covers: AP-136
    #[test]
    fn pii_field_names_match_keywords_case_insensitively() {
        for name in [
            "Home Address",
            "Customer EMAIL",
            "Date of Birth",
            "Mobile",
            "Tax ID",
            "Credit limit",
            "Passport no.",
        ] {
            assert!(is_pii_field_name(name), "{name}");
        }
        for name in ["Budget Amount", "Vendor", "Cost Centre", "Go-live date"] {
            assert!(!is_pii_field_name(name), "{name}");
        }
        assert_eq!(PII_FIELD_KEYWORDS.len(), 14);
    }
}
