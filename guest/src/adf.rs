//! Atlassian Document Format → plain text (for request context and, later, prompts), and the
//! small ADF builders the app uses for comments. Walks are depth-bounded: ADF from Jira is input.

use serde_json::{json, Value};

const MAX_DEPTH: usize = 48;

/// Flattens an ADF document (or a plain string) to readable text: paragraphs and block nodes on
/// their own lines, list items as `- `, mentions as their display text, table cells split by ` | `.
pub fn to_text(doc: &Value) -> String {
    to_text_named(doc, &|_| None)
}

/// What a mention without display text reads when nobody can name the person (D-263).
pub const UNNAMED_MENTION: &str = "a mentioned person";

/// [`to_text`], naming the people mentioned: a mention with display text reads that text; one
/// without (the app's own comments mention by account id only) reads `@` and the name `name`
/// gives for its account id, else [`UNNAMED_MENTION`] — never a made-up handle.
pub fn to_text_named(doc: &Value, name: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    match doc {
        Value::String(s) => out.push_str(s),
        Value::Object(_) => walk(doc, &mut out, 0, name),
        _ => {}
    }
    // Collapse runs of blank lines and trim the ends.
    let mut cleaned = String::with_capacity(out.len());
    let mut blank_run = 0;
    for line in out.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        cleaned.push_str(line);
        cleaned.push('\n');
    }
    cleaned.trim().to_string()
}

fn walk(node: &Value, out: &mut String, depth: usize, name: &dyn Fn(&str) -> Option<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
    let attrs = node.get("attrs");
    let attr = |k: &str| attrs.and_then(|a| a.get(k)).and_then(Value::as_str);
    match kind {
        "text" => out.push_str(node.get("text").and_then(Value::as_str).unwrap_or("")),
        "hardBreak" => out.push('\n'),
        "mention" => match attr("text").filter(|t| !t.trim().is_empty()) {
            Some(t) => out.push_str(t),
            None => match attr("id").and_then(name) {
                Some(n) => {
                    out.push('@');
                    out.push_str(&n);
                }
                None => out.push_str(UNNAMED_MENTION),
            },
        },
        "emoji" => out.push_str(attr("text").or(attr("shortName")).unwrap_or("")),
        "inlineCard" | "blockCard" | "embedCard" => out.push_str(attr("url").unwrap_or("")),
        "date" => {
            if let Some(ts) = attr("timestamp").and_then(|t| t.parse::<u64>().ok()) {
                out.push_str(&crate::time::day(ts));
            }
        }
        "status" => out.push_str(attr("text").unwrap_or("")),
        "rule" => out.push_str("\n---\n"),
        "listItem" => {
            out.push_str("- ");
            children(node, out, depth, name);
            ensure_newline(out);
        }
        "tableCell" | "tableHeader" => {
            children(node, out, depth, name);
            out.push_str(" | ");
        }
        "tableRow" => {
            children(node, out, depth, name);
            ensure_newline(out);
        }
        "paragraph" | "heading" | "codeBlock" | "blockquote" | "panel" | "bulletList"
        | "orderedList" | "mediaSingle" | "mediaGroup" | "expand" | "nestedExpand" | "table"
        | "decisionList" | "taskList" => {
            ensure_newline(out);
            children(node, out, depth, name);
            ensure_newline(out);
        }
        _ => children(node, out, depth, name),
    }
}

fn children(node: &Value, out: &mut String, depth: usize, name: &dyn Fn(&str) -> Option<String>) {
    if let Some(items) = node.get("content").and_then(Value::as_array) {
        for child in items {
            walk(child, out, depth + 1, name);
        }
    }
}

fn ensure_newline(out: &mut String) {
    // A list item's first paragraph continues its "- " marker.
    let after_marker = out == "- " || out.ends_with("\n- ");
    if !out.is_empty() && !out.ends_with('\n') && !after_marker {
        out.push('\n');
    }
}

/// A comment body: one paragraph per line of `text`.
pub fn doc_from_lines(lines: &[String]) -> Value {
    let content: Vec<Value> = lines
        .iter()
        .map(|l| {
            if l.is_empty() {
                json!({"type": "paragraph"})
            } else {
                json!({"type": "paragraph", "content": [{"type": "text", "text": l}]})
            }
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": content})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_paragraphs_lists_mentions_and_breaks() {
        let doc = json!({"type":"doc","version":1,"content":[
            {"type":"paragraph","content":[{"type":"text","text":"Hello "},{"type":"mention","attrs":{"id":"abc","text":"@Ada"}},{"type":"hardBreak"},{"type":"text","text":"line two"}]},
            {"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"one"}]}]},{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"two"}]}]}]}
        ]});
        assert_eq!(to_text(&doc), "Hello @Ada\nline two\n- one\n- two");
        assert_eq!(to_text(&json!(null)), "");
        assert_eq!(to_text(&json!("plain")), "plain");
    }

    // covers: AP-111
    #[test]
    fn a_mention_without_text_reads_the_persons_name_or_says_a_person_was_mentioned() {
        let doc = json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[
            {"type":"text","text":"Access for "},{"type":"mention","attrs":{"id":"5ad71d4e"}},
            {"type":"text","text":" and "},{"type":"mention","attrs":{"id":"gone","text":""}}]}]});
        let names = |id: &str| (id == "5ad71d4e").then(|| "Ada Okafor".to_string());
        assert_eq!(
            to_text_named(&doc, &names),
            "Access for @Ada Okafor and a mentioned person"
        );
        let text = to_text(&doc);
        assert_eq!(text, "Access for a mentioned person and a mentioned person");
        assert!(!text.contains("someone") && !text.contains("5ad71d4e"));
    }

    #[test]
    fn hostile_depth_is_bounded() {
        let mut v = json!({"type":"text","text":"deep"});
        for _ in 0..500 {
            v = json!({"type":"paragraph","content":[v]});
        }
        assert_eq!(to_text(&v), "");
    }
}
