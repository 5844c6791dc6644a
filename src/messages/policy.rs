//! Timing rules of delivery: quiet hours in the customer's time zone, and the backoff between
//! attempts after a temporary failure.

use chrono::{Duration, NaiveDateTime, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;

use crate::program::QuietHours;

/// When quiet hours hold at `now` (UTC) in `tz`, the UTC time they end (the next `end_hour`:00
/// local); `None` when a message may go out now.
pub fn quiet_until(now: NaiveDateTime, tz: Tz, quiet: QuietHours) -> Option<NaiveDateTime> {
    let (start, end) = (
        u32::try_from(quiet.start_hour).ok()?,
        u32::try_from(quiet.end_hour).ok()?,
    );
    let local = now.and_utc().with_timezone(&tz);
    let hour = local.hour();
    let quiet_now = match start.cmp(&end) {
        std::cmp::Ordering::Less => (start..end).contains(&hour),
        std::cmp::Ordering::Greater => hour >= start || hour < end,
        std::cmp::Ordering::Equal => false,
    };
    if !quiet_now {
        return None;
    }
    // Quiet hours that span midnight and began this evening end tomorrow.
    let day = if start > end && hour >= start {
        local.date_naive().succ_opt()?
    } else {
        local.date_naive()
    };
    let end_local = day.and_time(NaiveTime::from_hms_opt(end, 0, 0)?);
    // A clock change can skip the hour: the first instant after the gap then counts.
    let resolved = tz.from_local_datetime(&end_local).earliest().or_else(|| {
        tz.from_local_datetime(&(end_local + Duration::hours(1)))
            .earliest()
    })?;
    let until = resolved.naive_utc();
    (until > now).then_some(until)
}

/// The wait after the `attempt`-th failed attempt: `base * 2^(attempt-1)` seconds, at most
/// `max`, less a random 0–20 % so that messages that failed together do not retry together.
pub fn backoff(attempt: i32, base_secs: i64, max_secs: i64) -> Duration {
    let base = base_secs.max(1);
    let max = max_secs.max(base);
    let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(0);
    let delay = base.saturating_mul(1_i64 << exponent).min(max);
    let jitter = rand::random_range(0..=delay / 5);
    Duration::seconds(delay - jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .unwrap_or_default()
    }

    const NIGHT: QuietHours = QuietHours {
        start_hour: 21,
        end_hour: 8,
    };

    #[test]
    fn quiet_hours_spanning_midnight_end_the_next_local_morning() {
        // 23:00 in Tehran (UTC+3:30) is 19:30 UTC; quiet until 08:00 local = 04:30 UTC next day.
        let tehran: Tz = "Asia/Tehran".parse().unwrap_or(Tz::UTC);
        assert_eq!(
            quiet_until(utc(2026, 11, 22, 19, 30), tehran, NIGHT),
            Some(utc(2026, 11, 23, 4, 30))
        );
        // 05:00 local: the same morning.
        assert_eq!(
            quiet_until(utc(2026, 11, 23, 1, 30), tehran, NIGHT),
            Some(utc(2026, 11, 23, 4, 30))
        );
        assert_eq!(quiet_until(utc(2026, 11, 22, 12, 0), tehran, NIGHT), None);
    }

    #[test]
    fn daytime_quiet_hours_and_the_clock_change() {
        let day = QuietHours {
            start_hour: 12,
            end_hour: 14,
        };
        assert_eq!(
            quiet_until(utc(2026, 11, 22, 13, 0), Tz::UTC, day),
            Some(utc(2026, 11, 22, 14, 0))
        );
        // New York skips 02:00–03:00 on 8 March 2026; quiet 0–2 ends at 03:00 EDT = 07:00 UTC.
        let ny: Tz = "America/New_York".parse().unwrap_or(Tz::UTC);
        let early = QuietHours {
            start_hour: 0,
            end_hour: 2,
        };
        assert_eq!(
            quiet_until(utc(2026, 3, 8, 6, 30), ny, early),
            Some(utc(2026, 3, 8, 6, 0) + Duration::hours(1))
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_below_it() {
        for attempt in 1..10 {
            let d = backoff(attempt, 30, 3600).num_seconds();
            let full = (30_i64 << (attempt - 1)).min(3600);
            assert!(d <= full && d >= full - full / 5, "{attempt}: {d}");
        }
    }
}
