//! Per-execution anonymisation of everything that leaves the tenant in an AI prompt.
//!
//! Always on: emails → `<email>`, account ids removed, people → stable `<user-N>` tokens (real
//! names are only substituted in free text when they have two or more words, so a user called
//! "River" does not mangle the word "river"). PII-sensitive mode adds phones, payment cards,
//! IBANs and US SSNs (`pii`).
//!
//! Registered account ids and names are found in one pass, however many people are registered:
//! one Aho-Corasick automaton over the ids and the first word of every multi-word name, each hit
//! verified in place (the rest of the name, with any whitespace between words, and word
//! boundaries).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{NoExpand, Regex};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

pub use super::pii::{iban_valid, luhn_valid, CARD_TOKEN, IBAN_TOKEN, PHONE_TOKEN, SSN_TOKEN};

/// Custom fields whose name (or id) contains one of these are dropped in PII-sensitive mode.
pub const PII_FIELD_KEYWORDS: &[&str] = &[
    "email", "phone", "mobile", "address", "dob", "birth", "ssn", "passport", "tax", "iban",
    "card", "credit", "national", "personal",
];

pub const EMAIL_TOKEN: &str = "<email>";
/// Stands in for an account id that belongs to nobody registered in this execution.
pub const ACCOUNT_TOKEN: &str = "<account>";

/// Case-insensitive substring match against [`PII_FIELD_KEYWORDS`]. Deliberately broad
/// ("Discard date" matches "card"): dropping a harmless field beats leaking a sensitive one.
pub fn is_pii_field_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    PII_FIELD_KEYWORDS.iter().any(|k| lower.contains(k))
}

#[derive(Debug, Clone)]
struct Person {
    token: String,
    account_id: String,
    display_name: String,
    email: Option<String>,
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

/// What a hit of the automaton may be.
#[derive(Debug, Clone)]
enum Needle {
    /// A registered account id (exact, whole word) → the person's token.
    Id(usize),
    /// A first word (in one of its spellings): the index of its group of candidate names.
    FirstWord(usize),
}

/// Whose name a candidate is: a registered person, or someone from the installation's name
/// directory (who gets a token only when their name actually occurs).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Person(usize),
    Known(usize),
}

/// A multi-word name the matcher looks for.
#[derive(Debug, Clone)]
struct Candidate {
    words: Vec<String>,
    target: Target,
}

/// The names starting with one first word (folded), by the folded first two letters of their
/// second word, longest name first: a hit on "David" tries only the Davids whose surname starts
/// with the letters that follow, so 10,000 names cost a few checks per hit, not hundreds.
#[derive(Debug, Clone, Default)]
struct Group {
    by_second: HashMap<Lead, Vec<usize>>,
}

/// The one-pass matcher over everyone registered so far and the directory (rebuilt lazily
/// after a registration).
#[derive(Debug, Clone)]
struct Matcher {
    ac: AhoCorasick,
    needles: Vec<Needle>,
    groups: Vec<Group>,
    candidates: Vec<Candidate>,
}

/// The first two letters of a word, folded (lowercase, no accent); the second is `None` for a
/// one-letter word.
type Lead = (char, Option<char>);

fn lead(w: &str) -> Option<Lead> {
    let mut it = w.chars();
    let one = |c: char| c.to_lowercase().next().map(fold_char);
    let a = one(it.next()?)?;
    Some((a, it.next().filter(|c| !c.is_whitespace()).and_then(one)))
}

fn words_of(name: &str) -> Option<Vec<String>> {
    let words: Vec<String> = name.split_whitespace().map(str::to_string).collect();
    (words.len() >= 2).then_some(words)
}

