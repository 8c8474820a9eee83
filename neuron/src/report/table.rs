//! Plain-text tables for the terminal. A column has a header, a width (as `format!`'s: a wider
//! cell overflows it rather than being cut), an alignment and the spaces that part it from the
//! column before, so that a table keeps the layout its readers (and tests) know.

use std::fmt;

/// Which side of its column a cell keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
	/// Padded on the right: text.
	Left,
	/// Padded on the left: numbers.
	Right,
}

/// One column of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
	/// Its header.
	header: String,
	/// The characters its cells are padded to.
	width: usize,
	/// Which side its cells keep to.
	align: Align,
	/// Spaces between it and the column before (none before the first column).
	gap: usize,
}

impl Column {
	/// A column of `width` characters, its cells padded on the right, one space after the
	/// column before.
	pub fn left(header: impl Into<String>, width: usize) -> Self {
		Self { header: header.into(), width, align: Align::Left, gap: 1 }
	}

	/// A column of `width` characters, its cells padded on the left, one space after the
	/// column before.
	pub fn right(header: impl Into<String>, width: usize) -> Self {
		Self { header: header.into(), width, align: Align::Right, gap: 1 }
	}

	/// The same column, `spaces` after the column before.
	pub fn gap(self, spaces: usize) -> Self {
		Self { gap: spaces, ..self }
	}

	/// `cell` padded to the column's width, on the column's side.
	fn pad(&self, cell: &str) -> String {
		let width = self.width;
		match self.align {
			Align::Left => format!("{cell:<width$}"),
			Align::Right => format!("{cell:>width$}"),
		}
	}
}

/// Rows of cells under a line of headers; every line ends with a newline. Shown with
/// `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
	/// The columns, left to right.
	columns: Vec<Column>,
	/// Whether the headers make the first line.
	header: bool,
	/// Spaces before every line.
	indent: usize,
	/// The rows, one cell per column.
	rows: Vec<Vec<String>>,
}

impl Table {
	/// A table of `columns`, with no rows yet.
	pub fn new(columns: impl IntoIterator<Item = Column>) -> Self {
		Self { columns: columns.into_iter().collect(), header: true, indent: 0, rows: Vec::new() }
	}

	/// The same table without its line of headers, for rows that explain themselves.
	pub fn without_header(self) -> Self {
		Self { header: false, ..self }
	}

	/// The same table, every line `spaces` in.
	pub fn indent(self, spaces: usize) -> Self {
		Self { indent: spaces, ..self }
	}

	/// Adds a row of `cells`, one per column, left to right: missing ones are left empty, extra
	/// ones are not shown.
	pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
		self.rows.push(cells.into_iter().collect());
	}

	/// One line of `cells`.
	fn line<'a>(
		&self,
		f: &mut fmt::Formatter<'_>,
		cells: impl Iterator<Item = &'a str>,
	) -> fmt::Result {
		write!(f, "{:indent$}", "", indent = self.indent)?;
		let cells = cells.chain(std::iter::repeat(""));
		for (index, (column, cell)) in self.columns.iter().zip(cells).enumerate() {
			let gap = if index == 0 { 0 } else { column.gap };
			write!(f, "{:gap$}{}", "", column.pad(cell))?;
		}
		writeln!(f)
	}
}

impl fmt::Display for Table {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		if self.header {
			self.line(f, self.columns.iter().map(|column| column.header.as_str()))?;
		}
		for row in &self.rows {
			self.line(f, row.iter().map(String::as_str))?;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A uid, a name and a score, the name two spaces after the uid.
	fn scores() -> Table {
		Table::new([
			Column::right("uid", 4),
			Column::left("name", 6).gap(2),
			Column::right("score", 7),
		])
	}

	#[test]
	fn cells_are_padded_to_their_column_on_its_side() {
		let mut table = scores();
		table.row(["0".into(), "n0".into(), format!("{:.3}", 1.5)]);
		table.row(["12".into(), "n12".into(), format!("{:.3}", 0.25)]);
		assert_eq!(
			table.to_string(),
			" uid  name     score\n   0  n0       1.500\n  12  n12      0.250\n"
		);
	}

	#[test]
	fn it_lays_out_like_format_with_the_same_widths() {
		let mut table = scores();
		table.row(["7".into(), "α-peer".into(), "0.1".into()]);
		let expected = format!("{:>4}  {:<6} {:>7}\n", "7", "α-peer", "0.1");
		assert_eq!(table.to_string().lines().nth(1), expected.lines().next());
	}

	#[test]
	fn a_wide_cell_overflows_its_column_and_a_last_unpadded_column_ends_the_line() {
		let mut table = Table::new([Column::left("name", 3), Column::left("note", 0).gap(2)]);
		table.row(["longer".into(), "ok".into()]);
		table.row(["a".into()]);
		assert_eq!(table.to_string(), "name  note\nlonger  ok\na    \n");
	}

	#[test]
	fn a_table_may_go_without_its_header_and_be_indented() {
		let mut table = Table::new([Column::left("", 0), Column::right("", 5)])
			.without_header()
			.indent(2);
		table.row(["pass".into(), "1".into(), "dropped".into()]);
		assert_eq!(table.to_string(), "  pass     1\n");
		assert_eq!(Table::new([Column::left("", 0)]).without_header().to_string(), "");
	}
}
