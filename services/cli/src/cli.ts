import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isElephantError } from '@elephant/errors';
import { resolveOptions } from '@elephant/simulator';
import { LocalStack, loadStackConfig } from '@elephant/stack';
import { loadCliConfig, type CliConfig } from './config.ts';
import { listDeadLetters, replayDeadLetters, type DeadLetterFilter } from './commands/dead-letters.ts';
import { demo, demoDoneLine, demoLookupCommand } from './commands/demo.ts';
import { drain } from './commands/drain.ts';
import { simulateToFiles } from './commands/simulate.ts';
import { erase, profileByIdentifier, profiles, renderProfile } from './commands/profile.ts';
import { publish } from './commands/publish.ts';
import { PIPELINE_PARTS, runInForeground, startPipeline, type PipelinePart } from './commands/run.ts';
import { commandLogger, explainConnectionFailure } from './connect.ts';
import { CliError, EXIT_CODES } from './errors.ts';

type Env = NodeJS.ProcessEnv;

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /**
   * How many positional arguments the command takes (main() refuses more, exit 2); undefined:
   * the command checks them itself. Extra ones were ignored before 2026-12-07: `publish --file
   * *.ndjson` published the first file only.
   */
  readonly positionals?: number;
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[] }, env: Env): Promise<number>;
}

const out = (text: string): void => {
  process.stdout.write(text);
};
const err = (text: string): void => {
  process.stderr.write(text);
};

function configOf(env: Env): CliConfig {
  return loadCliConfig(env);
}

