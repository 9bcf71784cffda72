/** What a failed start shows of a component's log (logExcerpt). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logExcerpt } from '@elephant/stack';

const dir = mkdtempSync(join(tmpdir(), 'log-excerpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function log(lines: readonly string[]): string {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('logExcerpt', () => {
  it('regression (a broker that could not start showed only its shutdown): the first ERROR line before the tail, then the tail', () => {
    const shutdown = Array.from({ length: 20 }, (_, index) => `[t] INFO shutting down ${index} (kafka.server.KafkaServer)`);
    const file = log(['[t] INFO starting', '[t] ERROR [KafkaServer id=1] Fatal error during KafkaServer startup. Prepare to shutdown (kafka.server.KafkaServer)', 'org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:23456: Address already in use.', ...shutdown]);
    const shown = logExcerpt(file, 3).split('\n');
    expect(shown).toEqual(['    [t] ERROR [KafkaServer id=1] Fatal error during KafkaServer startup. Prepare to shutdown (kafka.server.KafkaServer)', '    ...', ...shutdown.slice(-3).map((line) => `    ${line}`)]);
  });

  it('shows the tail alone when no ERROR line comes before it, or when the tail holds it', () => {
    expect(logExcerpt(log(['a', 'b', 'c']), 2)).toBe('    b\n    c');
    expect(logExcerpt(log(['a', '[t] ERROR x', 'c']), 2)).toBe('    [t] ERROR x\n    c');
    expect(logExcerpt(join(dir, 'absent.log'), 2)).toBe('    (no log yet)');
  });
});
