/**
 * Generates TypeScript types from the Avro schemas in this folder, so that code cannot drift
 * from the wire contract: `npm run codegen` (node schemas/codegen.ts) rewrites the outputs,
 * and a unit test regenerates them in memory and fails when a committed output is stale.
 *
 * Every *.avsc here is parsed with avsc (a broken schema fails codegen); those listed in
 * TARGETS also get a TypeScript module with one interface per record, a string-literal union
 * per enum, and the schema itself as a constant for registering it.
 */
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

export const SCHEMAS_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = dirname(SCHEMAS_DIR);

/** Schema file (in schemas/) → generated module (relative to the repository root). */
export const TARGETS: Readonly<Record<string, string>> = {
  'touchpoint.avsc': 'packages/channels/src/generated/touchpoint.ts',
  'identity-merge.avsc': 'packages/identity/src/generated/identity-merge.ts',
  'identity-alert.avsc': 'services/identity-resolver/src/generated/identity-alert.ts',
  'erasure-request.avsc': 'services/profile-builder/src/generated/erasure-request.ts',
  'profile-update.avsc': 'packages/profiles/src/generated/profile-update.ts',
  'profile-snapshot.avsc': 'packages/profiles/src/generated/profile-snapshot.ts',
};

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };
type JsonObject = { readonly [key: string]: Json };

const PRIMITIVES: Readonly<Record<string, string>> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nameOf(value: Json | undefined, schemaFile: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`${schemaFile}: a named type or field has no name`);
  return value;
}

function shortName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function docComment(doc: string | undefined, indent: string): string {
  if (!doc) return '';
  const lines = doc.split('\n').map((line) => line.replace(/\*\//g, '*\\/'));
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((line) => `${indent} * ${line}`).join('\n')}\n${indent} */\n`;
}

function logicalNote(schema: Json): string | undefined {
  if (isObject(schema) && schema.logicalType === 'timestamp-millis') return 'Epoch milliseconds (timestamp-millis).';
  if (isObject(schema) && typeof schema.logicalType === 'string') return `Avro logical type ${schema.logicalType}.`;
  return undefined;
}

/** Renders one Avro schema as a TypeScript module. Pure: the same schema gives the same text. */
export function renderModule(schemaFile: string, schema: Json): string {
  const declarations: string[] = [];
  const named = new Set<string>();

  const typeOf = (node: Json): string => {
    if (typeof node === 'string') {
      const primitive = PRIMITIVES[node];
      if (primitive) return primitive;
      if (!named.has(shortName(node))) throw new Error(`${schemaFile}: reference to unknown type ${node}`);
      return shortName(node);
    }
    if (Array.isArray(node)) {
      const members = (node as readonly Json[]).map(typeOf);
      // `T | null` reads better than `null | T`; Avro's null-first order is kept in the schema.
      const nonNull = members.filter((member) => member !== 'null');
      return [...nonNull, ...(nonNull.length < members.length ? ['null'] : [])].join(' | ');
    }
    if (!isObject(node)) throw new Error(`${schemaFile}: unsupported schema node ${JSON.stringify(node)}`);
    const kind = node.type;
    if (kind === 'record' || kind === 'error') return renderRecord(node);
    if (kind === 'enum') {
      const name = shortName(nameOf(node.name, schemaFile));
      named.add(name);
      const symbols = Array.isArray(node.symbols) ? (node.symbols as readonly Json[]) : [];
      declarations.push(`${docComment(typeof node.doc === 'string' ? node.doc : undefined, '')}export type ${name} = ${symbols.map((symbol) => `'${nameOf(symbol, schemaFile)}'`).join(' | ')};\n`);
      return name;
    }
    if (kind === 'fixed') {
      named.add(shortName(nameOf(node.name, schemaFile)));
      return 'Buffer';
    }
    if (kind === 'array') {
      const items = typeOf(node.items ?? null);
      return items.includes(' ') ? `readonly (${items})[]` : `readonly ${items}[]`;
    }
    if (kind === 'map') return `Readonly<Record<string, ${typeOf(node.values ?? null)}>>`;
    if (typeof kind === 'string' && PRIMITIVES[kind]) return PRIMITIVES[kind];
    throw new Error(`${schemaFile}: unsupported schema node ${JSON.stringify(node)}`);
  };

  const renderRecord = (node: JsonObject): string => {
    const name = shortName(nameOf(node.name, schemaFile));
    named.add(name);
    // Reserve the slot first so a record is declared before the records nested in it.
    const slot = declarations.push('') - 1;
    const fields = Array.isArray(node.fields) ? (node.fields as readonly Json[]) : [];
    const body = fields
      .map((field) => {
        if (!isObject(field)) throw new Error(`${schemaFile}: record ${name} has a malformed field`);
        const doc = [typeof field.doc === 'string' ? field.doc : undefined, logicalNote(field.type ?? null)].filter((part) => part !== undefined).join(' ');
        return `${docComment(doc, '  ')}  readonly ${nameOf(field.name, schemaFile)}: ${typeOf(field.type ?? null)};\n`;
      })
      .join('');
    declarations[slot] = `${docComment(typeof node.doc === 'string' ? node.doc : undefined, '')}export interface ${name} {\n${body}}\n`;
    return name;
  };

  const root = typeOf(schema);
  const constant = `${root.charAt(0).toLowerCase()}${root.slice(1)}Schema`;
  return [
    `// Generated by schemas/codegen.ts from schemas/${schemaFile}. Do not edit: change the schema and run \`npm run codegen\`.\n`,
    '\n',
    '/** Avro record schema as parsed JSON; cast it to the Avro library\'s schema type to use it. */\n',
    'export interface AvroRecordSchemaJson {\n',
    "  readonly type: 'record';\n",
    '  readonly name: string;\n',
    '  readonly namespace?: string;\n',
    '  readonly doc?: string;\n',
    '  readonly fields: readonly object[];\n',
    '}\n',
    '\n',
    declarations.join('\n'),
    '\n',
    `/** schemas/${schemaFile}, to register with the Schema Registry. */\n`,
    `export const ${constant}: AvroRecordSchemaJson = ${JSON.stringify(schema, null, 2)};\n`,
  ].join('');
}

/** Parses every schema in `schemasDir` and renders the TARGETS: output path (from the repo root) → text. */
export async function generateAll(schemasDir: string = SCHEMAS_DIR): Promise<Map<string, string>> {
  const outputs = new Map<string, string>();
  const files = (await readdir(schemasDir)).filter((file) => file.endsWith('.avsc')).sort();
  for (const file of files) {
    const schema = JSON.parse(await readFile(join(schemasDir, file), 'utf8')) as Json;
    try {
      avro.Type.forSchema(schema as avro.Schema);
    } catch (error) {
      throw new Error(`schemas/${file} is not a valid Avro schema: ${(error as Error).message}`, { cause: error });
    }
    const target = TARGETS[file];
    if (target) outputs.set(target, renderModule(file, schema));
  }
  for (const file of Object.keys(TARGETS)) {
    if (!files.includes(file)) throw new Error(`TARGETS names schemas/${file}, which does not exist`);
  }
  return outputs;
}

async function main(): Promise<void> {
  for (const [target, text] of await generateAll()) {
    const path = join(REPO_ROOT, target);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    console.log(`wrote ${relative(process.cwd(), path)}`);
  }
}

if (import.meta.main) await main();
