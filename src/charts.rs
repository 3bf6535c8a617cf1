//! Trend charts drawn by `plotters`: SVG for the screens, PNG for exports.
//!
//! A [`ChartSpec`] says what to draw (title, y-axis label and value format, one or more
//! named series of dated points, optional horizontal bands such as the health colours,
//! lines or bars); [`to_svg`] and [`to_png`] draw it at [`WIDTH`] × [`HEIGHT`]. The SVG has
//! a `viewBox` and no fixed width or height, so it scales to its container and keeps its
//! ratio. A chart with no points says "No data for this period" instead of failing.
//!
//! plotters is built without its default features, so it needs neither fontconfig nor
//! installed fonts: DejaVu Sans is embedded (`assets/fonts/`, licence beside it) and
//! registered once as `sans-serif`, the only family used.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::finance::revenue::MrrPoint;
use crate::health::HealthPoint;

/// Width of every chart, in pixels (SVG user units).
pub const WIDTH: u32 = 720;
/// Height of every chart.
pub const HEIGHT: u32 = 280;
/// What an empty chart says.
pub const NO_DATA: &str = "No data for this period";

static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
static FONT_REGISTERED: OnceLock<bool> = OnceLock::new();

/// Chart errors.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A point's x is not a date or a date-time.
    #[error(
        "series \"{series}\": {value:?} is not a date (YYYY-MM-DD) or a date-time (RFC 3339, or YYYY-MM-DDTHH:MM:SS)"
    )]
    BadX {
        /// Series name.
        series: String,
        /// The value given.
        value: String,
    },
    /// A point's y is NaN or infinite.
    #[error("series \"{series}\" has a value that is not a finite number at {x}")]
    BadY {
        /// Series name.
        series: String,
        /// The point's x.
        x: String,
    },
    /// The embedded font could not be loaded (a broken build).
    #[error("the chart font could not be loaded; the build's assets/fonts/DejaVuSans.ttf is damaged")]
    Font,
    /// plotters failed while drawing.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// Encoding the PNG failed.
    #[error("encoding the chart as PNG failed: {0}")]
    Png(String),
}

/// Lines or bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ChartKind {
    /// One line per series (trends).
    #[default]
    Line,
    /// Bars, series side by side at each x (volumes).
    Bar,
}

/// How y values are written on the axis.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ValueFormat {
    /// Plain numbers, large ones shortened (12.5k, 3.2M).
    #[default]
    Number,
    /// Values are percentages (0–100): `45%`.
    Percent,
    /// Values are integer minor units (cents) of `currency`: `1.2k EUR`.
    Money {
        /// ISO currency code.
        currency: String,
    },
}

impl ValueFormat {
    /// The axis label of `v`.
    pub fn label(&self, v: f64) -> String {
        match self {
            ValueFormat::Number => compact(v),
            ValueFormat::Percent => format!("{}%", compact(v)),
            ValueFormat::Money { currency } => format!("{} {currency}", compact(v / 100.0)),
        }
    }
}

/// 1234 → `1.2k`, 2500000 → `2.5M`, 12.5 → `12.5`, 3 → `3`.
fn compact(v: f64) -> String {
    let a = v.abs();
    let (n, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{n:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s).to_string();
    if s == "-0" {
        format!("0{suffix}")
    } else {
        format!("{s}{suffix}")
    }
}

/// A band's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Tone {
    /// Good (health 80–100).
    Green,
    /// Watch (health 60–79).
    Yellow,
    /// Bad (health 0–59).
    Red,
    /// Neutral.
    Grey,
}

impl Tone {
    fn rgb(self) -> RGBColor {
        match self {
            Tone::Green => RGBColor(34, 197, 94),
            Tone::Yellow => RGBColor(234, 179, 8),
            Tone::Red => RGBColor(239, 68, 68),
            Tone::Grey => RGBColor(148, 163, 184),
        }
    }
}

/// A horizontal band behind the series (`from` ≤ y < `to`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Band {
    /// Lower edge.
    pub from: f64,
    /// Upper edge.
    pub to: f64,
    /// Colour.
    pub tone: Tone,
    /// Short label drawn at the band's right edge (may be empty).
    pub label: String,
}

/// One point: `x` is a day (`YYYY-MM-DD`) or a moment (RFC 3339, or the cache's
/// `YYYY-MM-DDTHH:MM:SS[.ffffff]` in UTC), as the cache stores them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Point {
    /// Day or moment.
    pub x: String,
    /// Value.
    pub y: f64,
}

