//! What an admitted request holds while it is served. The model's blocking task outlives a
//! request whose caller gave up, and the answer's body outlives the handler until it is sent, so
//! the slots the gate took for a request are shared by both and free again only when the last
//! of them lets go; and an answer gives up after a deadline, so a caller that stops reading
//! cannot keep answers, and their memory, waiting.

use std::{
	future::Future,
	pin::Pin,
	sync::Arc,
	task::{Context, Poll},
};

use bytes::Bytes;
use tokio::{sync::OwnedSemaphorePermit, time::Sleep};
use tonic::{body::Body, Status};

/// The two slots an admitted request holds (the caller's own and one of its class), shared by
/// everything still working on it; they are free again when the last clone is dropped.
#[derive(Clone)]
pub struct Slots {
	_permits: Arc<[OwnedSemaphorePermit; 2]>,
}

impl Slots {
	/// The slots of one request: the caller's own and one of its class.
	pub(crate) fn new(own: OwnedSemaphorePermit, class: OwnedSemaphorePermit) -> Self {
		Self { _permits: Arc::new([own, class]) }
	}

	/// `body`, holding these slots until it is sent, and failing with `DEADLINE_EXCEEDED` once
	/// `deadline` has passed.
	pub(crate) fn hold(self, body: Body, deadline: Pin<Box<Sleep>>) -> Body {
		Body::new(HeldBody { body, deadline, _slots: self })
	}
}

/// An answer's body that holds its request's [`Slots`] until it is sent, and gives up after a
/// deadline.
struct HeldBody {
	body: Body,
	deadline: Pin<Box<Sleep>>,
	_slots: Slots,
}

impl http_body::Body for HeldBody {
	type Data = Bytes;
	type Error = Status;

	fn poll_frame(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
	) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
		let this = self.get_mut();
		if this.deadline.as_mut().poll(cx).is_ready() {
			return Poll::Ready(Some(Err(Status::deadline_exceeded(
				"the caller did not read its answer in time",
			))));
		}
		Pin::new(&mut this.body).poll_frame(cx)
	}

	fn is_end_stream(&self) -> bool {
		self.body.is_end_stream()
	}

	fn size_hint(&self) -> http_body::SizeHint {
		self.body.size_hint()
	}
}
