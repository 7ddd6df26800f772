//! Dates and times, with chrono (a maintained crate; no hand-written calendar code). Machine
//! records (reports, files) use UTC; what people read uses the computer's own time zone with its
//! offset.

use chrono::{DateTime, Local, Utc};

thread_local! {
    /// A clock held still, on this thread only (tests and screenshots on either side of a date).
    static PRETEND: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// Seconds since 1970 now (or the time [`pretend_now`] set on this thread).
pub fn now_unix() -> i64 {
    PRETEND
        .with(std::cell::Cell::get)
        .unwrap_or_else(|| Utc::now().timestamp())
}

/// Milliseconds since 1970 (real time: for ordering events between processes).
pub fn now_millis() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

/// Holds this thread's clock at `secs` (`None`: the real clock again). For tests and
/// screenshots that show words which follow a date.
pub fn pretend_now(secs: Option<i64>) {
    PRETEND.with(|c| c.set(secs));
}

fn utc(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// `2030-01-31T12:00:00Z` for a Unix time.
pub fn utc_rfc3339(secs: i64) -> String {
    utc(secs).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// For people: `1 December 2026, 10:45 (UTC+01:00)` in this computer's time zone.
pub fn local_words(secs: i64) -> String {
    utc(secs)
        .with_timezone(&Local)
        .format("%-d %B %Y, %H:%M (UTC%:z)")
        .to_string()
}

/// A stored UTC time (`2026-11-27T10:00:00Z`) for people, in local time; the text as it is when
/// it does not parse.
pub fn local_words_from(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map_or_else(|_| rfc3339.to_string(), |d| local_words(d.timestamp()))
}

/// `December 2026`.
pub fn month_year(secs: i64) -> String {
    utc(secs).format("%B %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(utc_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(utc_rfc3339(-86_400), "1969-12-31T00:00:00Z");
        assert_eq!(month_year(1_798_761_599), "December 2026");
    }

    #[test]
    fn people_get_local_time_with_its_offset() {
        let words = local_words(1_798_761_599);
        assert!(words.contains("2026") || words.contains("2027"), "{words}");
        assert!(
            words.contains("(UTC+") || words.contains("(UTC-"),
            "{words}"
        );
        assert_eq!(local_words_from("2026-12-31T23:59:59Z"), words);
        assert_eq!(local_words_from("yesterday"), "yesterday");
    }
}
