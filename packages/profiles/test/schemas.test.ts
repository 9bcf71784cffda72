import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { profileSnapshotSchema, profileUpdateSchema, type AvroRecordSchemaJson } from '@elephant/profiles';

const SCHEMAS_DIR = join(import.meta.dirname, '../../../schemas');

/** Fields that break evolution: unions not null-first with default null, collections without a default, Avro enums. */
function evolutionProblems(schema: AvroRecordSchemaJson): string[] {
  const problems: string[] = [];
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) return node.forEach((member, index) => visit(member, `${path}|${index}`));
    if (typeof node !== 'object' || node === null) return;
    const record = node as { type?: unknown; fields?: unknown; items?: unknown; values?: unknown };
    if (record.type === 'record' && Array.isArray(record.fields)) {
      for (const field of record.fields as { name: string; type: unknown; default?: unknown }[]) {
        const where = `${path}.${field.name}`;
        if (Array.isArray(field.type) && (field.type[0] !== 'null' || field.default !== null)) problems.push(`${where}: union must be null-first with default null`);
        const collection = typeof field.type === 'object' && field.type !== null && !Array.isArray(field.type) && ['array', 'map'].includes(String((field.type as { type?: unknown }).type));
        if (collection && field.default === undefined) problems.push(`${where}: collection needs a default`);
        visit(field.type, where);
      }
    }
    if (record.type === 'enum') problems.push(`${path}: no Avro enums (vocabularies are strings checked in code)`);
    visit(record.items, path);
    visit(record.values, path);
  };
  visit(schema, schema.name);
  return problems;
}

describe.each([
  ['profile-update.avsc', profileUpdateSchema],
  ['profile-snapshot.avsc', profileSnapshotSchema],
])('schemas/%s', (file, schema) => {
  it('is the schema the package exports', async () => {
    expect(schema).toEqual(JSON.parse(await readFile(join(SCHEMAS_DIR, file), 'utf8')));
    expect(schema.namespace).toBe('dev.elephant.profile');
    expect(() => avro.Type.forSchema(schema as avro.Schema)).not.toThrow();
  });

  it('keeps every optional field evolvable: null-first unions with default null, collections with a default, no enums', () => {
    expect(evolutionProblems(schema)).toEqual([]);
  });
});
