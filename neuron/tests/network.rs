//! The axon and the dendrite over loopback: every refusal the axon makes (bad signature,
//! replay, stale nonce, unregistered caller, oversized message, garbage and NaN tensors,
//! overload, rate limit, slow model), and a dendrite that masks broken or stalling peers
//! without waiting on them past its deadline; an echo that serves a disguised copy of another
//! peer through its own dendrite.

use std::{
	net::SocketAddr,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use bittensor_neuron::net::{
	auth::{now_nanos, sign_request, GenesisHash},
	axon::{self, AxonConfig, AxonHandle, Peers},
	dendrite::{Dendrite, Outcome, PeerEndpoint, RemotePeer},
	protocol::{
		frame,
		wire::{
			neuron_client::NeuronClient, neuron_server, BackwardRequest, BackwardResponse,
			ForwardRequest, ForwardResponse,
		},
		Dtype, Method, Tensor, MAX_MESSAGE_BYTES, REPRESENTATION_DIM,
	},
	served_model::{EmbeddingModel, Model, ModelError},
};
use bittensor_primitives::TOKEN;
use futures::StreamExt;
use prost::Message;
use sp_core::{crypto::AccountId32, sr25519, Pair};
use tonic::{transport::Channel, Code, Request, Status};

const D: usize = REPRESENTATION_DIM;
/// The chain every request in these tests is signed for.
const CHAIN: GenesisHash = [42; 32];

fn key(uri: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(uri, None).unwrap()
}

fn account(pair: &sr25519::Pair) -> AccountId32 {
	AccountId32::from(pair.public())
}

fn loopback() -> SocketAddr {
	"127.0.0.1:0".parse().unwrap()
}

/// An axon for `//Server` that knows `//Client` (and `//Other`) as registered peers.
async fn start<M: Model>(model: M, config: AxonConfig) -> AxonHandle {
	let peers = Peers::new([
		(account(&key("//Client")), 100 * TOKEN),
		(account(&key("//Other")), 100 * TOKEN),
	]);
	start_with(model, config, peers).await
}

async fn start_with<M: Model>(model: M, config: AxonConfig, peers: Peers) -> AxonHandle {
	axon::serve(account(&key("//Server")), CHAIN, model, peers, config, loopback())
		.await
		.unwrap()
}

async fn raw_client(axon: &AxonHandle) -> NeuronClient<Channel> {
	NeuronClient::connect(format!("http://{}", axon.local_addr))
		.await
		.unwrap()
		.max_encoding_message_size(usize::MAX)
		.max_decoding_message_size(usize::MAX)
}

/// `message` signed by `signer` for the server with `nonce`.
fn signed<T: Message>(signer: &str, method: Method, message: T, nonce: u64) -> Request<T> {
	let body = message.encode_to_vec();
	let mut request = Request::new(message);
	sign_request(
		request.metadata_mut(),
		&key(signer),
		&CHAIN,
		method,
		&account(&key("//Server")),
		nonce,
		&body,
	);
	request
}

fn forward_request(tokens: &[i64], batch: usize, seq: usize) -> ForwardRequest {
	ForwardRequest { tokens: Some(Tensor::from_tokens(tokens, batch, seq)) }
}

async fn forward_status(axon: &AxonHandle, request: Request<ForwardRequest>) -> Status {
	raw_client(axon).await.forward(request).await.expect_err("the axon refuses")
}

#[tokio::test]
async fn a_signed_request_from_a_registered_peer_is_answered() {
	let axon = start(EmbeddingModel::new(5), AxonConfig::default()).await;
	let response = raw_client(&axon)
		.await
		.forward(signed(
			"//Client",
			Method::Forward,
			forward_request(&[1, 2, 3, 4], 2, 2),
			now_nanos(),
		))
		.await
		.unwrap()
		.into_inner();
	let values = response.representation.unwrap().representation("out", 2, 2).unwrap();
	assert_eq!(values, EmbeddingModel::new(5).forward(&[1, 2, 3, 4], 2, 2).unwrap());
	let grad = Tensor::from_f32(&vec![0.5; 4 * D], &[2, 2, D]);
	let backward = BackwardRequest {
		tokens: Some(Tensor::from_tokens(&[1, 2, 3, 4], 2, 2)),
		grad: Some(grad),
	};
	raw_client(&axon)
		.await
		.backward(signed("//Client", Method::Backward, backward, now_nanos()))
		.await
		.unwrap();
	axon.shutdown().await.unwrap();
}

#[tokio::test]
async fn unsigned_forged_replayed_and_stale_requests_are_unauthenticated() {
	let axon = start(EmbeddingModel::new(5), AxonConfig::default()).await;
	let unsigned = forward_status(&axon, Request::new(forward_request(&[1], 1, 1))).await;
	assert_eq!(unsigned.code(), Code::Unauthenticated);
	assert!(unsigned.message().contains("bt-hotkey"), "{unsigned:?}");

	// Signed over one body, sent with another.
	let mut forged = signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos());
	*forged.get_mut() = forward_request(&[2], 1, 1);
	let status = forward_status(&axon, forged).await;
	assert_eq!(
		(status.code(), status.message()),
		(Code::Unauthenticated, "the body does not match its signed hash")
	);

	// Signed for Backward, sent to Forward.
	let wrong_method =
		signed("//Client", Method::Backward, forward_request(&[1], 1, 1), now_nanos());
	assert_eq!(forward_status(&axon, wrong_method).await.code(), Code::Unauthenticated);

	let nonce = now_nanos();
	let mut client = raw_client(&axon).await;
	client
		.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), nonce))
		.await
		.unwrap();
	let replay = client
		.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), nonce))
		.await
		.unwrap_err();
	assert_eq!(replay.code(), Code::Unauthenticated);
	assert!(replay.message().contains("replayed nonce"), "{replay:?}");

	let ten_minutes_ago = now_nanos() - 600_000_000_000;
	let stale = forward_status(
		&axon,
		signed("//Client", Method::Forward, forward_request(&[1], 1, 1), ten_minutes_ago),
	)
	.await;
	assert_eq!(stale.code(), Code::Unauthenticated);
	assert!(stale.message().contains("stale nonce"), "{stale:?}");
	axon.shutdown().await.unwrap();
}