fn build_matcher(people: &[Person], known: &[Known]) -> Option<Matcher> {
    let mut patterns: Vec<String> = Vec::new();
    let mut needles: Vec<Needle> = Vec::new();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, p) in people.iter().enumerate() {
        if p.account_id.len() >= 6 {
            patterns.push(p.account_id.clone());
            needles.push(Needle::Id(i));
        }
        if !p.account_id.is_empty() {
            by_id.insert(p.account_id.as_str(), i);
        }
    }
    // Registered people first (they win a tie with a directory name), then the directory: a
    // directory entry of someone registered stands for that person (their token), under the
    // name the directory knows when it differs.
    let mut candidates: Vec<Candidate> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        if let Some(words) = words_of(&p.display_name) {
            candidates.push(Candidate {
                words,
                target: Target::Person(i),
            });
        }
    }
    for (k, e) in known.iter().enumerate() {
        let target = match by_id.get(e.account_id.as_str()) {
            Some(&i) if people[i].display_name == e.display_name => continue,
            Some(&i) => Target::Person(i),
            None => Target::Known(k),
        };
        if let Some(words) = words_of(&e.display_name) {
            candidates.push(Candidate { words, target });
        }
    }
    // First words, each group once, keyed by the folded word; its spellings (as written, lower
    // and upper case, folded: ASCII case is folded by the automaton) all lead to the group.
    let mut group_of: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut spellings: Vec<Vec<String>> = Vec::new();
    for (c, cand) in candidates.iter().enumerate() {
        let first = &cand.words[0];
        let Some(second) = lead(&cand.words[1]) else {
            continue;
        };
        let g = *group_of.entry(fold(first)).or_insert_with(|| {
            groups.push(Group::default());
            spellings.push(Vec::new());
            groups.len() - 1
        });
        groups[g].by_second.entry(second).or_default().push(c);
        for sp in [
            first.clone(),
            first.to_lowercase(),
            first.to_uppercase(),
            fold(first),
        ] {
            let sp = sp.to_ascii_lowercase();
            if !spellings[g].contains(&sp) {
                spellings[g].push(sp);
            }
        }
    }
    let name_len = |c: &Candidate| c.words.iter().map(String::len).sum::<usize>() + c.words.len();
    for g in &mut groups {
        for list in g.by_second.values_mut() {
            // Longest first; a registered person before a directory name of the same length.
            list.sort_by_key(|&c| {
                (
                    std::cmp::Reverse(name_len(&candidates[c])),
                    matches!(candidates[c].target, Target::Known(_)),
                )
            });
        }
    }
    for (g, sps) in spellings.into_iter().enumerate() {
        for sp in sps {
            patterns.push(sp);
            needles.push(Needle::FirstWord(g));
        }
    }
    if patterns.is_empty() {
        return None;
    }
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        // A DFA scans fastest; its size grows with the patterns' bytes, so past what a large
        // directory's first names need (10,000 names: ~1,000 distinct first names) the
        // builder chooses.
        .kind(
            (patterns.iter().map(String::len).sum::<usize>() <= 64_000)
                .then_some(AhoCorasickKind::DFA),
        )
        .build(&patterns)
        .ok()?;
    Some(Matcher {
        ac,
        needles,
        groups,
        candidates,
    })
}

/// Equality of two words as a reader sees them: case-insensitive, any apostrophe for any other
/// (O’Connor, O'Connor), and Latin letters with or without their accent (Fernández, Fernandez).
fn same_word(a: &str, b: &str) -> bool {
    a == b || folded(a).eq(folded(b))
}

/// `w`'s characters lowercased and folded, without allocating.
fn folded(w: &str) -> impl Iterator<Item = char> + '_ {
    w.chars().flat_map(char::to_lowercase).map(fold_char)
}

/// `w` lowercased, apostrophe-like characters as `'`, accented Latin letters as their base.
fn fold(w: &str) -> String {
    w.chars()
        .flat_map(char::to_lowercase)
        .map(fold_char)
        .collect()
}

