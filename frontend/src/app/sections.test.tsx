import { describe, expect, it } from 'vitest';

import { type Section, sectionFor } from './sections';

const sections: Section[] = [
  { id: 'overview', label: 'Overview', render: () => null },
  { id: 'payouts', label: 'Payouts', render: () => null },
];

describe('sectionFor', () => {
  it('finds the section by the first segment and passes it the rest', () => {
    const { section, rest } = sectionFor(['payouts', '42'], sections);
    expect(section.id).toBe('payouts');
    expect(rest).toEqual(['42']);
  });

  it('falls back to the home section for an empty or unknown route', () => {
    expect(sectionFor([], sections).section.id).toBe('overview');
    const unknown = sectionFor(['nowhere', 'x'], sections);
    expect(unknown.section.id).toBe('overview');
    expect(unknown.rest).toEqual([]);
  });
});
