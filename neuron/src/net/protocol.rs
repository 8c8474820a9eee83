//! The wire protocol between neurons (`proto/neuron.proto`): the generated gRPC service and
//! messages, the protocol's constants, and tensors checked on the way in and out.

/// The code generated from `proto/neuron.proto`: messages, `neuron_server`, `neuron_client`.
#[allow(missing_docs, clippy::all)]
pub mod wire {
	tonic::include_proto!("bittensor.neuron.v1");
}

pub use wire::{Dtype, Tensor};

/// Width `d` of every representation, the same for every peer (seed 004, section 06).
pub const REPRESENTATION_DIM: usize = 256;
/// Token ids are bytes: 0..256 (seed 004's models are byte-level).
pub const VOCAB_SIZE: usize = 256;
/// Largest batch × sequence a request may carry.
pub const MAX_TOKENS: usize = 8 * 1024;
/// Largest message, in bytes, either way: a full [`MAX_TOKENS`] × [`REPRESENTATION_DIM`]
/// float32 tensor, [`MAX_TOKENS`] int64 token ids, and their framing.
pub const MAX_MESSAGE_BYTES: usize = MAX_TOKENS * (REPRESENTATION_DIM * 4 + 8) + FRAMING_BYTES;
/// Room for protobuf tags, lengths and shapes, and the gRPC frame header, in any message.
const FRAMING_BYTES: usize = 1024;
/// Largest magnitude of an element of an answer (a representation). An honest encoder ends in a
/// layer norm: its elements have unit RMS per position and stay below 10 (measured: under 4),
/// three orders of magnitude under the bound. Within it, squares and sums of a whole
/// [`MAX_TOKENS`] answer stay far from float32's overflow, so a caller may compute with an
/// answer as it came.
pub const MAX_ANSWER_ABS: f32 = 1e4;

/// The calls of the service, each with the most bytes its request may take on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
	/// The callee's representation of some tokens.
	Forward,
	/// A gradient for the callee.
	Backward,
}

impl Method {
	/// The method's name, as the request's signature covers it.
	pub fn name(self) -> &'static str {
		match self {
			Method::Forward => "Forward",
			Method::Backward => "Backward",
		}
	}

	/// The method of a gRPC request path (`/bittensor.neuron.v1.Neuron/Forward`), if it is one
	/// of the service's.
	pub fn from_path(path: &str) -> Option<Self> {
		match path.strip_prefix("/bittensor.neuron.v1.Neuron/")? {
			"Forward" => Some(Method::Forward),
			"Backward" => Some(Method::Backward),
			_ => None,
		}
	}

	/// The largest request body of this method, gRPC framing included: a Forward carries only
	/// token ids, a Backward also a full gradient.
	pub fn max_request_bytes(self) -> usize {
		match self {
			Method::Forward => MAX_TOKENS * 8 + FRAMING_BYTES,
			Method::Backward => MAX_MESSAGE_BYTES,
		}
	}
}

/// Bytes in front of a gRPC message on the wire: a compression flag and the length (u32, BE).
const FRAME_HEADER_BYTES: usize = 5;

/// `message` as the one uncompressed gRPC frame of a request body.
pub fn frame(message: &[u8]) -> bytes::Bytes {
	let mut framed = Vec::with_capacity(message.len().saturating_add(FRAME_HEADER_BYTES));
	framed.push(0);
	framed.extend_from_slice(&u32::try_from(message.len()).unwrap_or(u32::MAX).to_be_bytes());
	framed.extend_from_slice(message);
	framed.into()
}

/// The message of a body that is exactly one uncompressed gRPC frame.
pub fn unframe(body: &[u8]) -> Option<&[u8]> {
	let message = body.get(FRAME_HEADER_BYTES..)?;
	let length = u32::from_be_bytes(body.get(1..FRAME_HEADER_BYTES)?.try_into().ok()?);
	(body.first() == Some(&0) && u32::try_from(message.len()).ok() == Some(length))
		.then_some(message)
}

