// Helpers of the zombienet js-scripts, which zombienet loads with `require`. They use the
// @polkadot/api of the root package.json (16.5.6, which decodes the runtime APIs from the
// metadata), not the older one zombienet bundles.
const { ApiPromise, Keyring, WsProvider } = require('@polkadot/api');

/** The node's custom RPC methods (`metagraph_*`), declared for polkadot.js. */
const rpc = require('../rpc/metagraph.json');

/** Connects to a node by its WebSocket URL, with the `metagraph_*` RPC methods. */
async function connect(wsUri) {
  return ApiPromise.create({ provider: new WsProvider(wsUri), rpc, noInitWarn: true });
}

/** Signs and submits `tx`, resolving once it is in a block; rejects with the module error's
 * name (e.g. `incentive.DuplicateUids`) if it failed. */
function submit(api, tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, dispatchError }) => {
      if (dispatchError) {
        const reason = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
        reject(new Error(`extrinsic failed: ${reason}`));
      } else if (status.isInBlock) {
        resolve(status.asInBlock);
      } else if (status.isDropped || status.isInvalid || status.isUsurped) {
        reject(new Error(`transaction ${status.type}`));
      }
    }).catch(reject);
  });
}

/** Resolves with `{ number, hash }` of the first block after `afterBlock` whose events hold
 * `Incentive.EpochCompleted`. */
function nextEpoch(api, afterBlock) {
  return new Promise((resolve, reject) => {
    api.rpc.chain
      .subscribeNewHeads(async (header) => {
        const number = header.number.toNumber();
        if (number <= afterBlock) return;
        const events = await (await api.at(header.hash)).query.system.events();
        if (events.some(({ event }) => api.events.incentive.EpochCompleted.is(event))) {
          resolve({ number, hash: header.hash });
        }
      })
      .catch(reject);
  });
}

/** Resolves once `probe()` returns a value other than `undefined`, polling every second. */
async function until(probe) {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

module.exports = { Keyring, connect, nextEpoch, submit, until };
