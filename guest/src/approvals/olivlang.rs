//! OlivLang: the app's template language. It is minijinja (Jinja2 syntax: `{{ … }}`, `{% if %}`,
//! filters) plus the legacy `${approval.id}`-style tags, run in a sandbox:
//!
//! - templates see only the context they are given (no loader, no environment, no secrets);
//! - work is bounded by fuel, nesting by a recursion limit, output by a capped writer;
//! - `*` / `**` are refused at check time: string and list repetition is the one way a short
//!   template allocates gigabytes before any writer can stop it;
//! - every failure is a `TemplateError` with a message and line, never a panic.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::io::Write;

/// Instructions one render may execute (a loop over 10k items with a few ops each fits).
pub const FUEL: u64 = 200_000;
/// Largest rendered output, in bytes.
pub const OUTPUT_MAX: usize = 64 * 1024;
pub const RECURSION_LIMIT: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateError {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn template_error(e: &minijinja::Error) -> TemplateError {
    let mut message = e.kind().to_string();
    if let Some(d) = e.detail() {
        message.push_str(": ");
        message.push_str(d);
    }
    TemplateError {
        message,
        line: e.line(),
    }
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    // `promptSteps["Later step"].result` and other absent paths render empty instead of failing:
    // cross-branch and not-yet-run reads are documented to be empty.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env
}

/// The legacy `${tag}` syntax, rewritten to OlivLang before compiling.
const LEGACY: &[(&str, &str)] = &[
    ("${approval.id}", "{{ approval.id }}"),
    ("${approval.name}", "{{ approval.name }}"),
    ("${issue.id}", "{{ issue.id }}"),
    ("${ref.id}", "{{ issue.id }}"),
    ("${collection.id}", "{{ project.id }}"),
    ("${project.id}", "{{ project.id }}"),
];

pub fn expand_legacy(src: &str) -> std::borrow::Cow<'_, str> {
    if !src.contains("${") {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut out = src.to_string();
    for (from, to) in LEGACY {
        out = out.replace(from, to);
    }
    std::borrow::Cow::Owned(out)
}

/// Refuses `*` and `**` outside string literals inside `{{ }}` and `{% %}` blocks.
fn check_operators(src: &str) -> Result<(), TemplateError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut line = 1;
    let mut in_code: Option<u8> = None; // b'}' for {{ }}, b'%' for {% %}
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
        }
        match (in_code, quote) {
            (None, _) => {
                if c == b'{' && i + 1 < b.len() {
                    match b[i + 1] {
                        b'{' => in_code = Some(b'}'),
                        b'%' => in_code = Some(b'%'),
                        b'#' => {
                            // Skip a comment entirely.
                            match src[i + 2..].find("#}") {
                                Some(end) => {
                                    line += src[i..i + 2 + end].matches('\n').count();
                                    i += end + 4;
                                    continue;
                                }
                                None => return Ok(()), // the compiler reports the open comment
                            }
                        }
                        _ => {}
                    }
                    if in_code.is_some() {
                        i += 2;
                        continue;
                    }
                }
            }
            (Some(_), Some(q)) => {
                if c == b'\\' {
                    i += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
            }
            (Some(close), None) => {
                if c == b'"' || c == b'\'' {
                    quote = Some(c);
                } else if c == b'*' {
                    return Err(TemplateError {
                        message: "the * and ** operators are not available in OlivLang templates"
                            .into(),
                        line: Some(line),
                    });
                } else if c == close && i + 1 < b.len() && b[i + 1] == b'}' {
                    in_code = None;
                    i += 2;
                    continue;
                }
            }
        }
        i += 1;
    }
    Ok(())
}

/// Checks that a template compiles (used when definitions and message templates are saved).
pub fn check_template(src: &str) -> Result<(), TemplateError> {
    let src = expand_legacy(src);
    check_operators(&src)?;
    let env = env();
    env.template_from_str(&src)
        .map(|_| ())
        .map_err(|e| template_error(&e))
}

/// Checks that a condition expression compiles.
pub fn check_expression(expr: &str) -> Result<(), TemplateError> {
    if expr.trim().is_empty() {
        return Err(TemplateError {
            message: "the condition is empty".into(),
            line: None,
        });
    }
    check_operators(&format!("{{{{ {expr} }}}}"))?;
    let env = env();
    env.compile_expression(expr)
        .map(|_| ())
        .map_err(|e| template_error(&e))
}

