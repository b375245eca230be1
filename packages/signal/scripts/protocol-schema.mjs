#!/usr/bin/env node
// Writes protocol.schema.json: the signalling protocol as JSON Schema (draft 2020-12), generated from the valibot
// schemas in src/protocol/messages.ts, for clients written in any language. `--check` only compares, and fails if
// the committed file is stale. The package tests run the same comparison and validate real traffic against it.
import { readFileSync, writeFileSync } from "node:fs";
import { toJsonSchema } from "@valibot/to-json-schema";

/** The protocol's JSON Schema, from a module exporting the protocol's valibot schemas. */
export function protocolJsonSchema(messages) {
  const config = {
    target: "draft-2020-12",
    // The one schema valibot cannot describe by itself: metadata is any JSON object.
    overrideSchema: ({ valibotSchema }) => (valibotSchema === messages.MetadataObject ? { type: "object" } : undefined),
  };
  const schema = (valibotSchema, title) => {
    const { $schema: _root, ...rest } = toJsonSchema(valibotSchema, config); // one $schema, at the top
    return { title, ...rest };
  };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://parley.dev/signal/protocol-v1.schema.json",
    title: `Parley signalling protocol, version ${messages.PROTOCOL_VERSION}`,
    description:
      "Generated from @parley/signal's valibot schemas by scripts/protocol-schema.mjs; PROTOCOL.md explains the rules around the messages.",
    $defs: {
      client: schema(messages.ClientMessageSchema, "A message a client sends"),
      server: schema(messages.ServerMessageSchema, "A message the server sends"),
    },
  };
}

const here = new URL("..", import.meta.url);
const target = new URL("protocol.schema.json", here);
if (import.meta.url === `file://${process.argv[1]}`) {
  const messages = await import(new URL("dist/protocol/messages.js", here).href);
  const text = `${JSON.stringify(protocolJsonSchema(messages), null, 2)}\n`;
  if (process.argv.includes("--check")) {
    if (readFileSync(target, "utf8") !== text) {
      console.error("protocol.schema.json is stale: run node packages/signal/scripts/protocol-schema.mjs");
      process.exit(1);
    }
  } else writeFileSync(target, text);
}
