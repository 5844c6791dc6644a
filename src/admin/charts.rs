//! Charts drawn by the server as SVG (no script, allowed by the console's CSP).
//!
//! Two shapes: a series over time (lines or bars, one or more series on shared axes) and a
//! distribution (one bar per score, coloured by what the score means). Every text inside is
//! escaped here, numbers are written in the page's digits, and styling uses SVG presentation
//! attributes only (the CSP forbids `style="…"`), so the returned markup is safe to print
//! unescaped (`{{ chart|safe }}`). Each chart carries `role="img"`, an `aria-label`, a `<title>`
//! and a `<desc>`; the pages show the same figures in a table beside it.

use std::fmt::Write as _;

use crate::messages::locale::Locale;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 290.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
/// Room for the title and the values above the highest bar.
const TOP: f64 = 52.0;
const BOTTOM: f64 = 34.0;
const LEGEND: f64 = 22.0;
/// More points than this and the values are left to the tooltips and the table.
const MAX_VALUE_LABELS: usize = 16;

const INK: &str = "#1f2328";
const MUTED: &str = "#57606a";
const GRID: &str = "#e5e7eb";
const PALETTE: [&str; 4] = ["#1a56db", "#f59e0b", "#15803d", "#b91c1c"];

/// What a bar of a distribution means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// No judgement (a count).
    Neutral,
    /// A bad score (NPS detractor, CSAT 1–2, hard CES).
    Bad,
    /// A middling score.
    Mid,
    /// A good score.
    Good,
}

impl Tone {
    fn colour(self) -> &'static str {
        match self {
            Tone::Neutral => PALETTE[0],
            Tone::Bad => "#dc2626",
            Tone::Mid => "#f59e0b",
            Tone::Good => "#16a34a",
        }
    }
}

/// One bar of a distribution.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub tone: Tone,
}

/// One named series of a chart over time: a value per label, `None` where there is none.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// How a series over time is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Lines through the points (a gap where a value is missing).
    Line,
    /// Bars side by side per label.
    Bars,
}

/// A chart of values over time (or over any ordered labels).
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// Unique on the page (letters, digits and `-` are kept).
    pub id: &'a str,
    pub title: &'a str,
    /// One or two sentences saying what the chart shows.
    pub desc: &'a str,
    /// The text shown when no value is present.
    pub empty: &'a str,
    /// The labels along the x axis.
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    pub style: Style,
    /// Decimals of the values shown.
    pub decimals: u32,
}

/// Escapes text for SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A decimal in the page's digits and decimal separator: `33.3`, `۳۳٫۳`, `٣٣٫٣`.
pub fn decimal(lang: Locale, value: f64, places: u32) -> String {
    let text = format!("{value:.prec$}", prec = places as usize);
    // `-0.0` reads as 0.
    let text = if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_owned()
    } else {
        text
    };
    let text = match lang {
        Locale::En => text,
        Locale::Fa | Locale::Ar => text.replace('.', "\u{066B}"),
    };
    lang.localize_digits(&text)
}

fn safe_id(id: &str) -> String {
    let kept: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if kept.is_empty() {
        "chart".to_owned()
    } else {
        kept
    }
}

/// Coordinates are written with one decimal.
fn f(v: f64) -> String {
    format!("{v:.1}")
}

/// The root element, the accessible name and description, a white ground and the visible title
/// (at the start of the line in the page's direction).
fn open(out: &mut String, lang: Locale, id: &str, title: &str, desc: &str, height: f64) {
    let id = safe_id(id);
    let (x, dir) = match lang.dir() {
        "rtl" => (WIDTH - RIGHT, "rtl"),
        _ => (LEFT - 40.0, "ltr"),
    };
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" aria-label=\"{t}\" aria-labelledby=\"{id}-t {id}-d\" direction=\"ltr\" \
         font-family=\"system-ui, sans-serif\" font-size=\"12\">\
         <title id=\"{id}-t\">{t}</title><desc id=\"{id}-d\">{d}</desc>\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\
         <text x=\"{x}\" y=\"22\" direction=\"{dir}\" text-anchor=\"start\" font-size=\"16\" font-weight=\"600\" \
         fill=\"{INK}\" aria-hidden=\"true\">{t}</text>",
        x = f(x),
        w = WIDTH,
        h = height,
        t = esc(title),
        d = esc(desc),
    );
}

