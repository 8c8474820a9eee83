//! The axon's connections. A connection that opens and then says nothing useful costs a socket
//! and a task for as long as it stays, and HTTP/2 has no deadline of its own for a first
//! request, so each connection must carry a request the gate admits (signed by a registered
//! caller) within a deadline ([`crate::net::admission::AxonConfig::first_request_timeout`]) or be
//! closed: silence, or refused requests alone, do not keep it open. After that a connection may
//! stay idle: a dendrite keeps its channels open between steps, and HTTP/2 keep-alive pings
//! close the ones whose peer is gone.

use std::{
	future::Future,
	io,
	net::SocketAddr,
	pin::Pin,
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	task::{Context, Poll},
	time::Duration,
};

use tokio::{
	io::{AsyncRead, AsyncWrite, ReadBuf},
	net::TcpStream,
	sync::watch,
	time::Sleep,
};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// An accepted TCP connection that is closed if no request arrives on it in time, or when the
/// axon closes all its connections.
pub struct Connection {
	stream: TcpStream,
	deadline: Pin<Box<Sleep>>,
	greeted: Arc<AtomicBool>,
	closed: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Connection {
	/// `stream`, which must carry a first request within `timeout`, and ends when `closing`
	/// turns true.
	pub fn new(stream: TcpStream, timeout: Duration, closing: watch::Receiver<bool>) -> Self {
		let mut closing = closing;
		Self {
			stream,
			deadline: Box::pin(tokio::time::sleep(timeout)),
			greeted: Arc::new(AtomicBool::new(false)),
			closed: Box::pin(async move {
				let _ = closing.wait_for(|closing| *closing).await;
			}),
		}
	}

	/// Why the connection must end now, if it must: the axon is closing it, or it is still
	/// silent past its deadline. Polling both here, on every read and write, wakes the
	/// connection's task when either comes.
	fn must_end(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
		if self.closed.as_mut().poll(cx).is_ready() {
			return Some(io::Error::new(io::ErrorKind::ConnectionAborted, "the axon is closing"));
		}
		if !self.greeted.load(Ordering::Relaxed) && self.deadline.as_mut().poll(cx).is_ready() {
			return Some(io::Error::new(
				io::ErrorKind::TimedOut,
				"no request arrived within the deadline",
			));
		}
		None
	}
}

/// What every request on a [`Connection`] knows of it (from the request's extensions).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
	tcp: TcpConnectInfo,
	greeted: Arc<AtomicBool>,
}

impl ConnectionInfo {
	/// The caller's address.
	pub fn remote_addr(&self) -> Option<SocketAddr> {
		self.tcp.remote_addr()
	}

	/// Marks the connection as having carried an admitted request: it is not closed for silence
	/// any more.
	pub fn greeted(&self) {
		self.greeted.store(true, Ordering::Relaxed);
	}
}

impl Connected for Connection {
	type ConnectInfo = ConnectionInfo;

	fn connect_info(&self) -> ConnectionInfo {
		ConnectionInfo { tcp: self.stream.connect_info(), greeted: self.greeted.clone() }
	}
}

impl AsyncRead for Connection {
	fn poll_read(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &mut ReadBuf<'_>,
	) -> Poll<io::Result<()>> {
		let this = self.get_mut();
		if let Some(error) = this.must_end(cx) {
			return Poll::Ready(Err(error));
		}
		Pin::new(&mut this.stream).poll_read(cx, buf)
	}
}

impl AsyncWrite for Connection {
	fn poll_write(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &[u8],
	) -> Poll<io::Result<usize>> {
		let this = self.get_mut();
		if let Some(error) = this.must_end(cx) {
			return Poll::Ready(Err(error));
		}
		Pin::new(&mut this.stream).poll_write(cx, buf)
	}

	fn poll_write_vectored(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		bufs: &[io::IoSlice<'_>],
	) -> Poll<io::Result<usize>> {
		let this = self.get_mut();
		if let Some(error) = this.must_end(cx) {
			return Poll::Ready(Err(error));
		}
		Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
	}

	fn is_write_vectored(&self) -> bool {
		self.stream.is_write_vectored()
	}

	fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		Pin::new(&mut self.get_mut().stream).poll_flush(cx)
	}

	fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
	}
}
