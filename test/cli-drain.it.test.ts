/**
 * `elephant drain` before the services have created their topics: `publish` creates the raw
 * topics, the services the rest (touchpoints.v1, ...) when they start. A topic that does not
 * exist yet is not caught up: drain waits for it, and at the timeout names it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '@elephant/channels';
import { waitUntil } from '@elephant/testing';
import { cliHarness } from './cli-harness.ts';

const { ctx, env, elephant, cleanup } = cliHarness('drain');
afterAll(cleanup);

const prefix = env['TOPIC_PREFIX'] ?? '';
const raw = CHANNELS.map((channel) => `${prefix}raw.${channel}`);
const downstream = ['touchpoints.v1', 'touchpoints.resolved.v1', 'identity.merges.v1', 'profiles.erasures.v1'].map((topic) => `${prefix}${topic}`);

describe('elephant drain', () => {
  it('regression (a pipeline topic not created yet failed at once with "This server does not host this topic-partition", exit 1): waits for it until the timeout, then exits 3 naming it and TOPIC_PREFIX', async () => {
    await ctx.createTopics(raw.map((topic) => ({ topic, partitions: 1 })));
    const started = Date.now();
    const drained = await elephant(['drain', '--timeout', '3']);
    expect(drained.code, drained.stderr).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(drained.stderr).not.toContain('does not host');
    expect(drained.stderr).toContain('Timed out after 3 s');
    expect(drained.stderr).toContain(`Topics ${downstream.join(', ')} still do not exist after 3 s`);
    expect(drained.stderr).toContain(`${ctx.group('drain')}.elephant-identity-resolver reads ${prefix}touchpoints.v1`);
    expect(drained.stderr).toContain(`TOPIC_PREFIX (here ${JSON.stringify(prefix)})`);
  });

  it('regression (TOPIC_PREFIX did not start the services\' default groups; then drain read an unprefixed group such as a demo\'s elephant-identity-resolver where the prefixed one did not exist): without CONSUMER_GROUP_PREFIX, reads exactly the groups the services name after TOPIC_PREFIX', async () => {
    // The test's TOPIC_PREFIX is unique, so none of these groups exists: whatever other groups
    // the stack holds (a demo's, with an empty TOPIC_PREFIX), drain names the prefixed ones.
    const drained = await elephant(['drain', '--timeout', '0'], { CONSUMER_GROUP_PREFIX: '' });
    expect(drained.code, drained.stderr).toBe(3);
    expect(drained.stderr).toContain(`(${prefix}elephant-identity-resolver reads ${prefix}touchpoints.v1; ${prefix}elephant-profile-builder reads ${prefix}touchpoints.resolved.v1`);
    expect(drained.stderr).not.toMatch(/(^|[^\w.-])elephant-(identity-resolver|profile-builder|normalizer-)/);
  });

  it('keeps waiting while the topics are created, and ends once they are caught up', async () => {
    let progress = '';
    const drained = elephant(['drain', '--timeout', '60'], {}, (stderr) => (progress = stderr));
    // Created once drain has found them missing (its first progress line says so).
    await waitUntil(() => progress.includes(`waiting for ${downstream.length} topics to be created`), { timeoutMs: 30000, message: 'drain to find the topics missing' });
    await ctx.createTopics(downstream.map((topic) => ({ topic, partitions: 1 })));
    const result = await drained;
    expect(result.code, result.stderr).toBe(0);
  });

  it('regression (nothing behind, `drain --timeout 0` exited 3 with only "Is `elephant run` running...?": two zero readings were needed, the deadline was checked after one): a zero reading at the deadline is caught up', async () => {
    // The topics exist and are caught up (the test before).
    const drained = await elephant(['drain', '--timeout', '0']);
    expect(drained.code, drained.stderr).toBe(0);
  });
});
