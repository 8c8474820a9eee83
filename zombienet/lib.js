// Helpers of the zombienet js-scripts, which zombienet loads with `require`. They use the
// @polkadot/api of the root package.json (16.5.6, which decodes the runtime APIs from the
// metadata), not the older one zombienet bundles. Submitting, registering and waiting for
// epochs are the end-to-end scripts' helpers: `await import('../e2e/lib.mjs')`.
const { ApiPromise, Keyring, WsProvider } = require('@polkadot/api');

/** The node's custom RPC methods (`metagraph_*`), declared for polkadot.js. */
const rpc = require('../rpc/metagraph.json');

/** Connects to a node by its WebSocket URL, with the `metagraph_*` RPC methods. */
async function connect(wsUri) {
  return ApiPromise.create({ provider: new WsProvider(wsUri), rpc, noInitWarn: true });
}

/** Resolves once `probe()` returns a value other than `undefined`, polling every second. */
async function until(probe) {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

module.exports = { Keyring, connect, until };
