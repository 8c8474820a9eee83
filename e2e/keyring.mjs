// Key files both ways between the neuron's wallet and the polkadot.js keyring:
// 1. opens the neuron's exported JSON account (argument 1) with its password (argument 2),
//    checks that the key signs for its address, and prints `opened <address>`;
// 2. writes a polkadot.js JSON account of a new key, encrypted with the same password, to
//    argument 3, and prints `created <address>`.
//
// Usage: node keyring.mjs <neuron-export.json> <password> <polkadot-js-export.json>
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Keyring } from '@polkadot/keyring';
import { stringToU8a } from '@polkadot/util';
import { cryptoWaitReady, mnemonicGenerate, signatureVerify } from '@polkadot/util-crypto';

const [exported, password, created] = process.argv.slice(2);
await cryptoWaitReady();
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });

const pair = keyring.addFromJson(JSON.parse(readFileSync(exported, 'utf8')));
pair.decodePkcs8(password);
const message = stringToU8a('bittensor');
assert.ok(signatureVerify(message, pair.sign(message), pair.address).isValid, 'the opened key does not sign for its address');
console.log(`opened ${pair.address}`);

const fresh = keyring.addFromMnemonic(mnemonicGenerate(12), { name: 'from polkadot.js' });
writeFileSync(created, JSON.stringify(fresh.toJson(password)));
console.log(`created ${fresh.address}`);
