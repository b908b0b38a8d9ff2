import type { FailureCode } from '@/types/api';

/** Each failure code in words, for the payout's page. */
export const failureCodeText: Record<FailureCode, string> = {
  bank_declined: 'Declined by the bank',
  beneficiary_account_closed: "The beneficiary's account is closed",
  beneficiary_name_mismatch: "The name does not match the beneficiary's account",
  beneficiary_account_frozen: "The beneficiary's account is frozen",
  invalid_ifsc: 'The IFSC does not match the account',
  no_bank_answer: 'The bank never answered; the transfer was cancelled',
};
