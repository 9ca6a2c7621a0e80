//! The charts of `report.html`, drawn with plotters' SVG backend.
//!
//! Every chart is readable without colour: series differ by dash pattern, marker shape or
//! fill as well as by colour (the Okabe–Ito palette, safe for colour-blind readers), and
//! every legend sits outside the plotting area so it never covers data. plotters escapes
//! `<`, `>`, `&` and `"` in SVG text, so model text is passed to it unescaped (escaping it
//! here too would show `&amp;lt;` to the reader).

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Okabe–Ito palette (Okabe & Ito 2008), in the order series use it.
pub(crate) const OKABE_ITO: [RGBColor; 8] = [
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0xF0, 0xE4, 0x42), // yellow
    RGBColor(0x00, 0x00, 0x00), // black
];
/// Colours of categorical series (scenarios): the palette with the strongest first, so two
/// or three scenarios still differ in grey-scale print.
const SERIES: [RGBColor; 8] = [
    OKABE_ITO[0],
    OKABE_ITO[3],
    OKABE_ITO[2],
    OKABE_ITO[4],
    OKABE_ITO[5],
    OKABE_ITO[1],
    OKABE_ITO[6],
    OKABE_ITO[7],
];
const ORANGE: RGBColor = OKABE_ITO[0];
const SKY: RGBColor = OKABE_ITO[1];
const BLUE: RGBColor = OKABE_ITO[3];
const VERMILLION: RGBColor = OKABE_ITO[4];
const GREY: RGBColor = RGBColor(0x55, 0x55, 0x55);

const FONT: &str = "sans-serif";
/// Width of every chart in pixels (the page scales it down on narrow screens and paper).
pub(crate) const WIDTH: u32 = 960;
const MARGIN: u32 = 12;
/// Approximate advance of one character at the label size, for layout (SVG text has no
/// metrics until a browser draws it, so this errs on the wide side).
const CHAR_PX: f64 = 7.4;

/// A chart could not be drawn (plotters reports only backend errors, e.g. a bad range).
#[derive(Debug)]
pub(crate) struct ChartError(pub(crate) String);

impl<E: std::error::Error> From<E> for ChartError {
    fn from(e: E) -> Self {
        ChartError(e.to_string())
    }
}

type R<T> = Result<T, ChartError>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// How a line is drawn: colour, width and an optional dash pattern (dash, gap) in pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    /// Colour.
    pub(crate) color: RGBColor,
    /// Width in pixels.
    pub(crate) width: u32,
    /// Dash and gap lengths in pixels; `None` for a solid line.
    pub(crate) dash: Option<(u32, u32)>,
}

impl Line {
    const fn new(color: RGBColor, width: u32, dash: Option<(u32, u32)>) -> Self {
        Line { color, width, dash }
    }
}

/// A labelled vertical marker (mean, median, VaR, ES).
#[derive(Debug, Clone)]
pub(crate) struct Marker {
    /// Short label, e.g. `VaR95 43.4`.
    pub(crate) label: String,
    /// Position on the x axis.
    pub(crate) value: f64,
    /// How the marker line is drawn.
    pub(crate) line: Line,
}

/// Line styles of the distribution markers: each differs by dash pattern, not only colour.
pub(crate) const MEAN_LINE: Line = Line::new(BLACK, 2, None);
/// Median: blue, long dashes.
pub(crate) const MEDIAN_LINE: Line = Line::new(BLUE, 2, Some((10, 5)));
/// VaR 95: orange, short dashes.
pub(crate) const VAR95_LINE: Line = Line::new(ORANGE, 2, Some((4, 4)));
/// VaR 99: vermillion, short dashes.
pub(crate) const VAR99_LINE: Line = Line::new(VERMILLION, 2, Some((4, 4)));
/// ES 95: orange, dash-gap-long.
pub(crate) const ES95_LINE: Line = Line::new(ORANGE, 3, Some((14, 4)));
/// ES 99: vermillion, dash-gap-long.
pub(crate) const ES99_LINE: Line = Line::new(VERMILLION, 3, Some((14, 4)));

/// Tick labels: few digits, no trailing zeros.
pub(crate) fn tick(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 1e6 || (a > 0.0 && a < 1e-3) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') && !s.contains('e') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" {
            "0".into()
        } else {
            t.into()
        }
    } else {
        s
    }
}

/// Tick labels for an axis from `lo` to `hi`: [`tick`], with a value within a billionth of
/// the axis span of zero shown as `0`. The tick positions come from binary arithmetic, so the
/// zero of a symmetric axis arrives as -5.6e-17 (issue 15, item 13).
pub(crate) fn axis_tick(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let noise = 1e-9 * (hi - lo).abs();
    move |v: &f64| {
        if v.abs() <= noise {
            "0".into()
        } else {
            tick(*v)
        }
    }
}

/// `[lo, hi]` widened by `pad` of its width on each side; a point becomes a unit interval.
fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let w = hi - lo;
    if w.is_nan() || w <= 0.0 {
        let d = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
        (lo - d, hi + d)
    } else {
        (lo - pad * w, hi + pad * w)
    }
}

fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

fn text_style(size: u32) -> TextStyle<'static> {
    // plotters writes font-size = size / 1.24; undo that so `size` is the CSS pixel size.
    (FONT, f64::from(size) * 1.24).into_font().color(&BLACK)
}

/// Draws a pixel-space segment with the given line style on any drawing area.
fn draw_px_line(area: &Area<'_>, a: (i32, i32), b: (i32, i32), line: Line) -> R<()> {
    let style = ShapeStyle::from(&line.color).stroke_width(line.width);
    match line.dash {
        None => area.draw(&PathElement::new(vec![a, b], style))?,
        Some((d, g)) => area.draw(&DashedPathElement::new(
            vec![a, b],
            d as i32,
            g as i32,
            style,
        ))?,
    }
    Ok(())
}

/// Draws a data-space path with the given line style into a chart.
fn draw_path<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    points: Vec<(X::ValueType, Y::ValueType)>,
    line: Line,
) -> R<()>
where
    X: Ranged,
    Y: Ranged,
    X::ValueType: Clone + 'static,
    Y::ValueType: Clone + 'static,
{
    let style = ShapeStyle::from(&line.color).stroke_width(line.width);
    match line.dash {
        None => {
            chart.draw_series(std::iter::once(PathElement::new(points, style)))?;
        }
        Some((d, g)) => {
            chart.draw_series(std::iter::once(DashedPathElement::new(
                points, d as i32, g as i32, style,
            )))?;
        }
    }
    Ok(())
}

/// A short line sample and a label, for legends drawn beside the plot.
fn legend_line(area: &Area<'_>, at: (i32, i32), line: Line, label: &str) -> R<()> {
    draw_px_line(area, (at.0, at.1), (at.0 + 30, at.1), line)?;
    area.draw(&Text::new(
        label.to_string(),
        (at.0 + 38, at.1),
        text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    Ok(())
}

/// Height of a chart's title band: the title and, below it, the model name.
const TITLE_H: u32 = 54;

/// Title of a chart, drawn in the top band of its area: the first line of `text` as the
/// title, the rest (the model's name) smaller below it; returns the area below the band.
fn title<'a>(area: &Area<'a>, text: &str) -> R<Area<'a>> {
    let (head, sub) = text.split_once('\n').unwrap_or((text, ""));
    area.draw(&Text::new(
        head.to_string(),
        (MARGIN as i32, 8),
        text_style(17).pos(Pos::new(HPos::Left, VPos::Top)),
    ))?;
    let max_chars = ((WIDTH - 2 * MARGIN) as f64 / CHAR_PX) as usize;
    let sub: String = if sub.chars().count() > max_chars {
        sub.chars().take(max_chars - 1).chain(['…']).collect()
    } else {
        sub.to_string()
    };
    area.draw(&Text::new(
        sub,
        (MARGIN as i32, 30),
        text_style(13)
            .color(&GREY)
            .pos(Pos::new(HPos::Left, VPos::Top)),
    ))?;
    Ok(area.split_vertically(TITLE_H).1)
}

