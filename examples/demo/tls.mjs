// TLS for the demo. Browsers give the camera and microphone only to secure pages (https, or http on localhost), so a
// visitor on another machine needs https — and then wss for signalling, on the same server.
//   PARLEY_TLS_CERT=FILE PARLEY_TLS_KEY=FILE   your certificate chain and key (PEM), e.g. from your CA or mkcert
//   PARLEY_TLS=self-signed                     a fresh self-signed pair for this run (browsers warn once; accept it)
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { generate } from "selfsigned";

/**
 * The demo's TLS pair from the environment, or undefined for plain http. Throws with the variable's name when a
 * file cannot be read or only one of the pair is given.
 * @param {NodeJS.ProcessEnv} env
 * @param {string} host the address the demo listens on, added to a self-signed certificate's names
 * @returns {Promise<{ cert: string, key: string, selfSigned: boolean, fingerprint?: string } | undefined>}
 */
export async function demoTls(env, host) {
  const certFile = env.PARLEY_TLS_CERT;
  const keyFile = env.PARLEY_TLS_KEY;
  if (certFile || keyFile) {
    if (!certFile || !keyFile) throw new Error("PARLEY_TLS_CERT and PARLEY_TLS_KEY go together (certificate and key)");
    const read = (name, path) => {
      try {
        return readFileSync(path, "utf8");
      } catch (err) {
        throw new Error(`${name}=${path}: ${err.code ?? err.message}`);
      }
    };
    return { cert: read("PARLEY_TLS_CERT", certFile), key: read("PARLEY_TLS_KEY", keyFile), selfSigned: false };
  }
  if (env.PARLEY_TLS === undefined || env.PARLEY_TLS === "") return undefined;
  if (env.PARLEY_TLS !== "self-signed")
    throw new Error(
      `PARLEY_TLS must be "self-signed" (or set PARLEY_TLS_CERT and PARLEY_TLS_KEY), got "${env.PARLEY_TLS}"`,
    );
  return { ...(await selfSigned(host)), selfSigned: true };
}

/** A self-signed pair valid for a week, for localhost, the loopback addresses, this host's name and `host`. */
export async function selfSigned(host) {
  const names = new Set(["localhost", hostname()]);
  const ips = new Set(["127.0.0.1", "::1"]);
  if (isIP(host) && host !== "0.0.0.0" && host !== "::") ips.add(host);
  else if (!isIP(host)) names.add(host);
  const altNames = [...[...names].map((value) => ({ type: 2, value })), ...[...ips].map((ip) => ({ type: 7, ip }))];
  const pems = await generate([{ name: "commonName", value: "Parley demo" }], {
    keyType: "ec",
    curve: "P-256",
    notAfterDate: new Date(Date.now() + 7 * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint: new X509Certificate(pems.cert).fingerprint256 };
}
