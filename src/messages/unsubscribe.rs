//! Unsubscribe links (RFC 8058): `GET /u/{token}` shows a confirmation page with a button (a GET
//! never unsubscribes: mail scanners follow links), `POST /u/{token}` opts out at once (what a
//! mail client's one-click `List-Unsubscribe-Post` sends; the body is ignored).
//!
//! The token is the customer id and the category, signed with HMAC-SHA256 under the JWT secret
//! and a context string of its own (so no other signature of that key is ever a valid token),
//! URL-safe base64. It never expires: an old email's link still works. A token that does not
//! verify answers 404 `not_found` as problem+json, like every unknown path.

use actix_web::{HttpResponse, get, post, web};
use diesel::prelude::*;
use secrecy::ExposeSecret;
use utoipa_actix_web::service_config::ServiceConfig;

use super::Category;
use super::locale::Locale;
use crate::app::AppState;
use crate::audit::{self, Actor};
use crate::db::schema::customers;
use crate::db::{self, DbConnection};
use crate::error::{ApiError, Problem};

/// Separates unsubscribe signatures from every other use of the key.
const CONTEXT: &[u8] = b"patron/unsubscribe/v1\n";

/// Longest token accepted (a customer id of up to 100 characters, signed).
const MAX_TOKEN_LEN: usize = 300;

/// Registers the routes (outside `/v1`: they are links in emails).
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(confirm_page).service(unsubscribe);
}

fn payload(customer_id: &str, category: Category) -> String {
    let tag = match category {
        Category::Marketing => 'm',
        Category::Survey => 's',
        Category::Service => 'x',
    };
    format!("{tag}:{customer_id}")
}

/// The signed token for a customer and category.
pub fn token(secret: &str, customer_id: &str, category: Category) -> Option<String> {
    crate::secrets::links::sign(secret, CONTEXT, payload(customer_id, category).as_bytes())
}

/// The customer id and category of a genuine token (marketing or survey only).
pub fn verify(secret: &str, token: &str) -> Option<(String, Category)> {
    let payload = crate::secrets::links::verify(secret, CONTEXT, token, MAX_TOKEN_LEN)?;
    let payload = String::from_utf8(payload).ok()?;
    let (tag, id) = payload.split_once(':')?;
    let category = match tag {
        "m" => Category::Marketing,
        "s" => Category::Survey,
        _ => return None,
    };
    (!id.is_empty()).then(|| (id.to_owned(), category))
}

/// The unsubscribe link of a message of this category to this customer; none for service
/// messages (they need no consent and carry no link).
pub fn url(
    public_url: &str,
    secret: &str,
    customer_id: &str,
    category: Category,
) -> Option<String> {
    if !matches!(category, Category::Marketing | Category::Survey) {
        return None;
    }
    let token = token(secret, customer_id, category)?;
    Some(format!("{}/u/{token}", public_url.trim_end_matches('/')))
}

/// The customer a token names (following a merge) and the page's language.
fn recipient(conn: &mut DbConnection, id: &str) -> QueryResult<Option<(String, Locale)>> {
    let Some(row) = crate::customers::repo::resolve(conn, id)? else {
        return Ok(None);
    };
    let program = crate::program::repo::load(conn)?;
    Ok(Some((
        row.id,
        Locale::negotiate(row.locale.as_deref(), &program.default_locale),
    )))
}

fn verified(state: &AppState, token: &str) -> Result<(String, Category), ApiError> {
    verify(state.jobs.secret.expose_secret(), token)
        .ok_or_else(|| ApiError::not_found("Unsubscribe link"))
}

/// The confirmation page of an unsubscribe link: a button that opts out (a GET changes nothing).
#[utoipa::path(tag = "unsubscribe",
    params(("token" = String, Path, description = "The signed token of the link in the email.")),
    responses(
        (status = 200, description = "A small HTML page in the customer's language with a button that POSTs to the same URL.", content_type = "text/html", body = String),
        (status = 404, description = "`not_found`: the link is not genuine.", body = Problem),
        (status = 503, description = "`database_unavailable`", body = Problem)))]