/// A writer that refuses to grow past `OUTPUT_MAX`.
struct Capped {
    buf: Vec<u8>,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > OUTPUT_MAX {
            return Err(std::io::Error::other("output limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders a template against a JSON context.
pub fn render(src: &str, ctx: &Value) -> Result<String, TemplateError> {
    let src = expand_legacy(src);
    check_operators(&src)?;
    let env = env();
    let tmpl = env
        .template_from_str(&src)
        .map_err(|e| template_error(&e))?;
    let mut out = Capped { buf: Vec::new() };
    let result = tmpl
        .render_captured_to(minijinja::Value::from_serialize(ctx), &mut out)
        .map(|_| ());
    match result {
        Ok(()) => Ok(String::from_utf8_lossy(&out.buf).into_owned()),
        Err(e) if e.kind() == minijinja::ErrorKind::WriteFailure => Err(TemplateError {
            message: format!("the rendered text is longer than {OUTPUT_MAX} bytes"),
            line: e.line(),
        }),
        Err(e) => Err(template_error(&e)),
    }
}

/// Evaluates a condition expression to a boolean (Jinja truthiness).
pub fn eval_condition(expr: &str, ctx: &Value) -> Result<bool, TemplateError> {
    check_operators(&format!("{{{{ {expr} }}}}"))?;
    let env = env();
    let e = env
        .compile_expression(expr)
        .map_err(|e| template_error(&e))?;
    e.eval(minijinja::Value::from_serialize(ctx))
        .map(|v| v.is_true())
        .map_err(|e| template_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // covers: AP-220, AP-221
    #[test]
    fn tojson_quotes_a_multi_line_ai_result_safely_in_a_json_body() {
        let mut c = ctx();
        c["promptSteps"]["Risk"]["result"] = json!(
            "Risk Level: High\nConfidence: 7 — \"quoted\" and a \\ backslash\n\t tab </script>"
        );
        let body = render(
            r#"{"issue": {{ issue.key | tojson }}, "analysis": {{ promptSteps["Risk"].result | tojson }}}"#,
            &c,
        )
        .unwrap();
        let v: Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(v["analysis"], c["promptSteps"]["Risk"]["result"]);
        assert_eq!(v["issue"], "AIR-1");
        // Without it, the same result breaks the body (what the filter is for).
        let raw = render(r#"{"analysis": "{{ promptSteps["Risk"].result }}"}"#, &c).unwrap();
        assert!(serde_json::from_str::<Value>(&raw).is_err());
    }

    fn ctx() -> Value {
        json!({
            "approval": {"id": "apr-1", "name": "Budget", "status": "RUNNING", "steps": [{"name": "Lead", "decision": "APPROVED"}]},
            "issue": {"id": "10001", "key": "AIR-1", "fields": {"summary": "Need Claude", "priority": {"name": "High"}}},
            "project": {"id": "10000"},
            "definition": {"name": "Low risk", "description": "Fast lane"},
            "promptSteps": {"Risk": {"result": "Risk Level: Low", "model": "m"}}
        })
    }

    // covers: AP-006
    #[test]
    fn renders_variables_conditionals_and_loops() {
        let out = render(
            "{{ approval.name }} for {{ issue.fields.summary }}{% if issue.fields.priority.name == 'High' %} (urgent){% endif %}:{% for s in approval.steps %} {{ s.name }}={{ s.decision }}{% endfor %}",
            &ctx(),
        )
        .unwrap();
        assert_eq!(out, "Budget for Need Claude (urgent): Lead=APPROVED");
    }

    #[test]
    fn legacy_tags_are_supported() {
        let out = render(
            "${approval.id}/${approval.name}/${issue.id}/${ref.id}/${collection.id}/${project.id}/${other}",
            &ctx(),
        )
        .unwrap();
        assert_eq!(out, "apr-1/Budget/10001/10001/10000/10000/${other}");
    }

    #[test]
    fn prompt_steps_are_quoted_and_absent_ones_are_empty() {
        let out = render(
            "[{{ promptSteps[\"Risk\"].result }}][{{ promptSteps[\"Later\"].result }}]",
            &ctx(),
        )
        .unwrap();
        assert_eq!(out, "[Risk Level: Low][]");
    }

    #[test]
    fn hostile_templates_fail_cleanly() {
        // Unbounded work runs out of fuel.
        let e = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            &ctx(),
        )
        .unwrap_err();
        assert!(e.message.contains("fuel"), "{e}");
        // Repetition is refused before it can allocate.
        let e = render("{{ 'x' * 100000000 }}", &ctx()).unwrap_err();
        assert!(e.message.contains("* and **"), "{e}");
        assert_eq!(e.line, Some(1));
        // A '*' inside a string literal or plain text is fine.
        assert_eq!(render("a * b {{ '*' }}", &ctx()).unwrap(), "a * b *");
        // Output is capped.
        let e = render(
            "{% for i in range(9000) %}{{ issue.fields.summary }}{% endfor %}",
            &ctx(),
        )
        .unwrap_err();
        assert!(e.message.contains("longer than"), "{e}");
        // Recursion is bounded.
        let e = render(
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            &ctx(),
        )
        .unwrap_err();
        assert!(!e.message.is_empty());
        // Syntax errors carry a line.
        let e = render("ok\n{% if %}", &ctx()).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        // Nothing outside the context is reachable (no env, no loader).
        let e = render("{% include 'secrets' %}", &ctx()).unwrap_err();
        assert!(!e.message.is_empty());
        assert_eq!(render("{{ secrets }}{{ env }}", &ctx()).unwrap(), "");
    }

    #[test]
    fn conditions_evaluate_and_bad_ones_are_reported() {
        assert!(eval_condition("issue.fields.priority.name == 'High'", &ctx()).unwrap());
        assert!(!eval_condition("issue.fields.missing.deep == 1", &ctx()).unwrap());
        assert!(check_expression("issue.fields.priority.name ==").is_err());
        assert!(check_expression("").is_err());
        assert!(check_expression("'a' * 3").is_err());
    }
}