/// Histogram bars `(lo, hi, density)` over the central range of a distribution given by its
/// quantiles `q` at `levels`: the probability between consecutive quantiles is spread evenly
/// between them and collected into `bins` equal-width bins (area = probability).
pub(crate) fn density_bins(levels: &[f64], q: &[f64], bins: usize) -> Vec<(f64, f64, f64)> {
    let (lo, hi) = match (q.first(), q.last()) {
        (Some(&a), Some(&b)) if a.is_finite() && b.is_finite() => (a, b),
        _ => return Vec::new(),
    };
    if hi <= lo {
        let mass = levels.last().unwrap_or(&1.0) - levels.first().unwrap_or(&0.0);
        let (a, b) = padded(lo, hi, 0.0);
        return vec![(a, b, mass / (b - a))];
    }
    let width = (hi - lo) / bins as f64;
    let mut mass = vec![0.0; bins];
    let bin_of = |x: f64| (((x - lo) / width) as usize).min(bins - 1);
    for i in 0..q.len().min(levels.len()).saturating_sub(1) {
        let (a, b, m) = (q[i], q[i + 1], levels[i + 1] - levels[i]);
        if !(a.is_finite() && b.is_finite()) || m <= 0.0 {
            continue;
        }
        if b - a <= 1e-12 * (hi - lo) {
            mass[bin_of(a)] += m;
            continue;
        }
        for (k, slot) in mass
            .iter_mut()
            .enumerate()
            .take(bin_of(b) + 1)
            .skip(bin_of(a))
        {
            let (l, r) = (lo + k as f64 * width, lo + (k + 1) as f64 * width);
            let overlap = (b.min(r) - a.max(l)).max(0.0);
            *slot += m * overlap / (b - a);
        }
    }
    mass.iter()
        .enumerate()
        .map(|(k, m)| {
            (
                lo + k as f64 * width,
                lo + (k + 1) as f64 * width,
                m / width,
            )
        })
        .collect()
}

/// Puts marker labels in rows above a plot. A label sits at the top of its marker's line,
/// to the right of it or to the left (when it does not fit before `right_edge`, or when that
/// avoids a crossing), and the line runs from the plot up to it, so a label must neither
/// overlap another label in its row nor be crossed by the line of a label in a higher row.
/// Searches for the fewest rows (markers are few); returns, per label, its row and whether
/// it is drawn left of its line.
fn label_rows(xs: &[f64], widths: &[f64], right_edge: f64) -> Vec<(usize, bool)> {
    let n = xs.len();
    let fits_right = |i: usize| xs[i] + 4.0 + widths[i] <= right_edge;
    // The sides a label may take, the preferred first.
    let sides: Vec<Vec<bool>> = (0..n)
        .map(|i| {
            let mut s = Vec::with_capacity(2);
            if fits_right(i) {
                s.push(false);
            }
            if xs[i] - 4.0 - widths[i] >= 0.0 {
                s.push(true);
            }
            if s.is_empty() {
                s.push(!fits_right(i));
            }
            s
        })
        .collect();
    // The span a label covers, leaving out its own line.
    let span = |i: usize, left: bool| {
        if left {
            (xs[i] - 4.0 - widths[i], xs[i] - 1.0)
        } else {
            (xs[i] + 1.0, xs[i] + 4.0 + widths[i])
        }
    };
    let compatible = |i: usize, (ri, li): (usize, bool), j: usize, (rj, lj): (usize, bool)| {
        let ((a0, a1), (b0, b1)) = (span(i, li), span(j, lj));
        if ri == rj {
            let (l0, l1) = (xs[i].min(a0), xs[i].max(a1));
            let (m0, m1) = (xs[j].min(b0), xs[j].max(b1));
            l1 + 6.0 <= m0 || m1 + 6.0 <= l0
        } else if (xs[i] - xs[j]).abs() <= 3.0 {
            // Lines that (nearly) coincide, e.g. a mean and a median a pixel apart: each
            // label starts 4 px beside its line, so the other line runs next to it, not
            // through it. Without this no layout existed and every label got its own row
            // with lines crossing labels (issue 15, item 13).
            true
        } else if rj > ri {
            !(a0 - 2.0..=a1 + 2.0).contains(&xs[j])
        } else {
            !(b0 - 2.0..=b1 + 2.0).contains(&xs[i])
        }
    };
    type Ok<'a> = &'a dyn Fn(usize, (usize, bool), usize, (usize, bool)) -> bool;
    fn search(
        k: usize,
        placed: &mut Vec<(usize, bool)>,
        max_rows: usize,
        sides: &[Vec<bool>],
        ok: Ok<'_>,
    ) -> bool {
        if k == sides.len() {
            return true;
        }
        for r in 0..max_rows {
            for &left in &sides[k] {
                if (0..k).all(|j| ok(k, (r, left), j, placed[j])) {
                    placed.push((r, left));
                    if search(k + 1, placed, max_rows, sides, ok) {
                        return true;
                    }
                    placed.pop();
                }
            }
        }
        false
    }
    if n <= 10 {
        for max_rows in 1..=n {
            let mut placed = Vec::with_capacity(n);
            if search(0, &mut placed, max_rows, &sides, &compatible) {
                return placed;
            }
        }
    }
    // Many markers or no clean layout: one row each, the rightmost line lowest, so a line
    // only rises past labels to its left (labels that do not fit go left of their line).
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| xs[b].total_cmp(&xs[a]));
    let mut rows = vec![(0, false); n];
    for (row, &i) in order.iter().enumerate() {
        rows[i] = (row, !fits_right(i));
    }
    rows
}

