import type { BankAccount } from '@/types/api';

/** Account number first: it is what tells a merchant's accounts apart, and it survives truncation. */
export function bankAccountLabel(account: BankAccount): string {
  return `••${account.account_last4} · ${account.ifsc} · ${account.holder_name}`;
}
