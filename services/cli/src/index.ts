export { main } from './cli.ts';
export { loadCliConfig, type CliConfig } from './config.ts';
export { EXIT_CODES, CliError } from './errors.ts';
export { counterMismatches, eventClusters, identityQuality } from './commands/quality.ts';
export { builderConfig, consumerGroups, normalizerConfig, resolverConfig } from './topology.ts';
export { PIPELINE_PARTS, type PipelinePart } from './commands/run.ts';
