//! Rendering a message: the values a template sees, and the minijinja environment it runs in.
//!
//! # Variables
//!
//! Every variable below is always defined (`none` when there is no value), and templates run
//! with strict undefined checks, so a misspelt variable is refused when a template is saved.
//!
//! About the customer, read when the message is rendered:
//! `first_name`, `current_tier` (name of their tier), `next_tier`, `points_balance` (available
//! points), `points_to_next_tier`, `favourite_category` (most spent on), `unsubscribe_url`
//! (marketing and survey messages only), `locale` (`en`/`fa`/`ar`), `dir` (`ltr`/`rtl`),
//! `currency` (the program's).
//!
//! # Payload keys
//!
//! Values fixed when the message was caused come from the message's `payload` JSON object.
//! Unknown keys are ignored; a name may be a string or per locale (`{"en": "Gold", "fa": "طلایی"}`);
//! times are RFC 3339 (`2026-12-01T00:00:00Z`) and are shown as a date in the customer's time zone.
//!
//! | kind                | keys                                                                    |
//! |---------------------|-------------------------------------------------------------------------|
//! | `birthday_offer`    | `code`, `code_expires_at`, `reward_name`, `bonus_points`               |
//! | `ticket_follow_up`  | `ticket_subject`, `resolution_note`, `agent_name`, `survey_url` (null unless `follow_up.survey_id` names an active survey) |
//! | `survey_invitation` | `survey_url` (the invitation's personal response page `/s/{token}`)     |
//! | `survey_reminder`   | `survey_url` (the same link as the invitation's)                        |
//! | `points_expiring`   | `points`, `expires_at`                                                  |
//! | `tier_changed`      | `tier_name`, `previous_tier_name`                                       |
//! | `recovery_apology`  | `bonus_points` (0: none), `agent_name` (may be null)                   |
//!
//! Every key is available to every kind's template (as `none` when the payload lacks it).
//!
//! # Filters
//!
//! `date` (an RFC 3339 time or `YYYY-MM-DD` → the local date: Solar Hijri with Persian digits
//! for `fa`), `number` (grouped digits of the locale), `money` (minor units → amount with the
//! program's currency and its minor digits).

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::QueryResult;
use minijinja::{AutoEscape, Environment, Error, UndefinedBehavior, Value};
use serde::Serialize;
use serde_json::Value as Json;

use super::locale::Locale;
use super::templates::TemplateSet;
use crate::customers::model::CustomerRow;
use crate::db::DbConnection;
use crate::program::ProgramSettings;
use crate::rewards::LocalizedText;

/// Everything a template can use.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub locale: &'static str,
    pub dir: &'static str,
    pub currency: String,
    pub first_name: Option<String>,
    pub current_tier: Option<String>,
    pub next_tier: Option<String>,
    pub points_balance: i64,
    pub points_to_next_tier: Option<i64>,
    pub favourite_category: Option<String>,
    pub unsubscribe_url: Option<String>,
    pub code: Option<String>,
    pub code_expires_at: Option<String>,
    pub bonus_points: Option<i64>,
    pub reward_name: Option<String>,
    pub points: Option<i64>,
    pub expires_at: Option<String>,
    pub tier_name: Option<String>,
    pub previous_tier_name: Option<String>,
    pub resolution_note: Option<String>,
    pub agent_name: Option<String>,
    pub survey_url: Option<String>,
    pub ticket_subject: Option<String>,
}

impl Context {
    /// A context with no customer values and no payload.
    pub fn empty(locale: Locale, currency: &str) -> Self {
        Self {
            locale: locale.as_str(),
            dir: locale.dir(),
            currency: currency.to_owned(),
            first_name: None,
            current_tier: None,
            next_tier: None,
            points_balance: 0,
            points_to_next_tier: None,
            favourite_category: None,
            unsubscribe_url: None,
            code: None,
            code_expires_at: None,
            bonus_points: None,
            reward_name: None,
            points: None,
            expires_at: None,
            tier_name: None,
            previous_tier_name: None,
            resolution_note: None,
            agent_name: None,
            survey_url: None,
            ticket_subject: None,
        }
    }