impl Point {
    /// A point on a day.
    pub fn day(day: NaiveDate, y: f64) -> Point {
        Point { x: day.format("%Y-%m-%d").to_string(), y }
    }

    /// A point at a moment.
    pub fn at(at: DateTime<Utc>, y: f64) -> Point {
        Point { x: at.to_rfc3339(), y }
    }
}

/// A named series.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Points, in any order (drawn sorted by x).
    pub points: Vec<Point>,
}

/// What to draw.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChartSpec {
    /// Title at the top.
    pub title: String,
    /// Y-axis description ("Health score", "MRR").
    pub y_label: String,
    /// How y values are written.
    pub format: ValueFormat,
    /// Lines or bars.
    pub kind: ChartKind,
    /// The data.
    pub series: Vec<Series>,
    /// Horizontal bands behind the data.
    pub bands: Vec<Band>,
    /// Fixed lower end of the y axis (else from the data; bars always include 0).
    pub y_min: Option<f64>,
    /// Fixed upper end of the y axis.
    pub y_max: Option<f64>,
}

/// Series colours, in order (repeated after the last).
const PALETTE: [RGBColor; 6] = [
    RGBColor(37, 99, 235),
    RGBColor(234, 88, 12),
    RGBColor(22, 163, 74),
    RGBColor(147, 51, 234),
    RGBColor(219, 39, 119),
    RGBColor(13, 148, 136),
];

