// Helpers shared by the end-to-end scripts.

/** Exits the process with a message if the script is still running after `ms`. */
export function exitAfter(ms, name) {
  return setTimeout(() => {
    console.error(`${name}: timed out after ${ms / 1000} s`);
    process.exit(1);
  }, ms);
}

/** Signs and submits `tx`, resolving with `{ blockHash, events }` once it is in a block;
 * rejects with the module error's name (e.g. `incentive.DuplicateUids`) if it failed. */
export function submit(api, tx, signer) {
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

/** Runs `main`, exiting 0 on success and 1 (with the error) on failure. */
export function run(main, timer, name) {
  main()
    .then(() => {
      clearTimeout(timer);
      process.exit(0);
    })
    .catch((error) => {
      console.error(`${name} failed:`, error);
      process.exit(1);
    });
}
