//! The axon's door. Reading and hashing the bodies of strangers is how a peer gets flooded
//! (500 unsigned 8 MiB Forward calls once took a neuron from 0.26 to 4.3 GB, every one of them
//! refused only after its body had arrived), so every request is judged on its headers first,
//! cheapest check first:
//!
//! 1. its address has not failed authentication too often lately;
//! 2. its path is one of the service's methods;
//! 3. its headers are well formed (hotkey, nonce, body hash, a 64-byte signature);
//! 4. the hotkey is registered, and for Backward holds the minimum stake;
//! 5. the nonce is inside the window;
//! 6. the signature is good (over the chain, method, this axon, nonce and body hash), so a stranger
//!    naming a registered hotkey goes no further;
//! 7. the nonce is unseen, the caller's rate allows one more, and a slot is free: the caller's own,
//!    and one of its class; staked callers have slots that callers below the staked threshold
//!    cannot take, however many of them there are.
//!
//! Only then is the body read, under its method's size limit and a time limit, and its exact
//! bytes hashed against the signed hash. Every refusal but the busy and rate-limited ones (and
//! a body that broke off, which an honest caller's timeout also causes) counts against the
//! address. The slots stay taken until the model has finished with the request and its
//! answer has been sent, or the answer's deadline has passed (see [`crate::net::slots`]).

use std::{
	collections::{BTreeSet, HashMap},
	future::Future,
	net::IpAddr,
	pin::Pin,
	sync::{Arc, Mutex, RwLock},
	task::{Context, Poll},
	time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use sp_core::crypto::{AccountId32, Ss58Codec};
use tokio::sync::Semaphore;
use tonic::{body::Body, Code, Status};

use crate::{
	net::{
		admission::{AxonConfig, Peers},
		auth::{now_nanos, GenesisHash, SignedRequest},
		connection::ConnectionInfo,
		protocol::{unframe, Method},
		rate::TokenBucket,
		served_model::Caller,
		slots::Slots,
	},
	sync::{lock, read, write},
};

/// Addresses remembered for their failed authentications before full buckets are forgotten.
const REMEMBERED_ADDRESSES: usize = 4096;

/// What the gate remembers of one registered caller.
struct CallerState {
	requests: TokenBucket,
	nonces: BTreeSet<u64>,
	slots: Arc<Semaphore>,
}

/// A request whose headers passed: who it claims to come from, and the slots it holds.
struct Admitted {
	method: Method,
	signed: SignedRequest,
	stake: u64,
	slots: Slots,
}

/// Failed authentications per origin, and when the map was last swept of origins whose
/// allowance is whole again.
struct Failures {
	buckets: HashMap<IpAddr, TokenBucket>,
	swept: Instant,
}

/// The origin failures are counted against: an IPv4 address, or the /64 network of an IPv6
/// one (a single host commonly holds a whole /64, and would otherwise fail from a fresh
/// address every time).
fn origin(address: IpAddr) -> IpAddr {
	match address {
		IpAddr::V4(v4) => IpAddr::V4(v4),
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => IpAddr::V4(v4),
			None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
		},
	}
}

/// The admission rules of one axon, shared by all its connections.
pub struct Gate {
	hotkey: AccountId32,
	genesis: GenesisHash,
	config: AxonConfig,
	peers: RwLock<Peers>,
	callers: Mutex<HashMap<AccountId32, CallerState>>,
	failures: Mutex<Failures>,
	staked_slots: Arc<Semaphore>,
	open_slots: Arc<Semaphore>,
}

impl Gate {
	/// The gate of the axon of `hotkey` on the chain `genesis`, serving `peers`.
	pub fn new(
		hotkey: AccountId32,
		genesis: GenesisHash,
		peers: Peers,
		config: AxonConfig,
	) -> Self {
		Self {
			hotkey,
			genesis,
			peers: RwLock::new(peers),
			callers: Mutex::new(HashMap::new()),
			failures: Mutex::new(Failures { buckets: HashMap::new(), swept: Instant::now() }),
			staked_slots: Arc::new(Semaphore::new(config.staked_requests)),
			open_slots: Arc::new(Semaphore::new(config.open_requests)),
			config,
		}
	}