fn fold_char(c: char) -> char {
    match c {
        '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{2032}' | '\u{00B4}' | '`' | '\u{02B9}' => '\'',
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' | 'ħ' => 'h',
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => 's',
        'ţ' | 'ť' | 'ŧ' | 'ț' => 't',
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// Someone from the installation's name directory (`names::directory`): matched by name in
/// free text, given a token only when the name occurs.
#[derive(Debug, Clone)]
struct Known {
    account_id: String,
    display_name: String,
}

/// Tokens handed out so far: registered people take theirs at registration, directory names
/// on first occurrence (while scrubbing, which borrows the scrubber immutably).
#[derive(Debug, Clone, Default)]
struct Issued {
    count: usize,
    known: HashMap<usize, String>,
}

/// One execution's anonymiser: the token table plus the free-text scrubbing rules.
#[derive(Debug, Clone)]
pub struct Scrubber {
    pii_mode: bool,
    people: Vec<Person>,
    known: Vec<Known>,
    known_ids: HashMap<String, usize>,
    issued: RefCell<Issued>,
    matcher: OnceLock<Option<Matcher>>,
}

impl Scrubber {
    pub fn new(pii_mode: bool) -> Self {
        Scrubber {
            pii_mode,
            people: Vec::new(),
            known: Vec::new(),
            known_ids: HashMap::new(),
            issued: RefCell::new(Issued::default()),
            matcher: OnceLock::new(),
        }
    }

    pub fn pii_mode(&self) -> bool {
        self.pii_mode
    }

    /// How many distinct people have been tokenised so far (registered, or from the directory
    /// and found in text).
    pub fn people_count(&self) -> usize {
        self.issued.borrow().count
    }

    /// How many directory names the scrubber looks for.
    pub fn known_count(&self) -> usize {
        self.known.len()
    }

    /// Adds someone from the installation's name directory: their multi-word name is tokenised
    /// wherever free text carries it, with the same rules as a registered person's, but they
    /// take a `<user-N>` number only when the name occurs (so the numbers of the people on the
    /// issue do not depend on the directory's size). A repeat of an account id is ignored.
    pub fn add_known(&mut self, account_id: &str, display_name: &str) {
        let (account_id, display_name) = (account_id.trim(), display_name.trim());
        if account_id.is_empty()
            || display_name.split_whitespace().nth(1).is_none()
            || self.known_ids.contains_key(account_id)
        {
            return;
        }
        self.known_ids
            .insert(account_id.to_string(), self.known.len());
        self.known.push(Known {
            account_id: account_id.to_string(),
            display_name: display_name.to_string(),
        });
        self.matcher = OnceLock::new();
    }

    fn next_token(&self) -> String {
        let mut issued = self.issued.borrow_mut();
        issued.count += 1;
        format!("<user-{}>", issued.count)
    }

    /// The token of directory entry `k`, handed out on its first occurrence.
    fn known_token(&self, k: usize) -> String {
        if let Some(t) = self.issued.borrow().known.get(&k) {
            return t.clone();
        }
        let t = self.next_token();
        self.issued.borrow_mut().known.insert(k, t.clone());
        t
    }

    /// Returns the person's stable `<user-N>` token, allocating the next number on first sight.
    /// A person is recognised by account id, else by email, else by display name; details
    /// learned later (an email, an id) are merged into the existing entry. Someone from the
    /// directory whose name already occurred keeps the token it got.
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
            let mut changed = false;
            if p.account_id.is_empty() && !account_id.is_empty() {
                p.account_id = account_id.to_string();
                changed = true;
            }
            if p.email.is_none() {
                p.email = email.map(str::to_string);
            }
            if p.display_name.is_empty() && !display_name.is_empty() {
                p.display_name = display_name.to_string();
                changed = true;
            }
            let token = p.token.clone();
            if changed {
                self.matcher = OnceLock::new();
            }
            return token;
        }
        // A directory name that already occurred: by account id, or (an ADF mention without
        // one) by the same name.
        let seen = {
            let issued = self.issued.borrow();
            let by_id = self
                .known_ids
                .get(account_id)
                .filter(|_| !account_id.is_empty())
                .and_then(|k| issued.known.get(k));
            let by_name = || {
                (account_id.is_empty() && !display_name.is_empty())
                    .then(|| {
                        issued
                            .known
                            .iter()
                            .filter(|(k, _)| self.known[**k].display_name == display_name)
                            .min_by_key(|(k, _)| **k)
                            .map(|(_, t)| t)
                    })
                    .flatten()
            };
            by_id.or_else(by_name).cloned()
        };
        let token = seen.unwrap_or_else(|| self.next_token());
        self.people.push(Person {
            token: token.clone(),
            account_id: account_id.to_string(),
            display_name: display_name.to_string(),
            email: email.map(str::to_string),
        });
        self.matcher = OnceLock::new();
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
        let text = if s.contains('@') {
            email_re()
                .replace_all(s, NoExpand(EMAIL_TOKEN))
                .into_owned()
        } else {
            s.to_string()
        };
        let text = self.replace_people(&text);
        // Account-id-shaped strings nobody registered are still identifiers: remove them.
        let text = replace_checked(&text, account_re(), account_replacement);
        if self.pii_mode {
            super::pii::redact(&text)
        } else {
            text
        }
    }

    /// Registered ids and multi-word names (registered and directory) → tokens, in one pass.
    fn replace_people(&self, text: &str) -> String {
        let Some(m) = self
            .matcher
            .get_or_init(|| build_matcher(&self.people, &self.known))
            .as_ref()
        else {
            return text.to_string();
        };
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for hit in m.ac.find_iter(text) {
            let (a, b) = (hit.start(), hit.end());
            if a < last {
                continue;
            }
            let found: Option<(usize, Target)> = match &m.needles[hit.pattern().as_usize()] {
                Needle::Id(i) => {
                    let p = &self.people[*i];
                    (text[a..b] == p.account_id && clear_before(text, a) && clear_after(text, b))
                        .then_some((b, Target::Person(*i)))
                }
                Needle::FirstWord(g) => {
                    // The hit is the first word (any spelling of it, checked by the automaton);
                    // the letter after its whitespace picks the surnames to try.
                    let starts_word = text[a..].chars().next().is_some_and(char::is_alphanumeric);
                    let after = text[b..].trim_start();
                    let second = text.len() - after.len();
                    let list = if (starts_word && !clear_before(text, a)) || second == b {
                        None
                    } else {
                        // Names whose second word starts with the next two letters, or is
                        // just the next letter ("Mary J Blige").
                        lead(after).map(|(x, y)| {
                            let by = &m.groups[*g].by_second;
                            let two = y.and_then(|y| by.get(&(x, Some(y))));
                            two.into_iter().chain(by.get(&(x, None)))
                        })
                    };
                    list.into_iter().flatten().flatten().find_map(|&c| {
                        let cand = &m.candidates[c];
                        let end = rest_end(text, second, &cand.words[1..])?;
                        Some((end, cand.target))
                    })
                }
            };
            if let Some((end, target)) = found {
                out.push_str(&text[last..a]);
                match target {
                    Target::Person(i) => out.push_str(&self.people[i].token),
                    Target::Known(k) => out.push_str(&self.known_token(k)),
                }
                last = end;
            }
        }
        out.push_str(&text[last..]);
        out
    }
}

