import { redisTlsOf } from '@elephant/config';
import { randomUUID } from 'node:crypto';
import { currencyExponent, normalizeIdentifier } from '@elephant/channels';
import { IdentityGraph, type LinkedIdentifier } from '@elephant/identity-resolver';
import { isElephantError } from '@elephant/errors';
import { BatchProducer, KafkaError, requireTopics } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import { erasureRequestSchema, topicsOf as builderTopicsOf } from '@elephant/profile-builder';
import { parseProfileState, snapshotOf, type ProfileSnapshot } from '@elephant/profiles';
import { connectRedis, type Redis } from '@elephant/redis';
import { AvroRegistry, type AvroSchema } from '@elephant/registry';
import type { CliConfig } from '../config.ts';
import { clientLogger, commandKafka } from '../connect.ts';
import { CliError } from '../errors.ts';
import { builderConfig } from '../topology.ts';

export interface ProfileView {
  readonly profileId: string;
  readonly tenant: string;
  readonly identifiers: readonly LinkedIdentifier[];
  /** The unified profile (traits, consent, computed traits), once the builder has built it. */
  readonly profile: ProfileSnapshot | null;
  /** The eventIds of the touchpoints resolved to the profile (merged profiles' included) in the last EVENT_TTL_SECONDS; with `profiles --events` only. */
  readonly events?: readonly string[];
}

async function withRedis<T>(config: CliConfig, logger: Logger, work: (graph: IdentityGraph, redis: Redis) => Promise<T>): Promise<T> {
  const redis = await connectRedis({ url: config.endpoints.redisUrl, tls: redisTlsOf(config), logger: clientLogger(config, logger), name: 'elephant-cli' });
  try {
    return await work(new IdentityGraph(redis, config.REDIS_KEY_PREFIX), redis);
  } finally {
    redis.disconnect();
  }
}

async function viewOf(config: CliConfig, graph: IdentityGraph, redis: Redis, profileId: string): Promise<ProfileView> {
  const state = await redis.hget(`${graph.tenantPrefix(config.TENANT)}ps:${profileId}`, 's');
  const profile = state === null ? null : snapshotOf(parseProfileState(JSON.parse(state) as unknown));
  return { profileId, tenant: config.TENANT, identifiers: await graph.identifiersOf(config.TENANT, profileId), profile };
}

/**
 * Every live profile of the tenant, one JSON object per line; with `events`, each with the
 * eventIds resolved to it (what scoring identity against a ground truth needs). Read a page
 * at a time (IdentityGraph.scanLiveProfiles: no Redis command over the whole set), the views
 * of a page at once; pages in Redis' order, each sorted by profile number.
 */
export async function* profiles(config: CliConfig, logger: Logger, options: { readonly events?: boolean; readonly pageSize?: number } = {}): AsyncGenerator<ProfileView> {
  const redis = await connectRedis({ url: config.endpoints.redisUrl, tls: redisTlsOf(config), logger: clientLogger(config, logger), name: 'elephant-cli' });
  try {
    const graph = new IdentityGraph(redis, config.REDIS_KEY_PREFIX);
    for await (const page of graph.scanLiveProfiles(config.TENANT, options.pageSize)) {
      const profileIds = page.sort(byNumber);
      const [views, events] = await Promise.all([Promise.all(profileIds.map((profileId) => viewOf(config, graph, redis, profileId))), options.events === true ? graph.eventsOf(config.TENANT, profileIds) : undefined]);
      for (const view of views) yield events === undefined ? view : { ...view, events: events.get(view.profileId) ?? [] };
    }
  } finally {
    redis.disconnect();
  }
}