	/// Replaces the registered peers, forgetting the callers that left.
	pub fn set_peers(&self, peers: Peers) {
		lock(&self.callers).retain(|hotkey, _| peers.stake(hotkey).is_some());
		*write(&self.peers) = peers;
	}

	/// The whole admission of one request: the headers, then the body, then the signature.
	/// Returns the request with its body read and its [`Caller`] among its extensions, and the
	/// slots to hold while it is served.
	async fn pass(
		&self,
		connection: Option<ConnectionInfo>,
		request: http::Request<Body>,
	) -> Result<(http::Request<Body>, Slots), Status> {
		let address = connection
			.as_ref()
			.and_then(ConnectionInfo::remote_addr)
			.map(|a| origin(a.ip()));
		self.check_address(address)?;
		let (mut parts, body) = request.into_parts();
		let admitted = self.admit(parts.uri.path(), &parts.headers);
		// A correctly signed request from a registered caller, even one refused as busy or over
		// its rate: the connection may stay open from now on.
		let authenticated = match &admitted {
			Ok(_) => true,
			Err(refusal) => refusal.code() == Code::ResourceExhausted,
		};
		if let (true, Some(connection)) = (authenticated, &connection) {
			connection.greeted();
		}
		let admitted = admitted.map_err(|refusal| self.charge(address, refusal))?;
		let frame = self
			.read_body(admitted.method, body)
			.await
			.map_err(|refusal| self.charge(address, refusal))?;
		let caller = self
			.check_body(&admitted, &frame)
			.map_err(|refusal| self.charge(address, refusal))?;
		parts.extensions.insert(caller);
		parts.extensions.insert(admitted.slots.clone());
		Ok((http::Request::from_parts(parts, Body::new(Full::new(frame))), admitted.slots))
	}

	/// Refuses an address whose failed authentications used up its allowance.
	fn check_address(&self, address: Option<IpAddr>) -> Result<(), Status> {
		let Some(address) = address else { return Ok(()) };
		let (rate, burst) = (self.config.failed_auth_per_second, self.config.failed_auth_burst);
		let exhausted = lock(&self.failures)
			.buckets
			.get_mut(&address)
			.is_some_and(|bucket| !bucket.has_token(rate, burst));
		if exhausted {
			return Err(Status::resource_exhausted(format!(
				"too many failed authentications from {address}; retry later"
			)));
		}
		Ok(())
	}

	/// Counts `refusal` against `address` if it is an authentication failure; returns it.
	fn charge(&self, address: Option<IpAddr>, refusal: Status) -> Status {
		let failed = matches!(
			refusal.code(),
			Code::Unauthenticated
				| Code::PermissionDenied
				| Code::Unimplemented
				| Code::DeadlineExceeded
				| Code::OutOfRange
				| Code::InvalidArgument
		);
		if let (true, Some(address)) = (failed, address) {
			let (rate, burst) = (self.config.failed_auth_per_second, self.config.failed_auth_burst);
			let mut failures = lock(&self.failures);
			let Failures { buckets, swept } = &mut *failures;
			// Forgetting the addresses whose allowance is whole again costs a pass over the map:
			// at most once a second, however fast failures come.
			if buckets.len() >= REMEMBERED_ADDRESSES && swept.elapsed() >= Duration::from_secs(1) {
				buckets.retain(|_, bucket| !bucket.is_full(rate, burst));
				*swept = Instant::now();
			}
			if buckets.len() < REMEMBERED_ADDRESSES {
				buckets
					.entry(address)
					.or_insert_with(|| TokenBucket::full(burst))
					.take(rate, burst);
			}
		}
		refusal
	}

