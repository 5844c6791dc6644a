//! The `birthday_offers` job: at `birthday.local_hour` in each customer's own time zone,
//! `birthday.days_before` days ahead of their birthday, the customer gets the gift code (cost 0)
//! and/or bonus points, and the `birthday_offer` message — once a year.
//!
//! The job never scans all customers: it works out the few month-days that can be due at this
//! instant anywhere on Earth (UTC−12 to UTC+14) and reads only those through the
//! `(birthday_md, id)` index, a page at a time; the exact moment is then checked per customer.
//! Each gift is one transaction that locks the customer's balance row first; the offer's unique
//! key (customer, kind, year) makes a second run or a second instance a no-op.

use chrono::{Datelike, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde_json::json;

use super::{OfferKind, OfferRow, repo};
use crate::clock::SharedClock;
use crate::customers::model::CustomerRow;
use crate::db::{self, DbConnection, Pool};
use crate::messages::{Kind, outbox};
use crate::points::EntryKind;
use crate::points::jobs::JobReport;
use crate::points::ledger::{self, LedgerError, Posting};
use crate::program::{self, BirthdaySettings, Feb29Rule, ProgramSettings};
use crate::rewards::{self, CodeRow, LocalizedText};

/// Customers read per page.
pub const BATCH: i64 = 1000;

/// How late a run may be and still make an offer: a run missed by a few hours catches up; an
/// offer whose moment is older than this is not made (the birthday has moved on).
pub const CATCH_UP: Duration = Duration::days(1);

/// The date of a `MMDD` birthday in `year`; 29 February follows `feb29` in other years.
pub fn occasion(md: i32, year: i32, feb29: Feb29Rule) -> Option<NaiveDate> {
    let month = u32::try_from(md / 100).ok()?;
    let day = u32::try_from(md % 100).ok()?;
    NaiveDate::from_ymd_opt(year, month, day).or_else(|| match (month, day, feb29) {
        (2, 29, Feb29Rule::Feb28) => NaiveDate::from_ymd_opt(year, 2, 28),
        (2, 29, Feb29Rule::Mar1) => NaiveDate::from_ymd_opt(year, 3, 1),
        _ => None,
    })
}

/// The UTC instant of `hour`:00 on `date` in `tz`. An hour that a clock change skips becomes
/// the first instant after the gap; an hour that happens twice is its first occurrence.
pub fn local_instant(tz: Tz, date: NaiveDate, hour: u32) -> Option<NaiveDateTime> {
    let local = date.and_hms_opt(hour, 0, 0)?;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.naive_utc()),
        LocalResult::None => (1..=4)
            .map(|quarters| local + Duration::minutes(30 * quarters))
            .find_map(|later| tz.from_local_datetime(&later).earliest())
            .map(|t| t.naive_utc()),
    }
}

/// A birthday that is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The birthday's year (the offer's occasion).
    pub year: i32,
    /// The birthday's local date that year (29 February mapped in other years).
    pub occasion: NaiveDate,
    /// When the offer was due (UTC).
    pub moment: NaiveDateTime,
}

/// Whether the birthday `md` of a customer in `tz` is due at `now`: its offer moment (the
/// local date `days_before` ahead of the birthday, at `local_hour`:00) has come, less than
/// [`CATCH_UP`] ago.
pub fn due(md: i32, tz: Tz, b: &BirthdaySettings, now: NaiveDateTime) -> Option<Due> {
    let local_year = tz.from_utc_datetime(&now).year();
    let hour = u32::try_from(b.local_hour).ok()?;
    let before = Days::new(u64::try_from(b.days_before).ok()?);
    (local_year - 1..=local_year + 1).find_map(|year| {
        let occasion = occasion(md, year, b.feb29)?;
        let moment = local_instant(tz, occasion.checked_sub_days(before)?, hour)?;
        (moment <= now && now < moment + CATCH_UP).then_some(Due {
            year,
            occasion,
            moment,
        })
    })
}

/// Whether the birthday was known early enough: entered or changed no later than
/// `min_days_known` days before the birthday's local day began. A birthday without a recorded
/// time of entry is an old one.
pub fn known_in_time(
    set_at: Option<NaiveDateTime>,
    tz: Tz,
    occasion: NaiveDate,
    b: &BirthdaySettings,
) -> bool {
    let Some(set_at) = set_at else { return true };
    let cutoff = u64::try_from(b.min_days_known)
        .ok()
        .and_then(|d| occasion.checked_sub_days(Days::new(d)))
        .and_then(|day| local_instant(tz, day, 0));
    cutoff.is_some_and(|cutoff| set_at <= cutoff)
}

