import { createHash, randomBytes, scryptSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SecretKeyError } from './errors.ts';

/**
 * The key that seals member tokens in fhir_etl.credentials: from an environment variable
 * (config `secrets.keyEnv`, default FHIR_ETL_SECRET_KEY), else a key file (`secrets.keyFile`,
 * default `.fhir-etl/secret.key` beside the embedded warehouse). The key never enters the
 * database; only its id does, so a changed key is named instead of failing obscurely.
 */
export interface SecretKey {
  /** 32 bytes: an AES-256 key. */
  key: Buffer;
  /** A fingerprint of the key (not the key): stored with each sealed credential. */
  keyId: string;
  /** Where it came from, for messages: `$FHIR_ETL_SECRET_KEY` or the file's path. */
  origin: string;
  /** True when this call created the key file (first login): tell the user to keep it safe. */
  created: boolean;
}

export interface SecretKeySettings {
  keyEnv: string;
  keyFile?: string;
}

export interface LoadSecretKeyOptions {
  /** Create the default key file when no key is configured (a login does; a run does not). */
  create?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** The default key file: in FHIR_ETL_HOME (or `.fhir-etl`), where the embedded warehouse lives too. */
export function defaultKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(resolve(env.FHIR_ETL_HOME ?? '.fhir-etl'), 'secret.key');
}

export async function loadSecretKey(
  settings: SecretKeySettings,
  options: LoadSecretKeyOptions = {},
): Promise<SecretKey> {
  const env = options.env ?? process.env;
  const fromEnv = env[settings.keyEnv];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return { ...deriveKey(fromEnv, `$${settings.keyEnv}`), created: false };
  }
  const file = settings.keyFile ?? defaultKeyFile(env);
  const text = await readKeyFile(file);
  if (text !== undefined) return { ...deriveKey(text, file), created: false };
  if (!options.create) {
    throw new SecretKeyError(
      `no key to decrypt member tokens: set $${settings.keyEnv} or secrets.keyFile, or keep ${file} ` +
        `(created by the first \`fhir-etl auth login\`)`,
      { keyEnv: settings.keyEnv, keyFile: file },
    );
  }
  return { ...deriveKey(await createKeyFile(file), file), created: true };
}

/**
 * Reads key material: 32 bytes written as 64 hex digits or as base64, else any passphrase,
 * stretched with scrypt (a fixed salt: the same passphrase must give the same key on every host).
 */
export function deriveKey(material: string, origin: string): Omit<SecretKey, 'created'> {
  const text = material.trim();
  if (text === '') throw new SecretKeyError(`the secret key in ${origin} is empty`, { origin });
  const key = keyBytes(text);
  return { key, keyId: keyIdOf(key), origin };
}

function keyBytes(text: string): Buffer {
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
    if (bytes.length === 32) return bytes;
  }
  return scryptSync(text, 'fhir-etl/secret-key/v1', 32);
}

/** The first 16 hex digits of a domain-separated SHA-256: identifies a key without revealing it. */
function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('fhir-etl key id\0').update(key).digest('hex').slice(0, 16);
}

async function readKeyFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretKeyError(
      `cannot read the secret key file ${file}: ${(cause as Error).message}`,
      { file },
      cause,
    );
  }
}

/** A fresh random key, readable by its owner only. `wx`: two first logins never overwrite each other. */
async function createKeyFile(file: string): Promise<string> {
  const material = randomBytes(32).toString('base64');
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, `${material}\n`, { mode: 0o600, flag: 'wx' });
    return material;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return readFile(file, 'utf8');
    throw new SecretKeyError(
      `cannot create the secret key file ${file}: ${(cause as Error).message}`,
      { file },
      cause,
    );
  }
}