    /// The customer's values as of `now`.
    pub fn for_customer(
        conn: &mut DbConnection,
        customer: &CustomerRow,
        program: &ProgramSettings,
        locale: Locale,
        now: NaiveDateTime,
    ) -> QueryResult<Self> {
        let id = customer.id.as_str();
        let tier = crate::tiers::service::status(conn, id, program, now)?;
        let balance = crate::points::ledger::balance(conn, id, now)?;
        let favourite = crate::customers::stats::usage(conn, id)?
            .into_iter()
            .find(|u| u.dimension == "category" && u.spent_minor > 0)
            .map(|u| u.value);
        let name = |stored: &str| LocalizedText::from_stored(stored).resolve(Some(locale.as_str()));
        Ok(Self {
            first_name: customer.first_name.clone().filter(|n| !n.trim().is_empty()),
            current_tier: tier.tier.as_ref().map(|t| name(&t.name)),
            next_tier: tier.next.as_ref().map(|t| name(&t.name)),
            points_balance: balance.available,
            points_to_next_tier: tier.points_to_next,
            favourite_category: favourite,
            ..Self::empty(locale, &program.currency)
        })
    }

    /// Adds the values fixed at the cause (see the module documentation for the keys).
    pub fn with_payload(mut self, payload: &Json) -> Self {
        let locale = self.locale;
        let text = |key: &str| -> Option<String> {
            match payload.get(key)? {
                Json::String(s) => Some(s.clone()).filter(|s| !s.is_empty()),
                Json::Number(n) => Some(n.to_string()),
                v @ Json::Object(_) => serde_json::from_value::<LocalizedText>(v.clone())
                    .ok()
                    .map(|t| t.resolve(Some(locale))),
                _ => None,
            }
        };
        let int = |key: &str| -> Option<i64> {
            match payload.get(key)? {
                Json::Number(n) => n.as_i64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        };
        self.code = text("code");
        self.code_expires_at = text("code_expires_at");
        self.bonus_points = int("bonus_points");
        self.reward_name = text("reward_name");
        self.points = int("points");
        self.expires_at = text("expires_at");
        self.tier_name = text("tier_name");
        self.previous_tier_name = text("previous_tier_name");
        self.resolution_note = text("resolution_note");
        self.agent_name = text("agent_name");
        self.survey_url = text("survey_url");
        self.ticket_subject = text("ticket_subject");
        self
    }

    /// Sets the unsubscribe link.
    pub fn with_unsubscribe(mut self, url: Option<String>) -> Self {
        self.unsubscribe_url = url;
        self
    }
}

/// Instructions (and about 64 bytes each of data) one render may use; the shipped templates
/// need a few thousand.
const FUEL: u64 = 500_000;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rendered {
    /// One line, whitespace collapsed.
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// The customer's time zone, else the program's, else UTC.
pub fn time_zone(customer: Option<&str>, program: &str) -> Tz {
    customer
        .and_then(|z| z.parse::<Tz>().ok())
        .or_else(|| program.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC)
}

/// Renders the three parts of `set` for `ctx`, with dates in `tz`.
pub fn render(set: &TemplateSet, locale: Locale, tz: Tz, ctx: &Context) -> Result<Rendered, Error> {
    let env = environment(set, locale, tz, ctx.currency.clone())?;
    let value = Value::from(minijinja::value::Serde(ctx));
    let subject = env.get_template("subject.txt")?.render(&value)?;
    let html = env.get_template("body.html")?.render(&value)?;
    let text = env.get_template("body.txt")?.render(&value)?;
    Ok(Rendered {
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        html,
        text,
    })
}

/// A fresh environment holding the three templates (compiled here, so a syntax error is an
/// error of this call), with the locale's filters.
fn environment(
    set: &TemplateSet,
    locale: Locale,
    tz: Tz,
    currency: String,
) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Bounds the work and memory of one render: a staff template with a runaway loop is
    // refused when saved, and can never hold a dispatcher.
    env.set_fuel(Some(FUEL));
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("date", move |v: Value| -> Result<String, Error> {
        Ok(local_date(&v, tz).map_or_else(|| plain(&v), |d| locale.date(d)))
    });
    env.add_filter("number", move |v: Value| -> Result<String, Error> {
        Ok(integer(&v).map_or_else(|| plain(&v), |n| locale.number(n)))
    });
    env.add_filter("money", move |v: Value| -> Result<String, Error> {
        Ok(integer(&v).map_or_else(|| plain(&v), |n| locale.money(n, &currency)))
    });
    env.add_template_owned("subject.txt", set.subject.clone())?;
    env.add_template_owned("body.html", set.html.clone())?;
    env.add_template_owned("body.txt", set.text.clone())?;
    Ok(env)
}

/// A value shown as it is (`none` as nothing), when a filter cannot read it.
fn plain(v: &Value) -> String {
    if v.is_none() || v.is_undefined() {
        String::new()
    } else {
        v.to_string()
    }
}

fn integer(v: &Value) -> Option<i64> {
    if let Ok(n) = i64::try_from(v.clone()) {
        return Some(n);
    }
    v.as_str().and_then(|s| s.trim().parse().ok())
}

/// The local date of an RFC 3339 time (or a `YYYY-MM-DD` date as it is).
fn local_date(v: &Value, tz: Tz) -> Option<NaiveDate> {
    let s = v.as_str()?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&tz).date_naive());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc().with_timezone(&tz).date_naive());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Kind;
    use crate::messages::templates::{default_for, sample_context, validate};
    use chrono::Utc;

    #[test]
    fn every_shipped_template_validates() {
        let now = Utc::now();
        for kind in Kind::ALL {
            for locale in Locale::ALL {
                let set = default_for(kind, locale);
                assert_eq!(validate(&set, locale, now), Ok(()), "{kind:?} {locale:?}");
                let html = render(&set, locale, Tz::UTC, &sample_context(locale, now))
                    .map(|r| r.html)
                    .unwrap_or_default();
                assert!(
                    html.contains(&format!(
                        "lang=\"{}\" dir=\"{}\"",
                        locale.as_str(),
                        locale.dir()
                    )),
                    "{kind:?} {locale:?}"
                );
            }
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let set = TemplateSet {
            subject: "Hi {{ first_name }}".into(),
            html: "<p>{{ first_name }}</p>".into(),
            text: "{{ first_name }}".into(),
        };
        let ctx = Context {
            first_name: Some("<b>Tom & Jerry</b>".into()),
            ..Context::empty(Locale::En, "USD")
        };
        let out = render(&set, Locale::En, Tz::UTC, &ctx).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.html, "<p>&lt;b&gt;Tom &amp; Jerry&lt;&#x2f;b&gt;</p>");
        assert_eq!(out.text, "<b>Tom & Jerry</b>");
    }

    #[test]
    fn a_misspelt_variable_or_bad_syntax_is_refused() {
        let now = Utc::now();
        let mut set = default_for(Kind::BirthdayOffer, Locale::En);
        set.html = "<p>{{ frist_name }}</p>".into();
        assert!(validate(&set, Locale::En, now).is_err());
        set.html = "<p>{% if %}</p>".into();
        assert!(validate(&set, Locale::En, now).is_err());
        set.html =
            "{% for a in range(9999) %}{% for b in range(9999) %}.{% endfor %}{% endfor %}".into();
        let refused = validate(&set, Locale::En, now).err().unwrap_or_default();
        assert!(refused.contains("fuel"), "{refused}");
    }
}
