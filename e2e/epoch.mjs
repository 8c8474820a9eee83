// End-to-end: three coldkeys (Alice, Bob, Charlie) register a hotkey each, stake, serve an
// endpoint; every hotkey sets its weights on peer 1 (Bob's); after the next epoch the
// incentive is on peer 1 alone, emission is highest there, and issuance grew by the minted sum.
//
// Usage: node epoch.mjs [ws://127.0.0.1:9944]
import assert from 'node:assert/strict';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { exitAfter, run, submit } from './lib.mjs';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const TIMEOUT_MS = 240_000;
const TOKEN = 10n ** 9n;

const timer = exitAfter(TIMEOUT_MS, 'epoch test');

/** Resolves with `{ hash, parentHash, data }` of the first `Incentive.EpochCompleted` event in
 * a block after `afterBlock`. */
function nextEpoch(api, afterBlock) {
  return new Promise((resolve, reject) => {
    api.rpc.chain
      .subscribeNewHeads(async (header) => {
        if (header.number.toNumber() <= afterBlock) return;
        const records = await (await api.at(header.hash)).query.system.events();
        const epoch = records.find(({ event }) => api.events.incentive.EpochCompleted.is(event));
        if (epoch) resolve({ hash: header.hash, parentHash: header.parentHash, data: epoch.event.data });
      })
      .catch(reject);
  });
}

async function main() {
  await cryptoWaitReady();
  const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const coldkeys = ['//Alice', '//Bob', '//Charlie'].map((uri) => keyring.addFromUri(uri));
  const hotkeys = ['//Alice//hot', '//Bob//hot', '//Charlie//hot'].map((uri) => keyring.addFromUri(uri));

  // Each coldkey funds its hotkey's fees, registers it and stakes: the three in parallel.
  await Promise.all(
    coldkeys.map(async (coldkey, i) => {
      await submit(api, api.tx.balances.transferKeepAlive(hotkeys[i].address, 10n * TOKEN), coldkey);
      await submit(api, api.tx.incentive.register(hotkeys[i].address), coldkey);
      await submit(api, api.tx.incentive.addStake(hotkeys[i].address, 1000n * TOKEN), coldkey);
    }),
  );
  const uids = await Promise.all(hotkeys.map(async (h) => (await api.query.incentive.uids(h.address)).unwrap().toNumber()));
  console.log(`registered uids ${uids}`);

  // Serve endpoints (loopback is allowed on the dev chain) and point every weight at Bob's uid.
  const target = uids[1];
  await Promise.all(
    hotkeys.map(async (hotkey, i) => {
      await submit(api, api.tx.incentive.serveAxon(0x7f000001, 9000 + i, 4, 0, 1), hotkey);
      const others = uids.filter((uid) => uid !== uids[i]);
      const weights = others.map((uid) => (uid === target ? 65535 : 0));
      // Bob cannot weight himself; he points at Alice's peer.
      const row = uids[i] === target ? { uids: [uids[0]], weights: [65535] } : { uids: others, weights };
      await submit(api, api.tx.incentive.setWeights(row.uids, row.weights, 0), hotkey);
    }),
  );
  console.log('weights set; waiting for an epoch');

  // The first epoch after the weights may have run before the last of them landed: take the next.
  const now = (await api.rpc.chain.getHeader()).number.toNumber();
  const first = await nextEpoch(api, now);
  const epoch = await nextEpoch(api, (await api.rpc.chain.getHeader(first.hash)).number.toNumber());
  const [block, loss, minted] = epoch.data;
  const issuanceBefore = (await (await api.at(epoch.parentHash)).query.balances.totalIssuance()).toBigInt();
  const issuanceAfter = (await (await api.at(epoch.hash)).query.balances.totalIssuance()).toBigInt();
  console.log(`epoch at #${block}: loss ${loss}, minted ${minted}`);

  const atEpoch = await api.at(epoch.hash);
  const incentive = (await atEpoch.query.incentive.incentive()).map((p) => p.toBigInt());
  const emission = (await atEpoch.query.incentive.emission()).map((e) => e.toBigInt());
  const table = uids.map((uid, i) => ({ uid, hotkey: hotkeys[i].address.slice(0, 10), incentive: incentive[uid].toString(), emission: emission[uid].toString() }));
  console.table(table);

  assert.ok(minted.toBigInt() > 0n, 'the epoch minted nothing');
  assert.equal(issuanceAfter - issuanceBefore, minted.toBigInt(), 'issuance grew by other than the minted sum');
  assert.ok(incentive[target] > incentive[uids[2]], 'the peer everyone weights should have the most incentive');
  assert.equal(incentive[uids[2]], 0n, 'nobody weights Charlie: no incentive');
  assert.ok(emission[target] > emission[uids[2]], 'emission should go where the weights point');
  const axon = (await api.query.incentive.axons(target)).unwrap();
  assert.equal(axon.port.toNumber(), 9001);
  console.log('epoch ok');
  await api.disconnect();
}

run(main, timer, 'epoch test');
