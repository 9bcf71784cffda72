import avro from 'avsc';
import './strings.ts';
import './maps.ts';
import { redactUserInfo } from '@elephant/errors';
import { RegistryError } from './errors.ts';
import { readSchemaId, writeHeader, HEADER_LENGTH } from './wire.ts';

/** The most encode() keeps as scratch space between calls. */
const MAX_SCRATCH_BYTES = 4 * 1024 * 1024;

export type AvroType = avro.Type;
export type AvroSchema = avro.Schema;

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';

export interface RegistryOptions {
  /** Base URL of a Confluent-compatible API, e.g. http://localhost:18081/apis/ccompat/v7 */
  readonly url: string;
  /** Sent as the User-Agent. */
  readonly clientId?: string;
}

export interface RegisteredSchema {
  readonly subject: string;
  readonly id: number;
  readonly type: AvroType;
}

export type DecodeResult<T> = { readonly ok: true; readonly value: T; readonly schemaId: number } | { readonly ok: false; readonly error: RegistryError };

/** Paths of the parts of `value` that `type` cannot encode, named for an error message. */
function invalidPaths(type: AvroType, value: unknown): string[] {
  const paths: string[] = [];
  type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') });
  return paths;
}

/** A record schema as JSON, as far as `projection` reads it. */
export interface RecordSchemaJson {
  readonly type: 'record';
  readonly name: string;
  readonly fields: readonly object[];
}

interface FieldJson {
  readonly name: string;
  readonly type: unknown;
}

/** `schema` with only the fields `paths` name (`keep`), or with all but those (`drop`). */
function projected(schema: RecordSchemaJson, paths: readonly string[], mode: 'keep' | 'drop'): RecordSchemaJson {
  const fields: object[] = [];
  for (const field of schema.fields as readonly FieldJson[]) {
    const nested = paths.filter((path) => path.startsWith(`${field.name}.`)).map((path) => path.slice(field.name.length + 1));
    if (paths.includes(field.name)) {
      if (mode === 'keep') fields.push(field);
    } else if (nested.length > 0) {
      const type = field.type as Partial<RecordSchemaJson>;
      if (type.type !== 'record' || !type.fields) throw new RegistryError('AVRO_VALUE_INVALID', `Cannot project ${nested.join(', ')} of ${field.name}: not an inline record`);
      fields.push({ ...field, type: projected(type as RecordSchemaJson, nested, mode) });
    } else if (mode === 'drop') fields.push(field);
  }
  const missing = paths.filter((path) => !(schema.fields as readonly FieldJson[]).some((field) => path === field.name || path.startsWith(`${field.name}.`)));
  if (missing.length > 0) throw new RegistryError('AVRO_VALUE_INVALID', `${schema.name} has no field ${missing.join(', ')}`);
  return { ...schema, fields };
}

/**
 * A reader type with only the fields of `schema` named in `keep` (dotted paths reach into
 * inline records: `source.system`). Decoding with it (Avro schema resolution, same record
 * names) skips the other fields instead of building them: for a consumer that reads a few
 * fields of a large record.
 */
export function projection(schema: RecordSchemaJson, keep: readonly string[]): AvroType {
  return avro.Type.forSchema(projected(schema, keep, 'keep') as unknown as AvroSchema);
}

/**
 * A reader type with every field of `schema` except those named in `drop` (dotted paths as for
 * `projection`): for a consumer that reads a record whole but for a large part it has no use for.
 */
export function projectionWithout(schema: RecordSchemaJson, drop: readonly string[]): AvroType {
  return avro.Type.forSchema(projected(schema, drop, 'drop') as unknown as AvroSchema);
}

