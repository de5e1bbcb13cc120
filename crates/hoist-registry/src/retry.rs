//! Retry classification and backoff.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// 408, 429 and 5xx are worth retrying.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// Connection failures, resets and timeouts are worth retrying; builder errors are not.
pub(crate) fn is_retryable_transport(e: &reqwest::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() || e.is_decode()
}

/// The delay asked for by `Retry-After` (delta seconds or an HTTP date).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(v, SystemTime::now())
}

pub(crate) fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Capped exponential backoff with "equal jitter": half fixed, half random.
pub(crate) fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16)).min(max);
    let half = exp / 2;
    let mut h = RandomState::new().build_hasher();
    h.write_u32(attempt);
    let frac = (h.finish() % 1000) as u32;
    half + half * frac / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for attempt in 0..20 {
            let d = backoff(attempt, base, max);
            let exp = base.saturating_mul(1 << attempt.min(16)).min(max);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(10, base, max) <= max);
        assert!(is_retryable_status(429) && is_retryable_status(503) && !is_retryable_status(404));
    }
}