/// The month-days (MMDD) whose offer can be due at `now` in some time zone. Offer moments lie
/// in `(now − CATCH_UP, now]`; local clocks run from UTC−12 to UTC+14; a day of margin on each
/// side covers clock changes. 29 February joins the day it becomes in years without one.
pub fn candidate_days(now: NaiveDateTime, b: &BirthdaySettings) -> Vec<i32> {
    let first = (now - CATCH_UP - Duration::hours(12)).date() - Days::new(1);
    let last = (now + Duration::hours(14)).date() + Days::new(1);
    let before = Days::new(u64::try_from(b.days_before).unwrap_or(0));
    let mut days = Vec::new();
    let mut offer_day = first;
    while offer_day <= last {
        if let Some(birthday) = offer_day.checked_add_days(before) {
            let md = i32::try_from(birthday.month() * 100 + birthday.day()).unwrap_or(0);
            days.push(md);
            let leap = NaiveDate::from_ymd_opt(birthday.year(), 2, 29).is_some();
            let feb29_lands_here = match b.feb29 {
                Feb29Rule::Feb28 => md == 228,
                Feb29Rule::Mar1 => md == 301,
            };
            if !leap && feb29_lands_here {
                days.push(229);
            }
        }
        offer_day = offer_day + Days::new(1);
    }
    days.sort_unstable();
    days.dedup();
    days
}

/// The customer's time zone, or the program's.
fn zone_of(own: Option<&str>, program: Tz) -> Tz {
    own.and_then(|z| z.parse().ok()).unwrap_or(program)
}

/// Makes every birthday offer due now.
pub fn run(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    pool.scoped(|| run_now(pool, clock))
}

fn run_now(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    let now = clock.now_naive();
    let mut conn = pool.get()?;
    let program = program::repo::load(&mut conn)?;
    let mut report = JobReport::default();
    if !program.birthday.enabled {
        return Ok(report);
    }
    let program_tz: Tz = program.time_zone.parse().unwrap_or(Tz::UTC);
    for md in candidate_days(now, &program.birthday) {
        let mut after: Option<String> = None;
        loop {
            let page = repo::birthday_page(&mut conn, md, after.as_deref(), BATCH)?;
            let full = i64::try_from(page.len()).unwrap_or(0) == BATCH;
            after = page.last().map(|c| c.id.clone());
            // A cheap first look; the gift's transaction decides again under the lock.
            let mut ready: Vec<(String, String)> = Vec::new();
            for candidate in page {
                let tz = zone_of(candidate.time_zone.as_deref(), program_tz);
                let Some(due) = due(md, tz, &program.birthday, now) else {
                    continue;
                };
                if !known_in_time(
                    candidate.birthday_set_at,
                    tz,
                    due.occasion,
                    &program.birthday,
                ) {
                    continue;
                }
                ready.push((candidate.id, due.year.to_string()));
            }
            // Those already given this year (an earlier run within the day) cost one indexed
            // read per page, not a transaction each.
            let mut given = std::collections::HashSet::new();
            let mut years: Vec<&str> = ready.iter().map(|(_, y)| y.as_str()).collect();
            years.sort_unstable();
            years.dedup();
            for year in years {
                let ids: Vec<String> = ready
                    .iter()
                    .filter(|(_, y)| y == year)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in repo::birthday_offered(&mut conn, &ids, year)? {
                    given.insert((id, year.to_owned()));
                }
            }
            for (id, year) in ready {
                if given.contains(&(id.clone(), year)) {
                    report.skipped += 1;
                    continue;
                }
                match give(&mut conn, &program, program_tz, &id, now) {
                    Ok(Given::Made) => report.items += 1,
                    Ok(Given::Taken) => report.skipped += 1,
                    Ok(Given::NotDue) => {}
                    Err(e) => tracing::error!(
                        customer = %id, error = %e,
                        "birthday offer failed; the next run retries it"
                    ),
                }
            }
            if !full {
                break;
            }
        }
    }
    Ok(report)
}

/// What became of one customer's offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Given {
    /// Made now.
    Made,
    /// Another run or instance made it first.
    Taken,
    /// Not due after all (changed, merged or erased meanwhile).
    NotDue,
}

/// Why an offer could not be made.
#[derive(Debug, thiserror::Error)]
enum GiftError {
    /// Neither a code nor points could be given.
    #[error(
        "the birthday reward is missing, inactive or out of stock, and no bonus points are set"
    )]
    NothingToGive,
    /// The bonus could not be credited.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Makes the customer's offer in one transaction: the balance row is locked first, the offer