/// Export loss: a histogram of the density over the central 99.8 % (top) and the CDF
/// (bottom), with mean, median, VaR and ES marked and labelled.
pub(crate) fn distribution(
    title_text: &str,
    x_desc: &str,
    density_desc: &str,
    levels: &[f64],
    q: &[f64],
    markers: &[Marker],
) -> R<String> {
    let bars = density_bins(levels, q, 36);
    let (xlo, xhi) = finite_range(
        q.iter()
            .copied()
            .chain(markers.iter().map(|m| m.value))
            .chain(bars.iter().flat_map(|b| [b.0, b.1])),
    )
    .ok_or_else(|| ChartError("no finite quantiles".into()))?;
    let (x0, x1) = padded(xlo, xhi, 0.03);
    let dmax = bars.iter().map(|b| b.2).fold(0.0, f64::max);
    let dmax = if dmax > 0.0 { dmax * 1.08 } else { 1.0 };

    // Marker labels go in rows above the histogram, never over the bars.
    let y_area = 80u32;
    let (plot_l, plot_r) = ((MARGIN + y_area) as f64, (WIDTH - MARGIN) as f64);
    let px = |x: f64| plot_l + (x - x0) / (x1 - x0) * (plot_r - plot_l);
    let xs: Vec<f64> = markers.iter().map(|m| px(m.value)).collect();
    let widths: Vec<f64> = markers
        .iter()
        .map(|m| m.label.chars().count() as f64 * CHAR_PX)
        .collect();
    let rows = label_rows(&xs, &widths, plot_r);
    let n_rows = rows.iter().map(|r| r.0 + 1).max().unwrap_or(0) as u32;
    let band = n_rows * 18 + 6;

    let (hist_h, cdf_h) = (330u32, 300u32);
    let height = TITLE_H + band + hist_h + cdf_h;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = title(&root, title_text)?;
        let (band_area, rest) = body.split_vertically(band);
        let (upper, lower) = rest.split_vertically(hist_h);

        let mut hist = ChartBuilder::on(&upper)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .margin_bottom(6)
            .x_label_area_size(44)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x0..x1, 0.0..dmax)?;
        hist.configure_mesh()
            .disable_x_mesh()
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(WHITE)
            .x_labels(12)
            .y_labels(6)
            .x_label_formatter(&axis_tick(x0, x1))
            .y_label_formatter(&axis_tick(0.0, dmax))
            .label_style(text_style(13))
            .axis_desc_style(text_style(14))
            .x_desc(x_desc)
            .y_desc(density_desc)
            .draw()?;
        hist.draw_series(
            bars.iter()
                .map(|&(a, b, d)| Rectangle::new([(a, 0.0), (b, d)], SKY.mix(0.55).filled())),
        )?;
        hist.draw_series(bars.iter().map(|&(a, b, d)| {
            Rectangle::new([(a, 0.0), (b, d)], ShapeStyle::from(&GREY).stroke_width(1))
        }))?;
        for m in markers {
            draw_path(&mut hist, vec![(m.value, 0.0), (m.value, dmax)], m.line)?;
        }
        // Connect each marker line up to its label in the band above the plot.
        let plot_top = hist.backend_coord(&(x0, dmax)).1;
        let band_top = band_area.get_pixel_range().1.start;
        for (m, &(row, left)) in markers.iter().zip(&rows) {
            let x = hist.backend_coord(&(m.value, dmax)).0;
            let y = band_top + band as i32 - 12 - row as i32 * 18;
            draw_px_line(&root, (x, plot_top), (x, y - 7), m.line)?;
            let (dx, h) = if left {
                (-4, HPos::Right)
            } else {
                (4, HPos::Left)
            };
            root.draw(&Text::new(
                m.label.clone(),
                (x + dx, y),
                text_style(13).pos(Pos::new(h, VPos::Center)),
            ))?;
        }

        let mut cdf = ChartBuilder::on(&lower)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .margin_top(14)
            .margin_bottom(MARGIN)
            .x_label_area_size(44)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x0..x1, 0.0..1.0)?;
        cdf.configure_mesh()
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(WHITE)
            .x_labels(12)
            .y_labels(11)
            .x_label_formatter(&axis_tick(x0, x1))
            .y_label_formatter(&axis_tick(0.0, 1.0))
            .label_style(text_style(13))
            .axis_desc_style(text_style(14))
            .x_desc(x_desc)
            .y_desc("cumulative probability")
            .draw()?;
        for m in markers {
            draw_path(&mut cdf, vec![(m.value, 0.0), (m.value, 1.0)], m.line)?;
        }
        let curve: Vec<(f64, f64)> = q
            .iter()
            .zip(levels)
            .filter(|(x, _)| x.is_finite())
            .map(|(&x, &l)| (x, l))
            .collect();
        cdf.draw_series(LineSeries::new(
            curve,
            ShapeStyle::from(&BLACK).stroke_width(2),
        ))?;
        root.present()?;
    }
    Ok(svg)
}

/// One row of an interval chart: a label, the mean and the 5/50/95 % quantiles.
#[derive(Debug, Clone)]
pub(crate) struct Interval {
    /// Category label (sector id).
    pub(crate) label: String,
    /// Mean.
    pub(crate) mean: f64,
    /// 5 % quantile.
    pub(crate) p5: f64,
    /// Median.
    pub(crate) p50: f64,
    /// 95 % quantile.
    pub(crate) p95: f64,
}

fn label_area_for<'s>(labels: impl Iterator<Item = &'s str>) -> u32 {
    let longest = labels.map(|l| l.chars().count()).max().unwrap_or(4);
    ((longest as f64 * CHAR_PX) as u32 + 20).clamp(60, 360)
}

/// The axes of a chart whose y axis is the category index: a light vertical grid with
/// `x_labels` ticks and the x description, optionally a grey line at x = 0 (when the range
/// straddles it), and the category labels at the left.
fn category_axes(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_desc: &str,
    x_labels: usize,
    (x0, x1): (f64, f64),
    zero_line: bool,
    labels: &[String],
) -> R<()> {
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(WHITE)
        .x_labels(x_labels)
        .x_label_formatter(&axis_tick(x0, x1))
        .label_style(text_style(13))
        .axis_desc_style(text_style(14))
        .x_desc(x_desc)
        .draw()?;
    let n = labels.len();
    if zero_line && x0 < 0.0 && x1 > 0.0 {
        draw_path(
            chart,
            vec![(0.0, -0.6), (0.0, n as f64 - 0.4)],
            Line::new(GREY, 1, None),
        )?;
    }
    chart.draw_series(labels.iter().enumerate().map(|(i, l)| {
        EmptyElement::at((x0, i as f64))
            + Text::new(
                l.clone(),
                (-8, 0),
                text_style(13).pos(Pos::new(HPos::Right, VPos::Center)),
            )
    }))?;
    Ok(())
}

/// Sector export losses: mean (dot) with the 5–95 % interval (whisker) and median (tick),
/// largest mean at the top.
pub(crate) fn sectors(title_text: &str, x_desc: &str, rows: &[Interval]) -> R<String> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| a.mean.total_cmp(&b.mean));
    let (lo, hi) = finite_range(rows.iter().flat_map(|r| [r.mean, r.p5, r.p95, 0.0]))
        .ok_or_else(|| ChartError("no finite sector values".into()))?;
    let (x0, x1) = padded(lo, hi, 0.04);
    let n = rows.len();
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let y_area = label_area_for(labels.iter().map(|s| s.as_str()));
    let legend_h = 30u32;
    let height = TITLE_H + legend_h + 70 + 38 * n.max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = title(&root, title_text)?;
        let (legend, plot) = body.split_vertically(legend_h);
        let mut chart = ChartBuilder::on(&plot)
            .margin(MARGIN)
            .x_label_area_size(44)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x0..x1, -0.6..(n as f64 - 0.4))?;
        category_axes(&mut chart, x_desc, 12, (x0, x1), true, &labels)?;
        let whisker = ShapeStyle::from(&BLUE).stroke_width(2);
        for (i, r) in rows.iter().enumerate() {
            let y = i as f64;
            chart.draw_series([
                PathElement::new(vec![(r.p5, y), (r.p95, y)], whisker),
                PathElement::new(vec![(r.p5, y - 0.18), (r.p5, y + 0.18)], whisker),
                PathElement::new(vec![(r.p95, y - 0.18), (r.p95, y + 0.18)], whisker),
            ])?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((r.mean, y))
                    + Circle::new((0, 0), 6, ORANGE.filled())
                    + Circle::new((0, 0), 6, ShapeStyle::from(&BLACK).stroke_width(1)),
            ))?;
            // The median on top of the dot, so it shows when the two are close.
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(r.p50, y - 0.25), (r.p50, y + 0.25)],
                ShapeStyle::from(&BLACK).stroke_width(2),
            )))?;
        }
        // Legend above the plot.
        let y = 14;
        legend.draw(
            &(EmptyElement::at((MARGIN as i32 + y_area as i32, y))
                + Circle::new((0, 0), 6, ORANGE.filled())
                + Circle::new((0, 0), 6, ShapeStyle::from(&BLACK).stroke_width(1))
                + Text::new(
                    "mean",
                    (12, 0),
                    text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
                )),
        )?;
        let x = MARGIN as i32 + y_area as i32 + 80;
        legend.draw(&PathElement::new(
            vec![(x, y - 8), (x, y + 8)],
            ShapeStyle::from(&BLACK).stroke_width(2),
        ))?;
        legend.draw(&Text::new(
            "median",
            (x + 8, y),
            text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        legend_line(
            &legend,
            (x + 90, y),
            Line::new(BLUE, 2, None),
            "5 % to 95 % of draws",
        )?;
        root.present()?;
    }
    Ok(svg)
}

