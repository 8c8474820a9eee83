// End-to-end: with @polkadot/api, wait for finalized blocks, sign a balance transfer from
// //Alice, wait for inclusion, and check the Transfer event and the new balance.
//
// Usage: node transfer.mjs [ws://127.0.0.1:9944]
import assert from 'node:assert/strict';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { exitAfter, run, submit } from './lib.mjs';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const TIMEOUT_MS = 180_000;
const TOKEN = 10n ** 9n;

const timer = exitAfter(TIMEOUT_MS, 'transfer test');

/** Resolves once the finalized head is at least `height`. */
async function waitForFinalized(api, height) {
  return new Promise((resolve, reject) => {
    api.rpc.chain
      .subscribeFinalizedHeads((header) => {
        const number = header.number.toNumber();
        console.log(`finalized #${number}`);
        if (number >= height) resolve(number);
      })
      .catch(reject);
  });
}

async function main() {
  await cryptoWaitReady();
  const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });

  const properties = await api.rpc.system.properties();
  assert.equal(properties.tokenSymbol.unwrap()[0].toString(), 'TAO');
  assert.equal(properties.tokenDecimals.unwrap()[0].toNumber(), 9);
  assert.equal(api.registry.chainSS58, 42);
  assert.equal(api.runtimeMetadata.version >= 15, true, 'metadata v15 or newer expected');

  await waitForFinalized(api, 2);

  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  const alice = keyring.addFromUri('//Alice');
  const recipient = keyring.addFromUri(`//e2e-recipient-${process.pid}-${Date.now()}`);
  const amount = 5n * TOKEN;

  const before = (await api.query.system.account(recipient.address)).data.free.toBigInt();
  const { blockHash, events } = await submit(
    api,
    api.tx.balances.transferKeepAlive(recipient.address, amount),
    alice,
  );
  console.log(`included in block ${blockHash.toHex()}`);

  const transfer = events.find(({ event }) => api.events.balances.Transfer.is(event));
  assert.ok(transfer, 'no Balances.Transfer event in the inclusion block');
  const [from, to, value] = transfer.event.data;
  assert.equal(from.toString(), alice.address);
  assert.equal(to.toString(), recipient.address);
  assert.equal(value.toBigInt(), amount);
  assert.ok(events.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)));

  const apiAt = await api.at(blockHash);
  const after = (await apiAt.query.system.account(recipient.address)).data.free.toBigInt();
  assert.equal(after - before, amount, `balance went from ${before} to ${after}`);

  console.log(`transfer ok: ${amount} rao from ${alice.address} to ${recipient.address}`);
  await api.disconnect();
}

run(main, timer, 'transfer test');
