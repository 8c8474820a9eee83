//! Line charts as SVG, with no dependency: axes, ticks, one coloured line per series and a
//! legend. The local network draws its emission over time with them, the market benchmark its
//! incentive per peer over the epochs.

use std::fmt::Write;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
	/// Its name in the legend.
	pub name: String,
	/// (x, y) points, in x order.
	pub points: Vec<(f64, f64)>,
}

/// The lines' colours, in turn.
const COLOURS: [&str; 8] =
	["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#d62728", "#8c564b", "#e377c2", "#17becf"];

/// The chart's size, in pixels.
const WIDTH: f64 = 800.0;
/// The chart's height, in pixels.
const HEIGHT: f64 = 480.0;
/// Margins around the plot: left, right (where the legend goes), top and bottom.
const MARGINS: (f64, f64, f64, f64) = (80.0, 190.0, 40.0, 60.0);

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

/// `text` with the characters SVG reserves escaped.
fn escape(text: &str) -> String {
	text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A tick's label: whole numbers without decimals, others with up to three.
fn format_tick(value: f64) -> String {
	if value == value.trunc() && value.abs() < 1e6 {
		format!("{value:.0}")
	} else {
		format!("{value:.3}").trim_end_matches('0').to_string()
	}
}

/// The plot area and the ranges it shows: x over the points' span, y from 0 to a little above
/// the highest point.
struct Plot {
	/// Left edge, in pixels.
	left: f64,
	/// Top edge, in pixels.
	top: f64,
	/// Width, in pixels.
	width: f64,
	/// Height, in pixels.
	height: f64,
	/// The x at the left edge.
	x_min: f64,
	/// The x at the right edge.
	x_max: f64,
	/// The y at the top edge.
	y_max: f64,
}

impl Plot {
	/// The plot of `series` (0 to 1 on both axes when there is nothing to plot).
	fn of(series: &[Series]) -> Self {
		let (left, right, top, bottom) = MARGINS;
		let (mut x_min, mut x_max, mut y_max) = (f64::MAX, f64::MIN, 0f64);
		for (x, y) in series.iter().flat_map(|s| s.points.iter()) {
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
		let (width, height) = (WIDTH - left - right, HEIGHT - top - bottom);
		Self { left, top, width, height, x_min, x_max, y_max }
	}

	/// Where `x` is drawn.
	fn x(&self, x: f64) -> f64 {
		self.left + (x - self.x_min) / (self.x_max - self.x_min) * self.width
	}

	/// Where `y` is drawn.
	fn y(&self, y: f64) -> f64 {
		self.top + self.height - y / self.y_max * self.height
	}

	/// The grid lines and labels of both axes' ticks.
	fn write_ticks(&self, svg: &mut String) {
		let (left, top, bottom) = (self.left, self.top, self.top + self.height);
		for tick in ticks(self.x_min, self.x_max) {
			let x = self.x(tick);
			let _ = writeln!(
				svg,
				r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#eee"/>"##
			);
			let _ = writeln!(
				svg,
				r#"<text x="{x:.1}" y="{}" text-anchor="middle">{tick}</text>"#,
				bottom + 18.0
			);
		}
		for tick in ticks(0.0, self.y_max) {
			let y = self.y(tick);
			let _ = writeln!(
				svg,
				r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/>"##,
				left + self.width
			);
			let _ = writeln!(
				svg,
				r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
				left - 6.0,
				y + 4.0,
				format_tick(tick)
			);
		}
	}

	/// The plot's frame and the axes' labels.
	fn write_frame(&self, svg: &mut String, x_label: &str, y_label: &str) {
		let (left, top, width, height) = (self.left, self.top, self.width, self.height);
		let _ = writeln!(
			svg,
			r#"<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="black"/>"#
		);
		let _ = writeln!(
			svg,
			r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
			left + width / 2.0,
			HEIGHT - 16.0,
			escape(x_label)
		);
		let middle = top + height / 2.0;
		let _ = writeln!(
			svg,
			r#"<text x="18" y="{middle}" text-anchor="middle" transform="rotate(-90 18 {middle})">{}</text>"#,
			escape(y_label)
		);
	}

	/// Line `index` of the chart, `line`, and its entry in the legend.
	fn write_line(&self, svg: &mut String, index: usize, line: &Series) {
		let colour = COLOURS[index % COLOURS.len()];
		let path: Vec<String> = line
			.points
			.iter()
			.map(|(x, y)| format!("{:.1},{:.1}", self.x(*x), self.y(*y)))
			.collect();
		let _ = writeln!(
			svg,
			r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
			path.join(" ")
		);
		let ly = self.top + 10.0 + 20.0 * index as f64;
		let lx = self.left + self.width + 16.0;
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
}

/// An SVG document: `series` against shared axes labelled `x_label` and `y_label`.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
	let plot = Plot::of(series);
	let mut svg = String::new();
	let _ = writeln!(
		svg,
		r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
	);
	let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
	let _ = writeln!(
		svg,
		r#"<text x="{}" y="24" font-size="16" text-anchor="middle">{}</text>"#,
		plot.left + plot.width / 2.0,
		escape(title)
	);
	plot.write_ticks(&mut svg);
	plot.write_frame(&mut svg, x_label, y_label);
	for (index, line) in series.iter().enumerate() {
		plot.write_line(&mut svg, index, line);
	}
	svg.push_str("</svg>\n");
	svg
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
