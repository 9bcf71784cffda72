import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createLogger } from '@elephant/observability';
import { createLifecycle } from '@elephant/runtime';
import { LocalStack, loadStackConfig } from '@elephant/stack';
import { loadCliConfig, type CliConfig } from './config.ts';
import { demo } from './commands/demo.ts';
import { drain } from './commands/drain.ts';
import { simulateToFiles } from './commands/simulate.ts';
import { erase, profileByIdentifier, profiles, renderProfile } from './commands/profile.ts';
import { publish } from './commands/publish.ts';
import { PIPELINE_PARTS, startPipeline, type PipelinePart } from './commands/run.ts';
import { CliError, EXIT_CODES } from './errors.ts';

type Env = NodeJS.ProcessEnv;

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[] }, env: Env): Promise<number>;
}

const out = (text: string): void => {
  process.stdout.write(text);
};
const out_ = out;
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
        return status.every((c) => c.ready) ? EXIT_CODES.OK : EXIT_CODES.DRAIN_TIMEOUT;
      }
      throw new CliError('USAGE', `elephant stack needs up, down or status (got ${action ?? 'nothing'}).`);
    },
  },
  run: {
    summary: "Run all of Elephant's services (or --only some of them) in the foreground until SIGINT/SIGTERM",
    usage: `elephant run [--only ${PIPELINE_PARTS.join(',')}]`,
    options: { only: { type: 'string' } },
    run: async ({ values }, env) => {
      const requested = typeof values['only'] === 'string' ? values['only'].split(',').map((part) => part.trim()) : [...PIPELINE_PARTS];
      const isPart = (part: string): part is PipelinePart => (PIPELINE_PARTS as readonly string[]).includes(part);
      const only = requested.filter(isPart);
      const unknown = requested.filter((part) => !isPart(part));
      if (unknown.length > 0 || only.length === 0) throw new CliError('USAGE', `--only takes a comma-separated list of ${PIPELINE_PARTS.join(', ')} (got ${unknown.join(', ') || 'nothing'}).`);
      const config = configOf(env);
      const logger = createLogger({ name: 'elephant', level: config.LOG_LEVEL, destination: process.stderr });
      const lifecycle = createLifecycle({ logger });
      const pipeline = await startPipeline(config, logger, (error) => void lifecycle.shutdown(`fatal: ${error.message}`, 1), only);
      lifecycle.onShutdown('pipeline', () => pipeline.stop());
      err(`elephant: running ${pipeline.services.length} services against ${config.endpoints.kafkaBrokers}; Ctrl-C stops them\n`);
      await lifecycle.done;
      err('elephant: stopped\n');
      return typeof process.exitCode === 'number' ? process.exitCode : EXIT_CODES.OK;
    },
  },
  publish: {
    summary: 'Publish an NDJSON file of {"channel", "payload"} lines to the channel topics',
    usage: 'elephant publish --file F [--rate N] [--skip-invalid]',
    options: { file: { type: 'string', short: 'f' }, rate: { type: 'string' }, 'skip-invalid': { type: 'boolean' } },
    run: async ({ values }, env) => {
      const file = values['file'];
      if (typeof file !== 'string') throw new CliError('USAGE', 'elephant publish needs --file <ndjson file>.');
      const config = configOf(env);
      const result = await publish(config, createLogger({ name: 'elephant', level: config.LOG_LEVEL, destination: process.stderr }), { file, rate: numberOption(values['rate'], 'rate', 0), skipInvalid: values['skip-invalid'] === true });
      out(`${JSON.stringify(result)}\n`);
      return EXIT_CODES.OK;
    },
  },
  drain: {
    summary: 'Wait until every Elephant consumer group has no lag',
    usage: 'elephant drain [--timeout SECONDS]',
    options: { timeout: { type: 'string' } },
    run: async ({ values }, env) => {
      const config = configOf(env);
      await drain(config, createLogger({ name: 'elephant', level: config.LOG_LEVEL, destination: process.stderr }), { timeoutMs: numberOption(values['timeout'], 'timeout', 300) * 1000 });
      return EXIT_CODES.OK;
    },
  },
  profiles: {
    summary: 'Every live profile as NDJSON on stdout',
    usage: 'elephant profiles',
    options: {},
    run: async (_args, env) => {
      const config = configOf(env);
      for await (const profile of profiles(config, createLogger({ name: 'elephant', level: config.LOG_LEVEL, destination: process.stderr }))) out(`${JSON.stringify(profile)}\n`);
      return EXIT_CODES.OK;
    },
  },
  profile: {
    summary: 'One profile, readable, with why each identifier is linked',
    usage: 'elephant profile <identifier-type> <value> [--json]',
    options: { json: { type: 'boolean' } },
    run: async ({ values, positionals }, env) => {
      const [type, value] = positionals;
      if (!type || value === undefined) throw new CliError('USAGE', 'elephant profile needs an identifier type and value, e.g. elephant profile email ada@lovelace.dev');
      const config = configOf(env);
      const view = await profileByIdentifier(config, createLogger({ name: 'elephant', level: config.LOG_LEVEL, destination: process.stderr }), type, value);
      out(values['json'] === true ? `${JSON.stringify(view, null, 2)}\n` : renderProfile(view));
      return EXIT_CODES.OK;
    },
  },
  simulate: {
    summary: 'Simulate customers across every channel: raw messages plus the ground truth',
    usage: 'elephant simulate [--people 1000] [--seed 1] [--out traffic.ndjson] [--truth truth.ndjson] [--expectations people.ndjson]',
    options: { people: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, truth: { type: 'string' }, expectations: { type: 'string' } },
    run: async ({ values }, env) => {
      const config = configOf(env);
      const out = typeof values['out'] === 'string' ? values['out'] : 'traffic.ndjson';
      const simulation = await simulateToFiles(config, {
        people: numberOption(values['people'], 'people', 1000),
        seed: numberOption(values['seed'], 'seed', 1),
        out,
        truth: typeof values['truth'] === 'string' ? values['truth'] : out.replace(/(\.ndjson)?$/, '.truth.ndjson'),
        expectations: typeof values['expectations'] === 'string' ? values['expectations'] : out.replace(/(\.ndjson)?$/, '.people.ndjson'),
      });
      out_(`${JSON.stringify({ messages: simulation.records.length, touchpoints: simulation.truth.size, people: simulation.expectations.length })}\n`);
      return EXIT_CODES.OK;
    },
  },
  demo: {
    summary: 'The whole job end to end on the local stack, scored against the ground truth',
    usage: 'elephant demo [--people 1000] [--seed 7] [--show 3]',
    options: { people: { type: 'string' }, seed: { type: 'string' }, show: { type: 'string' } },
    run: async ({ values }, env) => {
      const config = configOf(env);
      const report = await demo(env, createLogger({ name: 'elephant', level: config.LOG_LEVEL, destination: process.stderr }), { people: numberOption(values['people'], 'people', 1000), seed: numberOption(values['seed'], 'seed', 7), show: numberOption(values['show'], 'show', 3) });
      err(`\nelephant: demo done in ${report.seconds.toFixed(0)} s. The stack keeps running: \`npx elephant profile email <address>\`, \`npx elephant stack down\`.\n`);
      return EXIT_CODES.OK;
    },
  },
  erase: {
    summary: 'Erase the person an identifier belongs to (right to be forgotten)',
    usage: 'elephant erase <identifier-type> <value>',
    options: {},
    run: async ({ positionals }, env) => {
      const [type, value] = positionals;
      if (!type || value === undefined) throw new CliError('USAGE', 'elephant erase needs an identifier type and value, e.g. elephant erase email ada@lovelace.dev');
      const config = configOf(env);
      const result = await erase(config, createLogger({ name: 'elephant', level: config.LOG_LEVEL, destination: process.stderr }), type, value);
      err(`elephant: erasure of profile ${result.profileId} requested (request ${result.requestId}); the profile builder carries it out\n`);
      out(`${JSON.stringify(result)}\n`);
      return EXIT_CODES.OK;
    },
  },
};

function numberOption(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(number) || number < 0) throw new CliError('USAGE', `--${name} must be a non-negative number (got ${String(value)}).`);
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

export async function main(argv: readonly string[], env: Env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(help());
    return name === undefined ? EXIT_CODES.USAGE : EXIT_CODES.OK;
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
  try {
    return await command.run({ values: parsed.values, positionals: parsed.positionals }, env);
  } catch (error) {
    if (error instanceof CliError && error.code === 'USAGE') {
      err(`elephant ${name}: ${error.message}\nUsage: ${command.usage}\n`);
      return EXIT_CODES.USAGE;
    }
    throw error;
  }
}
