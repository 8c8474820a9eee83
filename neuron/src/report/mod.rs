//! How the neuron's commands show their results: line charts as SVG and plain-text tables.
//! `neuron localnet`, `neuron bench-market` and `neuron metagraph` all print results, and
//! share these so that their charts and columns look and align alike.
//!
//! - [`chart`]: line charts as SVG (emission over time, incentive per peer);
//! - [`check`]: a benchmark's thresholds, met or not;
//! - [`table`]: columns with headers, each aligned left or right.

pub mod chart;
pub mod check;
pub mod table;

pub use chart::{line_chart, Series};
pub use check::Check;
pub use table::{Align, Column, Table};
