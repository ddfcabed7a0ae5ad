import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type CryptoKey, importJWK, importPKCS8, type JWK } from 'jose';
import { PrivateKeyError } from './errors.ts';

export type AssertionAlgorithm = 'RS384' | 'ES384';

/** A private key ready to sign client assertions, with the key id the server knows it by. */
export interface SigningKey {
  key: CryptoKey;
  kid: string;
}

/**
 * Reads the client's private key from a PEM file (PKCS#8; PKCS#1 and SEC1 PEMs are converted)
 * or a JWKS file (the key with the configured kid, or the only private key). The key id is
 * required because the assertion header carries it. Errors name the file, never its content.
 *
 * @see SMART App Launch 2.2.0 client-confidential-asymmetric.html#registering-a-client-communicating-public-keys
 */
export async function loadPrivateKey(
  file: string,
  options: { algorithm: AssertionAlgorithm; kid?: string },
): Promise<SigningKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PrivateKeyError(file, 'cannot be read', error);
  }
  return text.trimStart().startsWith('{')
    ? keyFromJwks(file, text, options.algorithm, options.kid)
    : keyFromPem(file, text, options.algorithm, options.kid);
}

async function keyFromPem(
  file: string,
  pem: string,
  algorithm: AssertionAlgorithm,
  kid: string | undefined,
): Promise<SigningKey> {
  if (kid === undefined) {
    throw new PrivateKeyError(
      file,
      'a PEM key carries no key id: set auth.kid to the kid registered with the server',
    );
  }
  let pkcs8: string;
  try {
    // node:crypto reads any private-key PEM; jose (WebCrypto) takes only PKCS#8.
    pkcs8 = createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch (error) {
    throw new PrivateKeyError(file, 'is not a PEM private key', error);
  }
  try {
    return { key: await importPKCS8(pkcs8, algorithm), kid };
  } catch (error) {
    throw new PrivateKeyError(file, `holds a key that cannot sign ${algorithm}`, error);
  }
}

async function keyFromJwks(
  file: string,
  text: string,
  algorithm: AssertionAlgorithm,
  kid: string | undefined,
): Promise<SigningKey> {
  const jwk = pickPrivateJwk(file, parseJwks(file, text), kid);
  const keyId = kid ?? jwk.kid;
  if (keyId === undefined) {
    throw new PrivateKeyError(file, 'the private key has no kid: add one, or set auth.kid');
  }
  try {
    const key = await importJWK(jwk, algorithm);
    if (key instanceof Uint8Array) throw new Error('a symmetric key cannot sign an assertion');
    return { key, kid: keyId };
  } catch (error) {
    throw new PrivateKeyError(file, `key ${keyId} cannot sign ${algorithm}`, error);
  }
}

/** A JWKS (`{"keys": [...]}`) or a single JWK. */
function parseJwks(file: string, text: string): JWK[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PrivateKeyError(file, 'is neither PEM nor valid JSON', error);
  }
  const keys = (parsed as { keys?: unknown }).keys ?? [parsed];
  if (!Array.isArray(keys)) throw new PrivateKeyError(file, '"keys" is not an array');
  return keys.filter((key): key is JWK => typeof key === 'object' && key !== null);
}

/** The private key (one with `d`) to sign with: the one with `kid`, else the only one. */
function pickPrivateJwk(file: string, keys: JWK[], kid: string | undefined): JWK {
  const privateKeys = keys.filter((key) => typeof key.d === 'string');
  if (kid !== undefined) {
    const match = privateKeys.find((key) => key.kid === kid);
    if (!match) throw new PrivateKeyError(file, `has no private key with kid ${kid}`);
    return match;
  }
  if (privateKeys.length === 1) return privateKeys[0] as JWK;
  if (privateKeys.length === 0) throw new PrivateKeyError(file, 'holds no private key (a JWK with "d")');
  const kids = privateKeys.map((key) => key.kid ?? '(no kid)').join(', ');
  throw new PrivateKeyError(file, `holds several private keys (${kids}): set auth.kid to choose one`);
}
