// Helpers shared by the end-to-end scripts.

import { stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';

/** Exits the process with a message if the script is still running after `ms`. */
export function exitAfter(ms, name) {
  return setTimeout(() => {
    console.error(`${name}: timed out after ${ms / 1000} s`);
    process.exit(1);
  }, ms);
}

/** Signs (with `options`, such as `{ era: 0 }`) and submits `tx`, resolving with
 * `{ blockHash, events }` once it is in a block; rejects with the module error's name (e.g.
 * `incentive.DuplicateUids`) if it failed. */
export function submit(api, tx, signer, options = {}) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, options, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        const reason = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
        reject(new Error(`extrinsic failed: ${reason}`));
      } else if (status.isInBlock) {
        resolve({ blockHash: status.asInBlock, events });
      } else if (status.isDropped || status.isInvalid || status.isUsurped) {
        reject(new Error(`transaction ${status.type}`));
      }
    }).catch(reject);
  });
}

/** Resolves with `{ number, hash, parentHash, data }` of the first block after `afterBlock`
 * whose events hold `Incentive.EpochCompleted` (`data`: that event's block, loss, minted). */
export function nextEpoch(api, afterBlock) {
  return new Promise((resolve, reject) => {
    api.rpc.chain
      .subscribeNewHeads(async (header) => {
        const number = header.number.toNumber();
        if (number <= afterBlock) return;
        const records = await (await api.at(header.hash)).query.system.events();
        const epoch = records.find(({ event }) => api.events.incentive.EpochCompleted.is(event));
        if (epoch) resolve({ number, hash: header.hash, parentHash: header.parentHash, data: epoch.event.data });
      })
      .catch(reject);
  });
}

/** The hotkey's proof that `coldkey` may register it on `api`'s chain: its sr25519 signature
 * over `bittensor/register`, the coldkey's 32 bytes and the genesis hash, as `register` takes
 * it (a `MultiSignature`). */
export function registrationProof(api, coldkey, hotkey) {
  const message = u8aConcat(stringToU8a('bittensor/register'), coldkey.publicKey, api.genesisHash);
  return { Sr25519: u8aToHex(hotkey.sign(message)) };
}

/** Each coldkey funds its hotkey's fees (10 TAO), registers it and stakes `stake` rao on it,
 * all coldkeys in parallel; resolves with the hotkeys' uids. */
export async function registerPeers(api, coldkeys, hotkeys, stake) {
  const fees = 10n * 10n ** 9n;
  await Promise.all(
    coldkeys.map(async (coldkey, i) => {
      await submit(api, api.tx.balances.transferKeepAlive(hotkeys[i].address, fees), coldkey);
      const proof = registrationProof(api, coldkey, hotkeys[i]);
      await submit(api, api.tx.incentive.register(hotkeys[i].address, proof), coldkey);
      await submit(api, api.tx.incentive.addStake(hotkeys[i].address, stake), coldkey);
    }),
  );
  return Promise.all(hotkeys.map(async (hotkey) => (await api.query.incentive.uids(hotkey.address)).unwrap().toNumber()));
}

/** Runs `main`, exiting 0 on success and 1 (with the error) on failure. */
export function run(main, timer, name) {
  main()
    .then(() => {
      clearTimeout(timer);
      process.exit(0);
    })
    .catch((error) => {
      console.error(`${name} failed:`, error);
      process.exit(1);
    });
}
