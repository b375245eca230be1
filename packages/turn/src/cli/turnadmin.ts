#!/usr/bin/env node
// parley-turnadmin -k -u USER -r REALM -p PASSWORD: prints the 0x… long-term key coturn's --user accepts.
import { parseArgs } from "node:util";
import { longTermKey } from "../stun/integrity.js";
import { VERSION } from "./version.js";

const USAGE = `Usage: parley-turnadmin -k -u USER -r REALM -p PASSWORD
  Prints the long-term key (MD5 of "user:realm:password", RFC 8489 §9.2.2) as 0x…, the form coturn's
  turnadmin -k prints and parley-turn --user USER:0x… (or coturn's --user) accepts, so no plain password is stored.
  -k, --key              print the key (the one action, as in coturn's turnadmin)
  -u, --user USER        username
  -r, --realm REALM      realm (the server's -r/--realm; parley-turn's default is "parley")
  -p, --password PASS    password
  -h, --help   --version
`;

try {
  const { values } = parseArgs({
    options: {
      key: { type: "boolean", short: "k" },
      user: { type: "string", short: "u" },
      realm: { type: "string", short: "r" },
      password: { type: "string", short: "p" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (values.version) {
    console.log(`parley-turnadmin ${VERSION}`);
    process.exit(0);
  }
  if (!values.key || !values.user || !values.realm || values.password === undefined) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  console.log(`0x${longTermKey(values.user, values.realm, values.password).toString("hex")}`);
} catch (err) {
  console.error(`parley-turnadmin: ${(err as Error).message}`);
  process.stderr.write(USAGE);
  process.exit(2);
}
