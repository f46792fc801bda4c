//! Names people read (issue 30, D-123): a name shown in a picker — a catalog tool's display name
//! and provider, approval definition and step names, auto-approval policy names, connector
//! names, prompt template names — must look like what it is. Characters that are invisible or
//! reorder the text around them would let a high-risk tool pass for a low-risk one ("Claude
//! Team" with a right-to-left override, a zero-width space, a tag character), so they are
//! refused, with the field named:
//!
//! - control characters (`Cc`: U+0000–U+001F, U+007F–U+009F), line and paragraph separators
//!   (U+2028, U+2029);
//! - every Unicode format character (`Cf`): bidi marks, embeddings, overrides and isolates
//!   (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069, U+061C), zero-width characters
//!   (U+200B–U+200D, U+2060–U+2064, U+FEFF), the soft hyphen U+00AD, U+180E, the deprecated
//!   format characters U+206A–U+206F, interlinear annotations (U+FFF9–U+FFFB), and the rarer
//!   ones listed in [`FORMAT`];
//! - the whole tag block U+E0000–U+E007F.
//!
//! Letters of every script, accents, CJK, emoji, apostrophes and ordinary spaces stay allowed.
//! (A zero-width joiner is refused too, so emoji built with one — 👩‍💻 — are not; single emoji are.)

use crate::error::AppError;
use serde_json::json;

/// The format characters (`Cf`, Unicode 15.1) outside the ranges named in the module doc, and
/// those ranges: every one is refused.
pub const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE007F),
];

/// Whether `c` may not appear in a name people read.
pub fn is_refused(c: char) -> bool {
    let u = c as u32;
    c.is_control()
        || u == 0x2028
        || u == 0x2029
        || FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

/// The first refused character of `s`, if any.
pub fn first_refused(s: &str) -> Option<char> {
    s.chars().find(|&c| is_refused(c))
}

/// `U+202E`.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// `Ok` when `value` (the name as it will be stored) has no refused character; otherwise
/// `NAME_INVALID_CHARACTERS` naming `field` and the first such character.
pub fn check_name(field: &str, value: &str) -> Result<(), AppError> {
    match first_refused(value) {
        None => Ok(()),
        Some(c) => Err(AppError::invalid(
            "NAME_INVALID_CHARACTERS",
            format!(
                "{field} contains {}, an invisible or control character that can disguise a name; remove it",
                code_point(c)
            ),
        )
        .with_details(json!({"field": field, "codePoint": code_point(c)}))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranges the issue names, each code point refused.
    const NAMED: &[(u32, u32)] = &[
        (0x0000, 0x001F),
        (0x007F, 0x009F),
        (0x00AD, 0x00AD),
        (0x061C, 0x061C),
        (0x180E, 0x180E),
        (0x200B, 0x200D),
        (0x200E, 0x200F),
        (0x202A, 0x202E),
        (0x2028, 0x2029),
        (0x2060, 0x2064),
        (0x2066, 0x2069),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0xE0000, 0xE007F),
    ];

    #[test]
    fn every_code_point_in_the_named_ranges_is_refused_with_the_field() {
        let mut n = 0;
        for &(lo, hi) in NAMED {
            for u in lo..=hi {
                let Some(c) = char::from_u32(u) else {
                    panic!("U+{u:04X} is not a char")
                };
                assert!(is_refused(c), "U+{u:04X} must be refused");
                let name = format!("Claude{c}Team");
                let e = check_name("displayName", &name).unwrap_err();
                assert_eq!(e.code, "NAME_INVALID_CHARACTERS");
                let details = e.details.expect("details");
                assert_eq!(details["field"], "displayName");
                assert_eq!(details["codePoint"], code_point(c));
                n += 1;
            }
        }
        assert_eq!(n, 32 + 33 + 1 + 1 + 1 + 3 + 2 + 5 + 2 + 5 + 4 + 1 + 3 + 128);
    }

    #[test]
    fn every_format_range_is_refused() {
        for &(lo, hi) in FORMAT {
            for u in lo..=hi {
                if let Some(c) = char::from_u32(u) {
                    assert!(is_refused(c), "U+{u:04X}");
                }
            }
        }
    }

    #[test]
    fn legitimate_names_pass() {
        for name in [
            "ChatGPT Enterprise",
            "Gemini for Google Workspace (Enterprise)",
            "Café Crème – Übersetzer",
            "Mary Jane Van der Berg-Walsh",
            "Liam O'Connor’s assistant",
            "通义千问",
            "クロード",
            "카카오 i",
            "مساعد الذكاء",
            "עוזר",
            "Rocket 🚀 writer",
            "Heart ❤️ (with a variation selector)",
            "Ελληνικά",
            "Smart “quotes” and «guillemets»",
            "Tab-free name with non\u{a0}breaking space",
        ] {
            assert_eq!(check_name("name", name), Ok(()), "{name}");
        }
        // Neighbours of refused ranges stay allowed.
        for u in [
            0x0020, 0x007E, 0x00A0, 0x00AE, 0x200A, 0x2010, 0x2027, 0x202F, 0x205F, 0xFE0F, 0xFFFC,
            0xE0080,
        ] {
            let c = char::from_u32(u).unwrap();
            assert!(!is_refused(c), "U+{u:04X} is allowed");
        }
    }
}