/**
 * Avro through a Confluent-compatible Schema Registry.
 *
 * Schemas are registered once at start-up and their ids memoized; encoding is then
 * synchronous. Decoding resolves each unknown writer schema id once (per process) and then
 * decodes synchronously, so a batch costs at most one registry request per new schema.
 *
 * Value mapping, chosen deliberately: `long` is a JS number and values beyond
 * Number.MAX_SAFE_INTEGER are refused (on write, as AVRO_VALUE_INVALID; on read, as
 * AVRO_DECODE_FAILED) instead of silently losing precision; `timestamp-millis` stays a
 * number of epoch milliseconds (no Date allocation on the hot path).
 */
export class AvroRegistry {
  readonly #url: string;
  readonly #userAgent: string;
  readonly #types = new Map<number, AvroType>();
  #scratch = Buffer.allocUnsafeSlow(64 * 1024);
  readonly #pending = new Map<number, Promise<AvroType>>();
  /** Schemas this client cannot read (SCHEMA_UNREADABLE), by id: an id's schema never changes, so it is not fetched again. */
  readonly #unreadable = new Map<number, RegistryError>();

  /** `Basic ...` when the configured URL carries user info; fetch refuses such a URL itself. */
  readonly #authorization: string | undefined;

  constructor(options: RegistryOptions) {
    const { url, authorization } = withoutCredentials(options.url);
    this.#url = url.replace(/\/+$/, '');
    this.#authorization = authorization;
    this.#userAgent = options.clientId ?? 'elephant';
  }

  /** The base URL, without the user info (sent as an Authorization header instead). */
  get url(): string {
    return this.#url;
  }

