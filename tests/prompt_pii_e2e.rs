//! The PII corpus end to end (issue 34 "Done when"): the generated sensitive shapes and decoys
//! go into an issue's description, and the prompt the provider would receive (the admin preview
//! assembles exactly what a PROMPT run sends, D-117) has every sensitive item replaced and every
//! decoy intact, as the scrubber alone does in `tests/prompt_pii.rs`.

mod common;
#[path = "common/pii_corpus.rs"]
mod pii_corpus;

use common::prompt::{configured, start};
use common::*;
use pii_corpus::*;
use serde_json::{json, Value};

fn compact(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

// covers: AP-130, AP-135
#[test]
fn the_corpus_survives_the_assembled_prompt_as_it_survives_the_scrubber() {
    let mut sim = configured();
    sim.advance(2_000);
    ok(
        &mut sim,
        "admin.ai.settings.save",
        json!({"piiSensitive": true}),
        ADMIN,
    );
    let mut rng = Rng::new(0x5eed_e2e0_0034_0001);
    let sensitive = sensitive(&mut rng, 20);
    let decoys = decoys(&mut rng, 20);
    // One paragraph per sample in AIR-1's description (ADF, as Jira stores it).
    let paragraphs: Vec<Value> = sensitive
        .iter()
        .chain(decoys.iter())
        .map(|x| json!({"type": "paragraph", "content": [{"type": "text", "text": x.text}]}))
        .collect();
    let issue = sim
        .state_mut()
        .site
        .issues
        .iter_mut()
        .find(|i| i.key == "AIR-1")
        .unwrap();
    issue.description = json!({"type": "doc", "version": 1, "content": paragraphs});
    let id = start(&mut sim, "AIR-1");
    let p = ok(
        &mut sim,
        "admin.ai.preview",
        json!({"approvalId": id, "templateId": "builtin:risk"}),
        ADMIN,
    );
    let user = p["user"].as_str().unwrap().to_string();
    // The prompt is JSON-escaped text: compare the samples as they appear in JSON strings.
    let as_json = |s: &str| {
        let q = serde_json::to_string(s).unwrap();
        q[1..q.len() - 1].to_string()
    };
    assert!(
        user.contains(&as_json(&decoys[0].text)),
        "the description reached the prompt:\n{user}"
    );
    // Each sample comes out of the prompt exactly as the scrubber alone writes it (whose
    // recall and decoy figures tests/prompt_pii.rs holds at 100 % and <= 1 %), and its sensitive
    // item is nowhere in it.
    let scrub = aiclearance::prompt::privacy::Scrubber::new(true);
    let mut missed = Vec::new();
    for x in &sensitive {
        let want = scrub.scrub_text(&x.text);
        let item_gone = !compact(&want).contains(&compact(&x.item));
        if !user.contains(&as_json(&want)) || !item_gone || user.contains(&as_json(&x.item)) {
            missed.push(format!("{}: {:?} (scrubber: {:?})", x.kind, x.text, want));
        }
    }
    let mangled: Vec<String> = decoys
        .iter()
        .filter(|x| !user.contains(&as_json(&x.text)))
        .map(|x| format!("{}: {:?}", x.kind, x.text))
        .collect();
    println!(
        "end to end: {} sensitive samples, {} missed; {} decoys, {} altered",
        sensitive.len(),
        missed.len(),
        decoys.len(),
        mangled.len()
    );
    assert!(sensitive.len() >= 300 && decoys.len() >= 300);
    assert!(
        missed.is_empty(),
        "left in the prompt:\n{}",
        missed.join("\n")
    );
    assert!(
        mangled.len() * 100 <= decoys.len(),
        "decoys altered:\n{}",
        mangled.join("\n")
    );
}
