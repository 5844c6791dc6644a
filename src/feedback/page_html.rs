//! The HTML of the response page, in English, Persian and Arabic (right to left): the form, the
//! thank-you page, and the pages for a link that is answered, expired or unknown. No JavaScript;
//! the only style is one `<style>` element, allowed by its hash in the Content-Security-Policy.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::Kind;
use crate::messages::locale::Locale;

/// The page's one style sheet.
const STYLE: &str = "body{font-family:Tahoma,Arial,sans-serif;max-width:560px;margin:40px auto;\
padding:0 16px;line-height:1.6;color:#222;background:#fff}\
h1{font-size:22px}fieldset{border:0;margin:0 0 24px;padding:0}\
legend{font-size:19px;font-weight:bold;margin-bottom:12px;padding:0}\
.scale{display:flex;flex-wrap:wrap;gap:6px}\
.scale input{position:absolute;opacity:0;width:1px;height:1px;margin:0}\
.scale label{display:inline-block;min-width:42px;padding:10px 0;text-align:center;\
border:1px solid #777;border-radius:6px;cursor:pointer;background:#fff;font-size:17px}\
.scale input:checked+label{background:#1a56db;color:#fff;border-color:#1a56db}\
.scale input:focus-visible+label{outline:3px solid #b45309;outline-offset:2px}\
.ends{display:flex;justify-content:space-between;gap:12px;font-size:14px;color:#444;margin-top:6px}\
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
label.open{display:block;font-weight:bold;margin-bottom:8px}\
textarea{width:100%;box-sizing:border-box;min-height:120px;font:inherit;padding:8px;\
border:1px solid #777;border-radius:6px}\
.error{color:#b91c1c;font-weight:bold}\
button{font:inherit;font-size:17px;padding:10px 28px;border:0;border-radius:6px;\
background:#1a56db;color:#fff;cursor:pointer}";

/// The Content-Security-Policy of every page: no scripts, nothing loaded, only the style sheet
/// above, forms posted only to Patron, never framed.
pub static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
});

/// The fixed texts of the pages in one language.
struct Texts {
    title: &'static str,
    /// The labels at both ends of the scale, per kind: (lowest, highest).
    nps: (&'static str, &'static str),
    csat: (&'static str, &'static str),
    ces: (&'static str, &'static str),
    open_default: &'static str,
    optional: &'static str,
    submit: &'static str,
    thanks: (&'static str, &'static str),
    answered: (&'static str, &'static str),
    expired: (&'static str, &'static str),
    not_found: (&'static str, &'static str),
    bad_score: &'static str,
    empty: &'static str,
    comment_invalid: &'static str,
}

fn texts(locale: Locale) -> Texts {
    match locale {
        Locale::En => Texts {
            title: "Your feedback",
            nps: ("Not at all likely", "Extremely likely"),
            csat: ("Very dissatisfied", "Very satisfied"),
            ces: ("Very difficult", "Very easy"),
            open_default: "Is there anything else you would like to tell us?",
            optional: "(optional)",
            submit: "Send",
            thanks: (
                "Thank you!",
                "Your answer has been recorded. We appreciate the time you took.",
            ),
            answered: (
                "You have already answered this survey",
                "Thank you — we already have your answer.",
            ),
            expired: (
                "This survey has closed",
                "The time to answer this survey has passed. Thank you for your interest.",
            ),
            not_found: (
                "Survey not found",
                "This link is not valid. Please check that you opened the whole link from the email.",
            ),
            bad_score: "Please choose one of the scores shown.",
            empty: "Please choose a score or write a comment.",
            comment_invalid: "Your comment is too long (at most 2000 characters) or contains \
                              characters that cannot be saved.",
        },
        Locale::Fa => Texts {
            title: "نظر شما",
            nps: ("به\u{200c}هیچ\u{200c}وجه", "به\u{200c}احتمال بسیار زیاد"),
            csat: ("بسیار ناراضی", "بسیار راضی"),
            ces: ("بسیار دشوار", "بسیار آسان"),
            open_default: "نکتهٔ دیگری هست که بخواهید با ما در میان بگذارید؟",
            optional: "(اختیاری)",
            submit: "ارسال",
            thanks: (
                "سپاسگزاریم!",
                "پاسخ شما ثبت شد. از اینکه وقت گذاشتید ممنونیم.",
            ),
            answered: (
                "شما پیش\u{200c}تر به این نظرسنجی پاسخ داده\u{200c}اید",
                "سپاس — پاسخ شما پیش\u{200c}تر ثبت شده است.",
            ),
            expired: (
                "مهلت این نظرسنجی به پایان رسیده است",
                "زمان پاسخ\u{200c}گویی به این نظرسنجی گذشته است. از توجه شما سپاسگزاریم.",
            ),
            not_found: (
                "نظرسنجی پیدا نشد",
                "این پیوند معتبر نیست. لطفاً بررسی کنید که پیوند کامل ایمیل را باز کرده باشید.",
            ),
            bad_score: "لطفاً یکی از امتیازهای نمایش\u{200c}داده\u{200c}شده را انتخاب کنید.",
            empty: "لطفاً یک امتیاز انتخاب کنید یا نظرتان را بنویسید.",
            comment_invalid: "نظر شما بیش از اندازه طولانی است (حداکثر ۲۰۰۰ نویسه) یا \
                              نویسه\u{200c}هایی دارد که ذخیره نمی\u{200c}شوند.",
        },
        Locale::Ar => Texts {
            title: "رأيك",
            nps: ("غير مرجّح على الإطلاق", "مرجّح للغاية"),
            csat: ("غير راضٍ على الإطلاق", "راضٍ جدًا"),
            ces: ("صعب جدًا", "سهل جدًا"),
            open_default: "هل هناك أي شيء آخر تودّ إخبارنا به؟",
            optional: "(اختياري)",
            submit: "إرسال",
            thanks: ("شكرًا لك!", "تم تسجيل إجابتك. نقدّر الوقت الذي خصّصته لنا."),
            answered: (
                "لقد أجبت عن هذا الاستبيان من قبل",
                "شكرًا لك — إجابتك مسجّلة لدينا بالفعل.",
            ),
            expired: (
                "انتهت مدة هذا الاستبيان",
                "انقضى الوقت المتاح للإجابة عن هذا الاستبيان. شكرًا لاهتمامك.",
            ),
            not_found: (
                "لم يُعثر على الاستبيان",
                "هذا الرابط غير صالح. يُرجى التأكد من فتح الرابط كاملًا من البريد الإلكتروني.",
            ),
            bad_score: "يُرجى اختيار إحدى الدرجات المعروضة.",
            empty: "يُرجى اختيار درجة أو كتابة تعليق.",
            comment_invalid: "تعليقك طويل جدًا (٢٠٠٠ حرف كحد أقصى) أو يحتوي على أحرف لا يمكن حفظها.",
        },
    }
}

/// A text in a language, possibly not the page's.
#[derive(Debug, Clone)]
pub struct Localized {
    pub locale: Locale,
    pub text: String,
}

/// What the form shows.
#[derive(Debug, Clone)]
pub struct Form {
    pub kind: Kind,
    /// The top of the scale.
    pub scale: i32,
    pub question: Option<Localized>,
    pub open_question: Option<Localized>,
}

/// What was typed, shown again with the errors next to their fields.
#[derive(Debug, Clone, Default)]
pub struct Typed {
    pub score: Option<i32>,
    pub comment: String,
}

/// An error of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    BadScore,
    Empty,
    BadComment,
}

