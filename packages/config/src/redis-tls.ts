/**
 * Redis over TLS with a private CA. `rediss://` in REDIS_URL already makes the connection TLS,
 * checked against the CAs Node trusts (managed Redis services use public ones); a self-hosted
 * Redis whose certificate a private CA signed needs that CA: REDIS_TLS_CA_FILE. Services that
 * talk to Redis spread REDIS_TLS_VARIABLES into their schema, check redisTlsIssues in their
 * superRefine, and hand redisTlsOf(config) to connectRedis.
 */
import { pemFile } from './pem.ts';

export const REDIS_TLS_VARIABLES = {
  /** PEM file of the CA(s) Redis' certificate chains to, for a rediss:// REDIS_URL; unset: Node's default CAs. */
  REDIS_TLS_CA_FILE: pemFile('certificate').optional(),
};

export interface RedisTlsSettings {
  readonly REDIS_URL?: string | undefined;
  readonly REDIS_TLS_CA_FILE?: Buffer | undefined;
}

/** A CA file for a Redis reached without TLS: named, since it would be ignored. */
export function redisTlsIssues(config: RedisTlsSettings): { readonly path: [string]; readonly message: string }[] {
  if (config.REDIS_TLS_CA_FILE === undefined || config.REDIS_URL === undefined || config.REDIS_URL.startsWith('rediss://')) return [];
  return [{ path: ['REDIS_TLS_CA_FILE'], message: 'is set but REDIS_URL is not rediss://: TLS to Redis is asked for by the URL' }];
}

/** ioredis' `tls` option for a private CA, or undefined (none, or Node's CAs for rediss://). */
export function redisTlsOf(config: RedisTlsSettings): { readonly ca: Buffer[] } | undefined {
  return config.REDIS_TLS_CA_FILE === undefined ? undefined : { ca: [config.REDIS_TLS_CA_FILE] };
}