fn empty_note(out: &mut String, text: &str, height: f64) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{MUTED}\" font-size=\"14\">{}</text>",
        f(WIDTH / 2.0),
        f(height / 2.0),
        esc(text)
    );
}

/// A step of 1, 2 or 5 × 10ⁿ giving about four intervals over `span`.
fn nice_step(span: f64, whole: bool) -> f64 {
    let raw = (span / 4.0).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    if whole { step.max(1.0) } else { step }
}

/// The y axis: from a multiple of the step at or below `min` (and 0) to one at or above `max`.
fn axis(min: f64, max: f64, whole: bool) -> (f64, f64, f64) {
    let (lo, hi) = (min.min(0.0), max.max(0.0));
    let span = if hi - lo <= 0.0 { 1.0 } else { hi - lo };
    let step = nice_step(span, whole);
    let lo = (lo / step).floor() * step;
    let mut hi = (hi / step).ceil() * step;
    if hi <= lo {
        hi = lo + step;
    }
    (lo, hi, step)
}

struct Frame {
    lo: f64,
    hi: f64,
    n: usize,
    bottom: f64,
}

impl Frame {
    fn plot_width(&self) -> f64 {
        WIDTH - LEFT - RIGHT
    }
    fn band(&self) -> f64 {
        self.plot_width() / self.n.max(1) as f64
    }
    fn x(&self, i: usize) -> f64 {
        LEFT + self.band() * (i as f64 + 0.5)
    }
    fn y(&self, v: f64) -> f64 {
        let h = self.bottom - TOP;
        TOP + h * (self.hi - v) / (self.hi - self.lo)
    }
}

/// Grid lines with the values of the y axis, and the x labels (some skipped when crowded).
fn axes(
    out: &mut String,
    lang: Locale,
    frame: &Frame,
    step: f64,
    decimals: u32,
    labels: &[String],
) {
    let mut v = frame.lo;
    let mut guard = 0;
    while v <= frame.hi + step / 2.0 && guard < 50 {
        let y = frame.y(v);
        let colour = if v.abs() < step / 1000.0 { MUTED } else { GRID };
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"1\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{MUTED}\">{}</text>",
            f(LEFT),
            f(WIDTH - RIGHT),
            f(LEFT - 6.0),
            f(y + 4.0),
            esc(&decimal(
                lang,
                v,
                if step.fract() == 0.0 {
                    0
                } else {
                    decimals.max(1)
                }
            )),
            y = f(y),
        );
        v += step;
        guard += 1;
    }
    let every = labels.len().div_ceil(12).max(1);
    for (i, label) in labels.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
            f(frame.x(i)),
            f(frame.bottom + 18.0),
            esc(label)
        );
    }
}

/// A chart of one or more series over ordered labels.
pub fn time_series(lang: Locale, chart: &Chart) -> String {
    let legend = chart.series.len() > 1;
    let height = HEIGHT + if legend { LEGEND } else { 0.0 };
    let mut out = String::new();
    open(&mut out, lang, chart.id, chart.title, chart.desc, height);
    let values: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .filter(|v| v.is_finite())
        .collect();
    let n = chart.labels.len();
    if values.is_empty() || n == 0 {
        empty_note(&mut out, chart.empty, height);
        out.push_str("</svg>");
        return out;
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi, step) = axis(min, max, chart.decimals == 0);
    let frame = Frame {
        lo,
        hi,
        n,
        bottom: HEIGHT - BOTTOM,
    };
    axes(&mut out, lang, &frame, step, chart.decimals, &chart.labels);
    let show_values = n <= MAX_VALUE_LABELS;
    let k = chart.series.len().max(1);
    for (si, series) in chart.series.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        match chart.style {
            Style::Line => line(&mut out, lang, chart, &frame, series, colour, show_values),
            Style::Bars => {
                let width = (frame.band() * 0.8) / k as f64;
                let offset = -frame.band() * 0.4 + width * si as f64;
                for (i, v) in series.values.iter().enumerate().take(n) {
                    let Some(v) = v.filter(|v| v.is_finite()) else {
                        continue;
                    };
                    let x = frame.x(i) + offset;
                    let text = decimal(lang, v, chart.decimals);
                    let tip = format!("{} · {}: {text}", series.name, chart.labels[i]);
                    bar(
                        &mut out,
                        &frame,
                        x,
                        width,
                        v,
                        colour,
                        &tip,
                        show_values.then_some(&text),
                    );
                }
            }
        }
    }
    if legend {
        let mut x = LEFT;
        for (si, series) in chart.series.iter().enumerate() {
            let y = HEIGHT + 4.0;
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
                 <text x=\"{}\" y=\"{}\" fill=\"{INK}\">{}</text>",
                f(x),
                f(y),
                PALETTE[si % PALETTE.len()],
                f(x + 16.0),
                f(y + 10.0),
                esc(&series.name)
            );
            x += 28.0 + 7.0 * series.name.chars().count() as f64;
        }
    }
    out.push_str("</svg>");
    out
}