/// Why a tensor was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TensorError {
	/// No tensor where one is required.
	#[error("missing tensor: {0}")]
	Missing(&'static str),
	/// Another element type than the one required.
	#[error("{what}: dtype {found:?}, expected {expected:?}")]
	WrongDType {
		/// Which tensor.
		what: &'static str,
		/// Its dtype.
		found: Dtype,
		/// The required one.
		expected: Dtype,
	},
	/// Another shape than the one required.
	#[error("{what}: shape {found:?}, expected {expected}")]
	WrongShape {
		/// Which tensor.
		what: &'static str,
		/// Its shape.
		found: Vec<u64>,
		/// The required one, in words.
		expected: String,
	},
	/// `data` does not hold exactly `shape`'s elements.
	#[error("{what}: {bytes} bytes of data for shape {shape:?}")]
	WrongLength {
		/// Which tensor.
		what: &'static str,
		/// Bytes present.
		bytes: usize,
		/// Its shape.
		shape: Vec<u64>,
	},
	/// A NaN or infinite float.
	#[error("{what}: element {index} is {value}")]
	NotFinite {
		/// Which tensor.
		what: &'static str,
		/// Flat index of the element.
		index: usize,
		/// The element.
		value: f32,
	},
	/// An answer's element beyond ±[`MAX_ANSWER_ABS`].
	#[error("{what}: element {index} is {value}, beyond ±{MAX_ANSWER_ABS}")]
	OutOfBound {
		/// Which tensor.
		what: &'static str,
		/// Flat index of the element.
		index: usize,
		/// The element.
		value: f32,
	},
	/// More tokens than [`MAX_TOKENS`].
	#[error("{what}: {tokens} tokens, at most {MAX_TOKENS}")]
	TooLarge {
		/// Which tensor.
		what: &'static str,
		/// Batch × sequence.
		tokens: usize,
	},
}

/// Refuses `values` if one is not finite ([`TensorError::NotFinite`]) or beyond ±`bound`
/// ([`TensorError::OutOfBound`]); the first such element is named.
fn check_values(what: &'static str, values: &[f32], bound: f32) -> Result<(), TensorError> {
	let first = values.iter().enumerate().find(|(_, v)| !v.is_finite() || v.abs() > bound);
	match first {
		None => Ok(()),
		Some((index, value)) if value.is_finite() => {
			Err(TensorError::OutOfBound { what, index, value: *value })
		},
		Some((index, value)) => Err(TensorError::NotFinite { what, index, value: *value }),
	}
}

/// Checks the values of an answer (a representation, however it came): every element finite
/// and within ±[`MAX_ANSWER_ABS`]. What the dendrite checks of every answer, and the trainer of
/// every answer it joins.
pub fn check_answer(values: &[f32]) -> Result<(), TensorError> {
	check_values("representation", values, MAX_ANSWER_ABS)
}

/// The elements' bytes, in order.
fn little_endian_bytes<T: Copy, const N: usize>(
	values: &[T],
	to_bytes: fn(T) -> [u8; N],
) -> Vec<u8> {
	let mut data = Vec::with_capacity(values.len().saturating_mul(N));
	for value in values {
		data.extend_from_slice(&to_bytes(*value));
	}
	data
}

impl Tensor {
	/// An int64 tensor of token ids, [batch, seq].
	pub fn from_tokens(tokens: &[i64], batch: usize, seq: usize) -> Self {
		Self {
			dtype: Dtype::Int64.into(),
			shape: vec![batch as u64, seq as u64],
			data: little_endian_bytes(tokens, i64::to_le_bytes),
		}
	}

	/// A float32 tensor of `shape`.
	pub fn from_f32(values: &[f32], shape: &[usize]) -> Self {
		Self {
			dtype: Dtype::Float32.into(),
			shape: shape.iter().map(|d| *d as u64).collect(),
			data: little_endian_bytes(values, f32::to_le_bytes),
		}
	}

	/// The number of elements `shape` calls for, if it fits a `usize`.
	fn elements(&self) -> Option<usize> {
		self.shape
			.iter()
			.try_fold(1usize, |n, d| n.checked_mul(usize::try_from(*d).ok()?))
	}

	fn check(
		&self,
		what: &'static str,
		dtype: Dtype,
		rank: usize,
		expected: String,
	) -> Result<usize, TensorError> {
		let found = Dtype::try_from(self.dtype).unwrap_or(Dtype::Unspecified);
		if found != dtype {
			return Err(TensorError::WrongDType { what, found, expected: dtype });
		}
		if self.shape.len() != rank || self.shape.contains(&0) {
			return Err(TensorError::WrongShape { what, found: self.shape.clone(), expected });
		}
		let elements = self.elements().ok_or_else(|| TensorError::WrongShape {
			what,
			found: self.shape.clone(),
			expected: expected.clone(),
		})?;
		let tokens = elements / if rank == 3 { REPRESENTATION_DIM } else { 1 };
		if tokens > MAX_TOKENS {
			return Err(TensorError::TooLarge { what, tokens });
		}
		let width = if dtype == Dtype::Int64 { 8 } else { 4 };
		if Some(self.data.len()) != elements.checked_mul(width) {
			return Err(TensorError::WrongLength {
				what,
				bytes: self.data.len(),
				shape: self.shape.clone(),
			});
		}
		Ok(elements)
	}

