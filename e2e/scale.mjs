// End-to-end at scale with @polkadot/api, as the report that halted the chain tried it: root
// opens the metagraph to `--peers` peers; //Alice registers them all (each with its hotkey's
// proof), stakes on `--validators` of them and pays their fees; every validator weights every
// peer, and `--refused` unstaked peers try to as well and are refused (`NoValidatorPermit`).
// Then three epochs must pass with blocks produced and finalized, the permits at
// `MaxAllowedValidators`, no validator capped, and only the validators' rows stored. Prints
// the size and time of `metagraph_get` and `metagraph_getLight`.
//
// Usage: node scale.mjs [ws://127.0.0.1:9944] [--peers N] [--validators K] [--refused R]
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { exitAfter, nextEpoch, registrationProof, run, submit } from './lib.mjs';

const TOKEN = 10n ** 9n;
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const at = argv.indexOf(name);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
};
const url = argv.find((arg) => arg.startsWith('ws')) ?? 'ws://127.0.0.1:9944';
const peers = option('--peers', 300);
const validators = option('--validators', 64);
const refused = option('--refused', 8);
const timer = exitAfter(option('--timeout', 540) * 1000, 'scale.mjs');

/** Sends `calls` signed by `signer` with consecutive nonces, without waiting for them. */
async function sendAll(api, signer, calls) {
  let nonce = (await api.rpc.system.accountNextIndex(signer.address)).toNumber();
  for (let start = 0; start < calls.length; start += 200) {
    const chunk = calls.slice(start, start + 200);
    await Promise.all(chunk.map((call) => call.signAsync(signer, { nonce: nonce++ }).then((tx) => tx.send())));
  }
}

/** Resolves once `read()` returns at least `target`, polling each block. */
async function until(api, what, read, target) {
  for (;;) {
    const value = await read();
    if (value >= target) return value;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    process.stdout.write(`\r[scale] waiting for ${what}: ${value}/${target}   `);
  }
}

/** Runs `call` as root through sudo; fails if the call itself failed. */
async function sudo(api, alice, call) {
  const { events } = await submit(api, api.tx.sudo.sudo(call), alice);
  const done = events.find(({ event }) => api.events.sudo.Sudid.is(event));
  if (!done || done.event.data[0].isErr) throw new Error(`sudo ${call.method.method} failed`);
}

/** The raw JSON answer of a metagraph RPC method, with its size in bytes and time in ms. */
async function measure(api, method) {
  const started = performance.now();
  const answer = await api._rpcCore.provider.send(method, []);
  const ms = performance.now() - started;
  return { answer, bytes: Buffer.byteLength(JSON.stringify(answer)), ms };
}