/// Five quantiles and the mean of one box.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BoxStats {
    /// 5 %, 25 %, 50 %, 75 %, 95 % quantiles.
    pub(crate) q: [f64; 5],
    /// Mean (drawn as a diamond), if known.
    pub(crate) mean: Option<f64>,
}

/// A horizontal box-plot panel: one box per category.
fn box_panel(
    area: &Area<'_>,
    x_desc: &str,
    labels: &[String],
    boxes: &[Option<BoxStats>],
    y_area: u32,
) -> R<()> {
    let n = labels.len();
    let (lo, hi) = finite_range(
        boxes
            .iter()
            .flatten()
            .flat_map(|b| b.q.iter().copied().chain(b.mean)),
    )
    .unwrap_or((0.0, 1.0));
    let (x0, x1) = padded(lo.min(0.0), hi.max(0.0), 0.04);
    let mut chart = ChartBuilder::on(area)
        .margin_left(MARGIN)
        .margin_right(MARGIN)
        .margin_top(6)
        .margin_bottom(6)
        .x_label_area_size(44)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x0..x1, -0.6..(n as f64 - 0.4))?;
    category_axes(&mut chart, x_desc, 12, (x0, x1), true, labels)?;
    let ink = ShapeStyle::from(&BLACK).stroke_width(2);
    for (i, b) in boxes.iter().enumerate() {
        let y = i as f64;
        let Some(b) = b else {
            chart.draw_series(std::iter::once(
                EmptyElement::at(((x0 + x1) / 2.0, y))
                    + Text::new(
                        "no draws",
                        (0, 0),
                        text_style(13).pos(Pos::new(HPos::Center, VPos::Center)),
                    ),
            ))?;
            continue;
        };
        let [p5, p25, p50, p75, p95] = b.q;
        let fill = SERIES[i % SERIES.len()].mix(0.4);
        chart.draw_series([
            Rectangle::new([(p25, y - 0.28), (p75, y + 0.28)], fill.filled()),
            Rectangle::new([(p25, y - 0.28), (p75, y + 0.28)], ink),
        ])?;
        chart.draw_series([
            PathElement::new(vec![(p5, y), (p25, y)], ink),
            PathElement::new(vec![(p75, y), (p95, y)], ink),
            PathElement::new(vec![(p5, y - 0.14), (p5, y + 0.14)], ink),
            PathElement::new(vec![(p95, y - 0.14), (p95, y + 0.14)], ink),
            PathElement::new(
                vec![(p50, y - 0.28), (p50, y + 0.28)],
                ShapeStyle::from(&BLACK).stroke_width(4),
            ),
        ])?;
        if let Some(m) = b.mean {
            chart.draw_series(std::iter::once(
                EmptyElement::at((m, y))
                    + Polygon::new(vec![(0, -7), (7, 0), (0, 7), (-7, 0)], WHITE.filled())
                    + PathElement::new(vec![(0, -7), (7, 0), (0, 7), (-7, 0), (0, -7)], ink),
            ))?;
        }
    }
    Ok(())
}

/// Export loss and surplus change conditional on each deal scenario, as box plots.
pub(crate) fn scenarios(
    title_text: &str,
    labels: &[String],
    export_loss: (&str, &[Option<BoxStats>]),
    surplus_change: (&str, &[Option<BoxStats>]),
) -> R<String> {
    let n = labels.len().max(1) as u32;
    let panel_h = 60 + 56 * n;
    let legend_h = 30u32;
    let y_area = label_area_for(labels.iter().map(|s| s.as_str()));
    let height = TITLE_H + legend_h + 2 * panel_h + 10;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = title(&root, title_text)?;
        let (legend, rest) = body.split_vertically(legend_h);
        let (upper, lower) = rest.split_vertically(panel_h);
        box_panel(&upper, export_loss.0, labels, export_loss.1, y_area)?;
        box_panel(&lower, surplus_change.0, labels, surplus_change.1, y_area)?;
        let ink = ShapeStyle::from(&BLACK).stroke_width(2);
        let (x, y) = (MARGIN as i32 + y_area as i32, 14);
        legend.draw(
            &(EmptyElement::at((x, y))
                + Rectangle::new([(0, -7), (26, 7)], ink)
                + Text::new(
                    "25 % to 75 %",
                    (32, 0),
                    text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
                )),
        )?;
        let x = x + 130;
        legend.draw(
            &(EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (26, 0)], ink)
                + PathElement::new(vec![(0, -5), (0, 5)], ink)
                + PathElement::new(vec![(26, -5), (26, 5)], ink)
                + Text::new(
                    "5 % to 95 %",
                    (32, 0),
                    text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
                )),
        )?;
        let x = x + 130;
        legend.draw(
            &(EmptyElement::at((x, y))
                + PathElement::new(
                    vec![(0, -8), (0, 8)],
                    ShapeStyle::from(&BLACK).stroke_width(4),
                )
                + Text::new(
                    "median",
                    (8, 0),
                    text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
                )),
        )?;
        let x = x + 90;
        legend.draw(
            &(EmptyElement::at((x, y))
                + PathElement::new(vec![(0, -7), (7, 0), (0, 7), (-7, 0), (0, -7)], ink)
                + Text::new(
                    "mean",
                    (12, 0),
                    text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
                )),
        )?;
        root.present()?;
    }
    Ok(svg)
}

/// Draws marker shape `k` (circle, triangle, square, cross, diamond, …) at a data point.
fn marker_px(area: &Area<'_>, at: (i32, i32), k: usize, color: RGBColor, size: i32) -> R<()> {
    let style = ShapeStyle::from(&color).stroke_width(1);
    let s = size;
    match k % 5 {
        0 => area.draw(&Circle::new(at, s, style))?,
        1 => area.draw(&PathElement::new(
            vec![
                (at.0, at.1 - s - 1),
                (at.0 + s + 1, at.1 + s),
                (at.0 - s - 1, at.1 + s),
                (at.0, at.1 - s - 1),
            ],
            style,
        ))?,
        2 => area.draw(&Rectangle::new(
            [(at.0 - s, at.1 - s), (at.0 + s, at.1 + s)],
            style,
        ))?,
        3 => area.draw(&Cross::new(at, s, style))?,
        _ => area.draw(&PathElement::new(
            vec![
                (at.0, at.1 - s - 1),
                (at.0 + s + 1, at.1),
                (at.0, at.1 + s + 1),
                (at.0 - s - 1, at.1),
                (at.0, at.1 - s - 1),
            ],
            style,
        ))?,
    }
    Ok(())
}