	/// The token ids of a [batch, seq] int64 tensor, with its batch and sequence lengths.
	pub fn tokens(&self, what: &'static str) -> Result<(Vec<i64>, usize, usize), TensorError> {
		self.check(what, Dtype::Int64, 2, "[batch, seq]".into())?;
		let tokens = self
			.data
			.chunks_exact(8)
			.map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
			.collect();
		Ok((tokens, self.shape[0] as usize, self.shape[1] as usize))
	}

	/// The values of a [batch, seq, d] float32 tensor, checked against the expected batch and
	/// sequence lengths, `d` = [`REPRESENTATION_DIM`], and finiteness.
	pub fn representation(
		&self,
		what: &'static str,
		batch: usize,
		seq: usize,
	) -> Result<Vec<f32>, TensorError> {
		let expected = format!("[{batch}, {seq}, {REPRESENTATION_DIM}]");
		self.check(what, Dtype::Float32, 3, expected.clone())?;
		if self.shape != [batch as u64, seq as u64, REPRESENTATION_DIM as u64] {
			return Err(TensorError::WrongShape { what, found: self.shape.clone(), expected });
		}
		let values: Vec<f32> = self
			.data
			.chunks_exact(4)
			.map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
			.collect();
		check_values(what, &values, f32::MAX)?;
		Ok(values)
	}

	/// The values of an answer to a Forward: a [`Tensor::representation`] that also passes
	/// [`check_answer`].
	pub fn answer(&self, batch: usize, seq: usize) -> Result<Vec<f32>, TensorError> {
		let values = self.representation("representation", batch, seq)?;
		check_answer(&values)?;
		Ok(values)
	}
}

#[cfg(test)]
mod tests {
	use prost::Message;

	use super::{
		wire::{BackwardRequest, ForwardRequest},
		*,
	};

	const D: usize = REPRESENTATION_DIM;

	#[test]
	fn answers_beyond_the_bound_are_refused_by_name() {
		let mut values = vec![0.5; 2 * 3 * D];
		values[5] = -MAX_ANSWER_ABS;
		assert_eq!(check_answer(&values), Ok(()), "the bound itself is allowed");
		assert_eq!(Tensor::from_f32(&values, &[2, 3, D]).answer(2, 3), Ok(values.clone()));
		values[9] = 3e38;
		let error = check_answer(&values).unwrap_err();
		assert_eq!(
			error,
			TensorError::OutOfBound { what: "representation", index: 9, value: 3e38 }
		);
		assert!(error.to_string().contains("beyond ±10000"), "{error}");
		assert_eq!(Tensor::from_f32(&values, &[2, 3, D]).answer(2, 3), Err(error));
		values[9] = -1.0001e4;
		assert!(matches!(check_answer(&values), Err(TensorError::OutOfBound { index: 9, .. })));
		values[1] = f32::NAN;
		assert!(matches!(check_answer(&values), Err(TensorError::NotFinite { index: 1, .. })));
		values[1] = f32::NEG_INFINITY;
		assert!(matches!(check_answer(&values), Err(TensorError::NotFinite { index: 1, .. })));
		// The representation of a Backward's gradient is only checked to be finite.
		let large = vec![1e30; 2 * 3 * D];
		let tensor = Tensor::from_f32(&large, &[2, 3, D]);
		assert_eq!(tensor.representation("grad", 2, 3), Ok(large));
		assert!(matches!(tensor.answer(2, 3), Err(TensorError::OutOfBound { index: 0, .. })));
		assert!(matches!(tensor.answer(2, 4), Err(TensorError::WrongShape { .. })));
	}

	#[test]
	fn tokens_round_trip() {
		let tensor = Tensor::from_tokens(&[1, 2, 3, -4, 5, 6], 2, 3);
		assert_eq!(tensor.tokens("tokens"), Ok((vec![1, 2, 3, -4, 5, 6], 2, 3)));
	}

	#[test]
	fn representations_round_trip_little_endian() {
		let values: Vec<f32> = (0..2 * 3 * D).map(|i| i as f32 * 0.5).collect();
		let tensor = Tensor::from_f32(&values, &[2, 3, D]);
		assert_eq!(&tensor.data[4..8], &0.5f32.to_le_bytes());
		assert_eq!(tensor.representation("out", 2, 3), Ok(values));
	}

