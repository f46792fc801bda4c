//! `cargo bench --bench prompt` — AI Prompt step figures for BENCHMARKS.md (native, in-process):
//! scrubbing throughput (by registered people, and PII mode), pruning + assembly near the 200,000-character cap.

use aiclearance::prompt::privacy::Scrubber;
use aiclearance::prompt::prune::{prune_issue, PruneOptions};
use serde_json::json;
use std::time::Instant;

#[path = "../tests/common/pii_corpus.rs"]
mod corpus;

fn text(bytes: usize) -> String {
    let para = "Alice Smith (alice.smith@example.com, +1 415 555 0134) asked for ChatGPT Enterprise for the \
marketing team; card 4111 1111 1111 1111 was quoted by mistake, order ORD-2024-000123 and ticket AIR-42 \
are unrelated. IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789. Owner 5ad8a1033b4801af4cd6c510. ";
    para.repeat(bytes / para.len() + 1)[..bytes].to_string()
}

/// `n` registered people with two-word names and account ids (the fixture site has 33).
fn people(s: &mut Scrubber, n: usize) {
    const FIRST: &[&str] = &[
        "Helena", "Jonas", "Priya", "Chloe", "Mateo", "Aiko", "Omar", "Lena",
    ];
    const LAST: &[&str] = &[
        "Vogt",
        "Lindqvist",
        "Raman",
        "Dubois",
        "Silva",
        "Tanaka",
        "Haddad",
    ];
    for i in 0..n {
        let name = format!(
            "{} {}{}",
            FIRST[i % FIRST.len()],
            LAST[i % LAST.len()],
            i / 56
        );
        s.register_user(
            &format!("{:024x}", 0x5ad8_a103_3b48_01af_u64 + i as u64 * 7919),
            &name,
            None,
        );
    }
}

fn scrub_mb_s(pii: bool, n_people: usize, input: &str) -> f64 {
    let mut s = Scrubber::new(pii);
    s.register_user(
        "5ad8a1033b4801af4cd6c510",
        "Alice Smith",
        Some("alice.smith@example.com"),
    );
    people(&mut s, n_people.saturating_sub(1));
    let _ = s.scrub_text("warm up");
    let runs = 5;
    let started = Instant::now();
    for _ in 0..runs {
        let out = s.scrub_text(input);
        assert!(!out.contains("alice.smith@example.com") && !out.contains("Alice Smith"));
    }
    let secs = started.elapsed().as_secs_f64() / runs as f64;
    input.len() as f64 / 1e6 / secs
}

