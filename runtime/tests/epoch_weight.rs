//! The benchmarked weight of the incentive epoch, as the pallet's hook charges it, at the
//! runtime's largest metagraph: it fits in one block with room to spare, and it grows with
//! the number of weight and bond entries, not with the square of the number of peers.

use bittensor_runtime::{configs::RuntimeBlockWeights, Runtime};
use pallet_incentive::{BondsCount, PeerCount, WeightsCount};

/// Fraction of a block's reference time the epoch is charged with `peers` peers that each
/// set `per_peer` weights and hold as many bonds.
fn epoch_fraction(peers: u16, per_peer: u32) -> f64 {
	sp_io::TestExternalities::default().execute_with(|| {
		PeerCount::<Runtime>::put(peers);
		WeightsCount::<Runtime>::put(u32::from(peers) * per_peer);
		BondsCount::<Runtime>::put(u32::from(peers) * per_peer);
		let weight = pallet_incentive::Pallet::<Runtime>::epoch_weight();
		let block = RuntimeBlockWeights::get().max_block;
		weight.ref_time() as f64 / block.ref_time() as f64
	})
}

fn max_uids() -> u16 {
	u16::try_from(<Runtime as pallet_incentive::Config>::MaxUids::get())
		.expect("MaxUids fits a uid")
}

#[test]
fn epoch_at_max_uids_with_64_weights_each_fits_in_a_third_of_a_block() {
	let fraction = epoch_fraction(max_uids(), 64);
	println!(
		"epoch at {} peers × 64 weights and 64 bonds: {:.1}% of a block",
		max_uids(),
		fraction * 100.0
	);
	assert!(fraction < 1.0 / 3.0, "the epoch takes {:.1}% of a block", fraction * 100.0);
}

#[test]
fn epoch_weight_grows_with_entries_not_with_the_square_of_peers() {
	let full = epoch_fraction(max_uids(), 64);
	let sparse = epoch_fraction(max_uids(), 1);
	let half = epoch_fraction(max_uids() / 2, 64);
	assert!(full > sparse, "more entries must cost more");
	// Half the peers with the same entries per peer: about half the cost, not a quarter.
	let ratio = half / full;
	assert!((0.4..0.6).contains(&ratio), "half the metagraph costs {ratio:.2} of the full one");
}
