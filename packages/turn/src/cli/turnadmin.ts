#!/usr/bin/env node
// parley-turnadmin -k -u USER -r REALM -p PASSWORD: prints the 0x… long-term key coturn's --user accepts.
import { parseArgs } from "node:util";
import { longTermKey } from "../stun/integrity.js";

try {
  const { values } = parseArgs({
    options: {
      key: { type: "boolean", short: "k" },
      user: { type: "string", short: "u" },
      realm: { type: "string", short: "r" },
      password: { type: "string", short: "p" },
    },
    strict: true,
  });
  if (!values.key || !values.user || !values.realm || values.password === undefined) {
    console.error("usage: parley-turnadmin -k -u USER -r REALM -p PASSWORD");
    process.exit(2);
  }
  console.log(`0x${longTermKey(values.user, values.realm, values.password).toString("hex")}`);
} catch (err) {
  console.error(`parley-turnadmin: ${(err as Error).message}`);
  process.exit(2);
}