/// Draws the points of scenario `k` with its marker shape (as [`marker_px`]).
fn scatter_series(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    pts: &[(f64, f64)],
    k: usize,
    color: RGBColor,
) -> R<()> {
    let style = ShapeStyle::from(&color.mix(0.8)).stroke_width(1);
    let s = 3;
    let it = pts.iter().copied();
    match k % 5 {
        0 => chart.draw_series(it.map(|p| EmptyElement::at(p) + Circle::new((0, 0), s, style)))?,
        1 => chart.draw_series(it.map(|p| {
            EmptyElement::at(p)
                + PathElement::new(
                    vec![(0, -s - 1), (s + 1, s), (-s - 1, s), (0, -s - 1)],
                    style,
                )
        }))?,
        2 => chart.draw_series(
            it.map(|p| EmptyElement::at(p) + Rectangle::new([(-s, -s), (s, s)], style)),
        )?,
        3 => chart.draw_series(it.map(|p| EmptyElement::at(p) + Cross::new((0, 0), s, style)))?,
        _ => chart.draw_series(it.map(|p| {
            EmptyElement::at(p)
                + PathElement::new(
                    vec![
                        (0, -s - 1),
                        (s + 1, 0),
                        (0, s + 1),
                        (-s - 1, 0),
                        (0, -s - 1),
                    ],
                    style,
                )
        }))?,
    };
    Ok(())
}

/// The segment of the line a·x + b·y = 1 inside the box [x0,x1]×[y0,y1], if any.
pub(crate) fn clip_line(
    a: f64,
    b: f64,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Option<[(f64, f64); 2]> {
    let mut pts: Vec<(f64, f64)> = Vec::new();
    if b.abs() > 1e-300 {
        for x in [x0, x1] {
            let y = (1.0 - a * x) / b;
            if (y0..=y1).contains(&y) {
                pts.push((x, y));
            }
        }
    }
    if a.abs() > 1e-300 {
        for y in [y0, y1] {
            let x = (1.0 - b * y) / a;
            if (x0..=x1).contains(&x) {
                pts.push((x, y));
            }
        }
    }
    pts.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.total_cmp(&q.1)));
    pts.dedup_by(|p, q| (p.0 - q.0).abs() < 1e-12 && (p.1 - q.1).abs() < 1e-12);
    match pts.as_slice() {
        [p, .., q] => Some([*p, *q]),
        _ => None,
    }
}

