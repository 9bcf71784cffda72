import { describe, expect, it } from 'vitest';
import { EVENT_UNITS, markdownOf } from '@elephant/bench';
import { reportOf } from './report.ts';

describe('the report', () => {
  it('says per row what an event is, at saturation and at the offered load (regression: the pipeline\'s Redis commands per event were per raw message in one table and per touchpoint in the other, unsaid)', () => {
    expect(EVENT_UNITS).toEqual({ rawMessages: 'raw messages', touchpoints: 'touchpoints', builderInput: 'resolved touchpoints + merges + erasures', carried: 'touchpoints carried by raw messages' });
    const markdown = markdownOf(reportOf());
    expect(markdown).toContain('| run | an event is | events measured | events/s |');
    expect(markdown).toContain('| run | an event is | offered events/s | samples |');
    expect(markdown).toMatch(/^\| baseline \(passthrough\) \| raw messages \| 10000 \|/m);
    expect(markdown).toMatch(/^\| identity resolver \| touchpoints \| 10000 \|/m);
    expect(markdown).toMatch(/^\| profile builder \| resolved touchpoints \+ merges \+ erasures \| 10000 \|/m);
    expect(markdown).toMatch(/^\| whole pipeline \| raw messages \| 10000 \| 10000 \|.*\| 16\.6 \| 0 \| - \|$/m);
    // At the offered load, the same pipeline's Redis commands are per touchpoint.
    expect(markdown).toMatch(/^\| whole pipeline \| touchpoints carried by raw messages \| 1000 \| 29000 \|.*\| 25\.6 \| 1\.28 \|$/m);
    expect(markdown).toMatch(/^\| whole pipeline, builder exactly_once \| touchpoints carried by raw messages \| 1000 \|/m);
    expect(markdown).toMatch(/^\| profile builder \| resolved touchpoints \+ merges \+ erasures \| 1000 \|/m);
    expect(markdown).toMatch(/^\| baseline \(passthrough\) \| - \| - \|/m);
  });
});
