//! Export helpers: the requested format, the time window and CSV encoding.
//!
//! Exports default to the last 90 days and cover at most 365 days, so one export is a bounded
//! amount of work. The CSV follows RFC 4180 and neutralises spreadsheet formulas: an exported
//! justification such as `=HYPERLINK(...)` must open as text, not run in the reader's spreadsheet.

use crate::error::{AppError, AppResult};
use serde_json::Value;

pub const DEFAULT_DAYS: u64 = 90;
pub const MAX_DAYS: u64 = 365;
const DAY_MS: u64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// `csv` or `json` (any case); JSON when absent or null.
pub fn format(v: Option<&Value>) -> AppResult<Format> {
    match v {
        None | Some(Value::Null) => Ok(Format::Json),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("csv") => Ok(Format::Csv),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("json") => Ok(Format::Json),
        Some(_) => Err(AppError::invalid(
            "EXPORT_FORMAT_INVALID",
            "format must be csv or json",
        )),
    }
}

/// The `[from, to]` window in ms. `to` defaults to now and `from` to 90 days before `to`.
pub fn window(now_ms: u64, from: Option<&Value>, to: Option<&Value>) -> AppResult<(u64, u64)> {
    let to = timestamp("to", to)?.unwrap_or(now_ms);
    let default_from = to.saturating_sub(DEFAULT_DAYS * DAY_MS);
    let from = timestamp("from", from)?.unwrap_or(default_from);
    if from > to {
        return Err(AppError::invalid(
            "EXPORT_RANGE_INVALID",
            "from must not be later than to",
        ));
    }
    let span = to - from;
    if span > MAX_DAYS * DAY_MS {
        return Err(AppError::invalid(
            "EXPORT_RANGE_TOO_LONG",
            format!(
                "an export covers at most {MAX_DAYS} days; {} days requested",
                span.div_ceil(DAY_MS)
            ),
        ));
    }
    Ok((from, to))
}

/// An optional RFC 3339 timestamp field.
fn timestamp(field: &str, v: Option<&Value>) -> AppResult<Option<u64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => crate::time::parse(s.trim()).map(Some).ok_or_else(|| {
            AppError::invalid(
                "EXPORT_RANGE_INVALID",
                format!("{field} must be an RFC 3339 timestamp"),
            )
        }),
        Some(_) => Err(AppError::invalid(
            "EXPORT_RANGE_INVALID",
            format!("{field} must be an RFC 3339 timestamp"),
        )),
    }
}

/// A header line of `columns`, then one line per row holding `row[column]` for each column.
pub fn to_csv(columns: &[&str], rows: &[Value]) -> String {
    let mut out = String::new();
    push_line(&mut out, columns.iter().map(|c| text_cell(c)));
    for row in rows {
        push_line(&mut out, columns.iter().map(|c| cell(row.get(*c))));
    }
    out
}

fn push_line(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, c) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&c);
    }
    out.push_str("\r\n");
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => text_cell(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        // Arrays and objects as compact JSON; they start with `[` or `{`, never a formula.
        Some(other) => quote(other.to_string()),
    }
}

/// Text: formula guard first, then quoting.
fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        quote(format!("'{s}"))
    } else {
        quote(s.to_string())
    }
}