/// Market stress: FX depreciation against equity drawdown per draw, marker shape and colour
/// by scenario, with the stress threshold (stress index = 1) drawn.
#[allow(clippy::too_many_arguments)]
pub(crate) fn market_stress(
    title_text: &str,
    points: &[(f64, f64, usize)],
    scenario_labels: &[String],
    fx_stress_pct: f64,
    equity_stress_pct: f64,
    fx_weight: f64,
    stress_label: &str,
) -> R<String> {
    // Threshold: a·fx + b·eq = 1.
    let a = fx_weight / fx_stress_pct;
    let b = (1.0 - fx_weight) / equity_stress_pct;
    let (mut xlo, mut xhi) = finite_range(points.iter().map(|p| p.0)).unwrap_or((-1.0, 1.0));
    let (mut ylo, mut yhi) = finite_range(points.iter().map(|p| p.1)).unwrap_or((-1.0, 1.0));
    // Keep the threshold's axis intercepts in view when they are not far off, so the line
    // shows where stress begins even when few draws reach it.
    if a > 0.0 && (1.0 / a) < xhi + 2.0 * (xhi - xlo) {
        xhi = xhi.max(1.0 / a);
        xlo = xlo.min(0.0);
    }
    if b > 0.0 && (1.0 / b) < yhi + 2.0 * (yhi - ylo) {
        yhi = yhi.max(1.0 / b);
        ylo = ylo.min(0.0);
    }
    let (x0, x1) = padded(xlo, xhi, 0.04);
    let (y0, y1) = padded(ylo, yhi, 0.04);
    let legend_w = 230u32;
    let height = 640u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = title(&root, title_text)?;
        let (plot, legend) = body.split_horizontally(WIDTH - legend_w);
        let mut chart = ChartBuilder::on(&plot)
            .margin(MARGIN)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(WHITE)
            .x_labels(10)
            .y_labels(10)
            .x_label_formatter(&axis_tick(x0, x1))
            .y_label_formatter(&axis_tick(y0, y1))
            .label_style(text_style(13))
            .axis_desc_style(text_style(14))
            .x_desc("FX depreciation (%, positive = currency weakens)")
            .y_desc("equity drawdown (%, positive = stocks fall)")
            .draw()?;
        for k in 0..scenario_labels.len() {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.2 == k && p.0.is_finite() && p.1.is_finite())
                .map(|p| (p.0, p.1))
                .collect();
            scatter_series(&mut chart, &pts, k, SERIES[k % SERIES.len()])?;
        }
        let threshold = Line::new(BLACK, 3, Some((12, 6)));
        if let Some([p, q]) = clip_line(a, b, (x0, x1), (y0, y1)) {
            draw_path(&mut chart, vec![p, q], threshold)?;
        }
        // Name the stress side of the line in the corner that lies on it.
        if a * x1 + b * y1 >= 1.0 {
            chart.draw_series(std::iter::once(
                EmptyElement::at((x1, y1))
                    + Text::new(
                        "stress events (index ≥ 1)",
                        (-8, 8),
                        text_style(13).pos(Pos::new(HPos::Right, VPos::Top)),
                    ),
            ))?;
        }
        // Legend beside the plot.
        let mut y = 40;
        legend.draw(&Text::new(
            "scenario",
            (8, y - 22),
            text_style(14).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        for (k, label) in scenario_labels.iter().enumerate() {
            marker_px(&legend, (20, y), k, SERIES[k % SERIES.len()], 5)?;
            let short: String = if label.chars().count() > 24 {
                label.chars().take(23).chain(['…']).collect()
            } else {
                label.clone()
            };
            legend.draw(&Text::new(
                short,
                (36, y),
                text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            y += 22;
        }
        y += 16;
        draw_px_line(&legend, (8, y), (38, y), threshold)?;
        legend.draw(&Text::new(
            "stress threshold",
            (46, y),
            text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        legend.draw(&Text::new(
            "(stress index = 1)",
            (46, y + 18),
            text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        legend.draw(&Text::new(
            stress_label.to_string(),
            (8, y + 48),
            text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        root.present()?;
    }
    Ok(svg)
}

/// One bar of a tornado chart.
#[derive(Debug, Clone)]
pub(crate) struct TornadoRow {
    pub(crate) label: String,
    /// A correlation in [-1, 1], or for an unsigned measure (the correlation ratio of a
    /// categorical input) a value in [0, 1].
    pub(crate) value: f64,
    /// Whether `value` has no direction: drawn hatched grey, labelled η.
    pub(crate) unsigned: bool,
}

/// Tornado chart: signed correlation bars of the top inputs, largest |correlation| on top.
/// Positive bars are filled dark, negative bars are hatched-free white with a dark outline,
/// so the sign reads without colour.
pub(crate) fn tornado(title_text: &str, x_desc: &str, rows: &[TornadoRow]) -> R<String> {
    let n = rows.len();
    let labels: Vec<String> = rows.iter().rev().map(|r| r.label.clone()).collect();
    let values: Vec<f64> = rows.iter().rev().map(|r| r.value).collect();
    let unsigned: Vec<bool> = rows.iter().rev().map(|r| r.unsigned).collect();
    let m = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let m = if m > 0.0 { (m * 1.25).min(1.0) } else { 1.0 };
    let y_area = label_area_for(labels.iter().map(|s| s.as_str()));
    let legend_h = 30u32;
    let height = TITLE_H + legend_h + 70 + 30 * n.max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = title(&root, title_text)?;
        let (legend, plot) = body.split_vertically(legend_h);
        let mut chart = ChartBuilder::on(&plot)
            .margin(MARGIN)
            .x_label_area_size(44)
            .y_label_area_size(y_area)
            .build_cartesian_2d(-m..m, -0.6..(n as f64 - 0.4))?;
        category_axes(&mut chart, x_desc, 11, (-m, m), false, &labels)?;
        let ink = ShapeStyle::from(&BLACK).stroke_width(1);
        for (i, &v) in values.iter().enumerate() {
            let y = i as f64;
            let fill = if unsigned[i] {
                GREY.mix(0.45).filled()
            } else if v >= 0.0 {
                VERMILLION.filled()
            } else {
                WHITE.filled()
            };
            chart.draw_series([
                Rectangle::new([(0.0, y - 0.32), (v, y + 0.32)], fill),
                Rectangle::new([(0.0, y - 0.32), (v, y + 0.32)], ink),
            ])?;
            let (dx, h) = if v >= 0.0 {
                (5, HPos::Left)
            } else {
                (-5, HPos::Right)
            };
            chart.draw_series(std::iter::once(
                EmptyElement::at((v, y))
                    + Text::new(
                        if unsigned[i] {
                            format!("η {v:.2}")
                        } else {
                            signed(v)
                        },
                        (dx, 0),
                        text_style(12).pos(Pos::new(h, VPos::Center)),
                    ),
            ))?;
        }
        draw_path(
            &mut chart,
            vec![(0.0, -0.6), (0.0, n as f64 - 0.4)],
            Line::new(BLACK, 1, None),
        )?;
        // Legend entries side by side from the left edge, each as wide as its text.
        let mut entries: Vec<(&str, ShapeStyle)> = vec![
            ("higher input → higher output", VERMILLION.filled()),
            ("higher input → lower output", WHITE.filled()),
        ];
        if unsigned.iter().any(|&u| u) {
            entries.push((
                "category: correlation ratio η, no sign",
                GREY.mix(0.45).filled(),
            ));
        }
        let (mut x, y) = (MARGIN as i32, 14);
        for (label, fill) in entries {
            legend.draw(
                &(EmptyElement::at((x, y))
                    + Rectangle::new([(0, -7), (26, 7)], fill)
                    + Rectangle::new([(0, -7), (26, 7)], ink)
                    + Text::new(
                        label,
                        (32, 0),
                        text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
                    )),
            )?;
            x += 32 + (label.chars().count() as f64 * CHAR_PX) as i32 + 24;
        }
        root.present()?;
    }
    Ok(svg)
}

/// Running mean with a ±2 standard error band against the number of draws (log x axis).
pub(crate) fn convergence(
    title_text: &str,
    y_desc: &str,
    draws: &[f64],
    mean: &[f64],
    se: &[f64],
) -> R<String> {
    let pts: Vec<(f64, f64, f64)> = draws
        .iter()
        .zip(mean)
        .zip(se)
        .map(|((&d, &m), &s)| (d, m, if s.is_finite() { s } else { 0.0 }))
        .filter(|p| p.0 > 0.0 && p.0.is_finite() && p.1.is_finite())
        .collect();
    let (dlo, dhi) = finite_range(pts.iter().map(|p| p.0))
        .ok_or_else(|| ChartError("no convergence points".into()))?;
    let (dlo, dhi) = if dhi > dlo {
        (dlo, dhi)
    } else {
        (dlo / 2.0, dhi * 2.0)
    };
    let (ylo, yhi) = finite_range(pts.iter().flat_map(|p| [p.1 - 2.0 * p.2, p.1 + 2.0 * p.2]))
        .unwrap_or((0.0, 1.0));
    let (y0, y1) = padded(ylo, yhi, 0.05);
    let legend_h = 30u32;
    let height = TITLE_H + legend_h + 420;
    let final_mean = pts.last().map(|p| p.1).unwrap_or(0.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = title(&root, title_text)?;
        let (legend, plot) = body.split_vertically(legend_h);
        let mut chart = ChartBuilder::on(&plot)
            .margin(MARGIN)
            .margin_right(30)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d((dlo..dhi).log_scale(), y0..y1)?;
        // plotters' log-axis labels crowd (…80k 90k 100k); draw 1-2-5 ticks instead.
        chart
            .configure_mesh()
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(WHITE)
            .disable_x_mesh()
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .y_labels(8)
            .y_label_formatter(&axis_tick(y0, y1))
            .label_style(text_style(13))
            .axis_desc_style(text_style(14))
            .x_desc("draws (log scale)")
            .y_desc(y_desc)
            .draw()?;
        let ticks = log_ticks(dlo, dhi);
        chart.draw_series(ticks.iter().map(|&t| {
            PathElement::new(
                vec![(t, y0), (t, y1)],
                ShapeStyle::from(&BLACK.mix(0.12)).stroke_width(1),
            )
        }))?;
        chart.draw_series(ticks.iter().map(|&t| {
            EmptyElement::at((t, y0))
                + PathElement::new(
                    vec![(0, 0), (0, 5)],
                    ShapeStyle::from(&BLACK).stroke_width(1),
                )
                + Text::new(
                    count_tick(t),
                    (0, 8),
                    text_style(13).pos(Pos::new(HPos::Center, VPos::Top)),
                )
        }))?;
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (p.0, p.1 + 2.0 * p.2))
            .chain(pts.iter().rev().map(|p| (p.0, p.1 - 2.0 * p.2)))
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(band, SKY.mix(0.35).filled())))?;
        let bound = Line::new(BLUE, 1, Some((5, 4)));
        draw_path(
            &mut chart,
            pts.iter().map(|p| (p.0, p.1 + 2.0 * p.2)).collect(),
            bound,
        )?;
        draw_path(
            &mut chart,
            pts.iter().map(|p| (p.0, p.1 - 2.0 * p.2)).collect(),
            bound,
        )?;
        let final_line = Line::new(GREY, 1, Some((2, 3)));
        draw_path(
            &mut chart,
            vec![(dlo, final_mean), (dhi, final_mean)],
            final_line,
        )?;
        chart.draw_series(LineSeries::new(
            pts.iter().map(|p| (p.0, p.1)),
            ShapeStyle::from(&BLACK).stroke_width(2),
        ))?;
        let x = MARGIN as i32 + 80;
        legend_line(&legend, (x, 14), Line::new(BLACK, 2, None), "running mean")?;
        legend_line(&legend, (x + 170, 14), bound, "± 2 standard errors")?;
        legend_line(&legend, (x + 370, 14), final_line, "final mean")?;
        root.present()?;
    }
    Ok(svg)
}

/// 1-2-5 steps per decade inside [lo, hi].
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut decade = 10f64.powi(lo.log10().floor() as i32);
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let t = m * decade;
            if t >= lo * (1.0 - 1e-9) && t <= hi * (1.0 + 1e-9) {
                out.push(t);
            }
        }
        decade *= 10.0;
    }
    out
}

/// A correlation with its sign, "0.00" when it rounds to zero.
fn signed(v: f64) -> String {
    if v.abs() < 0.005 {
        "0.00".into()
    } else {
        format!("{v:+.2}")
    }
}

/// Draw counts for a log axis: 1k, 10k, 100k, 1M.
fn count_tick(v: f64) -> String {
    let (d, s) = if v >= 1e9 {
        (1e9, "G")
    } else if v >= 1e6 {
        (1e6, "M")
    } else if v >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    format!("{}{s}", tick(v / d))
}

/// What the axes of a [`line_frame`] show.
struct Mesh<'m> {
    x_desc: &'m str,
    y_desc: &'m str,
    x_labels: usize,
    y_labels: usize,
    /// Labels of categorical x positions (months); `None`: numbers, with a vertical grid.
    x_label: Option<&'m dyn Fn(&f64) -> String>,
}