#[allow(clippy::too_many_arguments)]
fn bar(
    out: &mut String,
    frame: &Frame,
    x: f64,
    width: f64,
    v: f64,
    colour: &str,
    tip: &str,
    label: Option<&String>,
) {
    let (y0, y1) = (frame.y(0.0), frame.y(v));
    let (top, h) = if y1 < y0 {
        (y1, y0 - y1)
    } else {
        (y0, y1 - y0)
    };
    let _ = write!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{colour}\"><title>{}</title></rect>",
        f(x),
        f(top),
        f(width.max(1.0)),
        f(h.max(0.5)),
        esc(tip)
    );
    if let Some(text) = label {
        let ty = if v >= 0.0 { top - 4.0 } else { top + h + 12.0 };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
            f(x + width / 2.0),
            f(ty),
            esc(text)
        );
    }
}

fn line(
    out: &mut String,
    lang: Locale,
    chart: &Chart,
    frame: &Frame,
    series: &Series,
    colour: &str,
    show_values: bool,
) {
    // One polyline per run of present values: a missing value leaves a gap.
    let mut run: Vec<(f64, f64)> = Vec::new();
    let flush = |out: &mut String, run: &mut Vec<(f64, f64)>| {
        if run.len() > 1 {
            let points: Vec<String> = run
                .iter()
                .map(|(x, y)| format!("{},{}", f(*x), f(*y)))
                .collect();
            let _ = write!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\" \
                 stroke-linejoin=\"round\"/>",
                points.join(" ")
            );
        }
        run.clear();
    };
    for (i, v) in series.values.iter().enumerate().take(frame.n) {
        match v.filter(|v| v.is_finite()) {
            Some(v) => run.push((frame.x(i), frame.y(v))),
            None => flush(out, &mut run),
        }
    }
    flush(out, &mut run);
    for (i, v) in series.values.iter().enumerate().take(frame.n) {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            continue;
        };
        let (x, y) = (frame.x(i), frame.y(v));
        let text = decimal(lang, v, chart.decimals);
        let _ = write!(
            out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{colour}\"><title>{}</title></circle>",
            f(x),
            f(y),
            esc(&format!("{} · {}: {text}", series.name, chart.labels[i]))
        );
        if show_values {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
                f(x),
                f(y - 8.0),
                esc(&text)
            );
        }
    }
}

