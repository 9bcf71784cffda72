import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES_DOCUMENT, IdentityRulesError, resolveRules } from '@elephant/identity';
import { loadRules } from '@elephant/identity-resolver';

const dir = mkdtempSync(join(tmpdir(), 'elephant-rules-'));
const shipped = JSON.parse(readFileSync(new URL('../../../config/identity-rules.json', import.meta.url), 'utf8')) as { defaults: Record<string, unknown>; tenants: Record<string, unknown> };

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function failure(path: string): IdentityRulesError {
  try {
    loadRules({ IDENTITY_RULES_FILE: path });
  } catch (error) {
    if (error instanceof IdentityRulesError) return error;
    throw error;
  }
  throw new Error(`${path} was accepted`);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadRules (IDENTITY_RULES_FILE)', () => {
  it('uses the built-in defaults without a file', () => {
    expect(loadRules({ IDENTITY_RULES_FILE: undefined })).toBe(DEFAULT_RULES_DOCUMENT);
  });

  it('reads a tenant override from the file', () => {
    const path = file('good.json', JSON.stringify({ ...shipped, tenants: { acme: { limits: { email: 2 } } } }));
    const document = loadRules({ IDENTITY_RULES_FILE: path });
    expect(resolveRules(document, 'acme').limits['email']).toBe(2);
    expect(resolveRules(document, 'other').limits['email']).toBe(5);
  });

  it('names the file and the bad field of an invalid document (RULES_INVALID, not retryable)', () => {
    const path = file('bad-field.json', JSON.stringify({ ...shipped, tenants: { acme: { limits: { email: 0 } } } }));
    const error = failure(path);
    expect(error).toMatchObject({ code: 'RULES_INVALID', retryable: false });
    expect(error.issues.map((issue) => issue.path)).toEqual(['tenants.acme.limits.email']);
    expect(error.message).toContain(path);
    expect(error.message).toContain('tenants.acme.limits.email: must be at least 1');
  });

  it('reports a file that is not JSON, or is missing, as RULES_INVALID naming the file', () => {
    const broken = failure(file('broken.json', '{ "version": 1,'));
    expect(broken.issues[0]?.path).toBe('(file)');
    expect(broken.message).toMatch(/broken\.json/);
    expect(failure(join(dir, 'missing.json')).issues[0]?.problem).toMatch(/ENOENT/);
  });
});