/** Profile ids (`p<seq>` or `p<seq>-<tenant namespace>`) by their number, then as text. */
function byNumber(a: string, b: string): number {
  const number = (id: string): number => Number(/^p(\d+)/.exec(id)?.[1] ?? Number.NaN);
  return (number(a) - number(b) || 0) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * An identifier as the graph stores it: normalized as the normalizer does (e-mails lower-case,
 * Gmail dots and +tags folded with FOLD_GMAIL_ADDRESSES, phones in E.164 read in DEFAULT_REGION,
 * loyalty cards without spaces), so `ADA@Lovelace.dev` and `(415) 555-0142` find the profile.
 * A value normalization refuses is a usage error.
 */
export function normalizedIdentifier(config: Pick<CliConfig, 'DEFAULT_REGION' | 'FOLD_GMAIL_ADDRESSES'>, type: string, value: string): { type: string; value: string } {
  const result = normalizeIdentifier(type, value, { defaultRegion: config.DEFAULT_REGION, foldGmailAddresses: config.FOLD_GMAIL_ADDRESSES });
  if (!result.ok) throw new CliError('USAGE', `${JSON.stringify(value)} is not a valid ${type} identifier (${result.reason}).${type === 'phone' ? ` National numbers are read in DEFAULT_REGION ${config.DEFAULT_REGION}; write others with +country code.` : ''}`);
  return { type, value: result.value };
}

/** The id of the profile holding `identifier` (normalized from `value`); NOT_FOUND when none does. */
async function profileIdOf(config: CliConfig, graph: IdentityGraph, identifier: { type: string; value: string }, value: string): Promise<string> {
  const profileId = await graph.profileOf(config.TENANT, identifier);
  if (!profileId) throw new CliError('NOT_FOUND', `No profile of tenant ${config.TENANT} has ${identifier.type} ${JSON.stringify(identifier.value)}${identifier.value === value ? '' : ` (${JSON.stringify(value)} normalized)`}. Is TENANT right? \`elephant profiles\` lists every profile of the tenant.`);
  return profileId;
}

/** The profile an identifier belongs to (the identifier is normalized first). */
export async function profileByIdentifier(config: CliConfig, logger: Logger, type: string, value: string): Promise<ProfileView> {
  const identifier = normalizedIdentifier(config, type, value);
  return withRedis(config, logger, async (graph, redis) => viewOf(config, graph, redis, await profileIdOf(config, graph, identifier, value)));
}

/**
 * Asks the profile builder to erase the person an identifier belongs to. Refused (usage error)
 * for an identifier the resolver quarantined: a value seen on too many profiles (a store's
 * phone typed in for walk-ins) names whoever held it first, not the person asking. Refused
 * (configuration error) when the erasure topic does not exist: with another TOPIC_PREFIX than
 * the deployment's, the request would go to a topic no builder reads (the profile is still
 * found: the Redis keys do not depend on the prefix).
 */
export async function erase(config: CliConfig, logger: Logger, type: string, value: string): Promise<{ profileId: string; requestId: string }> {
  const identifier = normalizedIdentifier(config, type, value);
  const profileId = await withRedis(config, logger, async (graph) => {
    const quarantine = await graph.quarantineOf(config.TENANT, identifier);
    if (quarantine !== undefined) {
      throw new CliError('USAGE', `${type} ${JSON.stringify(identifier.value)} is quarantined by the identity resolver (${quarantine['reason'] ?? 'unknown reason'}${quarantine['observed'] === undefined ? '' : `: ${quarantine['observed']} against a threshold of ${quarantine['threshold'] ?? '?'}`}): it is shared, and the profile it names is not necessarily the person's. Erase by another identifier of theirs; \`elephant profile\` shows what each profile holds.`);
    }
    return profileIdOf(config, graph, identifier, value);
  });
  const topics = builderTopicsOf(builderConfig(config));
  const kafka = commandKafka(config, logger);
  try {
    await requireTopics(kafka, [{ topic: topics.erasures, partitions: config.PARTITIONS }]);
  } catch (error) {
    if (!isElephantError(error, 'KAFKA_TOPIC_MISSING')) throw error;
    throw new KafkaError('KAFKA_TOPIC_MISSING', `The erasure topic ${topics.erasures} does not exist (TOPIC_PREFIX=${JSON.stringify(config.TOPIC_PREFIX)}): no profile builder reads it, and nothing was sent. Set TOPIC_PREFIX as the deployment does; the profile builder creates the topic at start-up (CREATE_TOPICS=true).`, { cause: error });
  }
  const registry = new AvroRegistry({ url: config.endpoints.schemaRegistryUrl, clientId: 'elephant-cli' });
  const { id } = await registry.register(`${topics.erasures}-value`, erasureRequestSchema as unknown as AvroSchema);
  const requestId = randomUUID();
  const producer = await BatchProducer.connect(kafka);
  try {
    await producer.send([{ topic: topics.erasures, messages: [{ key: profileId, value: registry.encode(id, { requestId, tenant: config.TENANT, profileId: profileId, requestedAt: Date.now(), reason: 'elephant erase' }) }] }]);
  } finally {
    await producer.disconnect();
  }
  return { profileId: profileId, requestId };
}

/**
 * An amount in `currency`'s minor units as its major units, with the digits ISO 4217 gives the
 * currency (1500 JPY is 1500, 1500 KWD 1.500, 1500 EUR 15.00); in integer digits, not by
 * division, so that no amount is rounded. Until 2026-12-07 every currency was shown with two.
 */
export function majorUnits(minor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  const digits = Math.abs(minor).toFixed(0).padStart(exponent + 1, '0');
  const sign = minor < 0 ? '-' : '';
  return exponent === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** A readable rendering, with why each identifier is linked. */
export function renderProfile(view: ProfileView): string {
  const lines = [`Profile ${view.profileId} (tenant ${view.tenant})`];
  const profile = view.profile;
  if (profile) {
    const traits = Object.entries(profile.traits as unknown as Readonly<Record<string, unknown>>).filter(([key, value]) => key !== 'provenance' && value !== null && !(typeof value === 'object' && Object.keys(value).length === 0));
    lines.push('', 'Traits:', ...traits.map(([key, value]) => `  ${key.padEnd(14)} ${typeof value === 'string' ? value : JSON.stringify(value)}`));
    const c = profile.computed;
    lines.push(
      '',
      'Computed:',
      `  lifetime value ${Object.entries(c.lifetimeValue).map(([currency, minor]) => `${majorUnits(minor, currency)} ${currency}`).join(', ') || '-'}`,
      `  orders ${c.ordersCount}, returns ${c.returnsCount}, events ${c.eventsCount}, journey stage ${c.journeyStage ?? '-'}`,
      `  channels ${c.channelsUsed.join(', ')} (preferred ${c.preferredChannel ?? '-'}), first seen ${iso(c.firstSeen)}, last seen ${iso(c.lastSeen)}`,
      `  e-mail: ${c.email.opens} opens, ${c.email.clicks} clicks; support: ${c.support.contacts} contacts, last satisfaction ${c.support.lastSatisfactionScore ?? '-'}; coupons ${c.loyalty.couponsRedeemed}`,
    );
  } else {
    lines.push('', '(no profile state yet: is the profile builder running?)');
  }
  lines.push('', 'Identifiers, and why each is linked:');
  for (const link of [...view.identifiers].sort((a, b) => a.firstSeen - b.firstSeen)) {
    const why = link.rule === 'new_profile' ? 'started a profile' : link.rule === 'weak_match' ? 'came with a shared device of this profile' : 'came together with identifiers of this profile';
    lines.push(`  ${link.type.padEnd(20)} ${link.value}`, `      ${why}: event ${link.eventId} via ${link.channel}/${link.source}, first seen ${iso(link.firstSeen)}, last seen ${iso(link.lastSeen)}${link.mergedBy ? `; joined this profile by the merge in event ${link.mergedBy}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

function iso(ms: number | null): string {
  return ms !== null && Number.isFinite(ms) ? new Date(ms).toISOString() : '-';
}
