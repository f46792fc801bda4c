//! Forge KVS limits (FORGE-FACTS.md), enforced in the app before any host call.

use super::{StorageError, StorageResult};

pub const MAX_KEY_LEN: usize = 500;
pub const MAX_VALUE_BYTES: usize = 240 * 1024;
pub const MAX_DEPTH: usize = 31;
pub const MAX_PAGE: u32 = 20;
pub const MAX_TX_OPS: usize = 25;
pub const MAX_BATCH: usize = 25;

/// `^(?!\s+$)[a-zA-Z0-9:._\s-#]+$`, at most 500 characters.
pub fn check_key(key: &str) -> StorageResult<()> {
    if key.is_empty() || key.chars().all(char::is_whitespace) {
        return Err(StorageError::InvalidKey("empty or blank key".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(StorageError::InvalidKey(format!(
            "key is {} chars; Forge allows {MAX_KEY_LEN}",
            key.len()
        )));
    }
    if let Some(bad) = key.chars().find(|c| {
        !(c.is_ascii_alphanumeric()
            || matches!(c, ':' | '.' | '_' | '-' | '#')
            || c.is_ascii_whitespace())
    }) {
        return Err(StorageError::InvalidKey(format!(
            "character {bad:?} is not allowed in a Forge key"
        )));
    }
    Ok(())
}

/// Bytes a string takes as a JSON string literal (quotes and escapes included), without
/// building it: `"` and `\\` and the short control escapes take two bytes, other controls six.
fn json_string_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Bytes of the whole stored entity on Forge: the adapter stores every record as the custom
/// entity `record` = `{"key": …, "text": …, "digest": <64 hex>}` (forge/README.md), so the limit
/// applies to that object, not to the text alone. A value that fits as text but not as an
/// entity is refused here, before anything is written.
pub fn entity_bytes(key: &str, text: &str) -> usize {
    // {"key":K,"text":T,"digest":"<64>"}
    r#"{"key":,"text":,"digest":}"#.len() + json_string_len(key) + json_string_len(text) + 66
}

/// The whole entity for `key` with value `text` fits Forge's limit.
pub fn check_entity(key: &str, text: &str) -> StorageResult<()> {
    // No byte escapes to more than six, so most records are cleared without counting (the
    // count was a second full pass over every value written).
    let bound = r#"{"key":,"text":,"digest":}"#.len() + 6 * (key.len() + text.len()) + 4 + 66;
    if bound <= MAX_VALUE_BYTES {
        return Ok(());
    }
    let n = entity_bytes(key, text);
    if n > MAX_VALUE_BYTES {
        return Err(StorageError::ValueTooLarge(format!(
            "{key}: the stored entity (key, text and digest) would be {n} bytes; Forge allows {MAX_VALUE_BYTES}"
        )));
    }
    Ok(())
}

/// Size and nesting depth of a JSON value's text: what `encode_checked` decides while it
/// serializes, from the text (the tests' reference).
#[cfg(test)]
fn check_value(text: &str) -> StorageResult<()> {
    check_measured(text.len(), json_depth(text))
}

fn check_measured(len: usize, depth: usize) -> StorageResult<()> {
    if len > MAX_VALUE_BYTES {
        return Err(StorageError::ValueTooLarge(format!(
            "value is {len} bytes; Forge allows {MAX_VALUE_BYTES}"
        )));
    }
    if depth > MAX_DEPTH {
        return Err(StorageError::ValueTooLarge(format!(
            "value nests {depth} levels; Forge allows {MAX_DEPTH}"
        )));
    }
    Ok(())
}

/// JSON text of `value`, checked like `check_value`, with the depth counted while serializing
/// (serde_json's compact output plus a count of open brackets) instead of scanning the text
/// again: that scan was the guest's hottest function in wasm (issue 19).
pub fn encode_checked<T: serde::Serialize + ?Sized>(value: &T) -> StorageResult<String> {
    let corrupt = |reason: String| StorageError::Corrupt {
        key: String::new(),
        reason,
    };
    let mut out = Vec::with_capacity(256);
    let mut depth = Depth::default();
    value
        .serialize(&mut serde_json::Serializer::with_formatter(
            &mut out, &mut depth,
        ))
        .map_err(|e| corrupt(e.to_string()))?;
    let text = String::from_utf8(out).map_err(|e| corrupt(e.to_string()))?;
    debug_assert_eq!(depth.max, json_depth(&text), "{text}");
    check_measured(text.len(), depth.max)?;
    Ok(text)
}

/// serde_json's compact formatter, counting bracket nesting as it writes.
#[derive(Default)]
struct Depth {
    now: usize,
    max: usize,
}

impl Depth {
    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.now += 1;
        self.max = self.max.max(self.now);
        w.write_all(b)
    }
    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.now = self.now.saturating_sub(1);
        w.write_all(b)
    }
}

impl serde_json::ser::Formatter for &mut Depth {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
}