async function main() {
  const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const hotkeys = Array.from({ length: peers }, (_, i) => keyring.addFromUri(`//Scale//${i}`));

  await sudo(api, alice, api.tx.incentive.setHyperparameter({ MaxAllowedUids: peers }));
  await sudo(api, alice, api.tx.incentive.setHyperparameter({ MaxRegistrationsPerInterval: peers }));
  await sudo(api, alice, api.tx.incentive.setHyperparameter({ MaxRegistrationsPerBlock: peers }));
  await sudo(api, alice, api.tx.incentive.setHyperparameter({ MaxAllowedValidators: validators }));

  let started = performance.now();
  await sendAll(api, alice, hotkeys.map((hotkey) => api.tx.incentive.register(hotkey.address, registrationProof(api, alice, hotkey))));
  await until(api, 'registrations', async () => (await api.query.incentive.peerCount()).toNumber(), peers);
  console.log(`\n[scale] ${peers} peers registered in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // Stake and fees for the validators; fees for the peers that will be refused. A full row's
  // fee is weight-based, about 0.045 TAO an entry on the dev chain.
  const staked = hotkeys.slice(0, validators);
  const unstaked = hotkeys.slice(validators, validators + refused);
  const fees = 10n * TOKEN + (BigInt(peers) * TOKEN) / 16n;
  await sendAll(api, alice, [
    ...staked.map((hotkey) => api.tx.incentive.addStake(hotkey.address, 1000n * TOKEN)),
    ...[...staked, ...unstaked].map((hotkey) => api.tx.balances.transferKeepAlive(hotkey.address, fees)),
  ]);
  const permitCount = async () => (await api.query.incentive.validatorPermit()).filter((permit) => permit.isTrue).length;
  await until(api, 'validator permits', permitCount, validators);
  const lastFunded = (unstaked.at(-1) ?? staked.at(-1)).address;
  await until(api, 'fees', async () => ((await api.query.system.account(lastFunded)).data.free.toBigInt() > 0n ? 1 : 0), 1);

  // Every validator weights every peer; the refused ones try the same and pay for it.
  const everyPeer = hotkeys.map((_, uid) => uid);
  const row = () => api.tx.incentive.setWeights(everyPeer, everyPeer.map(() => 1000), 0);
  started = performance.now();
  // Immortal, so that a long queue of full rows does not outlive its era.
  await Promise.all(staked.map((hotkey) => row().signAndSend(hotkey, { era: 0 })));
  // Watched in chunks: a connection holds at most 1024 subscriptions.
  const refusals = [];
  for (let start = 0; start < unstaked.length; start += 500) {
    const chunk = unstaked.slice(start, start + 500);
    const outcomes = chunk.map((hotkey) => submit(api, row(), hotkey, { era: 0 }).then(() => 'accepted', (error) => error.message));
    refusals.push(...(await Promise.all(outcomes)));
  }
  for (const refusal of refusals) {
    if (!refusal.includes('incentive.NoValidatorPermit')) throw new Error(`an unstaked peer was not refused: ${refusal}`);
  }
  console.log(`[scale] ${refused} unstaked peers refused: incentive.NoValidatorPermit`);
  const rows = validators * peers;
  await until(api, 'weights', async () => (await api.query.incentive.weightsCount()).toNumber(), rows);
  console.log(`\n[scale] ${validators} validators set ${rows} weights in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // Three epochs: each completes, keeps every validator, and blocks keep being finalized.
  let after = (await api.rpc.chain.getHeader()).number.toNumber();
  let epoch;
  for (let i = 1; i <= 3; i++) {
    epoch = await nextEpoch(api, after);
    const events = await (await api.at(epoch.hash)).query.system.events();
    if (events.some(({ event }) => api.events.incentive.ValidatorsCapped.is(event))) {
      throw new Error(`epoch ${i} capped its validators`);
    }
    const at = await api.at(epoch.hash);
    const held = (await at.query.incentive.validatorPermit()).filter((permit) => permit.isTrue).length;
    const weights = (await at.query.incentive.weightsCount()).toNumber();
    const bonds = (await at.query.incentive.bondsCount()).toNumber();
    if (held !== validators || weights > validators * peers) throw new Error(`epoch ${i}: ${held} permits, ${weights} weights`);
    console.log(`[scale] epoch ${i} at block ${epoch.number}: minted ${epoch.data[2].toString()} rao, ${held} permits, ${weights} weights, ${bonds} bonds`);
    after = epoch.number;
  }
  const finalized = async () => (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
  await until(api, 'finality past the third epoch', finalized, epoch.number + 1);
  console.log(`\n[scale] finalized past block ${epoch.number}`);

  // The first call at a block runs the runtime; the second is the node's cached answer. The
  // full form may exceed the node's response limit; the light one must not.
  for (const method of ['metagraph_get', 'metagraph_getLight']) {
    let first;
    try {
      first = await measure(api, method);
    } catch (error) {
      if (method === 'metagraph_getLight') throw error;
      console.log(`[scale] ${method} at ${peers} peers: refused (${error.message})`);
      continue;
    }
    const again = await measure(api, method);
    if (first.answer.neurons.length !== peers) throw new Error(`${method}: ${first.answer.neurons.length} peers`);
    const mib = (first.bytes / 1024 / 1024).toFixed(2);
    console.log(`[scale] ${method} at ${peers} peers: ${mib} MiB, ${first.ms.toFixed(0)} ms (then ${again.ms.toFixed(0)} ms cached)`);
  }
  console.log('scale ok');
  await api.disconnect();
}

run(main, timer, 'scale.mjs');