#[get("/u/{token}")]
async fn confirm_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, category) = verified(&state, &token)?;
    let (_, locale) = db::run(&state.pool, move |c| recipient(c, &id))
        .await?
        .ok_or_else(|| ApiError::not_found("Unsubscribe link"))?;
    Ok(page(pages::confirm(locale, category)))
}

/// Opts out at once (RFC 8058 one-click; the request body, if any, is ignored). Answers a small
/// HTML page; doing it again changes nothing and answers the same.
#[utoipa::path(tag = "unsubscribe",
    params(("token" = String, Path, description = "The signed token of the link in the email.")),
    responses(
        (status = 200, description = "Unsubscribed: `consent_email_marketing` or `consent_surveys` is now false. A small HTML page in the customer's language.", content_type = "text/html", body = String),
        (status = 404, description = "`not_found`: the link is not genuine.", body = Problem),
        (status = 503, description = "`database_unavailable`, `database_busy`", body = Problem)))]
#[post("/u/{token}")]
async fn unsubscribe(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, category) = verified(&state, &token)?;
    let now = state.clock.now_naive();
    let locale = db::run(&state.pool, move |c| {
        db::write(c, |c| opt_out(c, &id, category, now))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("Unsubscribe link"))?;
    Ok(page(pages::done(locale, category)))
}

/// Withdraws the consent of the category; returns the page's language, or `None` for an unknown
/// customer.
fn opt_out(
    c: &mut DbConnection,
    id: &str,
    category: Category,
    now: chrono::NaiveDateTime,
) -> QueryResult<Option<Locale>> {
    let Some((id, locale)) = recipient(c, id)? else {
        return Ok(None);
    };
    let target = customers::table.find(&id);
    let changed = match category {
        Category::Marketing => diesel::update(target.filter(customers::consent_email_marketing))
            .set((
                customers::consent_email_marketing.eq(false),
                customers::updated_at.eq(now),
            ))
            .execute(c)?,
        _ => diesel::update(target.filter(customers::consent_surveys))
            .set((
                customers::consent_surveys.eq(false),
                customers::updated_at.eq(now),
            ))
            .execute(c)?,
    };
    if changed > 0 {
        let action = match category {
            Category::Marketing => "customer.unsubscribe_marketing",
            _ => "customer.unsubscribe_surveys",
        };
        audit::record(
            c,
            &Actor::Customer(id.clone()),
            action,
            "customer",
            &id,
            now,
        )?;
    }
    Ok(Some(locale))
}

fn page(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The token is in the URL: keep it out of caches and referrers.
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(html)
}

mod pages {
    //! The two pages, in each language. Every text is fixed (nothing from the request is shown).

    use super::super::Category;
    use super::super::locale::Locale;

    struct Texts {
        title: &'static str,
        heading: &'static str,
        body: &'static str,
    }