/// Where a name's remaining words end if they start at `i` (whitespace runs between words; `\b`
/// only next to word characters, so names like "Smith Jr." still match at their end).
fn rest_end(text: &str, mut i: usize, words: &[String]) -> Option<usize> {
    for (n, w) in words.iter().enumerate() {
        if n > 0 {
            let gap = text[i..]
                .char_indices()
                .find(|(_, c)| !c.is_whitespace())
                .map_or(text.len() - i, |(k, _)| k);
            if gap == 0 {
                return None;
            }
            i += gap;
        }
        // The same number of characters as the word, compared as a reader would (case, accents,
        // apostrophes).
        let take = text[i..]
            .char_indices()
            .nth(w.chars().count())
            .map_or(text.len() - i, |(k, _)| k);
        if !same_word(&text[i..i + take], w) {
            return None;
        }
        i += take;
    }
    let ends_word = words
        .last()
        .and_then(|w| w.chars().next_back())
        .is_some_and(char::is_alphanumeric);
    (!ends_word || clear_after(text, i)).then_some(i)
}

// ---- patterns (compiled once) ----

fn compiled(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex is valid"))
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // The top-level domain is letters, or an IDN in punycode (`xn--p1ai`).
    compiled(
        &RE,
        r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.(?:[Xx][Nn]--[A-Za-z0-9\-]+|[A-Za-z]{2,})",
    )
}

fn account_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    compiled(
        &RE,
        r"[0-9a-fA-F]{24}|[0-9]{5,6}:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    )
}

// ---- validated replacement ----

/// Like `replace_all`, but each match is offered to `accept(text, start, end)`, which returns
/// the replacement or `None` to keep the original. (The regex crate has no look-around, so
/// boundary rules live here.)
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

/// True when the character before `i` is not a word character.
fn clear_before(t: &str, i: usize) -> bool {
    t[..i]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric())
}

fn clear_after(t: &str, i: usize) -> bool {
    t[i..].chars().next().is_none_or(|c| !c.is_alphanumeric())
}