  /**
   * Registers `schema` under `subject` (a no-op returning the existing id when the same
   * schema is already there), after setting the subject's compatibility level, so that even
   * the first version registered by a new deployment is checked. Both calls are idempotent:
   * replicas starting at once all succeed with the same id.
   *
   * FULL_TRANSITIVE by default: Elephant's topics are read by services that upgrade on their
   * own schedule, before or after the writer, so a reader of any version must decode records of
   * every other version. BACKWARD alone (new readers decode old records) let a version drop a
   * field old readers need without a default.
   * @default compatibility 'FULL_TRANSITIVE'
   */
  async register(subject: string, schema: AvroSchema, compatibility: Compatibility = 'FULL_TRANSITIVE'): Promise<RegisteredSchema> {
    const type = avro.Type.forSchema(schema);
    const path = `/subjects/${encodeURIComponent(subject)}`;
    const current = (await this.#request('GET', `/config/${encodeURIComponent(subject)}`, undefined, [404])) as { compatibilityLevel?: string } | undefined;
    if (current?.compatibilityLevel !== compatibility) await this.setCompatibility(subject, compatibility);
    const { id } = (await this.#request('POST', `${path}/versions`, { schema: JSON.stringify(schema) })) as { id: number };
    this.#types.set(id, type);
    return { subject, id, type };
  }

  /** Sets a subject's compatibility level. */
  async setCompatibility(subject: string, compatibility: Compatibility): Promise<void> {
    const path = `/config/${encodeURIComponent(subject)}`;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.#request('PUT', path, { compatibility });
        return;
      } catch (error) {
        // Apicurio answers 409 ("rule already exists") when replicas set the level at the same
        // moment; what matters is the level the subject ends up with.
        if (!(error instanceof RegistryError) || error.code !== 'SCHEMA_INCOMPATIBLE' || attempt >= 3) throw error;
        const current = (await this.#request('GET', path, undefined, [404])) as { compatibilityLevel?: string } | undefined;
        if (current?.compatibilityLevel === compatibility) return;
      }
    }
  }

  /** The names of every subject (not soft-deleted ones). For tests and tooling. */
  async subjects(): Promise<string[]> {
    const listed = await this.#request('GET', '/subjects');
    return Array.isArray(listed) ? listed.filter((subject): subject is string => typeof subject === 'string') : [];
  }

  /** Deletes a subject and all its versions (soft, then permanent). For tests and tooling. */
  async deleteSubject(subject: string): Promise<void> {
    await this.#request('DELETE', `/subjects/${encodeURIComponent(subject)}`, undefined, [404]);
    await this.#request('DELETE', `/subjects/${encodeURIComponent(subject)}?permanent=true`, undefined, [404]);
  }

  /** Encodes `value` with the schema registered as `schemaId` (after `register`). */
  encode(schemaId: number, value: unknown): Buffer {
    const type = this.#registered(schemaId);
    // avsc checks each value as it writes it: one pass on the hot path. The second walk, to
    // name the bad fields, only happens for a value that failed.
    return this.#framed(schemaId, type, () => invalidPaths(type, value), (buffer, position) => type.encode(value, buffer, position));
  }

  /**
   * Encodes a record of the schema registered as `schemaId` whose field `field` is given
   * already encoded: `encoded` is that field's Avro binary form, such as the payload of a
   * message whose writer schema has the field's Parsing Canonical Form (`embeds`). The bytes
   * are copied, not decoded and encoded again; `value[field]` is not read.
   */
  encodeSpliced(schemaId: number, value: Readonly<Record<string, unknown>>, field: string, encoded: Buffer): Buffer {
    this.fieldType(schemaId, field);
    const type = this.#registered(schemaId) as avro.types.RecordType;
    // A record's binary form is its fields' forms one after the other.
    const invalid = (): string[] => type.fields.flatMap((candidate) => (candidate.name === field ? [] : invalidPaths(candidate.type, value[candidate.name]).map((path) => (path === '(root)' ? candidate.name : `${candidate.name}.${path}`))));
    return this.#framed(schemaId, type, invalid, (buffer, position) => {
      let at = position;
      for (const { name, type: fieldType } of type.fields) {
        if (name === field) {
          if (at + encoded.length > buffer.length) return buffer.length - at - encoded.length;
          at += encoded.copy(buffer, at);
          continue;
        }
        const end = fieldType.encode(value[name], buffer, at);
        if (end < 0) return end - encoded.length; // at least this much is missing
        at = end;
      }
      return at;
    });
  }

  /**
   * Whether a message written with schema `writerId` (fetched or registered before) holds,
   * as its payload, the binary form of field `field` of the schema registered as `schemaId`:
   * true when both have the same Parsing Canonical Form, which fixes the binary encoding.
   */
  embeds(schemaId: number, field: string, writerId: number): boolean {
    const key = `${schemaId}|${field}|${writerId}`;
    let known = this.#embeds.get(key);
    if (known === undefined) {
      const writer = this.#types.get(writerId);
      if (writer === undefined) return false; // not fetched yet: ask again once it is
      known = writer.fingerprint().equals(this.fieldType(schemaId, field).fingerprint());
      this.#embeds.set(key, known);
    }
    return known;
  }

  readonly #embeds = new Map<string, boolean>();

  /**
   * The type of field `field` of the record schema registered as `schemaId`: for instance the
   * reader of records embedded in it. @throws AVRO_VALUE_INVALID when there is no such field
   */
  fieldType(schemaId: number, field: string): AvroType {
    const type = this.#registered(schemaId);
    const found = type instanceof avro.types.RecordType ? type.fields.find((candidate) => candidate.name === field) : undefined;
    if (!found) throw new RegistryError('AVRO_VALUE_INVALID', `Schema ${schemaId} is not a record with a field ${field}`, { details: { schemaId, paths: [field] } });
    return found.type;
  }

  #registered(schemaId: number): AvroType {
    const type = this.#types.get(schemaId);
    if (!type) throw new RegistryError('SCHEMA_NOT_FOUND', `Schema id ${schemaId} was not registered by this process; call register() at start-up`);
    return type;
  }

  /**
   * Runs `write` (which returns the end position, or minus the bytes missing, as avsc's
   * encode() does) after the header's room in a scratch buffer kept across calls, and frames
   * the result. avsc's own toBuffer() writes into a fixed 1 KiB buffer and encodes a bigger
   * record a second time, into a zero-filled buffer.
   */
  #framed(schemaId: number, type: AvroType, invalidPaths: () => string[], write: (buffer: Buffer, position: number) => number): Buffer {
    let end: number;
    let scratch = this.#scratch;
    try {
      end = write(scratch, HEADER_LENGTH);
      while (end < 0) {
        const needed = scratch.length - end;
        scratch = Buffer.allocUnsafeSlow(needed * 2);
        // A rare huge record gets a buffer of its own; the kept one stays small.
        if (scratch.length <= MAX_SCRATCH_BYTES) this.#scratch = scratch;
        end = write(scratch, HEADER_LENGTH);
      }
    } catch (error) {
      const paths = invalidPaths();
      throw new RegistryError('AVRO_VALUE_INVALID', `Value does not match schema ${schemaId}${type.name ? ` (${type.name})` : ''}: invalid ${paths.join(', ') || (error as Error).message}`, { cause: error, details: { schemaId, paths } });
    }
    const framed = Buffer.allocUnsafe(end);
    scratch.copy(framed, HEADER_LENGTH, HEADER_LENGTH, end);
    writeHeader(framed, schemaId);
    return framed;
  }

  /**
   * Decodes one framed message, with the writer's schema or, given `reader`, into the
   * reader's schema by Avro schema resolution (how an older consumer reads newer data).
   */
  async decode<T = unknown>(buffer: Buffer, reader?: AvroType): Promise<T> {
    const [result] = await this.decodeMany<T>([buffer], reader);
    if (!result) throw new RegistryError('AVRO_DECODE_FAILED', 'Nothing decoded');
    if (!result.ok) throw result.error;
    return result.value;
  }

  /**
   * Decodes a batch. Unknown schema ids are fetched once each; per-message problems (bad
   * framing, unknown id, a schema avsc cannot read, corrupt payload) come back as results, so
   * one bad message never fails the batch. Registry outages throw REGISTRY_UNAVAILABLE (retry
   * the batch).
   */
  async decodeMany<T = unknown>(buffers: readonly Buffer[], reader?: AvroType): Promise<DecodeResult<T>[]> {
    const ids = new Set<number>();
    for (const buffer of buffers) {
      try {
        const id = readSchemaId(buffer);
        if (!this.#types.has(id)) ids.add(id);
      } catch {
        // reported per message below
      }
    }
    const missing = new Map<number, RegistryError>();
    await Promise.all(
      [...ids].map(async (id) => {
        try {
          await this.#resolve(id);
        } catch (error) {
          if (error instanceof RegistryError && (error.code === 'SCHEMA_NOT_FOUND' || error.code === 'SCHEMA_UNREADABLE')) missing.set(id, error);
          else throw error;
        }
      }),
    );
    return buffers.map((buffer): DecodeResult<T> => {
      let schemaId: number;
      try {
        schemaId = readSchemaId(buffer);
      } catch (error) {
        return { ok: false, error: error as RegistryError };
      }
      const notFound = missing.get(schemaId);
      if (notFound) return { ok: false, error: notFound };
      const type = this.#types.get(schemaId) as AvroType;
      try {
        const payload = buffer.subarray(HEADER_LENGTH);
        const value: unknown = reader === undefined || reader === type ? type.fromBuffer(payload) : reader.fromBuffer(payload, this.#resolver(reader, schemaId, type));
        return { ok: true, schemaId, value: value as T };
      } catch (error) {
        return { ok: false, error: new RegistryError('AVRO_DECODE_FAILED', `Payload does not decode with schema ${schemaId}: ${(error as Error).message}`, { cause: error, details: { schemaId } }) };
      }
    });
  }

  readonly #resolvers = new WeakMap<AvroType, Map<number, avro.Resolver>>();

  #resolver(reader: AvroType, writerId: number, writer: AvroType): avro.Resolver {
    let byWriter = this.#resolvers.get(reader);
    if (!byWriter) this.#resolvers.set(reader, (byWriter = new Map<number, avro.Resolver>()));
    let resolver = byWriter.get(writerId);
    if (!resolver) byWriter.set(writerId, (resolver = reader.createResolver(writer)));
    return resolver;
  }

  /** The writer type of a schema id, fetched from the registry once. */
  async typeOf(schemaId: number): Promise<AvroType> {
    return this.#types.get(schemaId) ?? this.#resolve(schemaId);
  }

  #resolve(id: number): Promise<AvroType> {
    const unreadable = this.#unreadable.get(id);
    if (unreadable) return Promise.reject(unreadable);
    let pending = this.#pending.get(id);
    if (!pending) {
      pending = (async () => {
        const body = (await this.#request('GET', `/schemas/ids/${id}`)) as { schema?: string; schemaType?: string };
        if (body.schemaType && body.schemaType !== 'AVRO') {
          throw new RegistryError('SCHEMA_NOT_FOUND', `Schema id ${id} is ${body.schemaType}, not Avro`);
        }
        let type: AvroType;
        try {
          type = avro.Type.forSchema(JSON.parse(body.schema ?? 'null') as AvroSchema);
        } catch (error) {
          // Per message, as an unknown id is: thrown plainly, it failed the whole batch as a bug,
          // and the service stopped on every restart.
          const unreadable = new RegistryError('SCHEMA_UNREADABLE', `Schema id ${id} cannot be read as Avro: ${error instanceof Error ? error.message : String(error)}`, { cause: error, details: { schemaId: id } });
          this.#unreadable.set(id, unreadable);
          throw unreadable;
        }
        this.#types.set(id, type);
        return type;
      })().finally(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
    }
    return pending;
  }

  async #request(method: string, path: string, body?: unknown, okStatuses: readonly number[] = []): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.#url}${path}`, {
        method,
        headers: {
          'user-agent': this.#userAgent,
          accept: 'application/vnd.schemaregistry.v1+json, application/json',
          ...(this.#authorization === undefined ? {} : { authorization: this.#authorization }),
          ...(body === undefined ? {} : { 'content-type': 'application/vnd.schemaregistry.v1+json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10000),
      });
    } catch (error) {
      // A URL that did not parse keeps its user info, and fetch's message quotes it: neither
      // goes into the error (nor into its cause, which loggers print too).
      const reason = (error as Error).message;
      const shown = redactUserInfo(reason);
      throw new RegistryError('REGISTRY_UNAVAILABLE', redactUserInfo(`Schema Registry at ${this.#url} is unreachable (${method} ${path}): ${reason}`), { cause: shown === reason ? error : new Error(shown) });
    }
    const text = await response.text();
    if (response.ok || okStatuses.includes(response.status)) return text ? (JSON.parse(text) as unknown) : undefined;
    throw statusError(response.status, `${method} ${path}`, text);
  }
}

/**
 * `raw` without its user info, and that user info as a Basic Authorization header value
 * (percent-decoded, as RFC 3986 user info is written: `http://user:p%40ss@host` sends `user:p@ss`).
 * A URL without user info, or one that does not parse, is returned as it is.
 */
function withoutCredentials(raw: string): { url: string; authorization?: string } {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return { url: raw };
  }
  if (parsed.username === '' && parsed.password === '') return { url: raw };
  const credentials = `${decoded(parsed.username)}:${decoded(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.href, authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

function decoded(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return component; // a stray %: taken literally
  }
}

function statusError(status: number, what: string, text: string): RegistryError {
  const message = `Schema Registry answered ${status} to ${what}: ${text.slice(0, 300)}`;
  if (status === 404) return new RegistryError('SCHEMA_NOT_FOUND', message);
  if (status === 409) return new RegistryError('SCHEMA_INCOMPATIBLE', message);
  if (status === 422) return new RegistryError('SCHEMA_INVALID', message);
  if (status >= 500 || status === 429 || status === 408) return new RegistryError('REGISTRY_UNAVAILABLE', message);
  return new RegistryError('SCHEMA_INVALID', message);
}
