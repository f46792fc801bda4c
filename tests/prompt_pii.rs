//! PII-sensitive mode against a generated corpus: every sensitive shape the spec names is
//! replaced by its token (100 % per type), and at most 1 % of the decoys change. Prints the
//! figures that BENCHMARKS.md quotes (`cargo test --release --test prompt_pii -- --nocapture`).

#[path = "common/pii_corpus.rs"]
mod pii_corpus;

use aiclearance::prompt::privacy::Scrubber;
use pii_corpus::*;
use std::collections::BTreeMap;

fn compact(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

fn pct(a: usize, n: usize) -> f64 {
    100.0 * a as f64 / n as f64
}

// covers: AP-130, AP-135
#[test]
fn pii_mode_catches_the_shapes_real_text_has_and_leaves_decoys_alone() {
    let s = Scrubber::new(true);
    let mut rng = Rng::new(0x5eed_1234_abcd_0017);
    let mut recall: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for x in sensitive(&mut rng, 400) {
        let out = s.scrub_text(&x.text);
        let token = x.token.unwrap();
        // The item's digits are gone (no 5-character fragment survives) and the right token is
        // there; what must stay next to it (a timestamp after a phone) is still there.
        // (Fragments the rest of the sentence has anyway, a timestamp's digits, don't count.)
        let rest = compact(&x.text.replace(&x.item, " "));
        let frag_left = compact(&x.item).as_bytes().windows(5).any(|w| {
            let w = std::str::from_utf8(w).unwrap();
            !rest.contains(w) && compact(&out).contains(w)
        });
        let ok = out.contains(token) && !frag_left && out.contains(&x.keep);
        let e = recall.entry(x.kind).or_default();
        e.1 += 1;
        if ok {
            e.0 += 1;
        } else if misses.len() < 20 {
            misses.push(format!("{}: {:?} → {:?}", x.kind, x.text, out));
        }
    }
    let mut decoy: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut mangled = Vec::new();
    for x in decoys(&mut rng, 400) {
        let out = s.scrub_text(&x.text);
        let e = decoy.entry(x.kind).or_default();
        e.1 += 1;
        if out == x.text {
            e.0 += 1;
        } else {
            mangled.push(format!("{}: {:?} → {:?}", x.kind, x.text, out));
        }
    }
    println!("PII corpus (seeded, 400 per kind):");
    for (k, (a, n)) in &recall {
        println!("  recall  {k:<34} {a}/{n} ({:.1} %)", pct(*a, *n));
    }
    for (k, (a, n)) in &decoy {
        println!("  decoys untouched {k:<34} {a}/{n} ({:.1} %)", pct(*a, *n));
    }
    let total: usize = decoy.values().map(|(_, n)| n).sum();
    println!(
        "  decoys altered overall: {}/{total} ({:.2} %)",
        mangled.len(),
        pct(mangled.len(), total)
    );
    // Every kind the corpus generates was seen (a generator change cannot empty the test).
    assert!(recall.len() >= 15 && recall.values().all(|(_, n)| *n >= 400));
    assert!(decoy.len() >= 15 && total >= 6000);
    assert!(misses.is_empty(), "missed:\n{}", misses.join("\n"));
    assert!(
        mangled.len() * 100 <= total,
        "more than 1 % of decoys altered:\n{}",
        mangled.join("\n")
    );
}

// covers: AP-135
#[test]
fn the_shapes_named_in_the_issues() {
    let s = Scrubber::new(true);
    for (text, want) in [
        ("Call +49 30 1234567 now", "Call <phone> now"),
        ("Call +49 30 123456 now", "Call <phone> now"),
        ("Call +91 4155550132 now", "Call <phone> now"),
        ("Call +44 7911 123456 now", "Call <phone> now"),
        ("Call +44 20 7946 0958 now", "Call <phone> now"),
        ("Call 030 12345678 now", "Call <phone> now"),
        // Plain North American numbers (issue 34): one block, brackets, dots, +1.
        (
            "Call 2125551234, (212) 555-1234, 212.555.1234 or +1 212 555 1234",
            "Call <phone>, <phone>, <phone> or <phone>",
        ),
        // A phone followed by a timestamp: the phone goes, the timestamp stays.
        (
            "call 212-555-1234 2026-12-07T10:00:00Z",
            "call <phone> 2026-12-07T10:00:00Z",
        ),
        (
            "call 2125551234 1765101600000 ok",
            "call <phone> 1765101600000 ok",
        ),
        // Ten digits an id word announces, and epoch seconds (area code 1xx), are not phones.
        (
            "Order 2125551234 and invoice no. 3125550100 at 1765101600",
            "Order 2125551234 and invoice no. 3125550100 at 1765101600",
        ),
        // Order ids and epoch-ms timestamps in brackets stay.
        (
            "Order (12345678) logged at (1733574000000)",
            "Order (12345678) logged at (1733574000000)",
        ),
        ("SSN 123 45 6789 and 123.45.6789", "SSN <ssn> and <ssn>"),
        ("IBAN DE89-3704-0044-0532-0130-00 ok", "IBAN <iban> ok"),
        // Andorra, compact: 24 hex characters, still an IBAN.
        ("Pay AD1200012030200359100100 now", "Pay <iban> now"),
        ("Pay AD12 0001 2030 2003 5910 0100 now", "Pay <iban> now"),
        (
            "Cards 4111 1111 1111 1111 5500 0000 0000 0004.",
            "Cards <cc> <cc>.",
        ),
        (
            "At 2026-01-15 10:42:07 4111 1111 1111 1111 was used",
            "At 2026-01-15 10:42:07 <cc> was used",
        ),
        // Unformatted, no payment word: issuer + length + Luhn is enough (issue 34), also for
        // UATP (starts with 1, 15 digits) and a 19-digit Visa.
        (
            "see 4539578763621486 and 378282246310005 and 122000000000003 and 4000000000000000006",
            "see <cc> and <cc> and <cc> and <cc>",
        ),
        ("Mail ivan@pochta.xn--p1ai today", "Mail <email> today"),
        // Luhn-valid, but a prefix no issuer uses, or a length the issuer does not use
        // (Visa 15, Amex 16, UATP 16), and an epoch-ms timestamp.
        (
            "Logged 1767312000000; ids 7992739871300008 411111111111116 3782822463100052 1220000000000002",
            "Logged 1767312000000; ids 7992739871300008 411111111111116 3782822463100052 1220000000000002",
        ),
        // Right checksum, wrong length for Germany.
        ("Ref DE863704004405320130 x", "Ref DE863704004405320130 x"),
    ] {
        assert_eq!(s.scrub_text(text), want, "{text}");
    }
}