/// Maximum bracket nesting outside strings. Eight bytes at a time while none of them is a quote,
/// backslash or bracket (most of a record is string content and plain scalars). Writes no
/// longer scan (`encode_checked` counts while serializing); this is the reference its debug
/// assertion and the tests check against.
pub fn json_depth(text: &str) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Whether any byte of `v` equals `b` (exact: no false negatives, and we confirm bytewise).
    fn has(v: u64, b: u8) -> u64 {
        let x = v ^ (ONES * b as u64);
        x.wrapping_sub(ONES) & !x & HIGH
    }
    let b = text.as_bytes();
    let (mut i, mut depth, mut max, mut in_str) = (0usize, 0usize, 0usize, false);
    while i < b.len() {
        if let Some(chunk) = b.get(i..i + 8) {
            let v = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            let special = has(v, b'"')
                | has(v, b'\\')
                | if in_str {
                    0
                } else {
                    has(v, b'{') | has(v, b'[') | has(v, b'}') | has(v, b']')
                };
            if special == 0 {
                i += 8;
                continue;
            }
        }
        match (in_str, b[i]) {
            (true, b'\\') => i += 1,
            (true, b'"') => in_str = false,
            (false, b'"') => in_str = true,
            (false, b'{' | b'[') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, b'}' | b']') => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_forge_rules() {
        assert!(check_key("request:10100").is_ok());
        assert!(check_key("request-by-requester:557058:abc-def:0001").is_ok());
        assert!(check_key("a b#c").is_ok());
        assert!(check_key("   ").is_err());
        assert!(check_key("").is_err());
        assert!(check_key("user@example").is_err());
        assert!(check_key("a/b").is_err());
        assert!(check_key("a|b").is_err());
        assert!(check_key(&"k".repeat(500)).is_ok());
        assert!(check_key(&"k".repeat(501)).is_err());
    }

    /// The byte-at-a-time scan `json_depth` must agree with.
    fn depth_reference(text: &str) -> usize {
        let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
        for b in text.bytes() {
            if in_str {
                match (esc, b) {
                    (true, _) => esc = false,
                    (false, b'\\') => esc = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => {
                    depth += 1;
                    max = max.max(depth);
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        max
    }

    #[test]
    fn the_word_at_a_time_depth_scan_agrees_with_the_bytewise_one() {
        // Deterministic pseudo-random texts over the bytes that matter, plus filler runs long
        // enough to take the eight-byte path, at every alignment.
        let alphabet: &[u8] = b"{}[]\"\\abcdefgh:, 0123\n";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for n in 0..4_000 {
            let mut t = String::new();
            for _ in 0..(n % 97) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let c = alphabet[(x % alphabet.len() as u64) as usize] as char;
                t.push(c);
                if x.is_multiple_of(5) {
                    t.push_str(&"w".repeat((x % 19) as usize));
                }
            }
            assert_eq!(json_depth(&t), depth_reference(&t), "{t:?}");
        }
        let record = serde_json::json!({"a": [{"b": "x{[\"]}"}, [[1, 2], {"c": "é ü \\"}]], "d": "plain text without brackets at all"}).to_string();
        assert_eq!(json_depth(&record), depth_reference(&record));
        assert_eq!(json_depth(&record), 4);
    }

    #[test]
    fn values_are_bounded_in_size_and_depth() {
        assert!(check_value(&format!("\"{}\"", "x".repeat(MAX_VALUE_BYTES - 2))).is_ok());
        assert!(check_value(&format!("\"{}\"", "x".repeat(MAX_VALUE_BYTES))).is_err());
        // The entity wraps the text: a text just under the limit does not fit as an entity.
        let near = format!("\"{}\"", "x".repeat(MAX_VALUE_BYTES - 2));
        assert!(check_entity("request:1", &near).is_err());
        let small = r#"{"a":"q\"uote\n"}"#;
        let exact = serde_json::to_string(
            &serde_json::json!({"key": "k:1", "text": small, "digest": "0".repeat(64)}),
        )
        .unwrap();
        assert_eq!(entity_bytes("k:1", small), exact.len());
        let deep = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(check_value(&deep).is_err());
        let ok = format!("{}{}", "[".repeat(31), "]".repeat(31));
        assert!(check_value(&ok).is_ok());
        assert_eq!(json_depth(r#"{"a":"[[[[","b":[1]}"#), 2);
        assert_eq!(json_depth(r#"{"a":"q\"[[\\","b":[[1]]}"#), 3);
        assert_eq!(json_depth(r#"["unterminated \"#), 1);
        // Near the limit the exact count decides: quotes escape to two bytes each.
        let quotes = format!("\"{}\"", "\\\"".repeat(MAX_VALUE_BYTES / 4));
        assert!(check_value(&quotes).is_ok());
        assert!(check_entity("k:1", &quotes).is_err());
        let half = format!("\"{}\"", "\\\"".repeat(MAX_VALUE_BYTES / 8));
        assert!(entity_bytes("k:1", &half) < MAX_VALUE_BYTES);
        assert!(check_entity("k:1", &half).is_ok());
    }

    #[test]
    fn encoding_counts_depth_as_the_scan_does_and_writes_serde_jsons_text() {
        use serde_json::{json, Value};
        let nested = |n: usize, leaf: Value| {
            (0..n).fold(leaf, |v, i| {
                if i % 2 == 0 {
                    json!([v])
                } else {
                    json!({"k": v})
                }
            })
        };
        let cases = [
            json!(null),
            json!("a \"quoted\" [string] {with} brackets"),
            json!([]),
            json!({}),
            json!({"a": [{"b": "x{[\"]}"}, [[1, 2.5, -3], {"c": "é ü \\"}]], "d": [], "e": {}}),
            nested(31, json!("bottom")),
            nested(30, json!([])),
        ];
        for v in &cases {
            let text = encode_checked(v).unwrap();
            assert_eq!(text, serde_json::to_string(v).unwrap());
            assert!(json_depth(&text) <= MAX_DEPTH);
        }
        for v in [
            nested(32, json!(1)),
            nested(31, json!({})),
            nested(40, json!("x")),
        ] {
            let e = encode_checked(&v).unwrap_err();
            assert!(
                matches!(&e, StorageError::ValueTooLarge(m) if m.contains("levels")),
                "{e:?}"
            );
        }
        let big = json!({"t": "x".repeat(MAX_VALUE_BYTES)});
        assert!(
            matches!(encode_checked(&big), Err(StorageError::ValueTooLarge(m)) if m.contains("bytes"))
        );
    }
}
