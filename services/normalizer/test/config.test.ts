import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '@elephant/config';
import { adapterContextOf, loadConfig, topicsOf } from '@elephant/normalizer';

const base = { KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r:8081', NORMALIZER_CHANNEL: 'pos' };

function issuesOf(env: Record<string, string>): { variable: string; problem: string }[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (caught) {
    if (caught instanceof ConfigError) return caught.issues.map((issue) => ({ variable: issue.variable, problem: issue.problem }));
    throw caught;
  }
  return [];
}

describe('normalizer configuration', () => {
  it('passes trust overrides, the alias previousId type and SendGrid identifier args (JSON maps) to the adapters', () => {
    const context = adapterContextOf(loadConfig({ ...base, NORMALIZER_TRUST: '{"crm":55}', SEGMENT_PREVIOUS_ID_TYPE: 'user_id', SENDGRID_IDENTIFIER_ARGS: '{"uid":"user_id"}' }));
    expect(context).toMatchObject({ trust: { crm: 55 }, segmentPreviousIdType: 'user_id', sendgridIdentifierArgs: { uid: 'user_id' } });
    expect(adapterContextOf(loadConfig(base))).toMatchObject({ trust: undefined, segmentPreviousIdType: undefined, sendgridIdentifierArgs: undefined });
  });

  it('names the variable of a bad map setting: not JSON, wrong value type, or refused by the adapter context', () => {
    expect(issuesOf({ NORMALIZER_TRUST: '{crm:55' }).map((issue) => issue.variable)).toEqual(['NORMALIZER_TRUST']);
    expect(issuesOf({ NORMALIZER_TRUST: '{"crm":"high"}' }).map((issue) => issue.variable)).toEqual(['NORMALIZER_TRUST']);
    expect(issuesOf({ NORMALIZER_TRUST: '{"crm":101}' })).toEqual([{ variable: 'NORMALIZER_TRUST', problem: 'trust.crm: must be an integer 0-100' }]);
    expect(issuesOf({ SENDGRID_IDENTIFIER_ARGS: '{"uid":"Not A Type"}' }).map((issue) => issue.variable)).toEqual(['SENDGRID_IDENTIFIER_ARGS']);
    expect(issuesOf({ SEGMENT_PREVIOUS_ID_TYPE: 'email' }).map((issue) => issue.variable)).toEqual(['SEGMENT_PREVIOUS_ID_TYPE']);
    expect(issuesOf({ TOUCHPOINT_MAX_BYTES: '0' }).map((issue) => issue.variable)).toEqual(['TOUCHPOINT_MAX_BYTES']);
  });

  it('derives topic names and the consumer group from the channel and prefix', () => {
    expect(topicsOf(loadConfig({ ...base, TOPIC_PREFIX: 'prod.' }))).toEqual({
      sources: [{ channel: 'pos', topic: 'prod.raw.pos' }],
      touchpoints: 'prod.touchpoints.v1',
      deadLetters: 'prod.dlq.normalizer.v1',
      group: 'prod.elephant-normalizer-pos',
    });
  });

  it('regression (environments sharing a cluster joined one group, whose leader assigned only its own topics: the other environment\'s normalizers got no partitions, still ready): TOPIC_PREFIX starts the default consumer group; CONSUMER_GROUP overrides it; no prefix leaves the name as it was', () => {
    expect(topicsOf(loadConfig({ ...base, TOPIC_PREFIX: 'stg.' })).group).toBe('stg.elephant-normalizer-pos');
    expect(topicsOf(loadConfig({ ...base, NORMALIZER_CHANNEL: undefined, NORMALIZER_CHANNELS: 'pos,web', TOPIC_PREFIX: 'prod.' })).group).toBe('prod.elephant-normalizer-web.pos');
    expect(topicsOf(loadConfig({ ...base, TOPIC_PREFIX: 'prod.', CONSUMER_GROUP: 'elephant-normalizer-pos' })).group).toBe('elephant-normalizer-pos');
    expect(topicsOf(loadConfig({ ...base, TOPIC_PREFIX: '' })).group).toBe('elephant-normalizer-pos');
    expect(topicsOf(loadConfig(base)).group).toBe('elephant-normalizer-pos');
  });

  it('refuses a TENANT with a brace, naming it (it is the hash tag of the tenant\'s Redis keys)', () => {
    for (const [tenant, message] of [
      ['}acme', 'must not contain { or } (it is the hash tag {<tenant>} of its Redis keys)'],
      ['ac{me', 'must not contain { or } (it is the hash tag {<tenant>} of its Redis keys)'],
    ] as const) {
      let caught: unknown;
      try {
        loadConfig({ ...base, TENANT: tenant });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).issues.map((issue) => [issue.variable, issue.problem])).toEqual([['TENANT', expect.stringContaining(message)]]);
    }
  });

  it('names each bad variable, including ones only the adapter context can judge', () => {
    const error = (() => {
      try {
        loadConfig({ ...base, NORMALIZER_CHANNEL: 'fax', DEFAULT_REGION: 'XX' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.variable)).toEqual(['NORMALIZER_CHANNEL']);
    const regionError = (() => {
      try {
        loadConfig({ ...base, DEFAULT_REGION: 'XX' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect((regionError as ConfigError).issues.map((issue) => issue.variable)).toEqual(['DEFAULT_REGION']);
  });

  it('serves several channels with one consumer group: NORMALIZER_CHANNELS, in the order of CHANNELS, without repeats', () => {
    const config = loadConfig({ KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r:8081', NORMALIZER_CHANNELS: 'pos, web,pos' });
    expect(config.channels).toEqual(['web', 'pos']);
    expect(topicsOf(config)).toEqual({
      sources: [
        { channel: 'web', topic: 'raw.web' },
        { channel: 'pos', topic: 'raw.pos' },
      ],
      touchpoints: 'touchpoints.v1',
      deadLetters: 'dlq.normalizer.v1',
      group: 'elephant-normalizer-web.pos',
    });
  });

  it('names NORMALIZER_CHANNELS when no channel, both variables, a bad channel or a single-channel setting with several channels is given', () => {
    const variables = (env: Record<string, string>): string[] => {
      try {
        loadConfig({ KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r:8081', ...env });
      } catch (caught) {
        return (caught as ConfigError).issues.map((issue) => issue.variable);
      }
      return [];
    };
    expect(variables({})).toEqual(['NORMALIZER_CHANNELS']);
    expect(variables({ MAX_MESSAGE_BYTES: '0' })).toEqual(['MAX_MESSAGE_BYTES', 'NORMALIZER_CHANNELS']);
    expect(variables({ NORMALIZER_CHANNELS: 'web', NORMALIZER_CHANNEL: 'web' })).toEqual(['NORMALIZER_CHANNELS']);
    expect(variables({ NORMALIZER_CHANNELS: 'web,fax' })).toEqual(['NORMALIZER_CHANNELS']);
    expect(variables({ NORMALIZER_CHANNELS: 'web,email', NORMALIZER_SOURCE_TOPIC: 'clicks', NORMALIZER_SOURCE_SYSTEM: 'x' })).toEqual(['NORMALIZER_SOURCE_TOPIC', 'NORMALIZER_SOURCE_SYSTEM']);
    expect(variables({ NORMALIZER_CHANNELS: 'web', NORMALIZER_SOURCE_TOPIC: 'clicks' })).toEqual([]);
    expect(variables({ NORMALIZER_CHANNELS: 'web, web', NORMALIZER_SOURCE_TOPIC: 'clicks' })).toEqual([]);
  });

  it('regression (the one required variable the schema does not check named no near miss: NORMALIZER_CHANNLES=web exited 78 with only "is required"): names the misspelt variable', () => {
    const issues = ((): { variable: string; problem: string }[] => {
      try {
        loadConfig({ KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r:8081', NORMALIZER_CHANNLES: 'web' });
      } catch (caught) {
        if (caught instanceof ConfigError) return caught.issues.map((issue) => ({ variable: issue.variable, problem: issue.problem }));
        throw caught;
      }
      return [];
    })();
    expect(issues).toEqual([{ variable: 'NORMALIZER_CHANNELS', problem: 'is required but not set (comma-separated, of web, email, ads, pos, support, crm, loyalty, content) (NORMALIZER_CHANNLES is set: misspelt?)' }]);
  });

  it('reads PARTITIONS, as every service does (regression: it read TOUCHPOINTS_PARTITIONS and ignored the PARTITIONS of the shared ConfigMap), and refuses the old name instead of ignoring it', () => {
    expect(loadConfig(base).PARTITIONS).toBe(8);
    expect(loadConfig({ ...base, PARTITIONS: '16' }).PARTITIONS).toBe(16);
    expect(issuesOf({ TOUCHPOINTS_PARTITIONS: '16' })).toEqual([{ variable: 'TOUCHPOINTS_PARTITIONS', problem: 'was renamed PARTITIONS (the variable every service reads): set PARTITIONS to 16 and remove TOUCHPOINTS_PARTITIONS' }]);
    expect(issuesOf({ TOUCHPOINTS_PARTITIONS: '16', PARTITIONS: '16' })).toEqual([{ variable: 'TOUCHPOINTS_PARTITIONS', problem: 'was renamed PARTITIONS (the variable every service reads): set PARTITIONS and remove TOUCHPOINTS_PARTITIONS' }]);
  });

  it('regression (a misspelt PARTITIONS was silently ignored): the service logs a warning naming the variable and the one it reads', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    // Nothing listens on port 1: the start retries, and the warning comes before it.
    const child = spawn(process.execPath, [main], { env: { PATH: process.env.PATH ?? '', ...base, KAFKA_BROKERS: '127.0.0.1:1', HEALTH_PORT: '0', PARTITONS: '16' }, stdio: ['ignore', 'pipe', 'ignore'] });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      await vi.waitFor(() => expect(log).toContain('"msg":"PARTITONS is ignored by normalizer; did you mean PARTITIONS? (PARTITIONS is not set)"'), { timeout: 20000, interval: 100 });
      const line = JSON.parse(log.split('\n').find((entry) => entry.includes('PARTITONS')) ?? '{}') as Record<string, unknown>;
      expect(line).toMatchObject({ level: 'warn', variable: 'PARTITONS', suggestion: 'PARTITIONS' });
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('refuses to start with exit code 78 and a message naming each variable', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const result = spawnSync(process.execPath, [main], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NORMALIZER_CHANNEL: 'fax', MAX_MESSAGE_BYTES: '0' }, timeout: 30000 });
    expect(result.status).toBe(78);
    for (const variable of ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'NORMALIZER_CHANNEL', 'MAX_MESSAGE_BYTES']) expect(result.stderr).toContain(`  - ${variable}: `);
  });
});
