// End-to-end with @polkadot/api: three coldkeys (Alice, Bob, Charlie) register a hotkey each,
// stake and serve an endpoint; every hotkey sets its weights on peer 1 (Bob's). Dave registers
// a fourth peer that sets no weights and that nobody weights. After the next epoch:
// - issuance grew by exactly the minted sum;
// - the metagraph read through the runtime API (`api.call.metagraphApi.metagraph`) and through
//   the node's custom RPC (`metagraph_get`) agree, peer by peer;
// - incentive and emission are above zero where the weights point and zero for Dave's peer.
//
// Usage: node metagraph.mjs [ws://127.0.0.1:9944]
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { exitAfter, nextEpoch, registerPeers, run, submit } from './lib.mjs';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const TIMEOUT_MS = 240_000;
const TOKEN = 10n ** 9n;
const QUINTILL = 1e18;
/** The custom RPC's definitions, as any polkadot.js app would load them. */
const rpc = JSON.parse(readFileSync(new URL('../rpc/metagraph.json', import.meta.url), 'utf8'));

const timer = exitAfter(TIMEOUT_MS, 'metagraph test');

/** Asserts that the runtime API's neuron and the RPC's JSON neuron say the same. */
function assertSameNeuron(call, json) {
  const uid = call.uid.toNumber();
  assert.equal(json.uid, uid);
  assert.equal(json.hotkey, call.hotkey.toString(), `hotkey of uid ${uid}`);
  assert.equal(json.coldkey, call.coldkey.toString(), `coldkey of uid ${uid}`);
  assert.equal(json.stake, call.stake.toBigInt().toString(), `stake of uid ${uid}`);
  assert.equal(json.emission, call.emission.toBigInt().toString(), `emission of uid ${uid}`);
  assert.equal(json.active, call.active.isTrue, `active of uid ${uid}`);
  assert.equal(json.lastUpdate, call.lastUpdate.toNumber(), `last update of uid ${uid}`);
  for (const field of ['rank', 'trust', 'consensus', 'incentive', 'dividends']) {
    const fraction = Number(call[field].toBigInt()) / QUINTILL;
    assert.ok(Math.abs(json[field] - fraction) < 1e-12, `${field} of uid ${uid}: rpc ${json[field]}, call ${fraction}`);
  }
  assert.deepEqual(json.weights, call.weights.map(([j, w]) => [j.toNumber(), w.toNumber()]), `weights of uid ${uid}`);
  assert.deepEqual(json.bonds, call.bonds.map(([j, b]) => [j.toNumber(), b.toBigInt().toString()]), `bonds of uid ${uid}`);
  if (call.axon.isSome) {
    const axon = call.axon.unwrap();
    assert.equal(json.axon.port, axon.port.toNumber(), `port of uid ${uid}`);
    assert.equal(json.axon.ip, [24, 16, 8, 0].map((shift) => (Number(axon.ip.toBigInt()) >>> shift) & 255).join('.'));
  } else {
    assert.equal(json.axon, null, `axon of uid ${uid}`);
  }
}

async function main() {
  await cryptoWaitReady();
  const api = await ApiPromise.create({ provider: new WsProvider(url), rpc, noInitWarn: true });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const coldkeys = ['//Alice', '//Bob', '//Charlie', '//Dave'].map((uri) => keyring.addFromUri(uri));
  const hotkeys = ['//Alice//hot', '//Bob//hot', '//Charlie//hot', '//Dave//hot'].map((uri) => keyring.addFromUri(uri));

  const uids = await registerPeers(api, coldkeys, hotkeys, 1000n * TOKEN);
  console.log(`registered uids ${uids}`);

  // Alice's, Bob's and Charlie's peers serve endpoints (loopback is allowed on the dev chain)
  // and point every weight at Bob's uid; Dave's peer stays idle.
  const target = uids[1];
  const idle = uids[3];
  await Promise.all(
    hotkeys.slice(0, 3).map(async (hotkey, i) => {
      await submit(api, api.tx.incentive.serveAxon(0x7f000001, 9000 + i, 4, 0, 1), hotkey);
      // Bob cannot weight himself; he points at Alice's peer.
      const row = uids[i] === target ? { uids: [uids[0]], weights: [65535] } : { uids: [target], weights: [65535] };
      await submit(api, api.tx.incentive.setWeights(row.uids, row.weights, 0), hotkey);
    }),
  );
  console.log('weights set; waiting for an epoch');

  // The first epoch after the weights may have run before the last of them landed: take the next.
  const now = (await api.rpc.chain.getHeader()).number.toNumber();
  const first = await nextEpoch(api, now);
  const epoch = await nextEpoch(api, first.number);
  const [block, loss, minted] = epoch.data;
  const issuanceBefore = (await (await api.at(epoch.parentHash)).query.balances.totalIssuance()).toBigInt();
  const issuanceAfter = (await (await api.at(epoch.hash)).query.balances.totalIssuance()).toBigInt();
  console.log(`epoch at #${block}: loss ${loss}, minted ${minted}`);
  assert.ok(minted.toBigInt() > 0n, 'the epoch minted nothing');
  assert.equal(issuanceAfter - issuanceBefore, minted.toBigInt(), 'issuance grew by other than the minted sum');

  // The same metagraph through the runtime API and through the custom RPC, at the epoch block.
  const viaCall = await (await api.at(epoch.hash)).call.metagraphApi.metagraph();
  const viaRpc = (await api.rpc.metagraph.get(epoch.hash)).toJSON();
  assert.equal(viaRpc.block, viaCall.block.toNumber());
  assert.equal(viaRpc.lastEpoch.block, block.toNumber());
  assert.equal(viaRpc.lastEpoch.minted, minted.toBigInt().toString());
  assert.equal(viaRpc.totalStake, viaCall.totalStake.toBigInt().toString());
  assert.equal(viaRpc.hyperparameters.tempo, viaCall.hyperparameters.tempo.toNumber());
  assert.equal(viaRpc.neurons.length, viaCall.neurons.length);
  viaCall.neurons.forEach((neuron, i) => assertSameNeuron(neuron, viaRpc.neurons[i]));
  const one = (await api.rpc.metagraph.neuron(target, epoch.hash)).toJSON();
  assert.deepEqual(one, viaRpc.neurons[target]);
  console.log(`runtime API and RPC agree on ${viaCall.neurons.length} peers at #${viaRpc.block}`);

  const byUid = Object.fromEntries(viaRpc.neurons.map((n) => [n.uid, n]));
  console.table(
    uids.map((uid) => {
      const n = byUid[uid];
      return { uid, hotkey: n.hotkey.slice(0, 10), stake: n.stake, rank: n.rank, consensus: n.consensus, incentive: n.incentive, dividends: n.dividends, emission: n.emission, axon: n.axon ? `${n.axon.ip}:${n.axon.port}` : '' };
    }),
  );
  assert.ok(byUid[target].incentive > 0, 'incentive should be above zero where the weights point');
  assert.ok(BigInt(byUid[target].emission) > 0n, 'emission should be above zero where the weights point');
  for (const uid of uids.filter((uid) => uid !== target && uid !== uids[0])) {
    assert.equal(byUid[uid].incentive, 0, `nobody weights uid ${uid}: no incentive`);
  }
  assert.equal(byUid[idle].emission, '0', 'the idle peer is neither weighted nor weighting: no emission');
  assert.equal(byUid[idle].axon, null);
  assert.equal(byUid[uids[1]].axon.port, 9001);
  console.log('metagraph ok');
  await api.disconnect();
}

run(main, timer, 'metagraph test');