/// The notices a page can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Thanks,
    AlreadyAnswered,
    Expired,
    NotFound,
}

/// HTML-escapes text for an element or an attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `lang` and `dir` attributes for text in another language than the page's.
fn lang_attrs(page: Locale, text: Locale) -> String {
    if page == text {
        String::new()
    } else {
        format!(" lang=\"{}\" dir=\"{}\"", text.as_str(), text.dir())
    }
}

fn document(locale: Locale, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        lang = locale.as_str(),
        dir = locale.dir(),
        title = escape(title),
    )
}

/// A page with a heading and a paragraph.
pub fn notice(locale: Locale, which: Notice) -> String {
    let t = texts(locale);
    let (heading, body) = match which {
        Notice::Thanks => t.thanks,
        Notice::AlreadyAnswered => t.answered,
        Notice::Expired => t.expired,
        Notice::NotFound => t.not_found,
    };
    let html = format!("<h1>{}</h1>\n<p>{}</p>\n", escape(heading), escape(body));
    document(locale, t.title, &html)
}

/// The form, with what was typed and the errors (if any) next to their fields.
pub fn form(locale: Locale, f: &Form, typed: &Typed, errors: &[FormError]) -> String {
    let t = texts(locale);
    let (low, high) = match f.kind {
        Kind::Nps => t.nps,
        Kind::Csat => t.csat,
        Kind::Ces => t.ces,
    };
    let mut html = String::new();
    let score_error = if errors.contains(&FormError::BadScore) {
        Some(t.bad_score)
    } else if errors.contains(&FormError::Empty) {
        Some(t.empty)
    } else {
        None
    };
    let described = if score_error.is_some() {
        "scale-ends score-error"
    } else {
        "scale-ends"
    };
    html.push_str("<form method=\"post\">\n");
    html.push_str(&format!(
        "<fieldset aria-describedby=\"{described}\">\n<legend"
    ));
    match &f.question {
        Some(q) => html.push_str(&format!(
            "{}>{}</legend>\n",
            lang_attrs(locale, q.locale),
            escape(&q.text)
        )),
        None => html.push_str(&format!(">{}</legend>\n", escape(t.title))),
    }
    if let Some(e) = score_error {
        html.push_str(&format!(
            "<p class=\"error\" id=\"score-error\" role=\"alert\">{}</p>\n",
            escape(e)
        ));
    }
    html.push_str("<div class=\"scale\">\n");
    let min = f.kind.min_score();
    for n in min..=f.scale {
        let checked = if typed.score == Some(n) {
            " checked"
        } else {
            ""
        };
        let end = if n == min {
            format!("<span class=\"vh\"> — {}</span>", escape(low))
        } else if n == f.scale {
            format!("<span class=\"vh\"> — {}</span>", escape(high))
        } else {
            String::new()
        };
        html.push_str(&format!(
            "<input type=\"radio\" name=\"score\" id=\"score-{n}\" value=\"{n}\"{checked}>\
             <label for=\"score-{n}\">{}{end}</label>\n",
            locale.localize_digits(&n.to_string())
        ));
    }
    html.push_str(&format!(
        "</div>\n<p class=\"ends\" id=\"scale-ends\"><span>{}</span><span>{}</span></p>\n</fieldset>\n",
        escape(low),
        escape(high)
    ));
    let (open_attrs, open_text) = match &f.open_question {
        Some(o) => (lang_attrs(locale, o.locale), o.text.as_str()),
        None => (String::new(), t.open_default),
    };
    html.push_str(&format!(
        "<label class=\"open\" for=\"comment\"><span{open_attrs}>{}</span> {}</label>\n",
        escape(open_text),
        escape(t.optional)
    ));
    let comment_error = errors.contains(&FormError::BadComment);
    if comment_error {
        html.push_str(&format!(
            "<p class=\"error\" id=\"comment-error\" role=\"alert\">{}</p>\n",
            escape(t.comment_invalid)
        ));
    }
    html.push_str(&format!(
        "<p><textarea id=\"comment\" name=\"comment\" rows=\"5\" maxlength=\"2000\"{}>{}</textarea></p>\n",
        if comment_error {
            " aria-describedby=\"comment-error\" aria-invalid=\"true\""
        } else {
            ""
        },
        escape(&typed.comment)
    ));
    html.push_str(&format!(
        "<p><button type=\"submit\">{}</button></p>\n</form>\n",
        escape(t.submit)
    ));
    document(locale, t.title, &html)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nps(question: &str, locale: Locale) -> Form {
        Form {
            kind: Kind::Nps,
            scale: 10,
            question: Some(Localized {
                locale,
                text: question.to_owned(),
            }),
            open_question: None,
        }
    }

    #[test]
    fn the_persian_form_is_right_to_left_with_persian_digits_and_labels_at_both_ends() {
        let html = form(
            Locale::Fa,
            &nps("چقدر احتمال دارد ما را توصیه کنید؟", Locale::Fa),
            &Typed::default(),
            &[],
        );
        assert!(html.contains("<html lang=\"fa\" dir=\"rtl\">"));
        assert!(html.contains("<legend>چقدر احتمال دارد ما را توصیه کنید؟</legend>"));
        assert!(html.contains("value=\"10\""));
        assert!(html.contains("۱۰"));
        assert!(html.contains("بسیار زیاد"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn text_is_escaped_and_a_question_in_another_language_says_so() {
        let html = form(
            Locale::Ar,
            &nps("<b>Rate us</b>", Locale::En),
            &Typed {
                score: Some(3),
                comment: "a \"quote\" </textarea>".into(),
            },
            &[FormError::Empty],
        );
        assert!(
            html.contains("<legend lang=\"en\" dir=\"ltr\">&lt;b&gt;Rate us&lt;/b&gt;</legend>")
        );
        assert!(html.contains("a &quot;quote&quot; &lt;/textarea&gt;</textarea>"));
        assert!(html.contains("id=\"score-3\" value=\"3\" checked"));
        assert!(html.contains("role=\"alert\""));
    }

    #[test]
    fn the_policy_allows_exactly_the_page_style() {
        assert!(CSP.contains("style-src 'sha256-"));
        assert!(!CSP.contains("script-src"));
        assert!(CSP.starts_with("default-src 'none'"));
    }
}
