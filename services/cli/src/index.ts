export { main } from './cli.ts';
export { loadCliConfig, type CliConfig } from './config.ts';
export { EXIT_CODES, CliError, CLI_ERROR_CODES, CONFIG_ERROR_CODES, exitCodeOf, type CliErrorCode } from './errors.ts';
export { commandLogger, explainConnectionFailure, kafkaSecurityFailure, unreachableService, UNAVAILABLE_ADVICE } from './connect.ts';
export { checkProfiles, counterMismatches, identityQuality, type ProfileCheck, type ScoredProfile } from './commands/quality.ts';
export { normalizedIdentifier } from './commands/profile.ts';
export { parsePublishLine, type RawMessage } from './commands/publish.ts';
export { builderConfig, consumerGroups, deployedConsumerGroups, normalizerConfig, PASSED_SETTINGS, resolverConfig } from './topology.ts';
export { PIPELINE_PARTS, runInForeground, type PipelinePart, type RunningPipeline } from './commands/run.ts';