const COMMANDS: Record<string, Command> = {
  stack: {
    summary: 'Start, stop or inspect the local stack (Kafka, registry, Redis)',
    usage: 'elephant stack up|down|status [--purge] [--json]',
    options: { purge: { type: 'boolean' }, json: { type: 'boolean' } },
    positionals: 1,
    run: async ({ values, positionals }, env) => {
      const [action] = positionals;
      const stack = new LocalStack(loadStackConfig(env), (line) => err(`${line}\n`));
      if (action === 'up') {
        const result = await stack.up();
        err(result.started.length === 0 ? 'stack: already up\n' : `stack: up in ${(result.totalMs / 1000).toFixed(1)} s\n`);
        out(`KAFKA_BROKERS=${result.urls.kafkaBrokers}\nSCHEMA_REGISTRY_URL=${result.urls.schemaRegistryUrl}\nREDIS_URL=${result.urls.redisUrl}\n`);
        return EXIT_CODES.OK;
      }
      if (action === 'down') {
        await stack.down({ purge: values['purge'] === true });
        return EXIT_CODES.OK;
      }
      if (action === 'status') {
        const status = await stack.status();
        if (values['json'] === true) out(`${JSON.stringify({ components: status, urls: stack.urls }, null, 2)}\n`);
        else for (const c of status) out(`${c.name.padEnd(9)} ${(c.ready ? 'ready' : c.running ? 'running, not ready' : 'stopped').padEnd(19)} port ${String(c.port).padEnd(6)} ${c.pid ? `pid ${c.pid}` : ''}${c.detail ? `  ${c.detail}` : ''}\n`);
        return status.every((c) => c.ready) ? EXIT_CODES.OK : EXIT_CODES.UNAVAILABLE;
      }
      throw new CliError('USAGE', `elephant stack needs up, down or status (got ${action ?? 'nothing'}).`);
    },
  },
  run: {
    summary: "Run all of Elephant's services (or --only some of them) in the foreground until SIGINT/SIGTERM",
    usage: `elephant run [--only ${PIPELINE_PARTS.join(',')}]`,
    options: { only: { type: 'string' } },
    positionals: 0,
    run: async ({ values }, env) => {
      // Empty parts (`--only normalizers,`) are left out, as --code leaves them out.
      const requested = typeof values['only'] === 'string' ? values['only'].split(',').map((part) => part.trim()).filter((part) => part !== '') : [...PIPELINE_PARTS];
      const isPart = (part: string): part is PipelinePart => (PIPELINE_PARTS as readonly string[]).includes(part);
      const only = requested.filter(isPart);
      const unknown = requested.filter((part) => !isPart(part));
      if (unknown.length > 0 || only.length === 0) throw new CliError('USAGE', `--only takes a comma-separated list of ${PIPELINE_PARTS.join(', ')} (got ${unknown.length > 0 ? unknown.join(', ') : JSON.stringify(values['only'])}).`);
      const config = configOf(env);
      const logger = commandLogger(config);
      err(`elephant: starting ${only.join(', ')} against ${config.endpoints.kafkaBrokers}\n`);
      const code = await runInForeground({ start: (onFatal) => startPipeline(config, logger, onFatal, only), logger, say: (text) => err(`${text}\n`) });
      err('elephant: stopped\n');
      return code;
    },
  },
  publish: {
    summary: 'Publish an NDJSON file of {"channel", "payload"} lines to the channel topics',
    usage: 'elephant publish --file F [--rate N] [--skip-invalid]',
    options: { file: { type: 'string', short: 'f' }, rate: { type: 'string' }, 'skip-invalid': { type: 'boolean' } },
    positionals: 0,
    run: async ({ values }, env) => {
      const file = values['file'];
      if (typeof file !== 'string') throw new CliError('USAGE', 'elephant publish needs --file <ndjson file>.');
      const config = configOf(env);
      const result = await publish(config, commandLogger(config), { file, rate: numberOption(values['rate'], 'rate', 0), skipInvalid: values['skip-invalid'] === true });
      out(`${JSON.stringify(result)}\n`);
      return EXIT_CODES.OK;
    },
  },
  drain: {
    summary: 'Wait until every Elephant consumer group has no lag',
    usage: 'elephant drain [--timeout SECONDS]',
    options: { timeout: { type: 'string' } },
    positionals: 0,
    run: async ({ values }, env) => {
      const config = configOf(env);
      await drain(config, commandLogger(config), { timeoutMs: numberOption(values['timeout'], 'timeout', 300) * 1000 });
      return EXIT_CODES.OK;
    },
  },
  profiles: {
    summary: 'Every live profile as NDJSON on stdout (--events: with the eventIds resolved to each)',
    usage: 'elephant profiles [--events]',
    options: { events: { type: 'boolean' } },
    positionals: 0,
    run: async ({ values }, env) => {
      const config = configOf(env);
      for await (const profile of profiles(config, commandLogger(config), { events: values['events'] === true })) out(`${JSON.stringify(profile)}\n`);
      return EXIT_CODES.OK;
    },
  },
  profile: {
    summary: 'One profile, readable, with why each identifier is linked',
    usage: 'elephant profile <identifier-type> <value> [--json]',
    options: { json: { type: 'boolean' } },
    run: async ({ values, positionals }, env) => {
      const [type, value, ...extra] = positionals;
      if (!type || value === undefined) throw new CliError('USAGE', 'elephant profile needs an identifier type and value, e.g. elephant profile email ada@lovelace.dev');
      if (extra.length > 0) throw new CliError('USAGE', `elephant profile takes one value; quote a value with spaces, e.g. elephant profile ${type} "${[value, ...extra].join(' ')}"`);
      const config = configOf(env);
      const view = await profileByIdentifier(config, commandLogger(config), type, value);
      out(values['json'] === true ? `${JSON.stringify(view, null, 2)}\n` : renderProfile(view));
      return EXIT_CODES.OK;
    },
  },
  simulate: {
    summary: 'Simulate customers across every channel: raw messages to a file and/or the channel topics, the ground truth beside them',
    usage: [
      'elephant simulate [--people 1000] [--seed 1] [--out traffic.ndjson] [--publish] [--rate N]',
      '                  [--truth F] [--expectations F] [--start ISO] [--span-days 90] [--households 0.25]',
      '                  [--junk 0.03] [--junk-only 0] [--duplicates 0.02] [--late 0.03] [--variants 0.35] [--bad 0]',
      '  --publish   publish the messages to the channel topics (as `elephant publish` does); without --out, no traffic file',
      '  --rate N    messages per second written or published (default: as fast as possible)',
      '  --truth, --expectations  default beside --out (traffic.truth.ndjson, traffic.people.ndjson)',
      '  the other options are the simulator\'s (docs/simulator.md, "Options"): shares between 0 and 1',
    ].join('\n'),
    options: {
      people: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      truth: { type: 'string' },
      expectations: { type: 'string' },
      publish: { type: 'boolean' },
      rate: { type: 'string' },
      start: { type: 'string' },
      'span-days': { type: 'string' },
      households: { type: 'string' },
      junk: { type: 'string' },
      'junk-only': { type: 'string' },
      duplicates: { type: 'string' },
      late: { type: 'string' },
      variants: { type: 'string' },
      bad: { type: 'string' },
    },
    positionals: 0,
    run: async ({ values }, env) => {
      const config = configOf(env);
      // An empty path named no file: `--out ""` wrote hidden .truth.ndjson files here, then exited 73 with a blank name.
      for (const name of ['out', 'truth', 'expectations']) {
        if (typeof values[name] === 'string' && values[name].trim() === '') throw new CliError('USAGE', `--${name} must name a file (got an empty value).`);
      }
      const toTopics = values['publish'] === true;
      const file = typeof values['out'] === 'string' ? values['out'] : toTopics ? null : 'traffic.ndjson';
      const base = file ?? 'traffic.ndjson';
      const share = (name: string): number | undefined => (values[name] === undefined ? undefined : numberOption(values[name], name, 0));
      const simulation = await simulateToFiles(config, commandLogger(config), {
        people: numberOption(values['people'], 'people', 1000),
        seed: signedNumberOption(values['seed'], 'seed', 1),
        out: file,
        truth: typeof values['truth'] === 'string' ? values['truth'] : base.replace(/(\.ndjson)?$/, '.truth.ndjson'),
        expectations: typeof values['expectations'] === 'string' ? values['expectations'] : base.replace(/(\.ndjson)?$/, '.people.ndjson'),
        publish: toTopics,
        rate: numberOption(values['rate'], 'rate', 0),
        simulator: {
          start: typeof values['start'] === 'string' ? values['start'] : undefined,
          spanDays: share('span-days'),
          householdShare: share('households'),
          junkRate: share('junk'),
          junkOnlyRate: share('junk-only'),
          duplicateRate: share('duplicates'),
          lateRate: share('late'),
          variantRate: share('variants'),
          badRate: share('bad'),
        },
      }).catch((error: unknown) => {
        throw simulatorOptionsByFlag(error);
      });
      out(`${JSON.stringify({ messages: simulation.records.length, touchpoints: simulation.truth.size, people: simulation.expectations.length, published: toTopics })}\n`);
      return EXIT_CODES.OK;
    },
  },
  demo: {
    summary: 'The whole job end to end on the local stack, scored against the ground truth',
    usage: [
      'elephant demo [--people 1000] [--seed 7] [--show 3]',
      '  with KAFKA_BROKERS set, uses those services instead of bringing the local stack up',
      '  exit 5 when precision < 0.99, recall < 0.97, a profile\'s counters differ from the truth or a touchpoint is on several profiles',
    ].join('\n'),
    options: { people: { type: 'string' }, seed: { type: 'string' }, show: { type: 'string' } },
    positionals: 0,
    run: async ({ values }, env) => {
      const config = configOf(env);
      const options = { people: numberOption(values['people'], 'people', 1000), seed: signedNumberOption(values['seed'], 'seed', 7), show: numberOption(values['show'], 'show', 3) };
      // Checked before the stack and the services start (until 2026-12-07 `demo --seed 1.5` brought
      // them up to refuse it, or waited out an unreachable broker to exit 69).
      try {
        resolveOptions({ seed: options.seed, people: options.people });
      } catch (error) {
        throw simulatorOptionsByFlag(error);
      }
      const report = await demo(env, commandLogger(config), options);
      const lookup = demoLookupCommand(env, report.tenant, report.sampleEmail);
      err(`\n${demoDoneLine(env, report.tenant, report.seconds, lookup)}\n`);
      if (!report.passed) {
        err(`elephant: identity quality or counters below target (${report.failures.join('; ')})\n`);
        return EXIT_CODES.QUALITY;
      }
      return EXIT_CODES.OK;
    },
  },
  erase: {
    summary: 'Erase the person an identifier belongs to (right to be forgotten)',
    usage: 'elephant erase <identifier-type> <value>',
    options: {},
    run: async ({ positionals }, env) => {
      const [type, value, ...extra] = positionals;
      if (!type || value === undefined) throw new CliError('USAGE', 'elephant erase needs an identifier type and value, e.g. elephant erase email ada@lovelace.dev');
      // `erase loyalty_card 6001 0000 0378 5595` unquoted looked up the card 6001: another person.
      if (extra.length > 0) throw new CliError('USAGE', `elephant erase takes one value; quote a value with spaces, e.g. elephant erase ${type} "${[value, ...extra].join(' ')}"`);
      const config = configOf(env);
      const result = await erase(config, commandLogger(config), type, value);
      err(`elephant: erasure of profile ${result.profileId} requested (request ${result.requestId}); the profile builder carries it out\n`);
      out(`${JSON.stringify(result)}\n`);
      return EXIT_CODES.OK;
    },
  },
  'dead-letters': {
    summary: "A dead-letter topic's records as NDJSON (why, and from where; never the values), or --replay them to the topics they came from",
    usage: [
      'elephant dead-letters <full topic name> [--code C[,C...]] [--service S] [--source-topic T] [--from-offset N] [--to-offset N] [--replay [--dry-run]]',
      '  --replay    send each selected record back to its source topic and partition, as it was (key, value, timestamp,',
      '              headers without elephant.dlq.*), once per source record and code; prints what was sent',
      '  --dry-run   with --replay: print what would be sent, send nothing',
    ].join('\n'),
    options: {
      code: { type: 'string' },
      service: { type: 'string' },
      'source-topic': { type: 'string' },
      'from-offset': { type: 'string' },
      'to-offset': { type: 'string' },
      replay: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
    },
    run: async ({ values, positionals }, env) => {
      const [topic, ...extra] = positionals;
      if (topic === undefined || extra.length > 0) throw new CliError('USAGE', 'elephant dead-letters needs one dead-letter topic, e.g. elephant dead-letters dlq.profile-builder.v1 (the full name: TOPIC_PREFIX is not prepended)');
      if (values['dry-run'] === true && values['replay'] !== true) throw new CliError('USAGE', '--dry-run goes with --replay.');
      const text = (name: string): string | undefined => (typeof values[name] === 'string' ? values[name] : undefined);
      const codes = text('code')?.split(',').map((code) => code.trim()).filter((code) => code !== '');
      // An empty --code ("$CODE" unset) selected every dead letter, and --replay replayed them all.
      if (codes?.length === 0) throw new CliError('USAGE', '--code needs at least one code, e.g. --code TOUCHPOINT_TOO_LARGE,INVALID_JSON');
      const service = text('service');
      const sourceTopic = text('source-topic');
      const fromOffset = offsetOption(values['from-offset'], 'from-offset');
      const toOffset = offsetOption(values['to-offset'], 'to-offset');
      const filter: DeadLetterFilter = { ...(codes ? { codes } : {}), ...(service === undefined ? {} : { service }), ...(sourceTopic === undefined ? {} : { sourceTopic }), ...(fromOffset === undefined ? {} : { fromOffset }), ...(toOffset === undefined ? {} : { toOffset }) };
      const config = configOf(env);
      const logger = commandLogger(config);
      if (values['replay'] === true) {
        const dryRun = values['dry-run'] === true;
        const result = await replayDeadLetters(config, logger, topic, filter, { dryRun });
        err(dryRun ? `elephant: ${result.selected} dead letters would be replayed (nothing sent)\n` : `elephant: ${result.replayed} dead letters replayed to ${Object.keys(result.byTopic).join(', ') || 'no topic'}\n`);
        out(`${JSON.stringify(result)}\n`);
        return EXIT_CODES.OK;
      }
      for (const view of await listDeadLetters(config, logger, topic, filter)) out(`${JSON.stringify(view)}\n`);
      return EXIT_CODES.OK;
    },
  },
};