/// The colour of series number `i`, as `#rrggbb` (for a legend drawn by the UI).
pub fn series_colour(i: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn ensure_font() -> Result<(), ChartError> {
    let ok = *FONT_REGISTERED.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

fn parse_x(series: &str, x: &str) -> Result<DateTime<Utc>, ChartError> {
    let x = x.trim();
    if let Ok(d) = NaiveDate::parse_from_str(x, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(x) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(x.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(t.and_utc());
    }
    Err(ChartError::BadX { series: series.to_string(), value: x.to_string() })
}

/// A parsed series: its name and its points sorted by x.
type Parsed = (String, Vec<(DateTime<Utc>, f64)>);

/// Parsed data: per series its sorted points; whether every x is a day (midnight UTC).
struct Data {
    series: Vec<Parsed>,
    days_only: bool,
}

fn parse(spec: &ChartSpec) -> Result<Data, ChartError> {
    let mut days_only = true;
    let mut series = Vec::with_capacity(spec.series.len());
    for s in &spec.series {
        let mut pts = Vec::with_capacity(s.points.len());
        for p in &s.points {
            let x = parse_x(&s.name, &p.x)?;
            if !p.y.is_finite() {
                return Err(ChartError::BadY { series: s.name.clone(), x: p.x.clone() });
            }
            // A moment at midnight UTC counts as a day (the cache stores days as midnights too).
            days_only &= x.time() == chrono::NaiveTime::MIN;
            pts.push((x, p.y));
        }
        pts.sort_by_key(|(x, _)| *x);
        series.push((s.name.clone(), pts));
    }
    Ok(Data { series, days_only })
}

fn draw_err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Draws `spec` on any plotters backend.
fn draw<DB: DrawingBackend>(root: DrawingArea<DB, plotters::coord::Shift>, spec: &ChartSpec) -> Result<(), ChartError>
where
    DB::ErrorType: 'static,
{
    let data = parse(spec)?;
    root.fill(&WHITE).map_err(draw_err)?;
    let all: Vec<(DateTime<Utc>, f64)> = data.series.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    let title_font = ("sans-serif", 18).into_font();
    if all.is_empty() {
        root.draw(&Text::new(spec.title.clone(), (16, 12), title_font)).map_err(draw_err)?;
        let style =
            ("sans-serif", 16).into_font().color(&RGBColor(100, 116, 139)).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
        root.draw(&Text::new(NO_DATA, (WIDTH as i32 / 2, HEIGHT as i32 / 2), style)).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
        return Ok(());
    }

    // X range: the data's, padded so single points and bars at the edges show whole.
    let mut x0 = all.iter().map(|(x, _)| *x).min().unwrap_or_default();
    let mut x1 = all.iter().map(|(x, _)| *x).max().unwrap_or_default();
    let mut xs: Vec<DateTime<Utc>> = all.iter().map(|(x, _)| *x).collect();
    xs.sort();
    xs.dedup();
    let step = xs.windows(2).map(|w| w[1] - w[0]).min().unwrap_or_else(|| Duration::days(1));
    if spec.kind == ChartKind::Bar || x0 == x1 {
        x0 -= step;
        x1 += step;
    } else {
        // plotters labels no tick at the very end of the range: leave room for the last one.
        x1 += step / 4;
    }
    // Y range: the data's (bars from 0), unless fixed; 5 % headroom.
    let lo = all.iter().map(|(_, y)| *y).fold(f64::INFINITY, f64::min);
    let hi = all.iter().map(|(_, y)| *y).fold(f64::NEG_INFINITY, f64::max);
    let mut y0 = spec.y_min.unwrap_or(if spec.kind == ChartKind::Bar { lo.min(0.0) } else { lo });
    let mut y1 = spec.y_max.unwrap_or(hi + (hi - lo).abs() * 0.05);
    if y1 <= y0 {
        y0 -= 1.0;
        y1 = y0 + 2.0;
    }
    let span_days = (x1 - x0).num_days();
    let x_fmt = if !data.days_only && span_days <= 2 {
        "%H:%M"
    } else if !data.days_only && span_days <= 14 {
        "%d %b %H:%M"
    } else if span_days > 180 {
        "%b %Y"
    } else {
        "%d %b"
    };

    let mut chart = ChartBuilder::on(&root)
        .caption(spec.title.clone(), title_font)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(241, 245, 249))
        .bold_line_style(RGBColor(226, 232, 240))
        .x_labels(if data.days_only { (span_days as usize + 1).clamp(2, 8) } else { 6 })
        .y_labels(6)
        .y_desc(spec.y_label.clone())
        .axis_desc_style(("sans-serif", 13))
        .label_style(("sans-serif", 11))
        .x_label_formatter(&|d: &DateTime<Utc>| {
            // Daily data: a tick between two days would repeat the day's label.
            if data.days_only && d.time() != chrono::NaiveTime::MIN {
                String::new()
            } else {
                d.format(x_fmt).to_string()
            }
        })
        .y_label_formatter(&|v: &f64| spec.format.label(*v))
        .draw()
        .map_err(draw_err)?;

    for band in &spec.bands {
        let (b0, b1) = (band.from.max(y0), band.to.min(y1));
        if b1 <= b0 {
            continue;
        }
        let colour = band.tone.rgb();
        chart
            .draw_series(std::iter::once(Rectangle::new([(x0, b0), (x1, b1)], colour.mix(0.12).filled())))
            .map_err(draw_err)?;
        if !band.label.is_empty() {
            let pos = plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Top,
            );
            let style = ("sans-serif", 11).into_font().color(&colour).pos(pos);
            chart.draw_series(std::iter::once(Text::new(band.label.clone(), (x1, b1), style))).map_err(draw_err)?;
        }
    }

    let n = data.series.len().max(1) as i64;
    for (i, (name, pts)) in data.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let legend = |c: RGBColor| move |(x, y): (i32, i32)| Rectangle::new([(x, y - 4), (x + 12, y + 4)], c.filled());
        match spec.kind {
            ChartKind::Line => {
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))
                    .map_err(draw_err)?
                    .label(name.clone())
                    .legend(legend(colour));
            }
            ChartKind::Bar => {
                // Bars of all series share 80 % of the smallest gap between two x values.
                let width = step.num_seconds().max(1) * 8 / 10;
                let each = (width / n).max(1);
                let offset = Duration::seconds(-width / 2 + each * i as i64);
                chart
                    .draw_series(pts.iter().map(|(x, y)| {
                        let left = *x + offset;
                        Rectangle::new(
                            [(left, y0.max(0.0).min(*y)), (left + Duration::seconds(each), *y)],
                            colour.filled(),
                        )
                    }))
                    .map_err(draw_err)?
                    .label(name.clone())
                    .legend(legend(colour));
            }
        }
    }
    if data.series.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(226, 232, 240))
            .label_font(("sans-serif", 11))
            .draw()
            .map_err(draw_err)?;
    }
    root.present().map_err(draw_err)?;
    Ok(())
}

/// Draws `spec` as SVG (for the app): a `viewBox` of [`WIDTH`] × [`HEIGHT`] and no fixed
/// size, so it fills its container's width.
pub fn to_svg(spec: &ChartSpec) -> Result<String, ChartError> {
    ensure_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(root, spec)?;
    }
    let fixed = format!("width=\"{WIDTH}\" height=\"{HEIGHT}\" ");
    Ok(out.replacen(&fixed, "", 1))
}

/// Draws `spec` as a PNG of [`WIDTH`] × [`HEIGHT`] pixels (for exports).
pub fn to_png(spec: &ChartSpec) -> Result<Vec<u8>, ChartError> {
    ensure_font()?;
    let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(root, spec)?;
    }
    let mut png_bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut png_bytes, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| ChartError::Png(e.to_string()))?;
    writer.write_image_data(&rgb).map_err(|e| ChartError::Png(e.to_string()))?;
    writer.finish().map_err(|e| ChartError::Png(e.to_string()))?;
    Ok(png_bytes)
}

