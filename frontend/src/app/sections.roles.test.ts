import { describe, expect, it } from 'vitest';

import { sectionsFor } from './sections';

describe('sectionsFor', () => {
  it('offers each role only the pages it may use', () => {
    const ids = (role: 'owner' | 'developer' | 'viewer') => sectionsFor(role).map((section) => section.id);
    expect(ids('owner')).toEqual(['overview', 'payouts', 'bank-accounts', 'api-keys', 'webhooks', 'security']);
    expect(ids('developer')).toEqual(['overview', 'payouts', 'bank-accounts', 'api-keys', 'webhooks']);
    expect(ids('viewer')).toEqual(['overview', 'payouts', 'bank-accounts']);
  });
});