/** The simulator's option names (SimulationOptions) as `elephant simulate` spells them. */
const SIMULATOR_FLAGS: Readonly<Record<string, string>> = {
  people: '--people',
  seed: '--seed',
  start: '--start',
  spanDays: '--span-days',
  householdShare: '--households',
  junkRate: '--junk',
  junkOnlyRate: '--junk-only',
  duplicateRate: '--duplicates',
  lateRate: '--late',
  variantRate: '--variants',
  badRate: '--bad',
  tenant: 'TENANT',
  defaultRegion: 'DEFAULT_REGION',
};

/** The simulator's INVALID_OPTIONS as a usage error naming each bad option by its flag (`--junk`, not junkRate); any other error unchanged. */
function simulatorOptionsByFlag(error: unknown): unknown {
  if (!isElephantError(error, 'INVALID_OPTIONS')) return error;
  const listed = error.details['problems'];
  const problems = Array.isArray(listed) ? listed.filter((problem): problem is string => typeof problem === 'string') : [];
  if (problems.length === 0) return error;
  const named = problems.map((problem) => problem.replace(/^[A-Za-z]+/, (option) => SIMULATOR_FLAGS[option] ?? option));
  return new CliError('USAGE', `Invalid simulator option${named.length === 1 ? '' : 's'}: ${named.join('; ')}`, { cause: error });
}