	/// Every check that needs only the path and the headers; takes the request's slots.
	fn admit(&self, path: &str, headers: &http::HeaderMap) -> Result<Admitted, Status> {
		let method = Method::from_path(path)
			.ok_or_else(|| Status::unimplemented(format!("no method {path}")))?;
		let signed = SignedRequest::from_headers(headers)
			.map_err(|e| Status::unauthenticated(e.to_string()))?;
		let (stake, rate) = self.standing(method, &signed.hotkey)?;
		let now = now_nanos();
		if signed.nonce.abs_diff(now) > self.nonce_window() {
			return Err(Status::unauthenticated(format!(
				"stale nonce: {} s from this axon's clock",
				signed.nonce.abs_diff(now) / 1_000_000_000
			)));
		}
		signed
			.verify(&self.genesis, method, &self.hotkey)
			.map_err(|e| Status::unauthenticated(e.to_string()))?;
		let slots = self.take_slots(&signed, stake, rate)?;
		Ok(Admitted { method, signed, stake, slots })
	}

	/// The stake of a registered `hotkey` and the requests per second it is due, if it may call
	/// `method` at all.
	fn standing(&self, method: Method, hotkey: &AccountId32) -> Result<(u64, f64), Status> {
		let (stake, total_stake) = {
			let peers = read(&self.peers);
			let stake = peers.stake(hotkey).ok_or_else(|| {
				Status::permission_denied(format!("{} is not registered", hotkey.to_ss58check()))
			})?;
			(stake, peers.total_stake())
		};
		if method == Method::Backward && stake < self.config.min_backward_stake {
			return Err(Status::permission_denied(format!(
				"Backward needs a stake of at least {} rao; {} has {stake}",
				self.config.min_backward_stake,
				hotkey.to_ss58check()
			)));
		}
		let share = if total_stake == 0 { 0.0 } else { stake as f64 / total_stake as f64 };
		Ok((
			stake,
			(self.config.requests_per_second * share).max(self.config.min_requests_per_second),
		))
	}

	/// The caller's own slot and one of its class (staked or not), if its nonce is unseen and
	/// its rate allows another request; then charges the rate and remembers the nonce.
	fn take_slots(&self, signed: &SignedRequest, stake: u64, rate: f64) -> Result<Slots, Status> {
		let mut callers = lock(&self.callers);
		let state = callers.entry(signed.hotkey.clone()).or_insert_with(|| CallerState {
			requests: TokenBucket::full(rate.max(1.0)),
			nonces: BTreeSet::new(),
			slots: Arc::new(Semaphore::new(self.config.per_caller_requests)),
		});
		if state.nonces.contains(&signed.nonce) {
			return Err(Status::unauthenticated(format!("replayed nonce {}", signed.nonce)));
		}
		if !state.requests.has_token(rate, rate.max(1.0)) {
			return Err(Status::resource_exhausted(format!(
				"rate limited: {rate:.1} requests/s for this caller's stake"
			)));
		}
		let own_slot = state.slots.clone().try_acquire_owned().map_err(|_| {
			Status::resource_exhausted(format!(
				"busy: this caller already has {} requests in progress",
				self.config.per_caller_requests
			))
		})?;
		let (class, what) = if stake >= self.config.staked_threshold {
			(&self.staked_slots, "staked callers")
		} else {
			(&self.open_slots, "callers below the staked threshold")
		};
		let class_slot = class.clone().try_acquire_owned().map_err(|_| {
			Status::resource_exhausted(format!("busy: every slot for {what} is taken; retry later"))
		})?;
		state.requests.take(rate, rate.max(1.0));
		let oldest_fresh = now_nanos().saturating_sub(self.nonce_window());
		state.nonces = state.nonces.split_off(&oldest_fresh);
		state.nonces.insert(signed.nonce);
		Ok(Slots::new(own_slot, class_slot))
	}

