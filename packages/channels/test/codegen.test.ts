import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adaptWeb, touchpointSchema } from '@elephant/channels';
import { avroProblems, context, one } from './helpers.ts';

/** What this test uses of schemas/codegen.ts. */
interface Codegen {
  readonly generateAll: () => Promise<Map<string, string>>;
  readonly REPO_ROOT: string;
  readonly SCHEMAS_DIR: string;
}

// Loaded by URL: schemas/ is its own TypeScript project (type-checked through this project's
// reference to it), and TypeScript refuses a relative import across projects whose output
// folders are laid out differently from their sources.
const { generateAll, REPO_ROOT, SCHEMAS_DIR } = (await import(pathToFileURL(join(import.meta.dirname, '../../../schemas/codegen.ts')).href)) as Codegen;

describe('generated Touchpoint types', () => {
  it('match schemas/*.avsc (run `npm run codegen` after changing a schema)', async () => {
    const outputs = await generateAll();
    expect(outputs.size).toBeGreaterThan(0);
    for (const [target, expected] of outputs) {
      const committed = await readFile(join(REPO_ROOT, target), 'utf8').catch(() => '(missing)');
      expect(committed, `${target} is stale: run \`npm run codegen\``).toBe(expected);
    }
  });

  it('carry the schema file itself as touchpointSchema', async () => {
    const file = JSON.parse(await readFile(join(SCHEMAS_DIR, 'touchpoint.avsc'), 'utf8')) as unknown;
    expect(touchpointSchema).toEqual(file);
  });

  it('keep every optional field evolvable: a union with null first and default null, or a collection with a default', () => {
    const problems: string[] = [];
    const visit = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((member, index) => visit(member, `${path}|${index}`));
      if (typeof node !== 'object' || node === null) return;
      const record = node as { type?: unknown; fields?: unknown; items?: unknown; values?: unknown };
      if (record.type === 'record' && Array.isArray(record.fields)) {
        for (const field of record.fields as { name: string; type: unknown; default?: unknown; doc?: string }[]) {
          const where = `${path}.${field.name}`;
          if (Array.isArray(field.type) && (field.type[0] !== 'null' || field.default !== null)) problems.push(`${where}: union must be null-first with default null`);
          const collection = typeof field.type === 'object' && field.type !== null && !Array.isArray(field.type) && ['array', 'map'].includes(String((field.type as { type?: unknown }).type));
          if (collection && field.default === undefined && path !== 'Touchpoint') problems.push(`${where}: collection needs a default`);
          visit(field.type, where);
        }
      }
      if (record.type === 'enum') problems.push(`${path}: no Avro enums (vocabularies are strings checked in code)`);
      visit(record.items, path);
      visit(record.values, path);
    };
    visit(touchpointSchema, 'Touchpoint');
    expect(problems).toEqual([]);
  });

  it('are checked by the Avro validation the tests rely on', () => {
    const touchpoint = one(adaptWeb({ type: 'page', messageId: 'm', anonymousId: 'a', timestamp: '2024-05-01T10:00:00Z' }, context));
    expect(avroProblems({ ...touchpoint, eventTime: 1.5 })).toEqual(['eventTime']);
    expect(avroProblems({ ...touchpoint, identifiers: [{ type: 'email', value: 5 }] })).toEqual(['identifiers.0.value']);
  });
});
