//! PII-sensitive mode against a generated corpus: every sensitive shape the issue lists is
//! replaced by its token, and every decoy passes through untouched. Prints the figures that
//! BENCHMARKS.md quotes (`cargo test --release --test prompt_pii -- --nocapture`).

#[path = "common/pii_corpus.rs"]
mod pii_corpus;

use aiclearance::prompt::privacy::Scrubber;
use pii_corpus::*;
use std::collections::BTreeMap;

fn compact(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
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
        // The item's digits are gone (no 4-digit fragment survives) and the right token is there.
        // (Fragments the rest of the sentence has anyway, a timestamp's digits, don't count.)
        let rest = compact(&x.text.replace(&x.item, " "));
        let frag_left = compact(&x.item).as_bytes().windows(5).any(|w| {
            let w = std::str::from_utf8(w).unwrap();
            !rest.contains(w) && compact(&out).contains(w)
        });
        let ok = out.contains(token) && !frag_left;
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
        } else if mangled.len() < 20 {
            mangled.push(format!("{}: {:?} → {:?}", x.kind, x.text, out));
        }
    }
    println!("PII corpus (seeded, 400 per kind):");
    for (k, (a, n)) in &recall {
        println!(
            "  recall  {k:<22} {a}/{n} ({:.1} %)",
            100.0 * *a as f64 / *n as f64
        );
    }
    for (k, (a, n)) in &decoy {
        println!(
            "  decoys untouched {k:<22} {a}/{n} ({:.1} %)",
            100.0 * *a as f64 / *n as f64
        );
    }
    assert!(misses.is_empty(), "missed:\n{}", misses.join("\n"));
    assert!(
        mangled.is_empty(),
        "mangled decoys:\n{}",
        mangled.join("\n")
    );
}

// covers: AP-135
#[test]
fn the_shapes_named_in_the_issue() {
    let s = Scrubber::new(true);
    for (text, want) in [
        ("Call +49 30 1234567 now", "Call <phone> now"),
        ("Call +91 4155550132 now", "Call <phone> now"),
        ("Call +44 7911 123456 now", "Call <phone> now"),
        ("Call 030 12345678 now", "Call <phone> now"),
        ("SSN 123 45 6789 and 123.45.6789", "SSN <ssn> and <ssn>"),
        ("IBAN DE89-3704-0044-0532-0130-00 ok", "IBAN <iban> ok"),
        (
            "Cards 4111 1111 1111 1111 5500 0000 0000 0004.",
            "Cards <cc> <cc>.",
        ),
        (
            "At 2026-01-15 10:42:07 4111 1111 1111 1111 was used",
            "At 2026-01-15 10:42:07 <cc> was used",
        ),
        ("Mail ivan@pochta.xn--p1ai today", "Mail <email> today"),
        // Luhn-valid by chance, but an epoch-ms timestamp and an order id with no card context.
        (
            "Logged 1767312000000; order 4539578763621486 shipped",
            "Logged 1767312000000; order 4539578763621486 shipped",
        ),
        // Right checksum, wrong length for Germany.
        ("Ref DE863704004405320130 x", "Ref DE863704004405320130 x"),
    ] {
        assert_eq!(s.scrub_text(text), want, "{text}");
    }
}
