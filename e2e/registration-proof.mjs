// Prints the proof `Incentive.register` needs, as JSON for `polkadot-js-api`: the hotkey's
// signature over `bittensor/register`, the coldkey and the chain's genesis hash.
//
// Usage: node registration-proof.mjs <hotkey secret URI> <coldkey secret URI or address> [ws://127.0.0.1:9944]
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { registrationProof } from './lib.mjs';

const [hotkeyUri, coldkey, url = 'ws://127.0.0.1:9944'] = process.argv.slice(2);
if (!hotkeyUri || !coldkey) {
  console.error('usage: node registration-proof.mjs <hotkey URI> <coldkey URI or address> [ws URL]');
  process.exit(2);
}
const keyring = new Keyring({ type: 'sr25519' });
const hotkey = keyring.addFromUri(hotkeyUri);
const coldkeyPair = coldkey.startsWith('//') ? keyring.addFromUri(coldkey) : { publicKey: keyring.decodeAddress(coldkey) };
const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
console.log(JSON.stringify(registrationProof(api, coldkeyPair, hotkey)));
await api.disconnect();