fn main() {
    if std::env::var("PROMPT_BENCH_ONLY").as_deref() == Ok("directory") {
        directory_figures();
        return;
    }
    // Scrubbing throughput by registered people (always-on rules), and PII mode.
    let input = text(1_000_000);
    let base = scrub_mb_s(false, 0, &input);
    for n in [0usize, 33, 100, 1_000, 10_000] {
        let mb = if n == 0 {
            base
        } else {
            scrub_mb_s(false, n, &input)
        };
        println!(
            "scrub 1 MB, {n} registered people: {mb:.0} MB/s ({:.2}× the no-people figure)",
            base / mb
        );
    }
    for n in [0usize, 100, 10_000] {
        println!(
            "scrub 1 MB, PII mode, {n} registered people: {:.0} MB/s",
            scrub_mb_s(true, n, &input)
        );
    }
    directory_figures();
    // The PII pass alone, on text the always-on rules have already scrubbed (what it adds).
    let scrubbed = Scrubber::new(false).scrub_text(&input);
    let reps = if std::env::var_os("PROMPT_BENCH_PROFILE").is_some() {
        200
    } else {
        5
    };
    let started = Instant::now();
    for _ in 0..reps {
        assert!(aiclearance::prompt::pii::redact(&scrubbed).contains("<cc>"));
    }
    println!(
        "the PII pass alone over 1 MB: {:.0} MB/s",
        scrubbed.len() as f64 / 1e6 / (started.elapsed().as_secs_f64() / reps as f64)
    );
    // PII mode on the generated corpus (varied shapes and decoys).
    let mut rng = corpus::Rng::new(7);
    let mut mixed = String::new();
    while mixed.len() < 1_000_000 {
        for x in corpus::sensitive(&mut rng, 20)
            .into_iter()
            .chain(corpus::decoys(&mut rng, 20))
        {
            mixed.push_str(&x.text);
            mixed.push_str(" The vendor confirmed the renewal terms for next year. ");
        }
    }
    println!(
        "scrub the 1 MB generated PII corpus, PII mode: {:.0} MB/s",
        scrub_mb_s(true, 33, &mixed)
    );
    // Pruning an issue whose text sums to ~200,000 characters.
    let comments: Vec<_> = (0..30)
        .map(|i| json!({"id": i.to_string(), "author": {"accountId": format!("acc{i}"), "displayName": format!("User Number{i}")},
                        "body": text(5_000), "created": format!("2026-10-{:02}T10:00:00.000+0000", 1 + i % 28)}))
        .collect();
    let mut fields = serde_json::Map::new();
    let mut names = serde_json::Map::new();
    for i in 0..60 {
        fields.insert(format!("customfield_{}", 10_100 + i), json!(text(1_000)));
        names.insert(
            format!("customfield_{}", 10_100 + i),
            json!(format!("Field {i}")),
        );
    }
    fields.insert("summary".into(), json!("ChatGPT Enterprise for marketing"));
    fields.insert("description".into(), json!(text(40_000)));
    fields.insert("comment".into(), json!({"comments": comments}));
    let issue = json!({"id": "10100", "key": "AIR-1", "fields": fields, "names": names});
    let opts = PruneOptions {
        allow_all_custom_fields: true,
        ..PruneOptions::default()
    };
    let n = 20;
    let started = Instant::now();
    let mut size = 0;
    for _ in 0..n {
        let mut s = Scrubber::new(true);
        size = prune_issue(&issue, &opts, &mut s).to_string().len();
    }
    println!(
        "prune + scrub an issue of {} input chars to {} chars: {:.1} ms per issue (native)",
        issue.to_string().len(),
        size,
        started.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
}

/// The installation's name directory (D-220): `n` realistic names (160 first names × surnames,
/// so a first name is shared by ~60 people) added with `add_known`, on 1 MB of text that names
/// some of them in full and many more by first name only (each such hit is checked and let go).
fn directory_figures() {
    const FIRST: &[&str] = &[
        "James",
        "Mary",
        "Robert",
        "Patricia",
        "John",
        "Jennifer",
        "Michael",
        "Linda",
        "David",
        "Elizabeth",
        "William",
        "Barbara",
        "Richard",
        "Susan",
        "Joseph",
        "Jessica",
        "Thomas",
        "Sarah",
        "Charles",
        "Karen",
        "Daniel",
        "Lisa",
        "Matthew",
        "Nancy",
        "Anthony",
        "Betty",
        "Mark",
        "Sandra",
        "Donald",
        "Ashley",
        "Steven",
        "Kimberly",
        "Paul",
        "Emily",
        "Andrew",
        "Donna",
        "Joshua",
        "Michelle",
        "Kenneth",
        "Carol",
        "Kevin",
        "Amanda",
        "Brian",
        "Melissa",
        "George",
        "Deborah",
        "Timothy",
        "Stephanie",
        "Ronald",
        "Rebecca",
        "Jason",
        "Sharon",
        "Edward",
        "Laura",
        "Jeffrey",
        "Cynthia",
        "Ryan",
        "Dorothy",
        "Jacob",
        "Amy",
        "Gary",
        "Kathleen",
        "Nicholas",
        "Angela",
        "Eric",
        "Shirley",
        "Jonathan",
        "Emma",
        "Stephen",
        "Brenda",
        "Larry",
        "Pamela",
        "Justin",
        "Nicole",
        "Scott",
        "Anna",
        "Brandon",
        "Samantha",
        "Benjamin",
        "Katherine",
        "Samuel",
        "Christine",
        "Gregory",
        "Debra",
        "Alexander",
        "Rachel",
        "Patrick",
        "Carolyn",
        "Frank",
        "Janet",
        "Raymond",
        "Maria",
        "Jack",
        "Olivia",
        "Dennis",
        "Heather",
        "Jerry",
        "Helen",
        "Tyler",
        "Catherine",
        "Aaron",
        "Diane",
        "Jose",
        "Julie",
        "Adam",
        "Victoria",
        "Nathan",
        "Joyce",
        "Henry",
        "Lauren",
        "Zachary",
        "Kelly",
        "Douglas",
        "Christina",
        "Peter",
        "Ruth",
        "Kyle",
        "Joan",
        "Noah",
        "Virginia",
        "Ethan",
        "Judith",
        "Jeremy",
        "Evelyn",
        "Christian",
        "Hannah",
        "Walter",
        "Andrea",
        "Keith",
        "Megan",
        "Austin",
        "Cheryl",
        "Roger",
        "Jacqueline",
        "Terry",
        "Madison",
        "Sean",
        "Teresa",
        "Gerald",
        "Abigail",
        "Carl",
        "Sophia",
        "Dylan",
        "Martha",
        "Harold",
        "Sara",
        "Jordan",
        "Gloria",
        "Jesse",
        "Janice",
        "Bryan",
        "Kathryn",
        "Lawrence",
        "Ann",
        "Arthur",
        "Isabella",
        "Gabriel",
        "Judy",
        "Bruce",
        "Charlotte",
        "Siobhán",
        "Álvaro",
    ];
    let surname = |i: usize| {
        let syl = [
            "son", "berg", "ford", "ley", "man", "wood", "ton", "field", "stein", "ová",
        ];
        let pre = [
            "And", "Carl", "Fitz", "Mac", "O’Dell", "Van", "Nord", "Ek", "Lind", "Fer",
        ];
        format!(
            "{}{}{}",
            pre[i % pre.len()],
            syl[(i / pre.len()) % syl.len()],
            if i >= 100 {
                format!("-{}", i / 100)
            } else {
                String::new()
            }
        )
    };
    let name = |i: usize| format!("{} {}", FIRST[i % FIRST.len()], surname(i / FIRST.len()));
    let mut text = String::new();
    let mut k = 0usize;
    while text.len() < 1_000_000 {
        // A full name every ~400 bytes, a first name alone in most sentences.
        text.push_str(&format!(
            "{} asked about the renewal; {} agreed with the plan and said the vendor's terms \
             look fine. Order ORD-{:06} ships next week, see AIR-{}. {} will check with legal \
             before Friday, then the team lead signs. ",
            name(k * 37 % 10_000),
            FIRST[k % FIRST.len()],
            k,
            k % 900,
            FIRST[(k * 7) % FIRST.len()],
        ));
        k += 1;
    }
    let dense = &text[..text.floor_char_boundary(1_000_000)];
    let plain = self::text(1_000_000);
    for (what, text, n) in [
        ("the bench's 1 MB", plain.as_str(), 10_000usize),
        ("1 MB naming directory people", dense, 0),
        ("1 MB naming directory people", dense, 100),
        ("1 MB naming directory people", dense, 10_000),
    ] {
        let started = Instant::now();
        let mut s = Scrubber::new(false);
        s.register_user(
            "5ad8a1033b4801af4cd6c510",
            "Alice Smith",
            Some("alice.smith@example.com"),
        );
        for i in 0..n {
            s.add_known(
                &format!("{:024x}", 0x6ad8_a103_3b48_01af_u64 + i as u64 * 7919),
                &name(i),
            );
        }
        let _ = s.scrub_text("warm up: builds the automaton");
        let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
        let runs = 5;
        let started = Instant::now();
        let mut out = String::new();
        for _ in 0..runs {
            out = s.scrub_text(text);
        }
        let secs = started.elapsed().as_secs_f64() / runs as f64;
        if n == 10_000 && text == dense {
            assert!(!out.contains(&name(37)), "a directory name is scrubbed");
        }
        println!(
            "scrub {what}, {n} directory names: {:.0} MB/s \
             (setup {setup_ms:.1} ms, {} tokens given)",
            text.len() as f64 / 1e6 / secs,
            s.people_count()
        );
    }
}
