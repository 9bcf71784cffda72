// The smoke service's public entry point (package.json "exports"): its configuration and the
// round trip itself, for anything that embeds the smoke check instead of running main.ts.
export { loadConfig, type SmokeConfig } from './config.ts';
export { runSmoke, type SmokeResult } from './smoke.ts';
