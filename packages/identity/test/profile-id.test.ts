import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { profileIdNamespace, profileIdOf } from '@elephant/identity';

describe('profile ids', () => {
  it('namespaces a tenant by the first 12 hex characters of the SHA-1 of its name in UTF-8', () => {
    expect(profileIdNamespace('acme')).toBe('293abb6b76d7');
    expect(profileIdNamespace('zürich-é')).toBe(createHash('sha1').update(Buffer.from('zürich-é', 'utf8')).digest('hex').slice(0, 12));
    expect(profileIdNamespace('acme')).not.toBe(profileIdNamespace('globex'));
  });

  it('builds p<seq>-<namespace>', () => {
    expect(profileIdOf(42, profileIdNamespace('acme'))).toBe('p42-293abb6b76d7');
  });
});