/// The frame of the line charts (the fan chart and the CDF charts share it): margins, a
/// light grid, tick labels that read as numbers (no `-5.6e-17` for zero), axis descriptions.
fn line_frame<'a, 'b>(
    plot: &'a Area<'b>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    mesh: &Mesh<'_>,
) -> R<ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let mut chart = ChartBuilder::on(plot)
        .margin(MARGIN)
        .margin_right(30)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let x_tick = axis_tick(x0, x1);
    let y_tick = axis_tick(y0, y1);
    let mut m = chart.configure_mesh();
    m.bold_line_style(BLACK.mix(0.12))
        .light_line_style(WHITE)
        .x_labels(mesh.x_labels)
        .y_labels(mesh.y_labels)
        .y_label_formatter(&y_tick)
        .label_style(text_style(13))
        .axis_desc_style(text_style(14))
        .x_desc(mesh.x_desc)
        .y_desc(mesh.y_desc);
    match mesh.x_label {
        Some(f) => m.disable_x_mesh().x_label_formatter(f).draw()?,
        None => m.x_label_formatter(&x_tick).draw()?,
    }
    Ok(chart)
}

/// One month of a fan chart: the 5, 25, 50, 75 and 95 % quantiles.
pub(crate) struct FanMonth {
    pub(crate) label: String,
    pub(crate) q: [f64; 5],
}

/// An observed value drawn on a fan chart, at month `t` (1-based).
pub(crate) struct FanPoint {
    pub(crate) t: usize,
    pub(crate) value: f64,
    pub(crate) label: String,
}

