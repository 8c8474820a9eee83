//! Hostile traffic against the axon's gate: what a flood, failed authentications, a slow sender,
//! a crowd of zero-stake registrations or a connection that says nothing gains (nothing), and
//! what the axon spends on them.

use std::{
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use crate::common::{
	account, forward_request, key, raw_client, signed, start, start_with, SlowModel, CHAIN, D,
};
use bittensor_neuron::net::{
	auth::{now_nanos, sign_request},
	axon::{AxonConfig, AxonHandle, Peers},
	protocol::{
		frame,
		wire::{neuron_client::NeuronClient, BackwardRequest},
		Method, Tensor, MAX_MESSAGE_BYTES,
	},
	served_model::EmbeddingModel,
};
use bittensor_primitives::TOKEN;
use futures::StreamExt;
use prost::Message;
use tonic::{transport::Channel, Code, Request, Status};

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
	// Each admitted request holds its slot for two seconds, so that on a loaded machine every
	// call below arrives while the first ones still hold theirs (with a short hold, slots freed
	// by finished calls admitted late arrivals, and the count of admissions measured timing).
	let axon = start_with(SlowModel { delay: Duration::from_secs(2) }, config, peers).await;
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
