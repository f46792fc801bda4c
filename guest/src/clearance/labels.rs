//! Expiry labels for My Access: "expired", "expires today", "expires tomorrow" or "N days
//! remaining", with flags the UI uses to highlight grants that are expired or expiring soon.
//!
//! Days are UTC calendar days, not 24-hour spans: a grant ending at 00:30 tomorrow "expires
//! tomorrow" even when it is 23:30 now. Computing the label here keeps every screen and export
//! saying the same thing.

use crate::time::MS_PER_DAY;
use serde::Serialize;

/// A grant ending within this many calendar days is "expiring soon".
pub const EXPIRING_SOON_DAYS: i64 = 7;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryLabel {
    pub label: String,
    /// Calendar days until expiry; zero or negative (days since) once expired.
    pub days_remaining: i64,
    pub expired: bool,
    pub expiring_soon: bool,
}

/// The label for a grant expiring at `expires_ms`, seen at `now_ms`.
pub fn expiry_label(now_ms: u64, expires_ms: u64) -> ExpiryLabel {
    let today = day_number(now_ms);
    let expiry_day = day_number(expires_ms);
    if expires_ms <= now_ms {
        return ExpiryLabel {
            label: "expired".into(),
            days_remaining: expiry_day - today,
            expired: true,
            expiring_soon: false,
        };
    }
    let d = expiry_day - today;
    let label = match d {
        0 => "expires today".to_string(),
        1 => "expires tomorrow".to_string(),
        _ => format!("{d} days remaining"),
    };
    ExpiryLabel {
        label,
        days_remaining: d,
        expired: false,
        expiring_soon: d <= EXPIRING_SOON_DAYS,
    }
}

/// Days since 1970-01-01 (UTC).
fn day_number(ms: u64) -> i64 {
    // u64::MAX / MS_PER_DAY fits an i64 easily.
    (ms / MS_PER_DAY) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> u64 {
        crate::time::parse(s).expect("test timestamp")
    }

    const NOW: &str = "2026-03-10T12:00:00Z";

    #[test]
    fn expired_yesterday_counts_days_since() {
        let l = expiry_label(at(NOW), at("2026-03-09T18:00:00Z"));
        assert_eq!(l.label, "expired");
        assert!(l.expired && !l.expiring_soon);
        assert_eq!(l.days_remaining, -1);
        let l = expiry_label(at(NOW), at("2026-02-28T12:00:00Z"));
        assert_eq!(l.days_remaining, -10);
    }

    #[test]
    fn expired_earlier_today_is_day_zero() {
        let l = expiry_label(at(NOW), at("2026-03-10T08:00:00Z"));
        assert_eq!(
            l,
            ExpiryLabel {
                label: "expired".into(),
                days_remaining: 0,
                expired: true,
                expiring_soon: false,
            }
        );
        // Expiring at this very instant is expired, not "expires today".
        assert!(expiry_label(at(NOW), at(NOW)).expired);
    }

    #[test]
    fn later_today_and_tomorrow() {
        let l = expiry_label(at(NOW), at("2026-03-10T23:59:59Z"));
        assert_eq!((l.label.as_str(), l.days_remaining), ("expires today", 0));
        assert!(l.expiring_soon && !l.expired);
        let l = expiry_label(at(NOW), at("2026-03-11T01:00:00Z"));
        assert_eq!(
            (l.label.as_str(), l.days_remaining),
            ("expires tomorrow", 1)
        );
        assert!(l.expiring_soon);
    }

    #[test]
    fn calendar_days_not_24_hour_spans() {
        // One hour apart, but across midnight UTC.
        let l = expiry_label(at("2026-03-10T23:30:00Z"), at("2026-03-11T00:30:00Z"));
        assert_eq!(l.label, "expires tomorrow");
        assert_eq!(l.days_remaining, 1);
        // Almost two days apart, still the day after tomorrow.
        let l = expiry_label(at("2026-03-10T00:00:00Z"), at("2026-03-12T23:59:00Z"));
        assert_eq!(l.label, "2 days remaining");
    }

    #[test]
    fn days_remaining_and_soon_flag() {
        let l = expiry_label(at(NOW), at("2026-03-20T09:00:00Z"));
        assert_eq!(l.label, "10 days remaining");
        assert_eq!(l.days_remaining, 10);
        assert!(!l.expiring_soon && !l.expired);

        let seven = expiry_label(at(NOW), at("2026-03-17T09:00:00Z"));
        assert_eq!(seven.label, "7 days remaining");
        assert!(seven.expiring_soon);

        let eight = expiry_label(at(NOW), at("2026-03-18T09:00:00Z"));
        assert_eq!(eight.label, "8 days remaining");
        assert!(!eight.expiring_soon);
    }

    #[test]
    fn serializes_camel_case() {
        let v = serde_json::to_value(expiry_label(at(NOW), at("2026-03-11T00:00:00Z"))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "label": "expires tomorrow",
                "daysRemaining": 1,
                "expired": false,
                "expiringSoon": true
            })
        );
    }
}
