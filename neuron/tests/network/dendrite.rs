//! The dendrite over loopback: it masks broken, stalling and unreachable peers without waiting
//! on them past its deadline, is refused by an axon of another chain, and drops the connections
//! of peers that left; an echo serves a disguised copy of another peer through its own
//! dendrite, as a [`RemotePeer`]; a poisoner's answers, refused by the dendrite, still flag it
//! with the validator that asked.

use std::{
	net::SocketAddr,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use crate::common::{account, key, loopback, start, CHAIN, D};
use bittensor_neuron::net::{
	axon::{self, AxonConfig, Peers},
	dendrite::{Dendrite, Outcome, PeerEndpoint, RemotePeer},
	protocol::{
		wire::{neuron_server, BackwardRequest, BackwardResponse, ForwardRequest, ForwardResponse},
		Tensor,
	},
	served_model::{EmbeddingModel, Model},
};
use bittensor_primitives::TOKEN;
use tonic::{Code, Request, Status};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_serves_a_rotated_copy_of_another_peer_and_the_canaries_find_it() {
	use bittensor_neuron::{
		nucleus::serving::{Disguise, ServedNucleus, Serving},
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoner_refused_by_the_dendrite_is_flagged_by_the_validator() {
	use bittensor_neuron::{
		nucleus::serving::{ServedNucleus, Serving},
		scoring::{Validator, ValidatorConfig},
	};
	let honest = start(EmbeddingModel::new(8), AxonConfig::default()).await;
	let peers = Peers::new([(account(&key("//Client")), 100 * TOKEN)]);
	let poisoner = ServedNucleus::new(Serving::Poison, 256, None, 5);
	let poison_axon = axon::serve(
		account(&key("//Poison")),
		CHAIN,
		poisoner,
		peers,
		AxonConfig::default(),
		loopback(),
	)
	.await
	.unwrap();
	let endpoints = [
		PeerEndpoint { uid: 0, hotkey: account(&key("//Server")), address: honest.local_addr },
		PeerEndpoint { uid: 1, hotkey: account(&key("//Poison")), address: poison_axon.local_addr },
	];
	let text: Vec<u8> = b"to be or not to be, that is the question. ".repeat(60);
	let mut validator = Validator::new(ValidatorConfig::default(), text, 3);
	let client = Dendrite::new(key("//Client"), CHAIN, Duration::from_secs(5));
	let query = validator.next_query(&[0, 1]).expect("a query");
	let peers: Vec<PeerEndpoint> =
		query.uids.iter().map(|uid| endpoints[usize::from(*uid)].clone()).collect();
	let challenge = &query.challenge;
	let results = client.forward(&peers, &challenge.inputs, challenge.rows, challenge.seq).await;
	let poisoned = query.uids.iter().position(|uid| *uid == 1).expect("the poisoner is queried");
	assert!(results.outcomes[poisoned].broke_bounds(), "{:?}", results.outcomes);
	assert!(!results.outcomes[1 - poisoned].is_masked(), "{:?}", results.outcomes);

	let outcomes = validator.score_forward(&query, results);
	let scored = outcomes.iter().find(|o| o.uid == 1).expect("an outcome");
	assert_eq!((scored.shapley, scored.leak_gap), (0.0, None), "scored as a failure");
	assert!(validator.ledger.flagged(1), "refused at the dendrite, flagged all the same");
	assert!(!validator.ledger.flagged(0));
	honest.shutdown().await.unwrap();
	poison_axon.shutdown().await.unwrap();
}
