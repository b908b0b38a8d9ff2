import type { ReactNode } from 'react';

import { PayoutsSection } from '@/features/payouts/components/payouts-section';

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
}

export const SECTIONS: Section[] = [
  { id: 'overview', label: 'Overview', render: () => <Dashboard /> },
  { id: 'payouts', label: 'Payouts', render: (rest) => <PayoutsSection rest={rest} /> },
];

export function sectionFor(route: string[], sections: Section[] = SECTIONS): { section: Section; rest: string[] } {
  const found = sections.find((section) => section.id === route[0]);
  if (found) return { section: found, rest: route.slice(1) };
  const [home] = sections;
  if (!home) throw new Error('The dashboard has no sections.');
  return { section: home, rest: [] };
}