#[tokio::test]
async fn unregistered_callers_are_denied() {
	let axon = start(EmbeddingModel::new(5), AxonConfig::default()).await;
	let status = forward_status(
		&axon,
		signed("//Stranger", Method::Forward, forward_request(&[1], 1, 1), now_nanos()),
	)
	.await;
	assert_eq!(status.code(), Code::PermissionDenied);
	assert!(status.message().contains("is not registered"), "{status:?}");
	// Registered later, through a newer metagraph, it is served.
	axon.set_peers(Peers::new([(account(&key("//Stranger")), 1)]));
	raw_client(&axon)
		.await
		.forward(signed("//Stranger", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
		.await
		.unwrap();
	axon.shutdown().await.unwrap();
}

#[tokio::test]
async fn garbage_nan_and_oversized_tensors_are_refused() {
	let axon = start(EmbeddingModel::new(5), AxonConfig::default()).await;
	let bad_requests = [
		ForwardRequest { tokens: None },
		ForwardRequest { tokens: Some(Tensor { dtype: 99, shape: vec![1, 1], data: vec![0; 8] }) },
		ForwardRequest {
			tokens: Some(Tensor {
				dtype: Dtype::Int64.into(),
				shape: vec![1, 2],
				data: vec![0; 7],
			}),
		},
		ForwardRequest {
			tokens: Some(Tensor { dtype: Dtype::Int64.into(), shape: vec![2], data: vec![0; 16] }),
		},
		forward_request(&[300], 1, 1), // outside the byte vocabulary
	];
	for request in bad_requests {
		let status = forward_status(
			&axon,
			signed("//Client", Method::Forward, request.clone(), now_nanos()),
		)
		.await;
		assert_eq!(status.code(), Code::InvalidArgument, "{request:?}: {status:?}");
	}

	let mut grad = vec![0.0; D];
	grad[3] = f32::NAN;
	let nan = BackwardRequest {
		tokens: Some(Tensor::from_tokens(&[1], 1, 1)),
		grad: Some(Tensor::from_f32(&grad, &[1, 1, D])),
	};
	let status = raw_client(&axon)
		.await
		.backward(signed("//Client", Method::Backward, nan, now_nanos()))
		.await
		.unwrap_err();
	assert_eq!(status.code(), Code::InvalidArgument);
	assert!(status.message().contains("NaN"), "{status:?}");

	let tokens = MAX_MESSAGE_BYTES / (D * 4) + 1;
	let huge = BackwardRequest {
		tokens: Some(Tensor::from_tokens(&vec![1; tokens], tokens, 1)),
		grad: Some(Tensor::from_f32(&vec![0.0; tokens * D], &[tokens, 1, D])),
	};
	let status = raw_client(&axon)
		.await
		.backward(signed("//Client", Method::Backward, huge, now_nanos()))
		.await
		.unwrap_err();
	assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
	axon.shutdown().await.unwrap();
}

/// A model that takes `delay` for every forward.
struct SlowModel {
	delay: Duration,
}

impl Model for SlowModel {
	fn forward(&self, tokens: &[i64], _: usize, _: usize) -> Result<Vec<f32>, ModelError> {
		std::thread::sleep(self.delay);
		Ok(vec![0.0; tokens.len() * D])
	}
}

#[tokio::test]
async fn a_busy_model_sheds_load_and_a_slow_one_times_out() {
	let config = AxonConfig { max_in_flight: 1, ..AxonConfig::default() };
	let axon = start(SlowModel { delay: Duration::from_millis(500) }, config).await;
	let (mut first, mut second) = (raw_client(&axon).await, raw_client(&axon).await);
	let busy = first.forward(signed(
		"//Client",
		Method::Forward,
		forward_request(&[1], 1, 1),
		now_nanos(),
	));
	let shed = async {
		tokio::time::sleep(Duration::from_millis(100)).await;
		second
			.forward(signed("//Other", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
			.await
	};
	let (busy, shed) = tokio::join!(busy, shed);
	busy.unwrap();
	let status = shed.unwrap_err();
	assert_eq!(status.code(), Code::ResourceExhausted);
	assert!(status.message().contains("overloaded"), "{status:?}");
	axon.shutdown().await.unwrap();

	let config = AxonConfig { model_timeout: Duration::from_millis(100), ..AxonConfig::default() };
	let axon = start(SlowModel { delay: Duration::from_millis(400) }, config).await;
	let status = forward_status(
		&axon,
		signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos()),
	)
	.await;
	assert_eq!(status.code(), Code::DeadlineExceeded);
	axon.shutdown().await.unwrap();
}

#[tokio::test]
async fn callers_are_rate_limited_by_stake() {
	// 10 requests/s shared by stake: //Client and //Other hold half each, so 5/s apiece, and a
	// burst of 5. A caller with more stake gets proportionally more.
	let config = AxonConfig {
		requests_per_second: 10.0,
		min_requests_per_second: 0.5,
		..AxonConfig::default()
	};
	let axon = start(EmbeddingModel::new(5), config).await;
	let mut client = raw_client(&axon).await;
	let mut served = 0;
	let mut limited = None;
	for _ in 0..20 {
		match client
			.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
			.await
		{
			Ok(_) => served += 1,
			Err(status) => {
				limited = Some(status);
				break;
			},
		}
	}
	let status = limited.expect("the caller is limited within 20 requests");
	assert_eq!(status.code(), Code::ResourceExhausted);
	assert!(status.message().contains("rate limited: 5.0 requests/s"), "{status:?}");
	assert!((5..=6).contains(&served), "served {served}");
	// The other caller has its own bucket.
	client
		.forward(signed("//Other", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
		.await
		.unwrap();
	axon.shutdown().await.unwrap();
}

/// A peer that answers Forward with `reply`, or never, if `stall`.
#[derive(Clone)]
struct BrokenPeer {
	reply: Tensor,
	stall: bool,
	calls: Arc<Mutex<usize>>,
}

#[tonic::async_trait]
impl neuron_server::Neuron for BrokenPeer {
	async fn forward(
		&self,
		_: Request<ForwardRequest>,
	) -> Result<tonic::Response<ForwardResponse>, Status> {
		*self.calls.lock().unwrap() += 1;
		if self.stall {
			tokio::time::sleep(Duration::from_secs(3600)).await;
		}
		Ok(tonic::Response::new(ForwardResponse { representation: Some(self.reply.clone()) }))
	}

	async fn backward(
		&self,
		_: Request<BackwardRequest>,
	) -> Result<tonic::Response<BackwardResponse>, Status> {
		Ok(tonic::Response::new(BackwardResponse {}))
	}
}

async fn start_broken(peer: BrokenPeer) -> SocketAddr {
	let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
	let address = listener.local_addr().unwrap();
	tokio::spawn(
		tonic::transport::Server::builder()
			.add_service(neuron_server::NeuronServer::new(peer))
			.serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
	);
	address
}

#[tokio::test]
async fn the_dendrite_masks_broken_and_stalling_peers_within_its_deadline() {
	let good = start(EmbeddingModel::new(5), AxonConfig::default()).await;
	let server = account(&key("//Server"));
	let broken =
		|reply: Tensor, stall: bool| BrokenPeer { reply, stall, calls: Arc::new(Mutex::new(0)) };
	let mut nan = vec![0.0; 4 * D];
	nan[9] = f32::NAN;
	let peers = [
		good.local_addr,
		start_broken(broken(Tensor::from_f32(&nan, &[2, 2, D]), false)).await,
		start_broken(broken(Tensor::from_f32(&[0.0; 4 * 8], &[2, 2, 8]), false)).await,
		start_broken(broken(Tensor { dtype: 7, shape: vec![], data: vec![1, 2, 3] }, false)).await,
		start_broken(broken(Tensor::from_f32(&vec![0.0; 4 * D], &[2, 2, D]), true)).await,
		"127.0.0.1:1".parse().unwrap(), // nobody listens
	];
	let peers: Vec<PeerEndpoint> = peers
		.iter()
		.enumerate()
		.map(|(uid, address)| PeerEndpoint {
			uid: uid as u16,
			hotkey: server.clone(),
			address: *address,
		})
		.collect();
	let dendrite = Dendrite::new(key("//Client"), CHAIN, Duration::from_millis(800));
	let started = Instant::now();
	let results = dendrite.forward(&peers, &[1, 2, 3, 4], 2, 2).await;
	assert!(
		started.elapsed() < Duration::from_secs(3),
		"the stalling peer held the caller for {:?}",
		started.elapsed()
	);
	assert_eq!(results.mask(), vec![false, true, true, true, true, true]);
	assert_eq!(results.outcomes[0], Outcome::Success);
	assert!(
		matches!(results.outcomes[1], Outcome::InvalidResponse(_)),
		"{:?}",
		results.outcomes[1]
	);
	assert!(
		matches!(results.outcomes[2], Outcome::InvalidResponse(_)),
		"{:?}",
		results.outcomes[2]
	);
	assert!(
		matches!(results.outcomes[3], Outcome::InvalidResponse(_)),
		"{:?}",
		results.outcomes[3]
	);
	assert_eq!(results.outcomes[4], Outcome::Timeout);
	assert!(
		matches!(results.outcomes[5], Outcome::Unreachable(_) | Outcome::Timeout),
		"{:?}",
		results.outcomes[5]
	);
	for masked in &results.representations[1..] {
		assert_eq!(masked.len(), 4 * D);
		assert!(masked.iter().all(|value| *value == 0.0));
	}
	assert_eq!(
		results.representations[0],
		EmbeddingModel::new(5).forward(&[1, 2, 3, 4], 2, 2).unwrap()
	);

	let outcomes = dendrite.backward(&peers[..1], &[1, 2, 3, 4], &[vec![0.1; 4 * D]], 2, 2).await;
	assert_eq!(outcomes, vec![Outcome::Success]);
	good.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Hostile traffic: what a flood, a slow sender, a crowd of zero-stake registrations or a
// request for another chain gains (nothing), and what the axon spends on them.

/// A connection to `axon` made from the loopback address `from` (127.0.0.0/8 is all local),
/// so that one test can play callers on different machines.
async fn channel_from(axon: &AxonHandle, from: &str) -> Channel {
	tonic::transport::Endpoint::from_shared(format!("http://{}", axon.local_addr))
		.unwrap()
		.local_address(Some(from.parse().unwrap()))
		.connect()
		.await
		.unwrap()
}

/// Sends `body` to `method` over `channel` with `headers` and returns the gRPC status of the
/// answer (`Ok` when there is none: a success still streaming its message; `Unavailable` when
/// the server refused the stream or the connection).
async fn raw_call(
	channel: &mut Channel,
	method: Method,
	headers: tonic::metadata::MetadataMap,
	body: tonic::body::Body,
) -> Status {
	use tower_service::Service;
	let mut request = http::Request::builder()
		.method("POST")
		.uri(format!("http://axon/bittensor.neuron.v1.Neuron/{}", method.name()))
		.header("content-type", "application/grpc")
		.header("te", "trailers")
		.body(body)
		.unwrap();
	request.headers_mut().extend(headers.into_headers());
	futures::future::poll_fn(|cx| channel.poll_ready(cx)).await.unwrap();
	match channel.call(request).await {
		Ok(response) => {
			Status::from_header_map(response.headers()).unwrap_or_else(|| Status::ok(""))
		},
		// The server refused the stream (HTTP/2 REFUSED_STREAM) or the connection.
		Err(error) => Status::unavailable(error.to_string()),
	}
}

/// Resident memory of this process, in bytes.
fn resident_bytes() -> u64 {
	let status = std::fs::read_to_string("/proc/self/status").unwrap();
	let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
	let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
	kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unauthenticated_flood_costs_no_memory_and_starves_no_staked_caller() {
	const FLOOD: usize = 500;
	let axon = start(EmbeddingModel::new(5), AxonConfig::default()).await;
	// One 8 MiB body, shared by every flood request: the client holds it once.
	let tokens = MAX_MESSAGE_BYTES / 8 - 1024;
	let body = frame(&forward_request(&vec![1; tokens], tokens, 1).encode_to_vec());
	assert!(body.len() > 8 * 1024 * 1024);
	let mut client = raw_client(&axon).await;
	client
		.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
		.await
		.unwrap();
	let baseline = resident_bytes();

	let peak = Arc::new(Mutex::new(baseline));
	let sampling = {
		let peak = peak.clone();
		tokio::spawn(async move {
			loop {
				let now = resident_bytes();
				{
					let mut peak = peak.lock().unwrap();
					*peak = (*peak).max(now);
				}
				tokio::time::sleep(Duration::from_millis(10)).await;
			}
		})
	};
	// The staked caller's round trip before the flood, for comparison.
	let staked_call = |client: &mut NeuronClient<Channel>| {
		let request = signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos());
		let mut client = client.clone();
		async move {
			let started = Instant::now();
			client.forward(request).await.expect("the staked caller is served");
			started.elapsed()
		}
	};
	let mut quiet = Vec::new();
	for _ in 0..50 {
		quiet.push(staked_call(&mut client).await);
	}

	// Waves of FLOOD calls at once, over one connection from another address, for 2 s.
	let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
	let flood = {
		let (channel, stop, body) =
			(channel_from(&axon, "127.0.0.2").await, stop.clone(), body.clone());
		tokio::spawn(async move {
			let mut codes = Vec::new();
			while !stop.load(std::sync::atomic::Ordering::SeqCst) {
				let calls = (0..FLOOD).map(|_| {
					let (mut channel, body) = (channel.clone(), body.clone());
					async move {
						let body = tonic::body::Body::new(http_body_util::Full::new(body));
						raw_call(&mut channel, Method::Forward, Default::default(), body)
							.await
							.code()
					}
				});
				codes.extend(futures::future::join_all(calls).await);
			}
			codes
		})
	};
	// A staked caller on another machine keeps being served while the flood lasts.
	let mut flooded = Vec::new();
	let started = Instant::now();
	while started.elapsed() < Duration::from_secs(2) {
		flooded.push(staked_call(&mut client).await);
	}
	stop.store(true, std::sync::atomic::Ordering::SeqCst);
	let codes = flood.await.unwrap();
	sampling.abort();
	let growth = peak.lock().unwrap().saturating_sub(baseline);
	let median = |times: &mut Vec<Duration>| {
		times.sort();
		times[times.len() / 2].as_secs_f64() * 1e3
	};
	println!(
		"{} unsigned {} MiB Forward calls in 2 s, {FLOOD} at a time: resident memory {:.0} MB, \
		 peak growth {:.1} MB; a staked caller's round trip {:.2} ms (median of {}) against \
		 {:.2} ms before the flood",
		codes.len(),
		body.len() >> 20,
		baseline as f64 / 1e6,
		growth as f64 / 1e6,
		median(&mut flooded),
		flooded.len(),
		median(&mut quiet)
	);
	assert!(codes.len() >= FLOOD);
	assert!(
		codes.iter().all(|code| matches!(
			code,
			Code::Unauthenticated | Code::ResourceExhausted | Code::Unavailable
		)),
		"{codes:?}"
	);
	let refused = |wanted: Code| codes.iter().filter(|code| **code == wanted).count();
	println!(
		"flood answers: {} unauthenticated, {} refused unread for the address's failures, {} \
		 streams or connections refused by HTTP/2",
		refused(Code::Unauthenticated),
		refused(Code::ResourceExhausted),
		refused(Code::Unavailable)
	);
	assert!(growth < 100_000_000, "resident memory grew by {growth} bytes");
	axon.shutdown().await.unwrap();
}

#[tokio::test]
async fn failed_authentications_are_limited_per_address() {
	let config = AxonConfig {
		failed_auth_burst: 3.0,
		failed_auth_per_second: 0.01,
		..AxonConfig::default()
	};
	let axon = start(EmbeddingModel::new(5), config).await;
	let mut attacker = NeuronClient::new(channel_from(&axon, "127.0.0.3").await);
	for _ in 0..3 {
		let status = attacker.forward(Request::new(forward_request(&[1], 1, 1))).await.unwrap_err();
		assert_eq!(status.code(), Code::Unauthenticated);
	}
	// Even a good request from that address is refused unread now; another address is served.
	let status = attacker
		.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
		.await
		.unwrap_err();
	assert_eq!(status.code(), Code::ResourceExhausted);
	assert!(status.message().contains("too many failed authentications"), "{status:?}");
	raw_client(&axon)
		.await
		.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
		.await
		.unwrap();
	axon.shutdown().await.unwrap();
}

#[tokio::test]
async fn slow_senders_are_cut_off_and_impostors_refused_before_their_bodies() {
	let config = AxonConfig {
		body_timeout: Duration::from_millis(300),
		per_caller_requests: 1,
		..AxonConfig::default()
	};
	let axon = start(EmbeddingModel::new(5), config).await;
	let message = forward_request(&[1, 2, 3, 4], 2, 2).encode_to_vec();
	let server = account(&key("//Server"));
	// Half the body now, the rest in an hour.
	let trickle = || {
		let framed = frame(&message);
		let (first, rest) = (framed.slice(..4), framed.slice(4..));
		let chunks =
			futures::stream::iter([(Duration::ZERO, first), (Duration::from_secs(3600), rest)])
				.then(|(delay, chunk)| async move {
					tokio::time::sleep(delay).await;
					Ok::<_, std::convert::Infallible>(http_body::Frame::data(chunk))
				});
		tonic::body::Body::new(http_body_util::StreamBody::new(chunks))
	};
	let headers = |signer: &str| {
		let mut headers = tonic::metadata::MetadataMap::new();
		sign_request(
			&mut headers,
			&key(signer),
			&CHAIN,
			Method::Forward,
			&server,
			now_nanos(),
			&message,
		);
		headers
	};
	let mut channel = channel_from(&axon, "127.0.0.1").await;

	// An impostor naming //Client's hotkey, signing with its own key, is refused on its
	// headers: it never holds //Client's one slot while it trickles its body.
	let mut forged = headers("//Stranger");
	forged.insert("bt-hotkey", headers("//Client").get("bt-hotkey").unwrap().clone());
	let started = Instant::now();
	let status = raw_call(&mut channel, Method::Forward, forged, trickle()).await;
	assert_eq!((status.code(), status.message()), (Code::Unauthenticated, "bad signature"));
	assert!(started.elapsed() < Duration::from_millis(300), "{:?}", started.elapsed());

	// The caller itself, trickling, is cut off at the deadline.
	let started = Instant::now();
	let status = raw_call(&mut channel, Method::Forward, headers("//Client"), trickle()).await;
	assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
	assert!(status.message().contains("took longer than 300 ms"), "{status:?}");
	assert!(started.elapsed() < Duration::from_secs(5), "cut off after {:?}", started.elapsed());
	axon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zero_stake_callers_cannot_crowd_out_staked_ones() {
	let config = AxonConfig {
		open_requests: 4,
		staked_requests: 8,
		per_caller_requests: 2,
		max_in_flight: 16,
		..AxonConfig::default()
	};
	let crowd: Vec<String> = (0..12).map(|i| format!("//Zero{i}")).collect();
	let peers = Peers::new(
		crowd
			.iter()
			.map(|uri| (account(&key(uri)), 0))
			.chain([(account(&key("//Client")), 100 * TOKEN)]),
	);
	let axon = start_with(SlowModel { delay: Duration::from_millis(300) }, config, peers).await;
	let channel = raw_client(&axon).await;
	let call = |signer: String| {
		let mut client = channel.clone();
		async move {
			client
				.forward(signed(&signer, Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
				.await
				.map(|_| ())
		}
	};
	// Each of 12 zero-stake callers sends two at once, beside two of the staked caller's.
	let crowd_calls = crowd.iter().flat_map(|uri| [call(uri.clone()), call(uri.clone())]);
	let (crowd_results, staked_results) = tokio::join!(
		futures::future::join_all(crowd_calls),
		futures::future::join_all([call("//Client".into()), call("//Client".into())]),
	);
	for result in staked_results {
		result.expect("the staked caller is served");
	}
	let admitted = crowd_results.iter().filter(|result| result.is_ok()).count();
	assert!(admitted <= 4, "{admitted} zero-stake requests admitted");
	let refused = crowd_results.iter().filter_map(|result| result.as_ref().err());
	for status in refused {
		assert_eq!(status.code(), Code::ResourceExhausted);
		assert!(status.message().contains("callers below the staked threshold"), "{status:?}");
	}
	// A staked caller is held to its own share too: a third request at once is refused.
	let three = futures::future::join_all((0..3).map(|_| call("//Client".into()))).await;
	let refused: Vec<_> = three.iter().filter_map(|result| result.as_ref().err()).collect();
	assert_eq!(refused.len(), 1, "{three:?}");
	assert!(refused[0].message().contains("already has 2 requests"), "{refused:?}");
	// Backward needs stake: a zero-stake caller is refused before its gradient is read.
	let backward = BackwardRequest {
		tokens: Some(Tensor::from_tokens(&[1], 1, 1)),
		grad: Some(Tensor::from_f32(&[0.0; D], &[1, 1, D])),
	};
	let status = raw_client(&axon)
		.await
		.backward(signed("//Zero0", Method::Backward, backward, now_nanos()))
		.await
		.unwrap_err();
	assert_eq!(status.code(), Code::PermissionDenied);
	assert!(status.message().contains("Backward needs a stake"), "{status:?}");
	axon.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_signed_for_another_chain_is_void() {
	let axon = start(EmbeddingModel::new(5), AxonConfig::default()).await;
	let peer = PeerEndpoint { uid: 0, hotkey: account(&key("//Server")), address: axon.local_addr };
	let elsewhere = Dendrite::new(key("//Client"), [43; 32], Duration::from_secs(5));
	let results = elsewhere.forward(std::slice::from_ref(&peer), &[1], 1, 1).await;
	assert_eq!(
		results.outcomes,
		vec![Outcome::Refused { code: Code::Unauthenticated, message: "bad signature".into() }]
	);
	axon.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_dendrite_drops_connections_to_peers_that_left() {
	let (first, second) = (
		start(EmbeddingModel::new(1), AxonConfig::default()).await,
		start(EmbeddingModel::new(2), AxonConfig::default()).await,
	);
	let peers: Vec<PeerEndpoint> = [&first, &second]
		.iter()
		.enumerate()
		.map(|(uid, axon)| PeerEndpoint {
			uid: uid as u16,
			hotkey: account(&key("//Server")),
			address: axon.local_addr,
		})
		.collect();
	let dendrite = Dendrite::new(key("//Client"), CHAIN, Duration::from_secs(5));
	let results = dendrite.forward(&peers, &[1], 1, 1).await;
	assert_eq!(results.outcomes, vec![Outcome::Success, Outcome::Success]);
	assert_eq!(dendrite.connections(), 2);
	dendrite.keep_only(&peers[..1]);
	assert_eq!(dendrite.connections(), 1);
	first.shutdown().await.unwrap();
	second.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_axon_stops_within_its_grace_while_a_caller_holds_a_request_open() {
	let config = AxonConfig {
		shutdown_grace: Duration::from_millis(300),
		model_timeout: Duration::from_secs(60),
		..AxonConfig::default()
	};
	let axon = start(SlowModel { delay: Duration::from_secs(5) }, config).await;
	let mut client = raw_client(&axon).await;
	let pending = tokio::spawn(async move {
		client
			.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
			.await
	});
	tokio::time::sleep(Duration::from_millis(200)).await;
	let started = Instant::now();
	axon.shutdown().await.unwrap();
	assert!(started.elapsed() < Duration::from_secs(2), "stopped after {:?}", started.elapsed());
	// The caller's connection was cut, not left open behind the stopped server.
	let answer = tokio::time::timeout(Duration::from_secs(2), pending).await;
	assert!(matches!(answer, Ok(Ok(Err(_)))), "{answer:?}");
}

#[tokio::test]
async fn a_caller_that_gives_up_keeps_its_slot_until_the_model_is_done() {
	let config = AxonConfig { per_caller_requests: 1, ..AxonConfig::default() };
	let axon = start(SlowModel { delay: Duration::from_millis(800) }, config).await;
	let mut client = raw_client(&axon).await;
	let mut impatient =
		signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos());
	impatient.set_timeout(Duration::from_millis(100));
	assert!(client.forward(impatient).await.is_err(), "gave up after 100 ms");
	// The model still works on it: the caller's one slot is taken ...
	let status = client
		.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
		.await
		.unwrap_err();
	assert_eq!(status.code(), Code::ResourceExhausted);
	assert!(status.message().contains("already has 1 requests"), "{status:?}");
	// ... until the model is done with it.
	tokio::time::sleep(Duration::from_millis(1000)).await;
	client
		.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
		.await
		.unwrap();
	axon.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_connection_that_sends_no_request_is_closed() {
	use tokio::io::AsyncReadExt;
	let config =
		AxonConfig { first_request_timeout: Duration::from_millis(300), ..AxonConfig::default() };
	let axon = start(EmbeddingModel::new(5), config).await;
	let mut silent = tokio::net::TcpStream::connect(axon.local_addr).await.unwrap();
	let started = Instant::now();
	// The server's own HTTP/2 preface may come first; then the connection ends.
	let mut buffer = [0u8; 1024];
	while let Ok(read) = silent.read(&mut buffer).await {
		if read == 0 {
			break;
		}
		assert!(started.elapsed() < Duration::from_secs(5), "still open");
	}
	let closed_after = started.elapsed();
	assert!(
		closed_after >= Duration::from_millis(250) && closed_after < Duration::from_secs(3),
		"closed after {closed_after:?}"
	);
	// Refused requests do not keep a connection open either: one HTTP/2 connection, by hand.
	let stream = tokio::net::TcpStream::connect(axon.local_addr).await.unwrap();
	let (mut sender, connection) = hyper::client::conn::http2::handshake(
		hyper_util::rt::TokioExecutor::new(),
		hyper_util::rt::TokioIo::new(stream),
	)
	.await
	.unwrap();
	let connection = tokio::spawn(connection);
	let unsigned = http::Request::post(format!(
		"http://{}/bittensor.neuron.v1.Neuron/Forward",
		axon.local_addr
	))
	.header("content-type", "application/grpc")
	.body(http_body_util::Full::new(frame(&forward_request(&[1], 1, 1).encode_to_vec())))
	.unwrap();
	let response = sender.send_request(unsigned).await.unwrap();
	let status = Status::from_header_map(response.headers()).unwrap();
	assert_eq!(status.code(), Code::Unauthenticated);
	let ended = tokio::time::timeout(Duration::from_secs(3), connection).await;
	assert!(ended.is_ok(), "the axon kept a connection that carried only a refused request");
	// A connection that sends its request in time is served, also once the deadline has passed.
	let mut client = raw_client(&axon).await;
	for _ in 0..2 {
		client
			.forward(signed("//Client", Method::Forward, forward_request(&[1], 1, 1), now_nanos()))
			.await
			.unwrap();
		tokio::time::sleep(Duration::from_millis(400)).await;
	}
	axon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_serves_a_rotated_copy_of_another_peer_and_the_canaries_find_it() {
	use bittensor_neuron::{
		nucleus::served::{Disguise, ServedNucleus, Serving},
		scoring::similarity::Fingerprint,
	};
	let original = start(EmbeddingModel::new(8), AxonConfig::default()).await;
	let original_peer =
		PeerEndpoint { uid: 0, hotkey: account(&key("//Server")), address: original.local_addr };
	// The echo calls the original as //Other, a registered peer of it.
	let echo =
		ServedNucleus::new(Serving::Echo { uid: 0, disguise: Disguise::Rotated }, 256, None, 3);
	let upstream = Arc::new(Dendrite::new(key("//Other"), CHAIN, Duration::from_secs(5)));
	let located = original_peer.clone();
	let remote =
		RemotePeer::new(upstream, tokio::runtime::Handle::current(), move || Some(located.clone()));
	echo.set_upstream(Arc::new(remote));
	let peers = Peers::new([(account(&key("//Client")), 100 * TOKEN)]);
	let echo_axon =
		axon::serve(account(&key("//Echo")), CHAIN, echo, peers, AxonConfig::default(), loopback())
			.await
			.unwrap();
	let echo_peer =
		PeerEndpoint { uid: 1, hotkey: account(&key("//Echo")), address: echo_axon.local_addr };

	let tokens: Vec<i64> = (0..64).map(|t| (t * 7) % 256).collect();
	let client = Dendrite::new(key("//Client"), CHAIN, Duration::from_secs(5));
	let results = client.forward(&[original_peer, echo_peer.clone()], &tokens, 4, 16).await;
	assert_eq!(results.mask(), [false, false], "{:?}", results.outcomes);
	let (first, copy) = (&results.representations[0], &results.representations[1]);
	assert_ne!(first, copy, "the copy is disguised");
	let similarity = Fingerprint::new(first, 64, D).similarity(&Fingerprint::new(copy, 64, D));
	assert!(similarity > 0.999, "a rotation keeps every inner product: {similarity}");

	// With the original gone, the echo has nothing to copy and says so.
	original.shutdown().await.unwrap();
	let results = client.forward(&[echo_peer], &tokens, 4, 16).await;
	assert_eq!(results.mask(), [true], "{:?}", results.outcomes);
	echo_axon.shutdown().await.unwrap();
}
