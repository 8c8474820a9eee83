// Waits on one node for a block with the incentive pallet's `EpochCompleted` event (every
// 10 blocks on the local chain) and returns its number.
const { connect, nextEpoch } = require('./lib.js');

async function run(nodeName, networkInfo) {
  const api = await connect(networkInfo.nodesByName[nodeName].wsUri);
  const epoch = await nextEpoch(api, 0);
  console.log(`${nodeName}: EpochCompleted in block #${epoch.number}`);
  await api.disconnect();
  return epoch.number;
}

module.exports = { run };
