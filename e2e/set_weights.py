"""End-to-end with py-substrate-interface 1.8.1: two hotkeys registered by //Alice; the unstaked
one is refused `set_weights` (`NoValidatorPermit`); the staked one submits `set_weights` with a
duplicate uid and gets the named module error `DuplicateUids`, then a
valid row, which is read back from storage.

Usage: python set_weights.py [ws://127.0.0.1:9944]
"""

import sys

from substrateinterface import Keypair, SubstrateInterface

TOKEN = 10**9


def submit(substrate, keypair, module, function, params):
    """Signs and submits a call, returning its receipt once it is in a block."""
    call = substrate.compose_call(call_module=module, call_function=function, call_params=params)
    extrinsic = substrate.create_signed_extrinsic(call=call, keypair=keypair)
    return substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)


def succeed(substrate, keypair, module, function, params):
    """Submits a call and fails the test unless it succeeded."""
    receipt = submit(substrate, keypair, module, function, params)
    assert receipt.is_success, f"{module}.{function} failed: {receipt.error_message}"
    return receipt


def registration_proof(substrate, coldkey, hotkey):
    """The hotkey's proof that `coldkey` may register it on this chain: its sr25519 signature
    over `bittensor/register`, the coldkey's 32 bytes and the genesis hash."""
    genesis = bytes.fromhex(substrate.get_block_hash(0)[2:])
    message = b"bittensor/register" + coldkey.public_key + genesis
    return {"Sr25519": "0x" + hotkey.sign(message).hex()}


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9944"
    substrate = SubstrateInterface(url=url)
    alice = Keypair.create_from_uri("//Alice")
    hotkeys = [Keypair.create_from_uri(uri) for uri in ("//Alice//py-hot-0", "//Alice//py-hot-1")]

    for hotkey in hotkeys:
        succeed(substrate, alice, "Balances", "transfer_keep_alive", {"dest": hotkey.ss58_address, "value": 10 * TOKEN})
        succeed(substrate, alice, "Incentive", "register", {"hotkey": hotkey.ss58_address, "proof": registration_proof(substrate, alice, hotkey)})
    uids = [substrate.query("Incentive", "Uids", [hotkey.ss58_address]).value for hotkey in hotkeys]
    print(f"registered uids {uids}")

    # Only validator permit holders set weights: the unstaked hotkey has none; staking on the
    # other takes a vacant permit.
    receipt = submit(substrate, hotkeys[1], "Incentive", "set_weights", {"uids": [uids[0]], "weights": [1], "version_key": 0})
    assert not receipt.is_success, "set_weights without a permit succeeded"
    assert receipt.error_message["name"] == "NoValidatorPermit", f"unexpected error {receipt.error_message}"
    print(f"no permit: {receipt.error_message['name']}")
    succeed(substrate, alice, "Incentive", "add_stake", {"hotkey": hotkeys[0].ss58_address, "amount": TOKEN})

    # A duplicate uid: the chain rejects the row with a named module error and stores nothing.
    target = uids[1]
    receipt = submit(substrate, hotkeys[0], "Incentive", "set_weights", {"uids": [target, target], "weights": [1, 2], "version_key": 0})
    assert not receipt.is_success, "set_weights with a duplicate uid succeeded"
    assert receipt.error_message["name"] == "DuplicateUids", f"unexpected error {receipt.error_message}"
    print(f"duplicate uids rejected: {receipt.error_message['name']}")
    assert substrate.query("Incentive", "Weights", [uids[0]]).value == []

    # A valid row lands in storage as (uid, weight) pairs.
    succeed(substrate, hotkeys[0], "Incentive", "set_weights", {"uids": [target], "weights": [65535], "version_key": 0})
    stored = substrate.query("Incentive", "Weights", [uids[0]]).value
    print(f"weights of uid {uids[0]} in storage: {stored}")
    assert [tuple(entry) for entry in stored] == [(target, 65535)], f"unexpected weights {stored}"
    print("python ok")


if __name__ == "__main__":
    main()
