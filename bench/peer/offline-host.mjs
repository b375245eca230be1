// Preload (node --import) that makes this machine look like a server without internet whose DNS still answers: every
// name that is not local resolves to 127.0.0.1, where offline-join.mjs keeps a UDP socket that swallows whatever
// arrives (the STUN port of a public server nobody configured). Nothing leaves the machine.
import dns from "node:dns";
import { syncBuiltinESMExports } from "node:module";
import { isIP } from "node:net";

const local = (name) => typeof name !== "string" || isIP(name) !== 0 || name === "localhost";
const lookup = dns.lookup;
dns.lookup = function offlineLookup(name, options, callback) {
  if (local(name)) return lookup.call(this, name, options, callback);
  const cb = typeof options === "function" ? options : callback;
  const all = typeof options === "object" && options?.all;
  process.nextTick(() => (all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4)));
  return {};
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = (name, options) =>
  local(name)
    ? promisesLookup(name, options)
    : Promise.resolve(options?.all ? [{ address: "127.0.0.1", family: 4 }] : { address: "127.0.0.1", family: 4 });
syncBuiltinESMExports();
