/**
 * `elephant`'s main(): exit codes scripts can trust, help output, publish line parsing,
 * identifier normalization and connection-failure advice. Nothing here reaches a service:
 * the endpoints point at port 1, and every case fails before connecting.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CliError, demoDoneLine, demoLookupCommand, drain, EXIT_CODES, explainConnectionFailure, loadCliConfig, main, normalizedIdentifier, parsePublishLine, redactDetailsText, unreachableService } from '@elephant/cli';
import { createLogger } from '@elephant/observability';
import { RedisError } from '@elephant/redis';
import { RegistryError } from '@elephant/registry';

const env = { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };
const dir = mkdtempSync(join(tmpdir(), 'elephant-cli-main-'));
let stdout = '';
let stderr = '';

beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('elephant main(): help', () => {
  it('lists every command on --help and exits 0', async () => {
    expect(await main(['--help'], env)).toBe(EXIT_CODES.OK);
    for (const command of ['stack', 'run', 'publish', 'drain', 'profiles', 'profile', 'simulate', 'demo', 'erase', 'dead-letters']) expect(stdout).toContain(`  ${command}`);
  });

  it('regression (it went to stdout, unlike every other usage error): prints the help to stderr and exits 2 without a command', async () => {
    expect(await main([], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('Usage: elephant <command>');
    expect(stdout).toBe('');
  });

  it('has --help on every command, with its usage', async () => {
    for (const command of ['stack', 'run', 'publish', 'drain', 'profiles', 'profile', 'simulate', 'demo', 'erase', 'dead-letters']) {
      stdout = '';
      expect(await main([command, '--help'], env)).toBe(EXIT_CODES.OK);
      expect(stdout).toContain(`Usage: elephant ${command}`);
    }
  });

  it('simulate --help names --publish, --rate and the simulator options', async () => {
    await main(['simulate', '--help'], env);
    for (const flag of ['--publish', '--rate', '--households', '--junk', '--duplicates', '--late']) expect(stdout).toContain(flag);
  });
});

describe('elephant main(): exit codes', () => {
  it('exits 2 on an unknown command or option', async () => {
    expect(await main(['bogus'], env)).toBe(EXIT_CODES.USAGE);
    expect(await main(['drain', '--bogus'], env)).toBe(EXIT_CODES.USAGE);
  });

  it('exits 2 on a bad number', async () => {
    expect(await main(['drain', '--timeout', 'soon'], env)).toBe(EXIT_CODES.USAGE);
    expect(await main(['publish', '--file', 'x', '--rate', '-5'], env)).toBe(EXIT_CODES.USAGE);
    expect(await main(['simulate', '--people', ''], env)).toBe(EXIT_CODES.USAGE);
  });

  it('exits 2, not 1, on an invalid simulator option (simulate --seed 1.5)', async () => {
    expect(await main(['simulate', '--seed', '1.5', '--out', join(dir, 'seed.ndjson')], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('seed must be an integer');
    expect(await main(['simulate', '--junk', '2', '--out', join(dir, 'junk.ndjson')], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('--junk must be a share');
  });

  it('regression (demo --seed 1.5 started the stack and the services before the simulator refused it): exits 2 before connecting to anything', async () => {
    expect(await main(['demo', '--seed', '1.5'], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('--seed must be an integer');
    expect(await main(['demo', '--people', '2.5'], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('--people must be an integer');
  });

  it('regression (bad simulator options were named by the simulator\'s names, householdShare and junkRate): names them by their flags', async () => {
    expect(await main(['simulate', '--households', '3', '--junk', '2', '--out', join(dir, 'flags.ndjson')], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('--households must be a share between 0 and 1 (got 3); --junk must be a share between 0 and 1 (got 2)');
    expect(stderr).not.toMatch(/householdShare|junkRate/);
  });

  it('regression (extra arguments were ignored: `publish --file a.ndjson b.ndjson` published a.ndjson only, `drain 5` waited 300 s): exits 2 naming them, before connecting', async () => {
    const cases: [string[], string][] = [
      [['publish', '--file', 'a.ndjson', 'b.ndjson'], 'elephant publish: unexpected argument "b.ndjson" (one --file per run'],
      [['drain', '5'], 'elephant drain: unexpected argument "5"'],
      [['simulate', 'x', 'y'], 'elephant simulate: unexpected arguments "x" "y"'],
      [['profiles', 'all'], 'elephant profiles: unexpected argument "all"'],
      [['run', 'resolver'], 'elephant run: unexpected argument "resolver"'],
      [['demo', '7'], 'elephant demo: unexpected argument "7"'],
      [['stack', 'up', 'now'], 'elephant stack: unexpected argument "now"'],
    ];
    for (const [args, message] of cases) {
      stderr = '';
      expect(await main(args, env), args.join(' ')).toBe(EXIT_CODES.USAGE);
      expect(stderr).toContain(message);
    }
  });

  it('regression (`run --only ,` said "got nothing"): names what it got', async () => {
    expect(await main(['run', '--only', ','], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('(got ",")');
  });

  it('regression (an unwritable --out or --truth, a directory, ended in "Unhandled \'error\' event" and a stack trace): exits 73 naming the path', async () => {
    const taken = join(dir, 'a-directory');
    mkdirSync(taken, { recursive: true });
    await expect(main(['simulate', '--people', '3', '--out', taken], env)).rejects.toMatchObject({ code: 'CANNOT_CREATE', message: `Cannot write ${taken}: it is a directory.` });
    await expect(main(['simulate', '--people', '3', '--out', join(dir, 'fine.ndjson'), '--truth', taken], env)).rejects.toMatchObject({ code: 'CANNOT_CREATE', message: `Cannot write ${taken}: it is a directory.` });
    expect(EXIT_CODES.CANNOT_CREATE).toBe(73);
  });

  it('regression (an --out it cannot write left the truth files behind; --out "" wrote hidden ones here): writes none of them', async () => {
    const taken = join(dir, 'another-directory');
    mkdirSync(taken, { recursive: true });
    await expect(main(['simulate', '--people', '3', '--out', taken], env)).rejects.toMatchObject({ code: 'CANNOT_CREATE' });
    expect(existsSync(`${taken}.truth.ndjson`)).toBe(false);
    expect(existsSync(`${taken}.people.ndjson`)).toBe(false);
    for (const name of ['out', 'truth', 'expectations']) {
      expect(await main(['simulate', '--people', '3', `--${name}`, ''], env)).toBe(EXIT_CODES.USAGE);
      expect(stderr).toContain(`--${name} must name a file`);
    }
  });

  it('exits 2 when a command lacks its arguments', async () => {
    expect(await main(['publish'], env)).toBe(EXIT_CODES.USAGE);
    expect(await main(['profile', 'email'], env)).toBe(EXIT_CODES.USAGE);
    expect(await main(['erase'], env)).toBe(EXIT_CODES.USAGE);
    expect(await main(['stack', 'sideways'], env)).toBe(EXIT_CODES.USAGE);
  });

  it('regression (an unquoted value with spaces erased whoever held its first word; an empty --code replayed every dead letter): exits 2, before connecting', async () => {
    expect(await main(['erase', 'loyalty_card', '6001', '0000', '0378', '5595'], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('elephant erase loyalty_card "6001 0000 0378 5595"');
    expect(await main(['profile', 'crm_id', 'ACME', '0042'], env)).toBe(EXIT_CODES.USAGE);
    expect(await main(['dead-letters', 'dlq.profile-builder.v1', '--code', '', '--replay'], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('--code needs at least one code');
  });

  it('exits 2 on an identifier normalization refuses, before connecting', async () => {
    expect(await main(['profile', 'phone', 'not a phone'], env)).toBe(EXIT_CODES.USAGE);
    expect(stderr).toContain('not a valid phone identifier');
  });

  it('reports a missing publish file as FILE_NOT_FOUND (exit 66), naming how to make one', async () => {
    const failure = main(['publish', '--file', join(dir, 'missing.ndjson')], env);
    await expect(failure).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await expect(failure).rejects.toThrow(/elephant simulate --out/);
    expect(EXIT_CODES.FILE_NOT_FOUND).toBe(66);
  });

  it('regression (a directory as --file failed with EISDIR, exit 1): reports it as FILE_NOT_FOUND (exit 66), before connecting', async () => {
    await expect(main(['publish', '--file', dir], env)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: `${dir} is a directory: --file takes an NDJSON file (one per run).` });
  });

  it('gives `stack status` its own code (69, unavailable), not the drain timeout (3)', () => {
    expect(EXIT_CODES.UNAVAILABLE).toBe(69);
    expect(new Set(Object.values(EXIT_CODES)).size).toBe(Object.values(EXIT_CODES).length);
  });
});

describe('drain: a signal ends the wait (the demo\'s, when a service stops)', () => {
  it('throws the signal\'s reason at once, not after its timeout, with the broker unreachable', async () => {
    const stopped = new Error('identity resolver: consumer stopped');
    const started = Date.now();
    await expect(drain(loadCliConfig(env), createLogger({ name: 'test', level: 'silent' }), { timeoutMs: 60000, signal: AbortSignal.abort(stopped) })).rejects.toBe(stopped);
    expect(Date.now() - started).toBeLessThan(30000);
  });

  it('ends a wait for an unreachable broker when the signal aborts during it', async () => {
    const stopped = new Error('profile builder: fatal');
    const controller = new AbortController();
    const waiting = drain(loadCliConfig(env), createLogger({ name: 'test', level: 'silent' }), { timeoutMs: 60000, signal: controller.signal });
    setTimeout(() => controller.abort(stopped), 200);
    await expect(waiting).rejects.toBe(stopped);
  });
});

describe('elephant publish: line parsing', () => {
  it('reads {"channel", "payload"} lines into the payload bytes', () => {
    expect(parsePublishLine('{"channel":"web","payload":{"type":"page"}}')).toEqual({ channel: 'web', json: '{"type":"page"}' });
    expect(parsePublishLine('{"channel":"email","payload":[{"event":"open"}]}')).toEqual({ channel: 'email', json: '[{"event":"open"}]' });
  });

  it('sends the payload\'s numbers as the line wrote them (an id past 2^53 went out rounded)', () => {
    expect(parsePublishLine('{"channel":"pos","payload":{"orderId":12345678901234567891,"total":19.90,"qty":1e2,"n":-3,"x":0.5}}')).toEqual({ channel: 'pos', json: '{"orderId":12345678901234567891,"total":19.90,"qty":1e2,"n":-3,"x":0.5}' });
    const deep = `${'['.repeat(20000)}1${']'.repeat(20000)}`;
    expect(parsePublishLine(`{"channel":"web","payload":{"a":1}, "extra": ${deep}}`)).toEqual({ channel: 'web', json: '{"a":1}' });
  });

  it('says why a line is not one', () => {
    expect(parsePublishLine('{oops')).toBe('not JSON');
    expect(parsePublishLine('[1]')).toMatch(/expected an object/);
    expect(parsePublishLine('{"channel":"fax","payload":{}}')).toMatch(/"channel" must be one of web/);
    expect(parsePublishLine('{"channel":"web"}')).toBe('"payload" is missing');
  });
});

describe('elephant profile / erase: identifiers are normalized before the lookup', () => {
  const config = loadCliConfig(env);

  it('finds ADA@Lovelace.dev as ada@lovelace.dev', () => {
    expect(normalizedIdentifier(config, 'email', ' ADA@Lovelace.dev ')).toEqual({ type: 'email', value: 'ada@lovelace.dev' });
  });

  it('finds (415) 555-0142 as +14155550142 in DEFAULT_REGION US', () => {
    expect(normalizedIdentifier(config, 'phone', '(415) 555-0142')).toEqual({ type: 'phone', value: '+14155550142' });
    expect(normalizedIdentifier(config, 'loyalty_card', '6001 0000 0378 5595')).toEqual({ type: 'loyalty_card', value: '6001000003785595' });
  });

  it('refuses what normalization refuses, as a usage error naming the region', () => {
    expect(() => normalizedIdentifier(loadCliConfig({ ...env, DEFAULT_REGION: 'DE' }), 'phone', 'twelve')).toThrow(/DEFAULT_REGION DE/);
    expect(() => normalizedIdentifier(config, 'email', 'nobody')).toThrow(CliError);
  });
});

describe('elephant: connection failures say what to do', () => {
  const config = loadCliConfig(env);

  it('finds kafkajs connection errors behind retries', () => {
    const connection = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSConnectionError' });
    const retries = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: connection });
    expect(unreachableService(retries)).toBe('Kafka');
    const explained = explainConnectionFailure(retries, config);
    expect(explained).toBeInstanceOf(CliError);
    expect(explained).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect((explained as Error).message).toContain('elephant stack up');
    expect((explained as Error).message).toContain('KAFKA_BROKERS=127.0.0.1:1');
  });

  it('regression (the registry\'s password was printed): names the registry and Redis URLs without their user info', () => {
    const secret = loadCliConfig({ ...env, SCHEMA_REGISTRY_URL: 'http://svc:s3cr%2Fet@registry:8081/apis/ccompat/v7', REDIS_URL: 'redis://:pa%23ss@redis:6379' });
    const registry = explainConnectionFailure(new RegistryError('REGISTRY_UNAVAILABLE', 'down', { retryable: true }), secret) as Error;
    expect(registry.message).toContain('SCHEMA_REGISTRY_URL=http://***@registry:8081/apis/ccompat/v7');
    const redis = explainConnectionFailure(new RedisError('REDIS_UNAVAILABLE', 'down'), secret) as Error;
    expect(redis.message).toContain('REDIS_URL=redis://***@redis:6379');
    for (const message of [registry.message, redis.message]) for (const part of ['svc', 's3cr', 'pa%23ss']) expect(message).not.toContain(part);
  });

  it('leaves other failures alone', () => {
    const other = new TypeError('boom');
    expect(unreachableService(other)).toBeUndefined();
    expect(explainConnectionFailure(other, config)).toBe(other);
  });
});

describe('elephant dead-letters: details cut when written are listed with their values redacted', () => {
  it('redacts the string after each "value" key, one cut off at the end too, and leaves text inside other strings', () => {
    expect(redactDetailsText('{"dropped":[{"field":"a","value":"ada@x.dev","reason":"r"},{"value" : "bob@y.d')).toBe('{"dropped":[{"field":"a","value":"[redacted]","reason":"r"},{"value" : "[redacted]"');
    expect(redactDetailsText(String.raw`{"note":"say \"value\": \"x\"","value":"a\"b","path":"value"}`)).toBe(String.raw`{"note":"say \"value\": \"x\"","value":"[redacted]","path":"value"}`);
    expect(redactDetailsText('{"dropped":[{"value')).toBe('{"dropped":[{"value');
  });
});

describe('elephant demo: the closing line', () => {
  it('regression (it said "The stack keeps running" after a demo on the services KAFKA_BROKERS named, which it had not started): says so only after a demo on the local stack', () => {
    expect(demoDoneLine({}, 'demo-7-x', 42, 'LOOKUP')).toBe('elephant: demo done in 42 s (tenant demo-7-x). The stack keeps running: `LOOKUP`, `npx elephant stack down`.');
    expect(demoDoneLine({ KAFKA_BROKERS: 'kafka:9092' }, 'demo-7-x', 42, 'LOOKUP')).toBe('elephant: demo done in 42 s (tenant demo-7-x). Look a person up: `LOOKUP`.');
  });
});

describe('elephant demo: the closing lookup command', () => {
  it('regression (it named only TENANT, and failed after a demo under a REDIS_KEY_PREFIX or another Redis): carries each setting the lookup needs that the demo ran with', () => {
    expect(demoLookupCommand({}, 'demo-7-x', 'ada@lovelace.dev')).toBe('TENANT=demo-7-x npx elephant profile email ada@lovelace.dev');
    expect(demoLookupCommand({ REDIS_KEY_PREFIX: 'team a:', REDIS_URL: 'redis://redis:6379', ELEPHANT_STACK_DIR: '/tmp/stack', TOPIC_PREFIX: 'x.' }, 'demo-7-x', 'ada@lovelace.dev')).toBe(
      "TENANT=demo-7-x REDIS_URL=redis://redis:6379 REDIS_KEY_PREFIX='team a:' npx elephant profile email ada@lovelace.dev",
    );
    // Without REDIS_URL the lookup finds Redis as the demo did: through the local stack's settings.
    expect(demoLookupCommand({ REDIS_KEY_PREFIX: 'p:', ELEPHANT_STACK_DIR: '/tmp/stack', ELEPHANT_REDIS_PORT: '26379', REDIS_URL: ' ' }, 'demo-7-x', null)).toBe(
      'TENANT=demo-7-x REDIS_KEY_PREFIX=p: ELEPHANT_STACK_DIR=/tmp/stack ELEPHANT_REDIS_PORT=26379 npx elephant profile email <address>',
    );
  });

  it('does not print a password of REDIS_URL', () => {
    const command = demoLookupCommand({ REDIS_URL: 'rediss://:s3cret@redis:6380', REDIS_TLS_CA_FILE: '/etc/ca.pem' }, 'demo-7-x', 'ada@lovelace.dev');
    expect(command).toBe("TENANT=demo-7-x REDIS_URL='rediss://***@redis:6380' REDIS_TLS_CA_FILE=/etc/ca.pem npx elephant profile email ada@lovelace.dev");
  });
});
