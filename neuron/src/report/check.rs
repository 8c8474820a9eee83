//! A benchmark's thresholds as its report gives them: a measured ratio, its limit, and
//! whether it is met. The market and the network benchmarks both end on a table of them and
//! fail when one is not met.

use serde::Serialize;

use super::{Column, Table};

/// A threshold and whether it is met.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
	/// What is compared.
	pub name: String,
	/// The measured ratio.
	pub ratio: f64,
	/// The limit.
	pub limit: f64,
	/// Whether the ratio must be at least (rather than at most) the limit.
	pub at_least: bool,
	/// Whether it is met.
	pub passed: bool,
}

impl Check {
	/// `ratio` against `limit`: met when it is at least the limit (`at_least`) or at most.
	/// A ratio that is not a number meets nothing.
	pub fn new(name: impl Into<String>, ratio: f64, limit: f64, at_least: bool) -> Self {
		let passed = if at_least { ratio >= limit } else { ratio <= limit };
		Self { name: name.into(), ratio, limit, at_least, passed }
	}

	/// Each check: whether it passed, its ratio and its limit.
	pub fn table(checks: &[Check]) -> Table {
		let mut table = Table::new([
			Column::left("", 0),
			Column::left("", 52),
			Column::right("", 8),
			Column::left("", 0),
			Column::left("", 0),
		])
		.without_header()
		.indent(2);
		for check in checks {
			table.row([
				if check.passed { "pass" } else { "FAIL" }.to_string(),
				check.name.clone(),
				format!("{:.4}", check.ratio),
				if check.at_least { ">=" } else { "<=" }.to_string(),
				check.limit.to_string(),
			]);
		}
		table
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_check_passes_on_its_side_of_the_limit_only() {
		assert!(Check::new("gain", 0.3, 0.25, true).passed);
		assert!(!Check::new("gain", 0.2, 0.25, true).passed);
		assert!(Check::new("cost", 1.2, 1.5, false).passed);
		assert!(!Check::new("cost", 1.6, 1.5, false).passed);
		assert!(!Check::new("gain", f64::NAN, 0.25, true).passed);
		let table = Check::table(&[Check::new("cost", 1.6, 1.5, false)]).to_string();
		assert!(
			table.contains("FAIL") && table.contains("1.6000") && table.contains("<="),
			"{table}"
		);
	}
}
