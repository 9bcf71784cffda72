import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * A PEM file read and checked when the configuration is parsed: one that cannot be read, or
 * holds no certificate (a key: no unencrypted private key), is an issue of its variable at
 * start, not a TLS failure at the first connection, retried as if the broker were down.
 */
export function pemFile(holds: 'certificate' | 'private key') {
  return z.string().transform((path, context): Buffer => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      context.addIssue({ code: 'custom', message: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
      return z.NEVER;
    }
    try {
      if (holds === 'certificate') new X509Certificate(bytes);
      else createPrivateKey(bytes);
    } catch (error) {
      const encrypted = holds === 'private key' && /ENCRYPTED/.test(bytes.toString('latin1')) ? ' (an encrypted key: decrypt it, e.g. openssl pkey -in key.pem -out plain.pem)' : '';
      context.addIssue({ code: 'custom', message: `holds no PEM ${holds}${holds === 'private key' ? ' that can be read without a passphrase' : ''}${encrypted}: ${(error as Error).message}` });
      return z.NEVER;
    }
    return bytes;
  });
}

