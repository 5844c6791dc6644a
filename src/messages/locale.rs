//! The languages messages are written in, and how dates, numbers and money read in each: for `fa`
//! the Solar Hijri calendar (computed by `icu_calendar`) and Persian digits, for `ar` the Gregorian
//! calendar with Arabic-Indic digits, for `en` the Gregorian calendar with ASCII digits.

use chrono::{Datelike, NaiveDate};
use icu_calendar::Date;
use icu_calendar::cal::Persian;

/// A language Patron ships message templates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English, left to right.
    En,
    /// Persian, right to left, Solar Hijri dates.
    Fa,
    /// Arabic, right to left.
    Ar,
}

impl Locale {
    /// Every locale, in the order the API lists them.
    pub const ALL: [Locale; 3] = [Locale::En, Locale::Fa, Locale::Ar];

    /// The wire name (`en`, `fa`, `ar`).
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fa => "fa",
            Locale::Ar => "ar",
        }
    }

    /// The locale with exactly this wire name.
    pub fn parse(s: &str) -> Option<Locale> {
        Locale::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The locale of a language tag by its language (`fa-IR` → `fa`), if Patron has it.
    pub fn of_tag(tag: &str) -> Option<Locale> {
        let language = tag.split(['-', '_']).next().unwrap_or_default();
        Locale::parse(&language.to_ascii_lowercase())
    }

    /// The customer's locale if Patron has templates for it, else the program's default, else `en`.
    pub fn negotiate(customer: Option<&str>, program_default: &str) -> Locale {
        customer
            .and_then(Locale::of_tag)
            .or_else(|| Locale::of_tag(program_default))
            .unwrap_or(Locale::En)
    }

    /// `rtl` for Persian and Arabic, `ltr` for English.
    pub fn dir(self) -> &'static str {
        match self {
            Locale::En => "ltr",
            Locale::Fa | Locale::Ar => "rtl",
        }
    }

    /// The digits zero to nine in this locale's script.
    fn digits(self) -> [char; 10] {
        match self {
            Locale::En => ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
            Locale::Fa => ['۰', '۱', '۲', '۳', '۴', '۵', '۶', '۷', '۸', '۹'],
            Locale::Ar => ['٠', '١', '٢', '٣', '٤', '٥', '٦', '٧', '٨', '٩'],
        }
    }

    /// The thousands separator and the decimal separator.
    fn separators(self) -> (char, char) {
        match self {
            Locale::En => (',', '.'),
            // ARABIC THOUSANDS SEPARATOR and ARABIC DECIMAL SEPARATOR, used by both languages.
            Locale::Fa | Locale::Ar => ('\u{066C}', '\u{066B}'),
        }
    }

    /// ASCII digits in `s` written in this locale's script.
    pub fn localize_digits(self, s: &str) -> String {
        let digits = self.digits();
        s.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) if c.is_ascii_digit() => digits[d as usize],
                _ => c,
            })
            .collect()
    }

    /// An integer with grouped thousands: `1,250`, `۱٬۲۵۰`, `١٬٢٥٠`.
    pub fn number(self, n: i64) -> String {
        let (thousands, _) = self.separators();
        let raw = n.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(raw.len() + raw.len() / 3 + 1);
        for (i, c) in raw.chars().enumerate() {
            if i > 0 && (raw.len() - i).is_multiple_of(3) {
                grouped.push(thousands);
            }
            grouped.push(c);
        }
        let sign = if n < 0 { "-" } else { "" };
        self.localize_digits(&format!("{sign}{grouped}"))
    }

    /// An amount in minor units with the currency's minor digits and code: `12.50 USD`,
    /// `۱۲٫۵۰ USD`; `1,200 JPY` for a currency without minor units.
    pub fn money(self, minor: i64, currency: &str) -> String {
        let digits = crate::values::minor_digits(currency);
        let scale = 10_u64.pow(digits);
        let abs = minor.unsigned_abs();
        let whole = i64::try_from(abs / scale).unwrap_or(i64::MAX);
        let mut out = String::new();
        if minor < 0 {
            out.push('-');
        }
        out.push_str(&self.number(whole));
        if digits > 0 {
            let (_, decimal) = self.separators();
            out.push(decimal);
            let fraction = format!("{:0width$}", abs % scale, width = digits as usize);
            out.push_str(&self.localize_digits(&fraction));
        }
        format!("{out} {currency}")
    }

    /// A calendar date: `22 November 2026`, `۱ آذر ۱۴۰۵` (Solar Hijri), `٢٢ نوفمبر ٢٠٢٦`.
    pub fn date(self, date: NaiveDate) -> String {
        match self {
            Locale::En => format!(
                "{} {} {}",
                date.day(),
                EN_MONTHS[date.month0() as usize],
                date.year()
            ),
            Locale::Ar => self.localize_digits(&format!(
                "{} {} {}",
                date.day(),
                AR_MONTHS[date.month0() as usize],
                date.year()
            )),
            Locale::Fa => match solar_hijri(date) {
                Some((year, month, day)) => self.localize_digits(&format!(
                    "{day} {} {year}",
                    FA_MONTHS[usize::from(month.clamp(1, 12) - 1)]
                )),
                // Outside the calendar's range (years beyond ±9999): the ISO date, never a panic.
                None => self.localize_digits(&date.format("%Y-%m-%d").to_string()),
            },
        }
    }
}

