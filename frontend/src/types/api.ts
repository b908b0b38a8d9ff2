/**
 * Shapes of the payout API (CONTRACT.md §2). Money is integer paise; integers
 * beyond 2^53 arrive as bigint (see lib/exact-json).
 */

import type { Paise } from '@/lib/money';

export type Id = string | number;

export interface DemoMerchant {
  id: Id;
  name: string;
  api_key: string;
}

export interface Balance {
  available_paise: Paise;
  held_paise: Paise;
  currency: string;
}

export type LedgerKind = 'payment' | 'payout' | 'reversal';

export interface LedgerEntry {
  id: Id;
  kind: LedgerKind;
  amount_paise: Paise;
  description: string;
  payout_id: Id | null;
  created_at: string;
}

export interface Page<T> {
  results: T[];
  next: string | null;
  previous: string | null;
}

export interface BankAccount {
  id: Id;
  holder_name: string;
  ifsc: string;
  account_last4: string;
}

export type PayoutStatus = 'pending' | 'processing' | 'completed' | 'failed';

export interface Payout {
  id: Id;
  amount_paise: Paise;
  bank_account_id: Id;
  status: PayoutStatus;
  attempts: number;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface PayoutEvent {
  from_status: PayoutStatus | null;
  to_status: PayoutStatus;
  attempt: number | null;
  reason: string | null;
  created_at: string;
}
