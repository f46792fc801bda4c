//! `cargo bench --bench prompt` — AI Prompt step figures for BENCHMARKS.md (native, in-process):
//! scrubbing throughput, pruning + assembly near the 200,000-character cap.

use aiclearance::prompt::privacy::Scrubber;
use aiclearance::prompt::prune::{prune_issue, PruneOptions};
use serde_json::json;
use std::time::Instant;

fn text(bytes: usize) -> String {
    let para = "Alice Smith (alice.smith@example.com, +1 415 555 0134) asked for ChatGPT Enterprise for the \
marketing team; card 4111 1111 1111 1111 was quoted by mistake, order ORD-2024-000123 and ticket AIR-42 \
are unrelated. IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789. Owner 5ad8a1033b4801af4cd6c510. ";
    para.repeat(bytes / para.len() + 1)[..bytes].to_string()
}

fn main() {
    // Scrubbing throughput, always-on and PII mode.
    for pii in [false, true] {
        let mut s = Scrubber::new(pii);
        s.register_user(
            "5ad8a1033b4801af4cd6c510",
            "Alice Smith",
            Some("alice.smith@example.com"),
        );
        let input = text(1_000_000);
        let started = Instant::now();
        let out = s.scrub_text(&input);
        let secs = started.elapsed().as_secs_f64();
        assert!(!out.contains("alice.smith@example.com"));
        println!(
            "scrub 1 MB (PII mode {pii}): {:.1} ms, {:.1} MB/s, {} bytes out",
            secs * 1000.0,
            1.0 / secs,
            out.len()
        );
    }
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