/// row claims the year, then the bonus, the gift code and the message.
fn give(
    conn: &mut DbConnection,
    program: &ProgramSettings,
    program_tz: Tz,
    customer_id: &str,
    now: NaiveDateTime,
) -> Result<Given, GiftError> {
    let b = &program.birthday;
    db::write(conn, |c| {
        if !ledger::lock(c, customer_id)? {
            return Ok(Given::NotDue);
        }
        let Some(customer) = crate::customers::repo::find(c, customer_id)? else {
            return Ok(Given::NotDue);
        };
        let Some(md) = customer.birthday_md else {
            return Ok(Given::NotDue);
        };
        if customer.erased_at.is_some() || customer.merged_into.is_some() {
            return Ok(Given::NotDue);
        }
        let tz = zone_of(customer.time_zone.as_deref(), program_tz);
        let Some(due) = due(md, tz, b, now) else {
            return Ok(Given::NotDue);
        };
        if !known_in_time(customer.birthday_set_at, tz, due.occasion, b) {
            return Ok(Given::NotDue);
        }
        // The code stays valid to the end of the customer's local day `valid_days` after the
        // birthday.
        let valid_until = u64::try_from(b.valid_days)
            .ok()
            .and_then(|d| due.occasion.checked_add_days(Days::new(d + 1)))
            .and_then(|day| local_instant(tz, day, 0))
            .unwrap_or(now + Duration::days(b.valid_days));
        let offer = OfferRow {
            id: uuid::Uuid::now_v7().to_string(),
            customer_id: customer.id.clone(),
            kind: OfferKind::Birthday.as_str().to_owned(),
            occasion: due.year.to_string(),
            code: None,
            bonus_points: b.bonus_points,
            valid_from: now,
            valid_until: Some(valid_until),
            created_at: now,
        };
        if !repo::claim(c, &offer)? {
            return Ok(Given::Taken);
        }
        if b.bonus_points > 0 {
            let bonus = Posting {
                customer_id: customer.id.clone(),
                kind: EntryKind::Bonus,
                points: b.bonus_points,
                pending: 0,
                negative: 0,
                source_type: "offer".to_owned(),
                source_id: offer.id.clone(),
                lot_id: None,
                note: Some("birthday".to_owned()),
                expires_at: None,
            };
            ledger::credit_new_lot(c, bonus, program.expiry_months, now)?;
        }
        let locale = customer
            .locale
            .clone()
            .unwrap_or_else(|| program.default_locale.clone());
        let gift = gift_code(c, b, &customer, valid_until, now)?;
        if gift.is_none() && b.bonus_points <= 0 {
            return Err(GiftError::NothingToGive);
        }
        if let Some((code, _)) = &gift {
            repo::set_code(c, &offer.id, &code.code)?;
        }
        let kind = Kind::BirthdayOffer;
        let suppressed = outbox::missing_consent(
            kind.category(),
            customer.consent_email_marketing,
            customer.consent_surveys,
        );
        outbox::enqueue(
            c,
            outbox::NewMessage {
                customer_id: &customer.id,
                kind,
                dedupe_key: format!("birthday_offer:{}:{}", customer.id, due.year),
                cause_type: "offer",
                cause_id: &offer.id,
                payload: json!({
                    "code": gift.as_ref().map(|(code, _)| rewards::display_code(&code.code)),
                    "code_expires_at": gift.as_ref().map(|(code, _)| code.expires_at.and_utc()),
                    "bonus_points": b.bonus_points,
                    "reward_name": gift.as_ref().map(|(_, name)| name.resolve(Some(&locale))),
                }),
                due_at: now,
                suppressed: suppressed.map(str::to_owned),
            },
            now,
        )?;
        Ok(Given::Made)
    })
}