/// The health colour bands: green 80–100, yellow 60–79, red 0–59.
pub fn health_bands() -> Vec<Band> {
    vec![
        Band { from: 80.0, to: 100.0, tone: Tone::Green, label: "green".into() },
        Band { from: 60.0, to: 80.0, tone: Tone::Yellow, label: "yellow".into() },
        Band { from: 0.0, to: 60.0, tone: Tone::Red, label: "red".into() },
    ]
}

/// A workspace's health-score trend ([`crate::health::history`]) on the colour bands, y 0–100.
pub fn health_trend(workspace_name: &str, history: &[HealthPoint]) -> ChartSpec {
    ChartSpec {
        title: format!("Health score — {workspace_name}"),
        y_label: "Health score".into(),
        format: ValueFormat::Number,
        kind: ChartKind::Line,
        series: vec![Series {
            name: "Health score".into(),
            points: history.iter().map(|p| Point { x: p.day.clone(), y: f64::from(p.score) }).collect(),
        }],
        bands: health_bands(),
        y_min: Some(0.0),
        y_max: Some(100.0),
    }
}

/// MRR by month ([`crate::finance::revenue::history`]) for one currency, as a line at each
/// month's first day.
pub fn mrr_trend(history: &[MrrPoint], currency: &str) -> ChartSpec {
    ChartSpec {
        title: format!("Monthly recurring revenue ({currency})"),
        y_label: "MRR".into(),
        format: ValueFormat::Money { currency: currency.to_string() },
        kind: ChartKind::Line,
        series: vec![Series {
            name: "MRR".into(),
            points: history
                .iter()
                .filter(|p| p.currency.eq_ignore_ascii_case(currency))
                .map(|p| Point { x: format!("{}-01", p.month), y: p.mrr as f64 })
                .collect(),
        }],
        bands: Vec::new(),
        y_min: Some(0.0),
        y_max: None,
    }
}

