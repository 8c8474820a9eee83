//! Line charts as SVG, with no dependency: axes, ticks, one coloured line per series and a
//! legend. Used for the local network's emission over time.

use std::fmt::Write;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
	/// Its name in the legend.
	pub name: String,
	/// (x, y) points, in x order.
	pub points: Vec<(f64, f64)>,
}

const COLOURS: [&str; 8] =
	["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#d62728", "#8c564b", "#e377c2", "#17becf"];

/// Round tick positions covering `low..=high`.
fn ticks(low: f64, high: f64) -> Vec<f64> {
	let span = (high - low).max(f64::EPSILON);
	let raw = span / 5.0;
	let magnitude = 10f64.powf(raw.log10().floor());
	let step = [1.0, 2.0, 5.0, 10.0]
		.iter()
		.map(|m| m * magnitude)
		.find(|s| *s >= raw)
		.unwrap_or(10.0 * magnitude);
	let first = (low / step).ceil() * step;
	(0..=10)
		.map(|i| first + step * f64::from(i))
		.take_while(|t| *t <= high + step * 1e-9)
		.collect()
}

fn escape(text: &str) -> String {
	text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An SVG document: `series` against shared axes labelled `x_label` and `y_label`.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
	let (width, height) = (800.0, 480.0);
	let (left, right, top, bottom) = (80.0, 190.0, 40.0, 60.0);
	let points = series.iter().flat_map(|s| s.points.iter());
	let (mut x_min, mut x_max, mut y_max) = (f64::MAX, f64::MIN, 0f64);
	for (x, y) in points {
		x_min = x_min.min(*x);
		x_max = x_max.max(*x);
		y_max = y_max.max(*y);
	}
	if x_min > x_max {
		(x_min, x_max) = (0.0, 1.0);
	}
	if x_max <= x_min {
		x_max = x_min + 1.0;
	}
	let y_max = if y_max > 0.0 { y_max * 1.05 } else { 1.0 };
	let plot_w = width - left - right;
	let plot_h = height - top - bottom;
	let sx = |x: f64| left + (x - x_min) / (x_max - x_min) * plot_w;
	let sy = |y: f64| top + plot_h - y / y_max * plot_h;

	let mut svg = String::new();
	let _ = writeln!(
		svg,
		r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
	);
	let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
	let _ = writeln!(
		svg,
		r#"<text x="{}" y="24" font-size="16" text-anchor="middle">{}</text>"#,
		left + plot_w / 2.0,
		escape(title)
	);
	for tick in ticks(x_min, x_max) {
		let x = sx(tick);
		let _ = writeln!(
			svg,
			r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{}" stroke="#eee"/>"##,
			top + plot_h
		);
		let _ = writeln!(
			svg,
			r#"<text x="{x:.1}" y="{}" text-anchor="middle">{tick}</text>"#,
			top + plot_h + 18.0
		);
	}
	for tick in ticks(0.0, y_max) {
		let y = sy(tick);
		let _ = writeln!(
			svg,
			r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/>"##,
			left + plot_w
		);
		let _ = writeln!(
			svg,
			r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
			left - 6.0,
			y + 4.0,
			format_tick(tick)
		);
	}
	let _ = writeln!(
		svg,
		r#"<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="black"/>"#
	);
	let _ = writeln!(
		svg,
		r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
		left + plot_w / 2.0,
		height - 16.0,
		escape(x_label)
	);
	let _ = writeln!(
		svg,
		r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">{}</text>"#,
		top + plot_h / 2.0,
		top + plot_h / 2.0,
		escape(y_label)
	);
	for (i, line) in series.iter().enumerate() {
		let colour = COLOURS[i % COLOURS.len()];
		let path: Vec<String> = line
			.points
			.iter()
			.map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
			.collect();
		let _ = writeln!(
			svg,
			r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
			path.join(" ")
		);
		let ly = top + 10.0 + 20.0 * i as f64;
		let lx = left + plot_w + 16.0;
		let _ = writeln!(
			svg,
			r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="3"/>"#,
			lx + 24.0
		);
		let _ = writeln!(
			svg,
			r#"<text x="{}" y="{}">{}</text>"#,
			lx + 30.0,
			ly + 4.0,
			escape(&line.name)
		);
	}
	svg.push_str("</svg>\n");
	svg
}

fn format_tick(value: f64) -> String {
	if value == value.trunc() && value.abs() < 1e6 {
		format!("{value:.0}")
	} else {
		format!("{value:.3}").trim_end_matches('0').to_string()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn ticks_are_round_and_cover_the_range() {
		assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
		assert_eq!(ticks(3.0, 47.0), vec![10.0, 20.0, 30.0, 40.0]);
		assert!(ticks(0.0, 0.003).len() >= 3);
	}

	#[test]
	fn charts_have_a_line_and_a_legend_entry_per_series() {
		let series = vec![
			Series { name: "n0".into(), points: vec![(10.0, 0.0), (20.0, 1.5)] },
			Series { name: "n1 <random>".into(), points: vec![(10.0, 0.0), (20.0, 0.2)] },
		];
		let svg = line_chart("Emission", "block", "TAO", &series);
		assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
		assert_eq!(svg.matches("<polyline").count(), 2);
		assert!(svg.contains("n1 &lt;random&gt;"));
		// Nothing to plot is still a valid chart.
		assert!(line_chart("Empty", "x", "y", &[]).contains("</svg>"));
	}
}
