import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('runs on the Node 24 pinned as a dev dependency, not the machine Node 20', () => {
    console.log(`tests run on Node ${process.version} (${process.execPath})`);
    expect(Number(process.versions.node.split('.')[0])).toBe(24);
  });
});
