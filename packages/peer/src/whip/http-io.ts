import type { IncomingMessage, ServerResponse } from "node:http";
import { WhipError } from "./whip-error.js";

/** Reads a request body of one content type, refusing others (415) and anything over `limit` bytes (413). */
export async function readBody(req: IncomingMessage, contentType: string, limit: number): Promise<string> {
  const given = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (given !== contentType) {
    req.resume();
    throw new WhipError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `the body must be ${contentType}, got ${given ? `"${given}"` : "no Content-Type"}`,
    );
  }
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume(); // drain the rest unread, so the connection can answer
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const tooLarge = (limit: number) => new WhipError(413, "PAYLOAD_TOO_LARGE", `the body is over ${limit} bytes`);

/** Sends a refusal: the status, its headers, and a JSON body naming the code and the reason. */
export function sendError(res: ServerResponse, err: WhipError): void {
  if (res.headersSent) return void res.destroy();
  res
    .writeHead(err.status, { ...err.headers, "content-type": "application/json" })
    .end(JSON.stringify({ error: err.code, message: err.message }));
}

/** The Authorization bearer token, if any; a malformed header is a 401. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const token = /^Bearer +([\x21-\x7e]+)$/i.exec(header)?.[1];
  if (!token) {
    throw new WhipError(401, "UNAUTHORIZED", "the Authorization header must be `Bearer <token>`", {
      "www-authenticate": 'Bearer realm="parley"',
    });
  }
  return token;
}
