import type { ReactNode } from 'react';

import { PayoutsSection } from '@/features/payouts/components/payouts-section';
import { ApiKeysPage } from '@/features/api-keys/components/api-keys-page';
import { BankAccountsPage } from '@/features/bank-accounts/components/bank-accounts-page';
import { SecurityEventsPage } from '@/features/security-events/components/security-events-page';
import { WebhooksPage } from '@/features/webhooks/components/webhooks-page';
import type { Role } from '@/types/api';

import { Dashboard } from './dashboard';

/**
 * The dashboard's pages, in the order of the navigation. Each owns the first
 * segment of the hash route (`#/<id>/...`) and renders the rest of it: a page
 * that shows one item (`#/payouts/42`) reads its id from `rest`. The first
 * section is the home page.
 */
export interface Section {
  id: string;
  label: string;
  render: (rest: string[]) => ReactNode;
  /** Who may open it (every role when absent): what a role may not do is not offered. */
  roles?: readonly Role[];
}

export const SECTIONS: Section[] = [
  { id: 'overview', label: 'Overview', render: () => <Dashboard /> },
  { id: 'payouts', label: 'Payouts', render: (rest) => <PayoutsSection rest={rest} /> },
  // Every role sees the accounts; the page offers adding and deactivating to owners only.
  { id: 'bank-accounts', label: 'Bank accounts', render: () => <BankAccountsPage /> },
  { id: 'api-keys', label: 'API keys', render: () => <ApiKeysPage />, roles: ['owner', 'developer'] },
  { id: 'webhooks', label: 'Webhooks', render: () => <WebhooksPage />, roles: ['owner', 'developer'] },
  { id: 'security', label: 'Security events', render: () => <SecurityEventsPage />, roles: ['owner'] },
];

/** The sections this role may open. */
export function sectionsFor(role: Role, sections: Section[] = SECTIONS): Section[] {
  return sections.filter((section) => !section.roles || section.roles.includes(role));
}

export function sectionFor(route: string[], sections: Section[] = SECTIONS): { section: Section; rest: string[] } {
  const found = sections.find((section) => section.id === route[0]);
  if (found) return { section: found, rest: route.slice(1) };
  const [home] = sections;
  if (!home) throw new Error('The dashboard has no sections.');
  return { section: home, rest: [] };
}
