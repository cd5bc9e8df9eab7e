import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { canonicalJson } from "../lib/hash.js";

// Pure (node:crypto only): the offline verifier imports this module too.

/** A public key as RFC 8037 publishes it (OKP, Ed25519), with its RFC 7638 thumbprint as `kid`. */
export interface Ed25519Jwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  alg: "EdDSA";
  use: "sig";
}

const PEM = /-----BEGIN [A-Z ]+-----/;

function decodeBase64(text: string): Buffer {
  return Buffer.from(text.trim().replaceAll("-", "+").replaceAll("_", "/"), "base64");
}

function ensureEd25519(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== "ed25519") {
    throw new Error(`an Ed25519 key is needed, not ${key.asymmetricKeyType ?? "a symmetric key"}`);
  }
  return key;
}

/** An Ed25519 private key given as PKCS#8 PEM or base64 PKCS#8 DER (`openssl genpkey -algorithm ed25519`). */
export function parseSigningKey(text: string): KeyObject {
  const key = PEM.test(text)
    ? createPrivateKey(text)
    : createPrivateKey({ key: decodeBase64(text), format: "der", type: "pkcs8" });
  return ensureEd25519(key);
}

/**
 * An Ed25519 public key given as the JWK `x` (base64url of the 32 raw bytes, as /v1/ledger/keys publishes it),
 * an SPKI PEM or base64 DER, or a private key (whose public half is taken).
 */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (PEM.test(trimmed)) return ensureEd25519(createPublicKey(trimmed));
  const bytes = decodeBase64(trimmed);
  if (bytes.length === 32) {
    return createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: bytes.toString("base64url") },
      format: "jwk",
    });
  }
  try {
    return ensureEd25519(createPublicKey({ key: bytes, format: "der", type: "spki" }));
  } catch {
    return ensureEd25519(createPublicKey(createPrivateKey({ key: bytes, format: "der", type: "pkcs8" })));
  }
}

/** A new signing key in the form LEDGER_SIGNING_KEY takes (base64 PKCS#8 DER). */
export function generateSigningKey(): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  return privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
}

export function jwkOf(key: KeyObject): Ed25519Jwk {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const { x } = ensureEd25519(publicKey).export({ format: "jwk" }) as { x: string };
  // RFC 7638: the thumbprint is over the required members only, in lexicographic order.
  const kid = createHash("sha256")
    .update(canonicalJson({ crv: "Ed25519", kty: "OKP", x }))
    .digest("base64url");
  return { kty: "OKP", crv: "Ed25519", x, kid, alg: "EdDSA", use: "sig" };
}

/** The signing key and every public key still published (current first), looked up by key id. */
export class LedgerKeyring {
  readonly keyId: string;
  readonly jwks: { keys: Ed25519Jwk[] };
  private readonly publicKeys: Map<string, KeyObject>;

  constructor(
    private readonly signingKey: KeyObject | null,
    previous: KeyObject[] = [],
  ) {
    const all = signingKey ? [createPublicKey(signingKey), ...previous] : previous;
    const keys = all.map(jwkOf);
    this.publicKeys = new Map(keys.map((jwk, i) => [jwk.kid, all[i]!]));
    this.jwks = { keys: keys.filter((jwk, i) => keys.findIndex((k) => k.kid === jwk.kid) === i) };
    this.keyId = signingKey ? keys[0]!.kid : "";
  }

  /** A keyring with a fresh signing key (the demo, tests and benchmarks). */
  static generate(previous: KeyObject[] = []): LedgerKeyring {
    return new LedgerKeyring(parseSigningKey(generateSigningKey()), previous);
  }

  /** A keyring that only verifies, from a JWKS document (the offline verifier's `--keys` file). */
  static fromJwks(jwks: { keys: { kty?: string; crv?: string; x?: string }[] }): LedgerKeyring {
    const keys = jwks.keys
      .filter((k) => k.kty === "OKP" && k.crv === "Ed25519" && typeof k.x === "string")
      .map((k) => parsePublicKey(k.x!));
    return new LedgerKeyring(null, keys);
  }

  sign(message: string): { keyId: string; signature: string } {
    if (!this.signingKey) throw new Error("this keyring has no signing key");
    return {
      keyId: this.keyId,
      signature: sign(null, Buffer.from(message), this.signingKey).toString("base64url"),
    };
  }

  /** "valid", "invalid" (a known key, a wrong signature) or "unknown_key" (no published key has this id). */
  verify(message: string, keyId: string, signature: string): "valid" | "invalid" | "unknown_key" {
    const key = this.publicKeys.get(keyId);
    if (!key) return "unknown_key";
    const bytes = Buffer.from(signature, "base64url");
    return bytes.length === 64 && verify(null, Buffer.from(message), key, bytes) ? "valid" : "invalid";
  }
}