/** A Kafka offset option: a non-negative whole number. */
function offsetOption(value: string | boolean | undefined, name: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) throw new CliError('USAGE', `--${name} must be an offset, a whole number of 0 or more (got ${String(value)}).`);
  return BigInt(value.trim());
}

function numberOption(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(number) || number < 0) throw new CliError('USAGE', `--${name} must be a non-negative number (got ${String(value)}).`);
  return number;
}

/** A number that may be negative (a seed); whether it is an integer in range the simulator checks. */
function signedNumberOption(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(number)) throw new CliError('USAGE', `--${name} must be a number (got ${String(value)}).`);
  return number;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'Usage: elephant <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
    '',
    'Run `elephant <command> --help` for its options. Services are found through KAFKA_BROKERS,',
    'SCHEMA_REGISTRY_URL and REDIS_URL, else the local stack (docs/cli.md).',
    '',
  ].join('\n');
}

/** A connection failure as the CliError that says what to do; any other error unchanged. */
function connectionFailureOf(error: unknown, env: Env): unknown {
  let config: CliConfig;
  try {
    config = configOf(env);
  } catch {
    return error;
  }
  return explainConnectionFailure(error, config);
}

/**
 * Runs one command; resolves to its exit code (EXIT_CODES). Usage errors are reported here;
 * other failures are thrown for main.ts to report (connection failures as CliError UNAVAILABLE).
 */