/// A distribution: one bar per label with its count above it.
pub fn distribution(
    lang: Locale,
    id: &str,
    title: &str,
    desc: &str,
    empty: &str,
    bars: &[Bar],
) -> String {
    let mut out = String::new();
    open(&mut out, lang, id, title, desc, HEIGHT);
    if bars.is_empty() {
        empty_note(&mut out, empty, HEIGHT);
        out.push_str("</svg>");
        return out;
    }
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(0);
    let (lo, hi, step) = axis(0.0, max as f64, true);
    let frame = Frame {
        lo,
        hi,
        n: bars.len(),
        bottom: HEIGHT - BOTTOM,
    };
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    axes(&mut out, lang, &frame, step, 0, &labels);
    let width = frame.band() * 0.7;
    for (i, b) in bars.iter().enumerate() {
        let text = lang.number(b.value);
        let tip = format!("{}: {text}", b.label);
        bar(
            &mut out,
            &frame,
            frame.x(i) - width / 2.0,
            width,
            b.value as f64,
            b.tone.colour(),
            &tip,
            Some(&text),
        );
    }
    if max == 0 {
        empty_note(&mut out, empty, HEIGHT);
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(series: Vec<Series>, style: Style) -> Chart<'static> {
        Chart {
            id: "nps-weeks",
            title: "NPS <by> week",
            desc: "Score & count",
            empty: "No answers yet",
            labels: vec!["W1".into(), "W2".into(), "W3".into()],
            series,
            style,
            decimals: 1,
        }
    }

    #[test]
    fn a_line_chart_is_an_accessible_image_without_inline_style() {
        let svg = time_series(
            Locale::En,
            &chart(
                vec![Series {
                    name: "NPS".into(),
                    values: vec![Some(12.5), None, Some(-40.0)],
                }],
                Style::Line,
            ),
        );
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-label=\"NPS &lt;by&gt; week\""));
        assert!(svg.contains("<title id=\"nps-weeks-t\">NPS &lt;by&gt; week</title>"));
        assert!(svg.contains("<desc id=\"nps-weeks-d\">Score &amp; count</desc>"));
        assert!(!svg.contains("style="), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains(">12.5<"), "{svg}");
        assert!(svg.contains(">-40.0<"), "{svg}");
        // The missing middle value splits the line: two lone points, no polyline.
        assert!(!svg.contains("<polyline"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn values_and_axes_are_in_the_page_digits() {
        let svg = time_series(
            Locale::Fa,
            &chart(
                vec![Series {
                    name: "امتیاز".into(),
                    values: vec![Some(33.3), Some(50.0), Some(10.0)],
                }],
                Style::Line,
            ),
        );
        assert!(svg.contains(">۳۳٫۳<"), "{svg}");
        assert!(svg.contains(">۵۰٫۰<"), "{svg}");
        assert!(!svg.contains(">33.3<"), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 1);
        let svg = distribution(
            Locale::Ar,
            "d",
            "t",
            "d",
            "none",
            &[Bar {
                label: "٠".into(),
                value: 1250,
                tone: Tone::Bad,
            }],
        );
        assert!(svg.contains(">١٬٢٥٠<"), "{svg}");
    }

    #[test]
    fn every_text_is_escaped() {
        let evil = "<script>alert('x')</script>\"&";
        let svg = time_series(
            Locale::En,
            &Chart {
                id: "x\"><script>",
                title: evil,
                desc: evil,
                empty: evil,
                labels: vec![evil.into(), "b".into()],
                series: vec![
                    Series {
                        name: evil.into(),
                        values: vec![Some(1.0), Some(2.0)],
                    },
                    Series {
                        name: "b".into(),
                        values: vec![Some(3.0), None],
                    },
                ],
                style: Style::Bars,
                decimals: 0,
            },
        );
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("'x'"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&quot;&amp;"));
        assert!(svg.contains("id=\"xscript\""), "{svg}");
        // Three bars (one value missing) and a legend of two series.
        assert_eq!(svg.matches("<rect").count(), 1 + 3 + 2, "{svg}");
    }

    #[test]
    fn a_distribution_colours_each_bar_by_its_tone_and_says_when_empty() {
        let bars: Vec<Bar> = (0..=10)
            .map(|s| Bar {
                label: s.to_string(),
                value: s,
                tone: match s {
                    0..=6 => Tone::Bad,
                    7 | 8 => Tone::Mid,
                    _ => Tone::Good,
                },
            })
            .collect();
        let svg = distribution(Locale::En, "nps-dist", "NPS", "Scores", "none", &bars);
        assert_eq!(svg.matches("fill=\"#dc2626\"").count(), 7);
        assert_eq!(svg.matches("fill=\"#f59e0b\"").count(), 2);
        assert_eq!(svg.matches("fill=\"#16a34a\"").count(), 2);
        assert!(svg.contains(">10<"));
        assert!(!svg.contains(">none<"));
        let zeros: Vec<Bar> = bars.into_iter().map(|b| Bar { value: 0, ..b }).collect();
        let svg = distribution(Locale::En, "nps-dist", "NPS", "Scores", "none", &zeros);
        assert!(svg.contains(">none<"), "{svg}");
        let svg = time_series(Locale::En, &chart(vec![], Style::Line));
        assert!(svg.contains(">No answers yet<"), "{svg}");
    }

    #[test]
    fn axes_are_round_and_include_zero() {
        assert_eq!(axis(0.0, 7.0, true), (0.0, 8.0, 2.0));
        assert_eq!(axis(-40.0, 12.5, false), (-40.0, 20.0, 20.0));
        assert_eq!(axis(0.0, 0.0, true), (0.0, 1.0, 1.0));
        assert_eq!(axis(3.2, 4.6, false), (0.0, 6.0, 2.0));
        assert_eq!(decimal(Locale::En, -0.04, 1), "0.0");
        assert_eq!(decimal(Locale::En, 4.25, 2), "4.25");
    }
}
