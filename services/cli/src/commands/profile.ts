import { IdentityGraph, type LinkedIdentifier } from '@elephant/identity-resolver';
import type { Logger } from '@elephant/observability';
import { connectRedis, type Redis } from '@elephant/redis';
import type { CliConfig } from '../config.ts';
import { CliError } from '../errors.ts';

export interface ProfileView {
  readonly profileId: string;
  readonly tenant: string;
  readonly identifiers: readonly LinkedIdentifier[];
}

async function withGraph<T>(config: CliConfig, logger: Logger, work: (graph: IdentityGraph, redis: Redis) => Promise<T>): Promise<T> {
  const redis = await connectRedis({ url: config.endpoints.redisUrl, logger, name: 'elephant-cli' });
  try {
    return await work(new IdentityGraph(redis, config.REDIS_KEY_PREFIX), redis);
  } finally {
    redis.disconnect();
  }
}

/** Every live profile of the tenant, one JSON object per line. */
export async function* profiles(config: CliConfig, logger: Logger): AsyncGenerator<ProfileView> {
  const redis = await connectRedis({ url: config.endpoints.redisUrl, logger, name: 'elephant-cli' });
  try {
    const graph = new IdentityGraph(redis, config.REDIS_KEY_PREFIX);
    for (const profileId of (await graph.liveProfiles(config.TENANT)).sort(byNumber)) {
      yield { profileId, tenant: config.TENANT, identifiers: await graph.identifiersOf(config.TENANT, profileId) };
    }
  } finally {
    redis.disconnect();
  }
}

function byNumber(a: string, b: string): number {
  return Number(a.slice(1)) - Number(b.slice(1)) || (a < b ? -1 : 1);
}

/** The profile an identifier belongs to. */
export async function profileByIdentifier(config: CliConfig, logger: Logger, type: string, value: string): Promise<ProfileView> {
  return withGraph(config, logger, async (graph) => {
    const profileId = await graph.profileOf(config.TENANT, { type, value });
    if (!profileId) throw new CliError('NOT_FOUND', `No profile of tenant ${config.TENANT} has ${type} ${JSON.stringify(value)}. Identifiers are stored normalized (e-mails lower-case, phones in E.164 like +14155550100).`);
    return { profileId, tenant: config.TENANT, identifiers: await graph.identifiersOf(config.TENANT, profileId) };
  });
}

/** A readable rendering, with why each identifier is linked. */
export function renderProfile(view: ProfileView): string {
  const lines = [`Profile ${view.profileId} (tenant ${view.tenant})`, '', 'Identifiers, and why each is linked:'];
  const sorted = [...view.identifiers].sort((a, b) => a.firstSeen - b.firstSeen);
  for (const link of sorted) {
    const why =
      link.rule === 'new_profile'
        ? 'started this profile'
        : link.rule === 'weak_match'
          ? 'arrived with a shared device of this profile'
          : 'arrived together with identifiers of this profile';
    lines.push(
      `  ${`${link.type}`.padEnd(20)} ${link.value}`,
      `      ${why}: event ${link.eventId} via ${link.channel}/${link.source}, first seen ${iso(link.firstSeen)}, last seen ${iso(link.lastSeen)}${link.mergedBy ? `; moved here by the merge in event ${link.mergedBy}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '?';
}
