//! Endpoints: `serve_axon` and the address rules it enforces.

use crate::*;
use frame_support::{ensure, pallet_prelude::DispatchResult};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_serve_axon(
		hotkey: T::AccountId,
		ip: u128,
		port: u16,
		ip_type: u8,
		protocol: u8,
		version: u32,
	) -> DispatchResult {
		let uid = Uids::<T>::get(&hotkey).ok_or(Error::<T>::NotRegistered)?;
		ensure!(ip_type == IP_V4 || ip_type == IP_V6, Error::<T>::InvalidIpType);
		ensure!(port != 0, Error::<T>::InvalidPort);
		ensure!(is_servable(ip, ip_type, AllowLoopback::<T>::get()), Error::<T>::InvalidIpAddress);
		let block = frame_system::Pallet::<T>::block_number();
		Axons::<T>::insert(uid, AxonInfo { block, version, ip, port, ip_type, protocol });
		Self::deposit_event(Event::AxonServed { uid, hotkey });
		Ok(())
	}
}

/// Whether peers can reach `ip`: not unspecified, broadcast or multicast, within range for
/// its type, and loopback only when `allow_loopback`. An IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`) follows the IPv4 rules, so `::ffff:127.0.0.1` is loopback.
pub fn is_servable(ip: u128, ip_type: u8, allow_loopback: bool) -> bool {
	match ip_type {
		IP_V4 => u32::try_from(ip).is_ok_and(|v4| is_servable_v4(v4, allow_loopback)),
		IP_V6 => match ipv4_mapped(ip) {
			Some(v4) => is_servable_v4(v4, allow_loopback),
			None => {
				let unspecified = ip == 0;
				let loopback = ip == 1;
				let multicast = ip.checked_shr(120) == Some(0xff);
				!(unspecified || multicast || (loopback && !allow_loopback))
			},
		},
		_ => false,
	}
}

/// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), if `ip` is one.
fn ipv4_mapped(ip: u128) -> Option<u32> {
	(ip.checked_shr(32) == Some(0xffff)).then(|| u32::try_from(ip & u128::from(u32::MAX)).ok())?
}

/// The IPv4 rules of [`is_servable`].
fn is_servable_v4(v4: u32, allow_loopback: bool) -> bool {
	let first = v4.to_be_bytes().first().copied().unwrap_or(0);
	let unspecified = v4 == 0 || first == 0;
	let broadcast = v4 == u32::MAX;
	let multicast = (224..=239).contains(&first);
	let loopback = first == 127;
	!(unspecified || broadcast || multicast || (loopback && !allow_loopback))
}