/// Money collected per period ([`crate::finance::revenue::collected`]) for one currency,
/// net of refunds, as bars at each period's first day.
pub fn collected_trend(points: &[crate::finance::revenue::CollectedPoint], currency: &str, per: &str) -> ChartSpec {
    ChartSpec {
        title: format!("Collected per {per}, net of refunds ({})", currency.to_uppercase()),
        y_label: "Collected".into(),
        format: ValueFormat::Money { currency: currency.to_string() },
        kind: ChartKind::Bar,
        series: vec![Series {
            name: "Net collected".into(),
            points: points
                .iter()
                .filter(|p| p.currency.eq_ignore_ascii_case(currency))
                .map(|p| Point { x: p.period.clone(), y: (p.gross - p.refunded) as f64 })
                .collect(),
        }],
        bands: Vec::new(),
        y_min: Some(0.0),
        y_max: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: ChartKind) -> ChartSpec {
        ChartSpec {
            title: "Emails sent & bounced".into(),
            y_label: "Emails per day".into(),
            format: ValueFormat::Number,
            kind,
            series: vec![
                Series {
                    name: "Sent".into(),
                    points: vec![
                        Point { x: "2026-11-01".into(), y: 1200.0 },
                        Point { x: "2026-11-03".into(), y: 1500.0 },
                        Point { x: "2026-11-02".into(), y: 900.0 },
                    ],
                },
                Series {
                    name: "Bounced".into(),
                    points: vec![
                        Point { x: "2026-11-01T00:00:00.000000Z".into(), y: 30.0 },
                        Point { x: "2026-11-02".into(), y: 12.0 },
                        Point { x: "2026-11-03".into(), y: 40.0 },
                    ],
                },
            ],
            ..ChartSpec::default()
        }
    }

    /// The text elements' contents, trimmed.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..t.find("</text>")?];
                Some(body.trim().to_string())
            })
            .collect()
    }

    /// Polylines whose stroke is `colour` (`#rrggbb`, as plotters writes `stroke="#RRGGBB"`).
    fn polylines_in(svg: &str, colour: &str) -> usize {
        svg.match_indices("<polyline")
            .filter(|(i, _)| {
                let end = svg[*i..].find("/>").map(|e| i + e).unwrap_or(svg.len());
                svg[*i..end].to_ascii_lowercase().contains(&format!("stroke=\"{colour}\""))
            })
            .count()
    }

    #[test]
    fn svg_has_title_one_line_per_series_and_axis_labels() {
        let svg = to_svg(&spec(ChartKind::Line)).expect("svg");
        let root = &svg[..svg.find('>').expect("root element")];
        assert!(root.contains("viewBox=\"0 0 720 280\""), "{root}");
        assert!(!root.contains("width="), "no fixed size, so it scales: {root}");
        let texts = texts(&svg);
        let has = |t: &str| texts.iter().any(|x| x == t);
        assert!(has("Emails sent &amp; bounced"), "title, escaped: {texts:?}");
        assert!(has("Emails per day"), "y-axis description");
        // x labels: each day once; y from 0-ish up to 1500 + 5 % headroom, so 1000 is a tick.
        for day in ["01 Nov", "02 Nov", "03 Nov"] {
            assert_eq!(texts.iter().filter(|x| *x == day).count(), 1, "{day} once: {texts:?}");
        }
        assert!(has("1000"), "a y tick label: {texts:?}");
        assert_eq!(polylines_in(&svg, &series_colour(0)), 1, "one line for Sent");
        assert_eq!(polylines_in(&svg, &series_colour(1)), 1, "one line for Bounced");
        assert!(has("Sent") && has("Bounced"), "legend names");
    }

    #[test]
    fn bars_draw_one_rect_per_point_and_no_lines() {
        let svg = to_svg(&spec(ChartKind::Bar)).expect("svg");
        assert_eq!(polylines_in(&svg, &series_colour(0)), 0);
        let rects = |c: &str| {
            svg.match_indices("<rect")
                .filter(|(i, _)| {
                    let end = svg[*i..].find("/>").map(|e| i + e).unwrap_or(svg.len());
                    svg[*i..end].to_ascii_lowercase().contains(&format!("fill=\"{c}\""))
                })
                .count()
        };
        // Three bars plus the legend marker for each series.
        assert_eq!(rects(&series_colour(0)), 4);
        assert_eq!(rects(&series_colour(1)), 4);
    }

    #[test]
    fn empty_data_says_so() {
        let mut s = spec(ChartKind::Line);
        for series in &mut s.series {
            series.points.clear();
        }
        let svg = to_svg(&s).expect("svg");
        assert!(texts(&svg).contains(&NO_DATA.to_string()));
        assert!(texts(&svg).contains(&"Emails sent &amp; bounced".to_string()));
        assert_eq!(polylines_in(&svg, &series_colour(0)), 0);
        let png = to_png(&ChartSpec::default()).expect("png of nothing");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn png_has_the_chart_size() {
        let png = to_png(&spec(ChartKind::Line)).expect("png");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().expect("a valid PNG");
        let info = reader.info();
        assert_eq!((info.width, info.height), (720, 280));
        // Not a blank image: a series colour is somewhere in it.
        let mut reader = reader;
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).expect("pixels");
        let blue = [37u8, 99, 235];
        assert!(buf.chunks(3).any(|p| p == blue), "the first series' line is drawn");
    }

    #[test]
    fn health_trend_has_the_colour_bands_and_bad_input_is_refused() {
        let history: Vec<HealthPoint> = [("2026-11-01", 85), ("2026-11-02", 72), ("2026-11-03", 55)]
            .iter()
            .map(|(d, s)| HealthPoint {
                day: d.to_string(),
                score: *s,
                colour: crate::health::Colour::of(*s),
                sent: 100,
            })
            .collect();
        let svg = to_svg(&health_trend("Acme Outbound", &history)).expect("svg");
        let texts = texts(&svg);
        for label in ["Health score — Acme Outbound", "green", "yellow", "red", "0", "100"] {
            assert!(texts.iter().any(|t| t == label), "{label} in {texts:?}");
        }
        let mut bad = spec(ChartKind::Line);
        bad.series[0].points[0].x = "yesterday".into();
        assert!(matches!(to_svg(&bad), Err(ChartError::BadX { value, .. }) if value == "yesterday"));
        bad.series[0].points[0] = Point { x: "2026-11-01".into(), y: f64::NAN };
        assert!(matches!(to_png(&bad), Err(ChartError::BadY { .. })));
    }

    #[test]
    fn value_formats() {
        assert_eq!(ValueFormat::Number.label(12_500.0), "12.5k");
        assert_eq!(ValueFormat::Number.label(3.0), "3");
        assert_eq!(ValueFormat::Percent.label(45.0), "45%");
        assert_eq!(ValueFormat::Money { currency: "EUR".into() }.label(250_000_000.0), "2.5M EUR");
    }
}
