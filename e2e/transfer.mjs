// End-to-end: with @polkadot/api, wait for finalized blocks, sign a balance transfer from
// //Alice, wait for inclusion, and check the Transfer event and the new balance.
//
// Usage: node transfer.mjs [ws://127.0.0.1:9944]
import assert from 'node:assert/strict';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const TIMEOUT_MS = 180_000;
const TOKEN = 10n ** 9n;

const timer = setTimeout(() => {
  console.error(`transfer test: timed out after ${TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TIMEOUT_MS);

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

/** Signs and submits `tx`, resolving with the events of the block that includes it. */
function submitAndWaitForInclusion(api, tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        const reason = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
        reject(new Error(`extrinsic failed: ${reason}`));
      } else if (status.isInBlock) {
        resolve({ blockHash: status.asInBlock, events });
      } else if (status.isDropped || status.isInvalid || status.isUsurped) {
        reject(new Error(`transaction ${status.type}`));
      }
    }).catch(reject);
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
  const { blockHash, events } = await submitAndWaitForInclusion(
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

main()
  .then(() => {
    clearTimeout(timer);
    process.exit(0);
  })
  .catch((error) => {
    console.error('transfer test failed:', error);
    process.exit(1);
  });