	/// Reads a request body of `method` under its size limit and the read deadline.
	async fn read_body(&self, method: Method, body: Body) -> Result<Bytes, Status> {
		let limit = method.max_request_bytes();
		let read =
			tokio::time::timeout(self.config.body_timeout, Limited::new(body, limit).collect());
		match read.await {
			Ok(Ok(collected)) => Ok(collected.to_bytes()),
			Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
				Err(Status::out_of_range(format!(
					"a {} request takes at most {limit} bytes",
					method.name()
				)))
			},
			Ok(Err(error)) => {
				Err(Status::cancelled(format!("the request body broke off: {error}")))
			},
			Err(_) => Err(Status::deadline_exceeded(format!(
				"the request body took longer than {} ms to arrive",
				self.config.body_timeout.as_millis()
			))),
		}
	}

	/// Checks that `frame` is one uncompressed gRPC message, the one whose hash was signed.
	fn check_body(&self, admitted: &Admitted, frame: &Bytes) -> Result<Caller, Status> {
		let message = unframe(frame).ok_or_else(|| {
			Status::invalid_argument("the body is not one uncompressed gRPC message")
		})?;
		let signed = &admitted.signed;
		signed.check_body(message).map_err(|e| Status::unauthenticated(e.to_string()))?;
		Ok(Caller { hotkey: signed.hotkey.clone(), stake: admitted.stake })
	}

	fn nonce_window(&self) -> u64 {
		u64::try_from(self.config.nonce_window.as_nanos()).unwrap_or(u64::MAX)
	}
}

/// The tower layer that puts a [`Gate`] in front of the axon's gRPC routes.
#[derive(Clone)]
pub struct GateLayer {
	gate: Arc<Gate>,
}

impl GateLayer {
	/// The layer of `gate`.
	pub fn new(gate: Arc<Gate>) -> Self {
		Self { gate }
	}
}

impl<S> tower_layer::Layer<S> for GateLayer {
	type Service = Gated<S>;

	fn layer(&self, inner: S) -> Gated<S> {
		Gated { gate: self.gate.clone(), inner }
	}
}

/// The axon's routes behind its [`Gate`].
#[derive(Clone)]
pub struct Gated<S> {
	gate: Arc<Gate>,
	inner: S,
}

impl<S> tower_service::Service<http::Request<Body>> for Gated<S>
where
	S: tower_service::Service<http::Request<Body>, Response = http::Response<Body>>
		+ Clone
		+ Send
		+ 'static,
	S::Future: Send + 'static,
	S::Error: Send + 'static,
{
	type Response = http::Response<Body>;
	type Error = S::Error;
	type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

	fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
		self.inner.poll_ready(cx)
	}

	fn call(&mut self, request: http::Request<Body>) -> Self::Future {
		let gate = self.gate.clone();
		// The clone that was made ready is the one to call; the fresh clone stays behind.
		let fresh = self.inner.clone();
		let mut inner = std::mem::replace(&mut self.inner, fresh);
		Box::pin(async move {
			let connection = request.extensions().get::<ConnectionInfo>().cloned();
			match gate.pass(connection, request).await {
				Err(refusal) => Ok(refusal.into_http()),
				Ok((request, slots)) => {
					let deadline = Box::pin(tokio::time::sleep(gate.config.response_timeout));
					let response = inner.call(request).await?;
					Ok(response.map(|body| slots.hold(body, deadline)))
				},
			}
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn failures_are_counted_per_ipv4_address_and_per_ipv6_network() {
		let ip = |text: &str| text.parse::<IpAddr>().unwrap();
		assert_eq!(origin(ip("192.0.2.7")), ip("192.0.2.7"));
		assert_eq!(origin(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
		assert_eq!(origin(ip("2001:db8:0:1::1")), ip("2001:db8:0:1::"));
		assert_eq!(origin(ip("2001:db8:0:1:ffff:ffff:ffff:ffff")), ip("2001:db8:0:1::"));
		assert_ne!(origin(ip("2001:db8:0:2::1")), origin(ip("2001:db8:0:1::1")));
	}
}
