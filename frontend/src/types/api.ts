/**
 * The payout API's shapes under the names the dashboard uses.
 *
 * Every shape comes from api.generated.ts, which `make api-types` writes from
 * the backend's OpenAPI document (CONTRACT.md §2); `make test` fails when that
 * file is stale. Nothing here describes a field by hand: a change on the server
 * reaches the compiler, not a runtime surprise.
 *
 * One adjustment, by rule rather than per field: money is integer paise up to
 * 2^63 - 1, and lib/exact-json reads integers beyond 2^53 as bigint, so every
 * `*_paise` field is `Paise` (number | bigint) instead of the `number` that an
 * OpenAPI integer becomes.
 */

import type { Paise } from '@/lib/money';

import { eventTypeValues, failureCodeEnumValues, payoutStatusValues, type components } from './api.generated';

type Schemas = components['schemas'];

type ExactPaise<T> = T extends readonly (infer Item)[]
  ? ExactPaise<Item>[]
  : T extends object
    ? { [K in keyof T]: K extends `${string}_paise` ? Exclude<T[K], number> | Paise : ExactPaise<T[K]> }
    : T;

export type Balance = ExactPaise<Schemas['Balance']>;
export type BankAccount = ExactPaise<Schemas['BankAccount']>;
export type BankAccountStatus = BankAccount['status'];
/** The body of POST /bank-accounts. */
export type BankAccountRequest = Schemas['BankAccountRequestRequest'];
export type DemoMerchant = ExactPaise<Schemas['DemoMerchant']>;
export type LedgerEntry = ExactPaise<Schemas['LedgerEntry']>;
export type LedgerPage = ExactPaise<Schemas['LedgerPage']>;
export type Payout = ExactPaise<Schemas['Payout']>;
export type PayoutEvent = ExactPaise<Schemas['PayoutEvent']>;
export type PayoutPage = ExactPaise<Schemas['PayoutPage']>;
/** The body of POST /payouts. */
export type PayoutRequest = ExactPaise<Schemas['PayoutRequestRequest']>;
/** The `error` member of every error response. */
export type ErrorBody = Schemas['ErrorBody'];

/** Every object the API sends has the same kind of id. */
export type Id = Payout['id'];
export type PayoutStatus = Payout['status'];
export type FailureCode = Schemas['FailureCodeEnum'];
export type LedgerKind = LedgerEntry['kind'];

/** Every payout status, in the order of the payout's life. */
export const PAYOUT_STATUSES: readonly PayoutStatus[] = payoutStatusValues;

/** Every failure code a failed payout may carry. */
export const FAILURE_CODES: readonly FailureCode[] = failureCodeEnumValues;

// --- merchant accounts (CONTRACT §7) ---
export type Role = Schemas['Role'];
/** Who is signed in: the answer of POST /auth/login and GET /auth/session. */
export type AuthSession = Schemas['Session'];
export type ApiKey = Schemas['ApiKey'];
/** A key just made: its `secret` is shown this once. */
export type NewApiKey = Schemas['NewApiKey'];
export type SecurityEvent = Schemas['SecurityEvent'];
export type SecurityEventPage = Schemas['SecurityEventPage'];

// --- webhooks (CONTRACT §8) ---
export type EventType = Schemas['EventType'];
export type WebhookEndpoint = Schemas['Endpoint'];
/** An endpoint just made or just rotated: its `secret` is shown this once. */
export type WebhookEndpointWithSecret = Schemas['EndpointWithSecret'];
export type WebhookEndpointCreate = Schemas['EndpointCreateRequest'];
export type WebhookEndpointUpdate = Schemas['PatchedEndpointUpdateRequest'];
export type WebhookDeliveryAttempt = Schemas['DeliveryAttempt'];
export type WebhookDeliveryAttemptPage = Schemas['WebhookDeliveryAttemptPage'];
export type RedeliverReply = Schemas['RedeliverReply'];

/** Every event type, in the order of a payout's life, then money in. */
export const EVENT_TYPES: readonly EventType[] = eventTypeValues;

// --- money in (CONTRACT §7) ---
/** A customer payment credited to a merchant, under its reference. */
export type PaymentCredit = ExactPaise<Schemas['PaymentCredit']>;