fn account_replacement(t: &str, a: usize, b: usize) -> Option<String> {
    if !clear_before(t, a) || !clear_after(t, b) {
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
        // A 24-character IBAN written without spaces (Andorra's, `AD12…`) is hex too: it is
        // removed all the same, under its own label.
        if super::pii::iban_valid(m) {
            return Some(super::pii::IBAN_TOKEN.to_string());
        }
    }
    Some(ACCOUNT_TOKEN.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compact_andorran_iban_is_labelled_iban_not_account() {
        // AD12 0001 2030 2003 5910 0100: 24 characters, all hex.
        let t = "Pay to AD1200012030200359100100 today; owner 5ad71d4ed1503a19896557c0.";
        assert!(super::super::pii::iban_valid("AD1200012030200359100100"));
        let out = replace_checked(t, account_re(), account_replacement);
        assert_eq!(out, "Pay to <iban> today; owner <account>.");
    }

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
    fn numbers_after_a_bracket_or_inside_a_longer_number_are_not_phones() {
        let s = pii();
        for decoy in [
            "Order (12345678) shipped.",
            "Logged at (1733574000000) by the job.",
            "Ref (7992739871300008) is an order id (Luhn-valid, no issuer uses 7).",
            "Batch 1234 0567 8901 2345 99 closed.",
            "Part 7788 0123 4567 is in stock.",
        ] {
            assert_eq!(s.scrub_text(decoy), decoy);
        }
        // Phones keep their shapes: an area code in brackets, a trunk 0 at the start of a number,
        // and after a card in the same run.
        assert_eq!(s.scrub_text("Call (555) 123-4567 now"), "Call <phone> now");
        assert_eq!(s.scrub_text("Ruf (030) 1234567 an"), "Ruf <phone> an");
        assert_eq!(s.scrub_text("Tel 030 12345678."), "Tel <phone>.");
        assert_eq!(
            s.scrub_text("card 4111111111111111 030 12345678"),
            "card <cc> <phone>"
        );
    }

    #[test]
    fn names_match_with_any_apostrophe_and_without_their_accents() {
        let mut s = Scrubber::new(false);
        let siobhan = s.register_user("5ad8a1033b4801af4cd6c511", "Siobhán O’Connor", None);
        let alvaro = s.register_user("5ad8a1033b4801af4cd6c512", "Álvaro Fernández", None);
        let out = s.scrub_text(
            "Ask Siobhan O'Connor, SIOBHÁN O’CONNOR or alvaro fernandez; Álvaro Fernández agreed.",
        );
        assert_eq!(
            out,
            format!("Ask {siobhan}, {siobhan} or {alvaro}; {alvaro} agreed.")
        );
        // Folding does not make other words equal.
        assert_eq!(s.scrub_text("Siobhan Connor"), "Siobhan Connor");
    }

    // covers: AP-132, AP-133
    #[test]
    fn directory_names_are_matched_like_registered_ones_and_numbered_when_they_occur() {
        let mut s = Scrubber::new(false);
        let alice = s.register_user("5ad8a1033b4801af4cd6c510", "Alice Smith", None);
        s.add_known("5ad8a1033b4801af4cd6c521", "Siobhán O’Connor");
        s.add_known("5ad8a1033b4801af4cd6c522", "Álvaro Fernández");
        s.add_known("5ad8a1033b4801af4cd6c523", "Daniel Kim");
        s.add_known("5ad8a1033b4801af4cd6c524", "Daniel Kowalski");
        s.add_known("5ad8a1033b4801af4cd6c525", "River"); // one word: never matched
        assert_eq!(s.known_count(), 4);
        assert_eq!(s.people_count(), 1, "no token before a name occurs");
        let out = s.scrub_text(
            "siobhan o'connor and ALVARO FERNANDEZ asked Alice Smith; Daniel Kowalski agreed, \
             Daniel said no, the river is wide. Siobhán O’Connor again.",
        );
        assert_eq!(
            out,
            format!(
                "<user-2> and <user-3> asked {alice}; <user-4> agreed, Daniel said no, the river \
                 is wide. <user-2> again."
            )
        );
        assert_eq!(s.people_count(), 4, "only the three names that occurred");
        // Registered later (the issue names them after all): the token they already had.
        assert_eq!(
            s.register_user("5ad8a1033b4801af4cd6c522", "Álvaro Fernández", None),
            "<user-3>"
        );
        assert_eq!(s.register_user("", "Daniel Kowalski", None), "<user-4>");
        assert_eq!(
            s.register_user("5ad8a1033b4801af4cd6c523", "Daniel Kim", None),
            "<user-5>"
        );
        assert_eq!(
            s.scrub_text("Daniel Kim, Daniel Kowalski"),
            "<user-5>, <user-4>"
        );
        // A registered person's directory entry under another name finds them too.
        s.add_known("5ad8a1033b4801af4cd6c510", "Alice Smith-Jones");
        let mut t = Scrubber::new(false);
        let a = t.register_user("5ad8a1033b4801af4cd6c510", "Alice Smith", None);
        t.add_known("5ad8a1033b4801af4cd6c510", "Alice Smith-Jones");
        assert_eq!(
            t.scrub_text("Alice Smith-Jones wrote"),
            format!("{a} wrote")
        );
    }

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