/// RFC 4180: quote cells holding a comma, quote, CR or LF, doubling inner quotes.
fn quote(s: String) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> u64 {
        crate::time::parse(s).expect("test timestamp")
    }

    #[test]
    fn format_defaults_to_json_and_rejects_others() {
        assert_eq!(format(None).unwrap(), Format::Json);
        assert_eq!(format(Some(&Value::Null)).unwrap(), Format::Json);
        assert_eq!(format(Some(&json!("CSV"))).unwrap(), Format::Csv);
        assert_eq!(format(Some(&json!("Json"))).unwrap(), Format::Json);
        assert_eq!(
            format(Some(&json!("xlsx"))).unwrap_err().code,
            "EXPORT_FORMAT_INVALID"
        );
        assert_eq!(
            format(Some(&json!(1))).unwrap_err().code,
            "EXPORT_FORMAT_INVALID"
        );
    }

    #[test]
    fn window_defaults_to_90_days_before_now() {
        let now = at("2026-06-01T10:00:00Z");
        let (from, to) = window(now, None, None).unwrap();
        assert_eq!(to, now);
        assert_eq!(to - from, 90 * DAY_MS);
        assert_eq!(crate::time::rfc3339(from), "2026-03-03T10:00:00.000Z");
        // An explicit `to` moves the default `from` with it.
        let (from, to) = window(
            now,
            Some(&Value::Null),
            Some(&json!("2026-01-31T00:00:00Z")),
        )
        .unwrap();
        assert_eq!(to, at("2026-01-31T00:00:00Z"));
        assert_eq!(to - from, 90 * DAY_MS);
    }

    #[test]
    fn window_allows_exactly_365_days_and_rejects_366() {
        let now = at("2026-06-01T00:00:00Z");
        let to = json!("2026-01-01T00:00:00Z");
        let ok = window(now, Some(&json!("2025-01-01T00:00:00Z")), Some(&to)).unwrap();
        assert_eq!(ok.1 - ok.0, 365 * DAY_MS);

        let err = window(now, Some(&json!("2024-12-31T00:00:00Z")), Some(&to)).unwrap_err();
        assert_eq!(err.code, "EXPORT_RANGE_TOO_LONG");
        assert!(
            err.message.contains("366 days requested"),
            "{}",
            err.message
        );
        // One millisecond over is still too long.
        let err = window(now, Some(&json!("2024-12-31T23:59:59.999Z")), Some(&to)).unwrap_err();
        assert_eq!(err.code, "EXPORT_RANGE_TOO_LONG");
    }

    #[test]
    fn window_rejects_reversed_and_malformed_ranges() {
        let now = at("2026-06-01T00:00:00Z");
        let err = window(
            now,
            Some(&json!("2026-05-02T00:00:00Z")),
            Some(&json!("2026-05-01T00:00:00Z")),
        )
        .unwrap_err();
        assert_eq!(err.code, "EXPORT_RANGE_INVALID");

        let err = window(now, Some(&json!("last tuesday")), None).unwrap_err();
        assert_eq!(err.code, "EXPORT_RANGE_INVALID");
        assert!(err.message.starts_with("from"), "{}", err.message);

        let err = window(now, None, Some(&json!(1_700_000_000_000u64))).unwrap_err();
        assert_eq!(err.code, "EXPORT_RANGE_INVALID");
        assert!(err.message.starts_with("to"), "{}", err.message);
    }

    #[test]
    fn csv_header_order_nulls_and_scalars() {
        let rows = [
            json!({"issueKey": "AI-1", "days": 30, "active": true, "note": null}),
            json!({"days": 1.5, "issueKey": "AI-2"}),
        ];
        let csv = to_csv(&["issueKey", "days", "active", "note"], &rows);
        assert_eq!(
            csv,
            "issueKey,days,active,note\r\nAI-1,30,true,\r\nAI-2,1.5,,\r\n"
        );
        assert_eq!(to_csv(&["a", "b"], &[]), "a,b\r\n");
    }

    #[test]
    fn csv_quotes_per_rfc_4180() {
        let rows = [json!({
            "a": "x,y",
            "b": "say \"hi\"",
            "c": "line1\nline2",
            "d": "cr\rhere",
            "e": "plain"
        })];
        let csv = to_csv(&["a", "b", "c", "d", "e"], &rows);
        let body = csv.split_once("\r\n").unwrap().1;
        assert_eq!(
            body,
            "\"x,y\",\"say \"\"hi\"\"\",\"line1\nline2\",\"cr\rhere\",plain\r\n"
        );
    }

    #[test]
    fn csv_guards_formula_cells() {
        let rows = [json!({
            "a": "=HYPERLINK(\"http://x\")",
            "b": "+1",
            "c": "-2",
            "d": "@SUM(A1)",
            "e": "\tTab",
            "f": "\rCR",
            "g": "safe=1",
            "n": -3
        })];
        let csv = to_csv(&["a", "b", "c", "d", "e", "f", "g", "n"], &rows);
        let body = csv.split_once("\r\n").unwrap().1;
        assert_eq!(
            body,
            "\"'=HYPERLINK(\"\"http://x\"\")\",'+1,'-2,'@SUM(A1),'\tTab,\"'\rCR\",safe=1,-3\r\n"
        );
    }

    #[test]
    fn csv_nested_values_are_compact_json() {
        let rows = [json!({"tool": {"id": "claude-team"}, "tags": ["a", "b"], "one": [1]})];
        let csv = to_csv(&["tool", "tags", "one"], &rows);
        let body = csv.split_once("\r\n").unwrap().1;
        assert_eq!(
            body,
            "\"{\"\"id\"\":\"\"claude-team\"\"}\",\"[\"\"a\"\",\"\"b\"\"]\",[1]\r\n"
        );
    }
}
