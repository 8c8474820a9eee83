// Waits until the node's finalized block has advanced by the number of blocks in the args
// (default 3) and returns the new finalized number.
const { connect, until } = require('./lib.js');

async function run(nodeName, networkInfo, args) {
  const api = await connect(networkInfo.nodesByName[nodeName].wsUri);
  const finalized = async () => (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
  const start = await finalized();
  const blocks = Number(args[0] ?? 3);
  const reached = await until(async () => {
    const number = await finalized();
    return number >= start + blocks ? number : undefined;
  });
  console.log(`${nodeName}: finalized #${start} -> #${reached}`);
  await api.disconnect();
  return reached;
}

module.exports = { run };
