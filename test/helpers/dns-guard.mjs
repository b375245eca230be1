// Preload (node --import) that keeps a process on loopback and tells which host names it tried to resolve.
// Every lookup of a name that is not "localhost" or an IP literal is appended to $PARLEY_DNS_LOG and answered with
// ENOTFOUND at once: nothing leaves the machine, and a test can assert that, e.g., no public STUN host was asked for.
// Covers dns.lookup (what net, dgram and tls use), dns.promises.lookup and the resolve* families.

import dns from "node:dns";
import { appendFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { isIP } from "node:net";

const log = process.env.PARLEY_DNS_LOG;
const local = (name) =>
  typeof name !== "string" || isIP(name) !== 0 || name === "localhost" || name.endsWith(".localhost");
const refuse = (name, syscall) => {
  if (log) appendFileSync(log, `${name}\n`);
  return Object.assign(new Error(`${syscall} ENOTFOUND ${name} (dns-guard: off-machine names are refused)`), {
    code: "ENOTFOUND",
    errno: -3008,
    syscall,
    hostname: name,
  });
};

const lookup = dns.lookup;
dns.lookup = function guardedLookup(name, options, callback) {
  if (local(name)) return lookup.call(this, name, options, callback);
  const cb = typeof options === "function" ? options : callback;
  const err = refuse(name, "getaddrinfo");
  process.nextTick(() => cb(err));
  return {};
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = function guardedPromisesLookup(name, options) {
  if (local(name)) return promisesLookup.call(this, name, options);
  return Promise.reject(refuse(name, "getaddrinfo"));
};
for (const key of Object.keys(dns)) {
  if (!/^resolve/.test(key) || typeof dns[key] !== "function") continue;
  const original = dns[key];
  dns[key] = function guardedResolve(name, ...rest) {
    if (local(name)) return original.call(this, name, ...rest);
    const cb = rest.at(-1);
    const err = refuse(name, "query");
    if (typeof cb === "function") process.nextTick(() => cb(err));
  };
  const promised = dns.promises[key];
  if (typeof promised === "function")
    dns.promises[key] = (name, ...rest) =>
      local(name) ? promised(name, ...rest) : Promise.reject(refuse(name, "query"));
}
syncBuiltinESMExports();
