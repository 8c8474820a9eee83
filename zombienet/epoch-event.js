// Waits on one node for a block with the incentive pallet's `EpochCompleted` event (every
// 10 blocks on the local chain) and returns its number.
const { connect } = require('./lib.js');

async function run(nodeName, networkInfo) {
  const { nextEpoch } = await import('../e2e/lib.mjs');
  const api = await connect(networkInfo.nodesByName[nodeName].wsUri);
  const epoch = await nextEpoch(api, 0);
  console.log(`${nodeName}: EpochCompleted in block #${epoch.number}`);
  await api.disconnect();
  return epoch.number;
}

module.exports = { run };
