// Run on a node that was paused: waits until its best and finalized blocks reach where the
// node named in the args stood when the script started, and returns its finalized number.
const { connect, until } = require('./lib.js');

async function run(nodeName, networkInfo, args) {
  const node = await connect(networkInfo.nodesByName[nodeName].wsUri);
  const reference = await connect(networkInfo.nodesByName[args[0]].wsUri);
  const heights = async (api) => {
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    const finalized = (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
    return { best, finalized };
  };
  const target = await heights(reference);
  const reached = await until(async () => {
    const now = await heights(node);
    return now.best >= target.best && now.finalized >= target.finalized ? now : undefined;
  });
  console.log(`${nodeName}: best #${reached.best}, finalized #${reached.finalized} (${args[0]} was at #${target.best}, #${target.finalized})`);
  await Promise.all([node.disconnect(), reference.disconnect()]);
  return reached.finalized;
}

module.exports = { run };