/// Issues the gift code of `birthday.reward_id` at no cost, if the reward can be given now
/// (it exists, is active and in its window, and has stock: a gift takes one like a
/// redemption, and a cancelled gift code puts it back). Returns the code and the reward's name.
fn gift_code(
    c: &mut DbConnection,
    b: &BirthdaySettings,
    customer: &CustomerRow,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Option<(CodeRow, LocalizedText)>, GiftError> {
    let Some(reward_id) = b.reward_id.as_deref() else {
        return Ok(None);
    };
    let reward = rewards::repo::find(c, reward_id)?;
    let Some(reward) = reward.filter(|r| r.is_available(now)) else {
        tracing::warn!(
            reward = reward_id,
            "the birthday reward cannot be given now; no code"
        );
        return Ok(None);
    };
    // Stock first: a code that would need rolling back is never written. (The new code row
    // locks nothing another transaction holds, so this keeps the one lock order.)
    if !rewards::repo::take_stock(c, &reward.id)? {
        tracing::warn!(reward = %reward.id, "the birthday reward is out of stock; no code");
        return Ok(None);
    }
    let code = CodeRow {
        code: rewards::generate_code(),
        reward_id: reward.id.clone(),
        customer_id: customer.id.clone(),
        points_spent: 0,
        status: "issued".to_owned(),
        issued_at: now,
        expires_at,
        used_at: None,
        used_store_id: None,
        used_purchase_external_id: None,
        cancelled_at: None,
        redeemed_store_id: None,
    };
    rewards::repo::insert_code(c, &code)?;
    Ok(Some((code, LocalizedText::from_stored(&reward.name))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(days_before: i64, feb29: Feb29Rule) -> BirthdaySettings {
        BirthdaySettings {
            enabled: true,
            days_before,
            feb29,
            ..BirthdaySettings::default()
        }
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default()
    }

    #[test]
    fn feb29_becomes_feb28_or_mar1_in_other_years() {
        assert_eq!(
            occasion(229, 2027, Feb29Rule::Feb28),
            NaiveDate::from_ymd_opt(2027, 2, 28)
        );
        assert_eq!(
            occasion(229, 2027, Feb29Rule::Mar1),
            NaiveDate::from_ymd_opt(2027, 3, 1)
        );
        assert_eq!(
            occasion(229, 2028, Feb29Rule::Mar1),
            NaiveDate::from_ymd_opt(2028, 2, 29)
        );
        assert_eq!(occasion(1332, 2027, Feb29Rule::Feb28), None);
    }

    #[test]
    fn the_offer_is_due_from_the_local_hour_for_one_day() {
        let b = settings(0, Feb29Rule::Feb28);
        let tehran: Tz = "Asia/Tehran".parse().unwrap_or(Tz::UTC);
        // 09:00 in Tehran (UTC+3:30) on 10 March is 05:30 UTC.
        assert_eq!(due(310, tehran, &b, at("2027-03-10 05:29")), None);
        let d = due(310, tehran, &b, at("2027-03-10 05:30"));
        assert_eq!(d.map(|d| d.year), Some(2027));
        assert!(due(310, tehran, &b, at("2027-03-11 05:29")).is_some());
        assert_eq!(due(310, tehran, &b, at("2027-03-11 05:30")), None);
    }

    #[test]
    fn days_before_can_reach_into_the_previous_year() {
        let b = settings(3, Feb29Rule::Feb28);
        let d = due(101, Tz::UTC, &b, at("2026-12-29 10:00"));
        assert_eq!(d.map(|d| d.year), Some(2027));
        assert!(candidate_days(at("2026-12-29 10:00"), &b).contains(&101));
    }

    #[test]
    fn candidate_days_cover_every_zone_and_stay_few() {
        let b = settings(0, Feb29Rule::Mar1);
        let now = at("2027-03-01 00:30");
        let days = candidate_days(now, &b);
        assert!(days.contains(&229), "{days:?}");
        assert!(days.len() <= 6, "{days:?}");
        // Every zone whose offer is due now has its day in the list.
        for zone in [
            "Pacific/Kiritimati",
            "Etc/GMT+12",
            "Asia/Tehran",
            "America/Los_Angeles",
        ] {
            let tz: Tz = zone.parse().unwrap_or(Tz::UTC);
            for md in [228, 229, 301, 302, 227] {
                if due(md, tz, &b, now).is_some() {
                    assert!(days.contains(&md), "{zone} {md} {days:?}");
                }
            }
        }
    }

    #[test]
    fn no_zone_has_a_due_birthday_outside_the_candidate_days() {
        for (days_before, feb29) in [(0, Feb29Rule::Feb28), (3, Feb29Rule::Mar1)] {
            let b = settings(days_before, feb29);
            for start in ["2027-02-26 00:00", "2026-12-30 00:00"] {
                for step in 0..24 {
                    let now = at(start) + Duration::hours(5 * step);
                    let days = candidate_days(now, &b);
                    let mut mds = vec![229];
                    for shift in -3..=6 {
                        let d = now.date() + Duration::days(shift);
                        mds.push(i32::try_from(d.month() * 100 + d.day()).unwrap_or(0));
                    }
                    for tz in chrono_tz::TZ_VARIANTS {
                        for md in &mds {
                            if due(*md, tz, &b, now).is_some() {
                                assert!(days.contains(md), "{tz} {md} at {now}: {days:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_birthday_entered_late_waits_a_year() {
        let b = settings(0, Feb29Rule::Feb28);
        let day = NaiveDate::from_ymd_opt(2027, 3, 10).unwrap_or_default();
        assert!(known_in_time(
            Some(at("2027-02-08 00:00")),
            Tz::UTC,
            day,
            &b
        ));
        assert!(!known_in_time(
            Some(at("2027-02-08 00:01")),
            Tz::UTC,
            day,
            &b
        ));
        assert!(known_in_time(None, Tz::UTC, day, &b));
    }
}
