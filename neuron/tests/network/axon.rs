//! The axon over loopback: a signed request from a registered peer answered, and every refusal
//! it makes with its status (bad signature, replay, stale nonce, unregistered caller, garbage,
//! NaN and oversized tensors, overload, a slow model, the stake-weighted rate limit); a caller
//! that gives up holding its slot while the model works; a shutdown within its grace.

use std::time::{Duration, Instant};

use crate::common::{account, forward_request, key, raw_client, signed, start, SlowModel, D};
use bittensor_neuron::net::{
	auth::now_nanos,
	axon::{AxonConfig, AxonHandle, Peers},
	protocol::{
		wire::{BackwardRequest, ForwardRequest},
		Dtype, Method, Tensor, MAX_MESSAGE_BYTES,
	},
	served_model::{EmbeddingModel, Model},
};
use tonic::{Code, Request, Status};

/// The status `axon` refuses `request` with.
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
