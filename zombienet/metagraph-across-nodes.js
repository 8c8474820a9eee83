// Registers three peers, stakes, serves endpoints and sets weights through one node; after the
// next epoch, reads the metagraph at one finalized block through that node and through another
// (named in the args), through both the runtime API and the custom RPC, and checks that all four
// agree and that the epoch paid the peer the weights point at. Returns the number of peers.
const { Keyring, connect, until } = require('./lib.js');

const TOKEN = 10n ** 9n;

async function run(nodeName, networkInfo, args) {
  const { nextEpoch, registerPeers, submit } = await import('../e2e/lib.mjs');
  const writer = await connect(networkInfo.nodesByName[nodeName].wsUri);
  const reader = await connect(networkInfo.nodesByName[args[0]].wsUri);
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const coldkeys = ['//Alice', '//Bob', '//Charlie'].map((uri) => keyring.addFromUri(uri));
  const hotkeys = coldkeys.map((_, i) => keyring.addFromUri(`//zombienet//hot${i}`));

  const uids = await registerPeers(writer, coldkeys, hotkeys, 1000n * TOKEN);
  const target = uids[1];
  await Promise.all(
    hotkeys.map(async (hotkey, i) => {
      await submit(writer, writer.tx.incentive.serveAxon(0x7f000001, 9000 + i, 4, 0, 1), hotkey);
      const weightOn = uids[i] === target ? uids[0] : target;
      await submit(writer, writer.tx.incentive.setWeights([weightOn], [65535], 0), hotkey);
    }),
  );
  console.log(`${nodeName}: uids ${uids} registered, weights set on uid ${target}`);

  // An epoch that saw every weight, then the first finalized block at or after it.
  const now = (await writer.rpc.chain.getHeader()).number.toNumber();
  const first = await nextEpoch(writer, now);
  const epoch = await nextEpoch(writer, first.number);
  const hash = await until(async () => {
    const finalized = await reader.rpc.chain.getFinalizedHead();
    const number = (await reader.rpc.chain.getHeader(finalized)).number.toNumber();
    return number >= epoch.number ? finalized : undefined;
  });

  const viaCall = async (api) => JSON.stringify((await (await api.at(hash)).call.metagraphApi.metagraph()).toJSON());
  const viaRpc = async (api) => JSON.stringify((await api.rpc.metagraph.get(hash)).toJSON());
  const [writerCall, readerCall, writerRpc, readerRpc] = await Promise.all([viaCall(writer), viaCall(reader), viaRpc(writer), viaRpc(reader)]);
  if (writerCall !== readerCall) throw new Error(`runtime API: ${nodeName} and ${args[0]} disagree at ${hash}`);
  if (writerRpc !== readerRpc) throw new Error(`RPC: ${nodeName} and ${args[0]} disagree at ${hash}`);

  const metagraph = JSON.parse(readerRpc);
  const peer = metagraph.neurons[target];
  console.log(`${args[0]} at #${metagraph.block}: ${metagraph.neurons.length} peers, uid ${target} incentive ${peer.incentive}, emission ${peer.emission}`);
  if (!(peer.incentive > 0 && BigInt(peer.emission) > 0n)) throw new Error(`the epoch did not pay uid ${target}`);
  await Promise.all([writer.disconnect(), reader.disconnect()]);
  return metagraph.neurons.length;
}

module.exports = { run };