/// The Solar Hijri (Persian) year, month and day of a Gregorian date, from `icu_calendar`.
pub fn solar_hijri(date: NaiveDate) -> Option<(i32, u8, u8)> {
    let month = u8::try_from(date.month()).ok()?;
    let day = u8::try_from(date.day()).ok()?;
    let iso = Date::try_new_iso(date.year(), month, day).ok()?;
    let persian = iso.to_calendar(Persian::new());
    Some((
        persian.era_year().year,
        persian.month().ordinal,
        persian.day_of_month().0,
    ))
}

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const AR_MONTHS: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];

/// The months of the Solar Hijri year, Farvardin first.
const FA_MONTHS: [&str; 12] = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn persian_dates_follow_the_solar_hijri_calendar() {
        assert_eq!(solar_hijri(d(2026, 11, 22)), Some((1405, 9, 1)));
        assert_eq!(solar_hijri(d(2025, 3, 21)), Some((1404, 1, 1)));
        assert_eq!(Locale::Fa.date(d(2026, 11, 22)), "۱ آذر ۱۴۰۵");
        assert_eq!(Locale::En.date(d(2026, 11, 22)), "22 November 2026");
        assert_eq!(Locale::Ar.date(d(2026, 11, 22)), "٢٢ نوفمبر ٢٠٢٦");
    }

    #[test]
    fn numbers_and_money_use_the_locale_digits() {
        assert_eq!(Locale::En.number(1_234_567), "1,234,567");
        assert_eq!(Locale::Fa.number(1250), "۱٬۲۵۰");
        assert_eq!(Locale::Ar.number(-42), "-٤٢");
        assert_eq!(Locale::En.money(1250, "USD"), "12.50 USD");
        assert_eq!(Locale::En.money(1200, "JPY"), "1,200 JPY");
        assert_eq!(Locale::Fa.money(123_456, "EUR"), "۱٬۲۳۴٫۵۶ EUR");
        assert_eq!(Locale::En.money(-5, "BHD"), "-0.005 BHD");
    }

    #[test]
    fn locales_are_negotiated_by_language() {
        assert_eq!(Locale::negotiate(Some("fa-IR"), "en"), Locale::Fa);
        assert_eq!(Locale::negotiate(Some("de"), "ar"), Locale::Ar);
        assert_eq!(Locale::negotiate(None, "xx"), Locale::En);
    }
}