export async function main(argv: readonly string[], env: Env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // A usage error: the help goes to stderr, as other usage errors do (before 2026-12-07: stdout).
    err(help());
    return EXIT_CODES.USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    out(help());
    return EXIT_CODES.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    err(`elephant: unknown command "${name}"\n\n${help()}`);
    return EXIT_CODES.USAGE;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    err(`elephant ${name}: ${(error as Error).message}\nUsage: ${command.usage}\n`);
    return EXIT_CODES.USAGE;
  }
  if (parsed.values['help'] === true) {
    out(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return EXIT_CODES.OK;
  }
  if (command.positionals !== undefined && parsed.positionals.length > command.positionals) {
    const extra = parsed.positionals.slice(command.positionals).map((arg) => JSON.stringify(arg)).join(' ');
    const hint = name === 'publish' ? ' (one --file per run: a shell pattern such as *.ndjson expands to several files)' : '';
    err(`elephant ${name}: unexpected argument${parsed.positionals.length - command.positionals === 1 ? '' : 's'} ${extra}${hint}\nUsage: ${command.usage}\n`);
    return EXIT_CODES.USAGE;
  }
  try {
    return await command.run({ values: parsed.values, positionals: parsed.positionals }, env);
  } catch (error) {
    // Bad simulator options are the user's input to fix, like any other usage error.
    if ((error instanceof CliError && error.code === 'USAGE') || isElephantError(error, 'INVALID_OPTIONS')) {
      err(`elephant ${name}: ${(error as Error).message}\nUsage: ${command.usage}\n`);
      return EXIT_CODES.USAGE;
    }
    throw connectionFailureOf(error, env);
  }
}
