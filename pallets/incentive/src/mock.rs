//! A test runtime: System, Balances and the incentive pallet, with `u64` accounts.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

use crate as pallet_incentive;
use frame_support::{derive_impl, parameter_types, traits::Hooks, PalletId};
use sp_runtime::{testing::TestSignature, BuildStorage};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		IncentiveModule: pallet_incentive,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

/// Existential deposit of the test chain.
pub const EXISTENTIAL_DEPOSIT: u64 = 500;

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type ExistentialDeposit = frame_support::traits::ConstU64<EXISTENTIAL_DEPOSIT>;
}

parameter_types! {
	pub const IncentivePalletId: PalletId = PalletId(*b"bt/stake");
	pub const MaxUids: u32 = 256;
	/// Tests lower it to see the epoch cap its validators.
	pub static MaxEpochWeight: frame_support::weights::Weight =
		frame_support::weights::Weight::from_parts(2_000_000_000_000, u64::MAX);
}

impl pallet_incentive::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type PalletId = IncentivePalletId;
	type MaxUids = MaxUids;
	type MaxEpochWeight = MaxEpochWeight;
	type HotkeySignature = TestSignature;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = TestHotkeys;
}

/// The proof that lets `coldkey` register `hotkey`: the test signature names its signer.
pub fn proof(coldkey: u64, hotkey: u64) -> TestSignature {
	TestSignature(hotkey, IncentiveModule::registration_message(&coldkey))
}

/// Hotkeys for the benchmarks: any `u64` signs as itself.
#[cfg(feature = "runtime-benchmarks")]
pub struct TestHotkeys;

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64, TestSignature> for TestHotkeys {
	fn sign_with_new_hotkey(message: &[u8]) -> (u64, TestSignature) {
		(424_242, TestSignature(424_242, message.to_vec()))
	}
}

/// Balance of every endowed test account (accounts `1..=100` and `1_001..=1_100`).
pub const ENDOWMENT: u64 = 1_000_000_000_000;

/// Test externalities with hyperparameters suited to tests and endowed accounts.
pub fn new_test_ext(
	hyperparameters: crate::Hyperparameters,
	peers: Vec<(u64, u64, u64)>,
) -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=100u64).chain(1_001..=1_100).map(|account| (account, ENDOWMENT)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_incentive::GenesisConfig::<Test> { hyperparameters, allow_loopback: false, peers }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Hyperparameters for tests: no rate limits, cheap registration, tempo 10.
pub fn test_hyperparameters() -> crate::Hyperparameters {
	crate::Hyperparameters {
		tempo: 10,
		registration_cost: 1_000,
		weights_set_rate_limit: 0,
		immunity_period: 5,
		max_allowed_uids: 64,
		max_registrations_per_block: 64,
		max_registrations_per_interval: 256,
		..Default::default()
	}
}

/// Runs blocks up to and including `n`, with the pallet's `on_initialize`.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		IncentiveModule::on_initialize(next);
	}
}

/// The pallet's events, oldest first.
pub fn incentive_events() -> Vec<pallet_incentive::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::IncentiveModule(event) => Some(event),
			_ => None,
		})
		.collect()
}