/// A fan chart of a monthly output (MODEL.md §12): the median line, the 25–75 % band and the
/// 5–95 % band, months labelled on the x axis; observations as black diamonds.
pub(crate) fn fan(
    title_text: &str,
    y_desc: &str,
    months: &[FanMonth],
    points: &[FanPoint],
) -> R<String> {
    if months.is_empty() {
        return Err(ChartError("no months".into()));
    }
    let n = months.len();
    let (ylo, yhi) = finite_range(
        months
            .iter()
            .flat_map(|m| m.q)
            .chain(points.iter().map(|p| p.value)),
    )
    .ok_or_else(|| ChartError("no finite monthly quantiles".into()))?;
    let (y0, y1) = padded(ylo, yhi, 0.06);
    let legend_h = 30u32;
    let height = TITLE_H + legend_h + 420;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = title(&root, title_text)?;
        let (legend, plot) = body.split_vertically(legend_h);
        let labels: Vec<String> = months.iter().map(|m| m.label.clone()).collect();
        let month_label = |x: &f64| {
            let t = x.round();
            if (x - t).abs() < 1e-6 && t >= 1.0 && t as usize <= labels.len() {
                labels[t as usize - 1].clone()
            } else {
                String::new()
            }
        };
        let mut chart = line_frame(
            &plot,
            (0.5, n as f64 + 0.5),
            (y0, y1),
            &Mesh {
                x_desc: "month",
                y_desc,
                x_labels: n.min(24),
                y_labels: 8,
                x_label: Some(&month_label),
            },
        )?;
        let x = |i: usize| (i + 1) as f64;
        let band = |lo: usize, hi: usize| -> Vec<(f64, f64)> {
            (0..n)
                .map(|i| (x(i), months[i].q[hi]))
                .chain((0..n).rev().map(|i| (x(i), months[i].q[lo])))
                .collect()
        };
        chart.draw_series(std::iter::once(Polygon::new(
            band(0, 4),
            SKY.mix(0.25).filled(),
        )))?;
        chart.draw_series(std::iter::once(Polygon::new(
            band(1, 3),
            SKY.mix(0.55).filled(),
        )))?;
        chart.draw_series(LineSeries::new(
            (0..n).map(|i| (x(i), months[i].q[2])),
            ShapeStyle::from(&BLUE).stroke_width(3),
        ))?;
        let zero = Line::new(GREY, 1, Some((2, 3)));
        if y0 < 0.0 && y1 > 0.0 {
            draw_path(&mut chart, vec![(0.5, 0.0), (n as f64 + 0.5, 0.0)], zero)?;
        }
        for p in points {
            chart.draw_series(std::iter::once(
                EmptyElement::at((p.t as f64, p.value))
                    + Polygon::new(vec![(0, -7), (7, 0), (0, 7), (-7, 0)], BLACK.filled())
                    + Text::new(
                        p.label.clone(),
                        (10, -6),
                        text_style(13).pos(Pos::new(HPos::Left, VPos::Bottom)),
                    ),
            ))?;
        }
        let lx = MARGIN as i32 + 80;
        legend_line(&legend, (lx, 14), Line::new(BLUE, 3, None), "median")?;
        legend.draw(&Rectangle::new(
            [(lx + 110, 7), (lx + 140, 21)],
            SKY.mix(0.55).filled(),
        ))?;
        legend.draw(&Text::new("25–75 %", (lx + 146, 8), text_style(13)))?;
        legend.draw(&Rectangle::new(
            [(lx + 230, 7), (lx + 260, 21)],
            SKY.mix(0.25).filled(),
        ))?;
        legend.draw(&Text::new("5–95 %", (lx + 266, 8), text_style(13)))?;
        if !points.is_empty() {
            legend.draw(
                &(EmptyElement::at((lx + 360, 14))
                    + Polygon::new(vec![(0, -6), (6, 0), (0, 6), (-6, 0)], BLACK.filled())),
            )?;
            legend.draw(&Text::new("observed (PIT)", (lx + 372, 8), text_style(13)))?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// One distribution on a chart of several: its legend label, its quantiles at the levels of
/// the chart, and how its line is drawn.
pub(crate) struct Curve<'a> {
    pub(crate) label: &'a str,
    pub(crate) q: &'a [f64],
    pub(crate) line: Line,
}

/// Line styles of overlaid distributions: they differ by dash pattern and width as well as
/// colour, so they read in grey-scale print.
pub(crate) const CURVE_LINES: [Line; 6] = [
    Line::new(BLUE, 3, None),
    Line::new(ORANGE, 3, Some((10, 5))),
    Line::new(BLACK, 2, Some((3, 4))),
    Line::new(VERMILLION, 2, Some((14, 4))),
    Line::new(OKABE_ITO[2], 3, Some((6, 3))),
    Line::new(OKABE_ITO[5], 2, None),
];

/// Several distributions of one output as cumulative distribution functions (quantile level
/// against value) on one chart: prior against updated (MODEL.md §13), run A against run B
/// (`compare`), one scenario against another. The legend sits in a band above the plot and
/// wraps onto more lines when the labels do not fit on one, so it never covers data.
pub(crate) fn cdfs(
    title_text: &str,
    x_desc: &str,
    levels: &[f64],
    curves: &[Curve<'_>],
) -> R<String> {
    let (xlo, xhi) = finite_range(curves.iter().flat_map(|c| c.q.iter().copied()))
        .ok_or_else(|| ChartError("no finite quantiles".into()))?;
    let (x0, x1) = padded(xlo, xhi, 0.03);
    // Legend entries flow left to right and wrap.
    let mut at = Vec::with_capacity(curves.len());
    let (mut lx, mut row) = (MARGIN as i32 + 80, 0i32);
    for c in curves {
        let w = 46 + (c.label.chars().count() as f64 * CHAR_PX) as i32 + 24;
        if lx + w > (WIDTH - MARGIN) as i32 && lx > MARGIN as i32 + 80 {
            lx = MARGIN as i32 + 80;
            row += 1;
        }
        at.push((lx, 14 + 22 * row));
        lx += w;
    }
    let legend_h = 30 + 22 * row as u32;
    let height = TITLE_H + legend_h + 360;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = title(&root, title_text)?;
        let (legend, plot) = body.split_vertically(legend_h);
        let mut chart = line_frame(
            &plot,
            (x0, x1),
            (0.0, 1.0),
            &Mesh {
                x_desc,
                y_desc: "probability of a value at most x",
                x_labels: 8,
                y_labels: 6,
                x_label: None,
            },
        )?;
        for c in curves {
            let path: Vec<(f64, f64)> =
                c.q.iter()
                    .zip(levels)
                    .filter(|(x, _)| x.is_finite())
                    .map(|(&x, &p)| (x, p))
                    .collect();
            draw_path(&mut chart, path, c.line)?;
        }
        for (c, &xy) in curves.iter().zip(&at) {
            legend_line(&legend, xy, c.line, c.label)?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// Prior and updated distributions of one output (MODEL.md §13).
pub(crate) fn prior_updated(
    title_text: &str,
    x_desc: &str,
    levels: &[f64],
    prior: &[f64],
    updated: &[f64],
) -> R<String> {
    cdfs(
        title_text,
        x_desc,
        levels,
        &[
            Curve {
                label: "prior (9-April forecast)",
                q: prior,
                line: Line::new(GREY, 2, Some((8, 5))),
            },
            Curve {
                label: "updated on the observations",
                q: updated,
                line: Line::new(BLUE, 3, None),
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn density_bins_keep_the_probability_of_the_quantile_grid() {
        let levels: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
        // Uniform on [0, 10]: quantile = 10·level, density 0.1 everywhere.
        let q: Vec<f64> = levels.iter().map(|l| 10.0 * l).collect();
        let bins = density_bins(&levels, &q, 20);
        let total: f64 = bins.iter().map(|b| (b.1 - b.0) * b.2).sum();
        assert!((total - 1.0).abs() < 1e-12);
        for b in &bins {
            assert!((b.2 - 0.1).abs() < 1e-9, "{b:?}");
        }
    }

    #[test]
    fn an_atom_goes_into_one_bin() {
        let levels = [0.0, 0.5, 0.6, 1.0];
        let q = [0.0, 1.0, 1.0, 2.0];
        let bins = density_bins(&levels, &q, 4);
        let total: f64 = bins.iter().map(|b| (b.1 - b.0) * b.2).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!(bins[2].2 > bins[1].2);
    }

    #[test]
    fn labels_that_would_overlap_go_to_other_rows() {
        let rows = label_rows(&[100.0, 110.0, 400.0], &[60.0, 60.0, 60.0], 900.0);
        // In one row the first label must go left of its line; in two, it must sit above
        // the second, or the second line would cross it.
        if rows[0].0 == rows[1].0 {
            assert!(rows[0].1 && !rows[1].1, "{rows:?}");
        } else {
            assert!(rows[0].0 > rows[1].0, "{rows:?}");
        }
        assert_eq!(rows[2].0, 0);
        let near_edge = label_rows(&[880.0], &[60.0], 900.0);
        assert!(near_edge[0].1);
    }

    /// Issue 15, item 13: a mean and a median one pixel apart left no layout, so every
    /// label got its own row and the ES 99 line crossed the ES 95 label.
    #[test]
    fn no_marker_line_crosses_another_label() {
        // The export-loss markers of the default model: mean, median, VaR95, VaR99, ES95, ES99.
        let xs = [600.0, 601.2, 772.4, 846.8, 818.7, 885.9];
        // The same with the axis trimmed to the central 99 %: ES 95 and VaR 99 labels
        // each cover the other's line, so one of them must go to the other side.
        let trimmed = [547.5, 549.1, 775.6, 873.6, 836.4, 925.0];
        let widths: Vec<f64> = [9.0, 11.0, 10.0, 11.0, 10.0, 10.0]
            .iter()
            .map(|c| c * CHAR_PX)
            .collect();
        let many: Vec<f64> = (0..12).map(|i| 100.0 + 20.0 * i as f64).collect();
        for (xs, right) in [
            (xs.to_vec(), 948.0),
            (trimmed.to_vec(), 948.0),
            (many, 948.0),
        ] {
            let widths: Vec<f64> = (0..xs.len()).map(|i| widths[i % widths.len()]).collect();
            let rows = label_rows(&xs, &widths, right);
            let n_rows = rows.iter().map(|r| r.0).max().unwrap() + 1;
            if xs.len() == 6 {
                assert!(n_rows < 6, "{rows:?}");
                for i in 0..6 {
                    let end = if rows[i].1 {
                        xs[i]
                    } else {
                        xs[i] + 4.0 + widths[i]
                    };
                    assert!(end <= right, "label {i} runs off the chart: {rows:?}");
                }
            }
            for i in 0..xs.len() {
                let (ri, left) = rows[i];
                let (a, b) = if left {
                    (xs[i] - 4.0 - widths[i], xs[i] - 4.0)
                } else {
                    (xs[i] + 4.0, xs[i] + 4.0 + widths[i])
                };
                for j in 0..xs.len() {
                    // A line of a label in a higher row rises through this label's row.
                    if rows[j].0 > ri && (xs[i] - xs[j]).abs() > 3.0 {
                        assert!(
                            !(a..=b).contains(&xs[j]),
                            "line {j} crosses label {i}: {rows:?}"
                        );
                    }
                    if j != i && rows[j].0 == ri {
                        let (c, d) = if rows[j].1 {
                            (xs[j] - 4.0 - widths[j], xs[j])
                        } else {
                            (xs[j], xs[j] + 4.0 + widths[j])
                        };
                        assert!(
                            b.max(xs[i]) < c || d < a.min(xs[i]),
                            "labels {i} and {j} overlap"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn ticks_near_zero_read_zero() {
        let t = axis_tick(-0.6, 0.6);
        assert_eq!(t(&-5.551115123125783e-17), "0");
        assert_eq!(t(&0.2), "0.2");
        // A genuinely tiny axis keeps its values.
        let t = axis_tick(0.0, 1e-6);
        assert_eq!(t(&5e-7), "5.0e-7");
    }

    #[test]
    fn threshold_line_is_clipped_to_the_box() {
        // fx/20 + eq/40 = 1 through (20, 0) and (0, 40).
        let seg = clip_line(0.05, 0.025, (-10.0, 30.0), (-10.0, 50.0)).unwrap();
        assert!((seg[0].0 + 5.0).abs() < 1e-9 && (seg[0].1 - 50.0).abs() < 1e-9);
        assert!((seg[1].0 - 25.0).abs() < 1e-9 && (seg[1].1 + 10.0).abs() < 1e-9);
        // Only fx matters (w = 1): a vertical line.
        let seg = clip_line(0.1, 0.0, (0.0, 20.0), (-5.0, 5.0)).unwrap();
        assert_eq!(seg, [(10.0, -5.0), (10.0, 5.0)]);
        assert!(clip_line(0.1, 0.0, (0.0, 5.0), (0.0, 5.0)).is_none());
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(10.0), "10");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(-0.0), "0");
        assert_eq!(count_tick(100000.0), "100k");
    }
}