    pub fn confirm(locale: Locale, category: Category) -> String {
        let marketing = category == Category::Marketing;
        let (t, button) = match locale {
            Locale::En => (
                Texts {
                    title: "Unsubscribe",
                    heading: if marketing {
                        "Stop offers and news by email?"
                    } else {
                        "Stop surveys by email?"
                    },
                    body: "You will no longer receive these emails. Messages about your account, \
                           such as points that are about to expire, will still reach you.",
                },
                "Unsubscribe",
            ),
            Locale::Fa => (
                Texts {
                    title: "لغو اشتراک",
                    heading: if marketing {
                        "دیگر ایمیل پیشنهادها و خبرها را دریافت نکنید؟"
                    } else {
                        "دیگر ایمیل نظرسنجی دریافت نکنید؟"
                    },
                    body: "پس از لغو اشتراک، این ایمیل\u{200c}ها دیگر برای شما فرستاده \
                           نمی\u{200c}شود. پیام\u{200c}های مربوط به حساب شما، مانند امتیازهایی \
                           که به\u{200c}زودی منقضی می\u{200c}شوند، همچنان ارسال خواهند شد.",
                },
                "لغو اشتراک",
            ),
            Locale::Ar => (
                Texts {
                    title: "إلغاء الاشتراك",
                    heading: if marketing {
                        "هل تريد إيقاف رسائل العروض والأخبار؟"
                    } else {
                        "هل تريد إيقاف رسائل الاستبيانات؟"
                    },
                    body: "لن تصلك هذه الرسائل بعد الآن. أما الرسائل المتعلقة بحسابك، مثل النقاط \
                           التي تقترب صلاحيتها من الانتهاء، فستستمر في الوصول إليك.",
                },
                "إلغاء الاشتراك",
            ),
        };
        let form = format!(
            "<form method=\"post\"><button type=\"submit\" style=\"font-size:16px;padding:10px \
             20px;\">{button}</button></form>"
        );
        html(locale, &t, &form)
    }

    pub fn done(locale: Locale, category: Category) -> String {
        let marketing = category == Category::Marketing;
        let t = match locale {
            Locale::En => Texts {
                title: "Unsubscribed",
                heading: "You are unsubscribed",
                body: if marketing {
                    "You will no longer receive offers and news by email. You can change this \
                     at any time in the app."
                } else {
                    "You will no longer receive surveys by email. You can change this at any \
                     time in the app."
                },
            },
            Locale::Fa => Texts {
                title: "اشتراک لغو شد",
                heading: "اشتراک شما لغو شد",
                body: if marketing {
                    "دیگر ایمیل پیشنهادها و خبرها برایتان فرستاده نمی\u{200c}شود. هر زمان \
                     بخواهید می\u{200c}توانید این تنظیم را در اپلیکیشن تغییر دهید."
                } else {
                    "دیگر ایمیل نظرسنجی برایتان فرستاده نمی\u{200c}شود. هر زمان بخواهید \
                     می\u{200c}توانید این تنظیم را در اپلیکیشن تغییر دهید."
                },
            },
            Locale::Ar => Texts {
                title: "تم إلغاء الاشتراك",
                heading: "تم إلغاء اشتراكك",
                body: if marketing {
                    "لن تصلك بعد الآن رسائل العروض والأخبار. يمكنك تغيير ذلك في أي وقت من التطبيق."
                } else {
                    "لن تصلك بعد الآن رسائل الاستبيانات. يمكنك تغيير ذلك في أي وقت من التطبيق."
                },
            },
        };
        html(locale, &t, "")
    }

    fn html(locale: Locale, t: &Texts, extra: &str) -> String {
        let (lang, dir) = (locale.as_str(), locale.dir());
        format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n</head>\n\
             <body style=\"font-family:Tahoma,Arial,sans-serif;max-width:480px;margin:48px auto;\
             padding:0 16px;line-height:1.7;color:#222;\">\n<h1 style=\"font-size:22px;\">{heading}</h1>\n\
             <p>{body}</p>\n{extra}\n</body>\n</html>\n",
            title = t.title,
            heading = t.heading,
            body = t.body,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_key_and_unchanged() {
        let t = token("key-one", "c-123", Category::Survey).unwrap_or_default();
        assert_eq!(
            verify("key-one", &t),
            Some(("c-123".to_owned(), Category::Survey))
        );
        assert_eq!(verify("key-two", &t), None);
        let forged = token("key-one", "c-124", Category::Survey).unwrap_or_default();
        let (_, sig) = forged.split_once('.').unwrap_or_default();
        let (payload, _) = t.split_once('.').unwrap_or_default();
        assert_eq!(verify("key-one", &format!("{payload}.{sig}")), None);
        assert_eq!(verify("key-one", "garbage"), None);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
    }
}
