use super::*;
use crate::serving::is_servable;

fn ipv4(a: u8, b: u8, c: u8, d: u8) -> u128 {
	u128::from(u32::from_be_bytes([a, b, c, d]))
}

#[test]
fn serve_axon_stores_the_endpoint() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		let uid = register(1, 1_001);
		assert_ok!(IncentiveModule::serve_axon(
			RuntimeOrigin::signed(1_001),
			ipv4(8, 8, 4, 4),
			8091,
			4,
			0,
			7
		));
		let axon = Axons::<Test>::get(uid).unwrap();
		assert_eq!(
			(axon.ip, axon.port, axon.ip_type, axon.version, axon.block),
			(ipv4(8, 8, 4, 4), 8091, 4, 7, 1)
		);
		assert!(incentive_events().contains(&Event::AxonServed { uid, hotkey: 1_001 }));
	});
}

#[test]
fn serve_axon_errors() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		let serve = |hotkey, ip, port, ip_type| {
			IncentiveModule::serve_axon(RuntimeOrigin::signed(hotkey), ip, port, ip_type, 0, 1)
		};
		assert_noop!(serve(1_001, ipv4(8, 8, 8, 8), 1, 4), Error::<Test>::NotRegistered);
		register(1, 1_001);
		assert_noop!(serve(1_001, ipv4(8, 8, 8, 8), 1, 5), Error::<Test>::InvalidIpType);
		assert_noop!(serve(1_001, ipv4(8, 8, 8, 8), 0, 4), Error::<Test>::InvalidPort);
		assert_noop!(serve(1_001, ipv4(127, 0, 0, 1), 1, 4), Error::<Test>::InvalidIpAddress);
		let mapped_loopback = (0xffff << 32) | ipv4(127, 0, 0, 1);
		assert_noop!(serve(1_001, mapped_loopback, 1, 6), Error::<Test>::InvalidIpAddress);
		assert_noop!(serve(1_001, 0, 1, 4), Error::<Test>::InvalidIpAddress);
		assert_noop!(serve(1_001, 1u128 << 40, 1, 4), Error::<Test>::InvalidIpAddress);
		assert_noop!(serve(1_001, 1, 1, 6), Error::<Test>::InvalidIpAddress);
	});
}

#[test]
fn loopback_only_where_the_chain_allows_it() {
	new_test_ext(test_hyperparameters(), vec![]).execute_with(|| {
		register(1, 1_001);
		AllowLoopback::<Test>::put(true);
		assert_ok!(IncentiveModule::serve_axon(
			RuntimeOrigin::signed(1_001),
			ipv4(127, 0, 0, 1),
			9,
			4,
			0,
			1
		));
		assert_ok!(IncentiveModule::serve_axon(RuntimeOrigin::signed(1_001), 1, 9, 6, 0, 1));
	});
}

#[test]
fn address_rules() {
	assert!(is_servable(ipv4(1, 2, 3, 4), 4, false));
	assert!(!is_servable(ipv4(255, 255, 255, 255), 4, false));
	assert!(!is_servable(ipv4(224, 0, 0, 1), 4, false));
	assert!(!is_servable(ipv4(0, 1, 2, 3), 4, false));
	assert!(is_servable(0x2001_0db8 << 96, 6, false));
	assert!(!is_servable(0xff02 << 112, 6, false));
	assert!(!is_servable(1, 6, false));
	assert!(!is_servable(1, 7, true));
	// IPv4-mapped IPv6 addresses follow the IPv4 rules: ::ffff:127.0.0.1 is loopback.
	let mapped = |v4: u128| (0xffff << 32) | v4;
	assert!(!is_servable(mapped(ipv4(127, 0, 0, 1)), 6, false));
	assert!(is_servable(mapped(ipv4(127, 0, 0, 1)), 6, true));
	assert!(!is_servable(mapped(ipv4(224, 0, 0, 1)), 6, true));
	assert!(!is_servable(mapped(0), 6, true));
	assert!(is_servable(mapped(ipv4(1, 2, 3, 4)), 6, false));
}
