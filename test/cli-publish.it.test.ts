/**
 * `elephant publish` on the real broker: what a bad line leaves published, and files as
 * editors write them (a UTF-8 byte order mark).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '@elephant/channels';
import { readToEnd } from '@elephant/kafka';
import { cliHarness } from './cli-harness.ts';

const { ctx, env, elephant, cleanup } = cliHarness('publish', { PARTITIONS: '1' });
const dir = mkdtempSync(join(tmpdir(), 'elephant-publish-'));
const prefix = env['TOPIC_PREFIX'] ?? '';
const web = `${prefix}raw.web`;

const line = (id: number): string => JSON.stringify({ channel: 'web', payload: { type: 'page', messageId: `m-${id}`, anonymousId: `a-${id}` } });

beforeAll(async () => {
  // Created here, so that cleanup deletes them.
  await ctx.createTopics(CHANNELS.map((channel) => ({ topic: `${prefix}raw.${channel}`, partitions: 1 })));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cleanup();
});

describe('elephant publish', () => {
  it('regression (a UTF-8 byte order mark made line 1 "not JSON", exit 65): reads the file as if it had none', async () => {
    const file = join(dir, 'bom.ndjson');
    writeFileSync(file, `\uFEFF${line(1)}\n${line(2)}\n`);
    const published = await elephant(['publish', '--file', file]);
    expect(published.code, published.stderr).toBe(0);
    expect(JSON.parse(published.stdout)).toMatchObject({ published: 2, skipped: 0 });
    expect((await readToEnd(ctx.kafka, web)).map((record) => (JSON.parse(record.value?.toString() ?? '') as { messageId: string }).messageId)).toEqual(['m-1', 'm-2']);
  });

  it('regression (a bad line stopped it naming the line only, though the lines before it were published, or some of them): publishes the lines before it and says how many, and that publishing again is safe', async () => {
    const file = join(dir, 'bad.ndjson');
    writeFileSync(file, `${line(3)}\n${line(4)}\n${line(5)}\n{oops\n${line(6)}\n`);
    const before = (await readToEnd(ctx.kafka, web)).length;
    const published = await elephant(['publish', '--file', file]);
    expect(published.code).toBe(65);
    expect(published.stdout).toBe('');
    expect(published.stderr).toContain(`${file}:4: not JSON.`);
    expect(published.stderr).toContain('The 3 messages of the lines before it were published. Fix the line and publish the file again');
    expect(published.stderr).toContain('same event ids');
    const after = await readToEnd(ctx.kafka, web);
    expect(after.slice(before).map((record) => (JSON.parse(record.value?.toString() ?? '') as { messageId: string }).messageId)).toEqual(['m-3', 'm-4', 'm-5']);
  });
});