	#[test]
	fn methods_are_read_from_their_grpc_paths_with_their_own_size_limits() {
		assert_eq!(Method::from_path("/bittensor.neuron.v1.Neuron/Forward"), Some(Method::Forward));
		assert_eq!(
			Method::from_path("/bittensor.neuron.v1.Neuron/Backward"),
			Some(Method::Backward)
		);
		assert_eq!(Method::from_path("/bittensor.neuron.v1.Neuron/Other"), None);
		assert_eq!(Method::from_path("/other.Service/Forward"), None);
		let largest_forward = ForwardRequest {
			tokens: Some(Tensor::from_tokens(&vec![i64::MIN; MAX_TOKENS], MAX_TOKENS, 1)),
		};
		assert!(largest_forward.encoded_len() + 5 <= Method::Forward.max_request_bytes());
		let largest_backward = BackwardRequest {
			tokens: Some(Tensor::from_tokens(&vec![i64::MIN; MAX_TOKENS], MAX_TOKENS, 1)),
			grad: Some(Tensor::from_f32(&vec![1.0; MAX_TOKENS * D], &[MAX_TOKENS, 1, D])),
		};
		assert!(largest_backward.encoded_len() + 5 <= Method::Backward.max_request_bytes());
		assert!(Method::Forward.max_request_bytes() < 100 * 1024);
	}

	#[test]
	fn a_body_is_one_uncompressed_frame() {
		let framed = frame(b"message");
		assert_eq!(&framed[..5], &[0, 0, 0, 0, 7]);
		assert_eq!(unframe(&framed), Some(&b"message"[..]));
		assert_eq!(unframe(&frame(b"")), Some(&b""[..]));
		let mut compressed = framed.to_vec();
		compressed[0] = 1;
		assert_eq!(unframe(&compressed), None);
		assert_eq!(unframe(&framed[..8]), None, "shorter than its length");
		assert_eq!(unframe(&[framed.to_vec(), frame(b"x").to_vec()].concat()), None, "two frames");
		assert_eq!(unframe(&[0, 0]), None);
	}

	#[test]
	fn bad_tensors_get_named_errors() {
		let good = Tensor::from_f32(&vec![0.0; 2 * 3 * D], &[2, 3, D]);
		assert!(matches!(good.tokens("x"), Err(TensorError::WrongDType { .. })));
		assert!(matches!(good.representation("x", 2, 4), Err(TensorError::WrongShape { .. })));
		let narrow = Tensor::from_f32(&[0.0; 2 * 3 * 8], &[2, 3, 8]);
		assert!(matches!(narrow.representation("x", 2, 3), Err(TensorError::WrongShape { .. })));
		let mut short = good.clone();
		short.data.truncate(10);
		assert!(matches!(short.representation("x", 2, 3), Err(TensorError::WrongLength { .. })));
		let mut nan = vec![0.0; 2 * 3 * D];
		nan[7] = f32::NAN;
		let nan = Tensor::from_f32(&nan, &[2, 3, D]);
		assert!(matches!(
			nan.representation("x", 2, 3),
			Err(TensorError::NotFinite { index: 7, .. })
		));
		let mut inf = vec![0.0; 2 * 3 * D];
		inf[0] = f32::INFINITY;
		assert!(matches!(
			Tensor::from_f32(&inf, &[2, 3, D]).representation("x", 2, 3),
			Err(TensorError::NotFinite { .. })
		));
		let huge =
			Tensor { dtype: Dtype::Int64.into(), shape: vec![u64::MAX, u64::MAX], data: vec![] };
		assert!(matches!(huge.tokens("x"), Err(TensorError::WrongShape { .. })));
		let big = Tensor {
			dtype: Dtype::Int64.into(),
			shape: vec![MAX_TOKENS as u64 + 1, 1],
			data: vec![],
		};
		assert!(matches!(big.tokens("x"), Err(TensorError::TooLarge { .. })));
		let empty = Tensor::from_tokens(&[], 0, 3);
		assert!(matches!(empty.tokens("x"), Err(TensorError::WrongShape { .. })));
		let garbage = Tensor { dtype: 99, shape: vec![1, 1], data: vec![0; 8] };
		assert!(matches!(garbage.tokens("x"), Err(TensorError::WrongDType { .. })));
	}
}
