#!/usr/bin/env node
/**
 * A real merchant's first day, with DEMO_MODE off, in headless Chromium against a running stack:
 *
 *   1. the owner of a merchant made by `create_merchant --owner-email … --owner-password …`
 *      signs in with the password (no demo sign-in is offered);
 *   2. adds bank account 111111111111 on the Bank accounts page and sees it go from
 *      verifying to verified without a reload (a bad IFSC first: the API's error beside the field);
 *   3. creates an API key on the API keys page; the key makes a payout over HTTP to that
 *      account; the owner watches it reach completed on the dashboard;
 *   4. the sandbox accounts, one payout at a time from the dashboard's payout form:
 *      222222222222 fails with bank_declined; 444444444444 completes on its second attempt;
 *      555555555555 is rejected by the bank ("account closed") and is not offered in the form;
 *      333333333333 stays processing while the bank is silent, then fails with no_bank_answer,
 *      refunded, once the bank confirms the cancellation;
 *   5. screenshots of the Bank accounts page at 1280×900 and 390×844 (no horizontal scroll);
 *   6. revokes the key: the next call with it is 401.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, CHROME_PATH or CHROMIUM_PATH, E2E_OWNER_EMAIL and
 * E2E_OWNER_PASSWORD (required), E2E_TERMINAL_TIMEOUT_MS (90000).
 * Exits non-zero with the reason on any failure.
 */

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import {
  WEB_URL,
  API_URL,
  CHROMIUM_PATH,
  TERMINAL_TIMEOUT_MS,
  SCREENSHOTS,
  byTestId,
  fail,
  step,
  waitFor,
  finish,
} from './support.mjs';

const EMAIL = process.env.E2E_OWNER_EMAIL;
const PASSWORD = process.env.E2E_OWNER_PASSWORD;

async function request(path, { apiKey, method = 'GET', body, headers = {} } = {}) {
  const response = await fetch(`${API_URL}/api/v1${path}`, {
    method,
    headers: {
      ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function api(path, options) {
  const reply = await request(path, options);
  if (reply.status >= 400) fail(`${options?.method ?? 'GET'} ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}


/** Adds an account in the form; returns its id (the new row's). */
async function addAccount(page, { holder, ifsc, number }) {
  const before = new Set(
    await page.locator(byTestId('bank-account-row')).evaluateAll((rows) => rows.map((row) => row.dataset.accountId)),
  );
  await page.locator(byTestId('bank-account-holder-name')).fill(holder);
  await page.locator(byTestId('bank-account-ifsc')).fill(ifsc);
  await page.locator(byTestId('bank-account-number')).fill(number);
  await page.locator(byTestId('bank-account-submit')).click();
  return waitFor(`a new row for the account ending ${number.slice(-4)}`, async () => {
    const ids = await page.locator(byTestId('bank-account-row')).evaluateAll((rows) => rows.map((row) => row.dataset.accountId));
    return ids.find((id) => !before.has(id));
  });
}

function rowOf(page, accountId) {
  return page.locator(`${byTestId('bank-account-row')}[data-account-id="${accountId}"]`);
}

async function accountReaches(page, accountId, status) {
  await page.locator(`${byTestId('bank-account-row')}[data-account-id="${accountId}"][data-status="${status}"]`).waitFor({
    timeout: 20_000,
  });
}

/** The dashboard's payout form, to this account: review, confirm; returns the new payout's id (from the API). */
async function payFromTheForm(page, accountId, apiKey) {
  await page.locator(byTestId('nav-overview')).click();
  const select = page.locator(byTestId('payout-bank-account'));
  await select.waitFor({ timeout: 10_000 });
  await waitFor(`account ${accountId} to be offered in the payout form`, async () =>
    (await select.locator('option').evaluateAll((options) => options.map((option) => option.value))).includes(String(accountId)),
  );
  const mine = async () => (await api(`/payouts?bank_account_id=${accountId}`, { apiKey })).results.map((p) => p.id);
  const before = await mine();
  await select.selectOption(String(accountId));
  await page.locator(byTestId('payout-amount')).fill('1.00');
  await page.locator(byTestId('payout-submit')).click();
  await page.locator(byTestId('payout-confirm')).click();
  return waitFor(`the payout to account ${accountId}`, async () => (await mine()).find((id) => !before.includes(id)));
}

async function payoutRowReaches(page, payoutId, status) {
  await page.locator(byTestId('nav-payouts')).click();
  await page
    .locator(`${byTestId('payout-row')}[data-payout-id="${payoutId}"][data-status="${status}"]`)
    .waitFor({ timeout: TERMINAL_TIMEOUT_MS });
}

async function main() {
  if (!EMAIL || !PASSWORD) fail('E2E_OWNER_EMAIL and E2E_OWNER_PASSWORD are required');
  await mkdir(SCREENSHOTS, { recursive: true });

  await step('the API runs with DEMO_MODE off', async () => {
    await api('/health');
    const demo = await request('/demo/merchants');
    if (demo.status !== 404) fail(`GET /demo/merchants answered ${demo.status}, expected 404`);
  });

  const profile = await mkdtemp(join(tmpdir(), 'payout-onboarding-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const pageErrors = [];
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));

  try {
    await step(`the owner ${EMAIL} signs in with the password; no demo sign-in is offered`, async () => {
      await page.goto(WEB_URL, { waitUntil: 'domcontentloaded' });
      await page.locator(byTestId('login-submit')).waitFor({ timeout: 20_000 });
      if ((await page.locator(byTestId('demo-login')).count()) !== 0) fail('demo sign-in buttons are offered with DEMO_MODE off');
      await page.locator(byTestId('login-email')).fill(EMAIL);
      await page.locator(byTestId('login-password')).fill(PASSWORD);
      await page.locator(byTestId('login-submit')).click();
      await page.locator(byTestId('available-balance')).waitFor({ timeout: 15_000 });
    });

    await step('a bad IFSC is refused with the API error beside the field', async () => {
      await page.locator(byTestId('nav-bank-accounts')).click();
      await page.locator(byTestId('bank-account-holder-name')).fill('Onboarded E2E Pvt Ltd');
      await page.locator(byTestId('bank-account-ifsc')).fill('HDFC1234');
      await page.locator(byTestId('bank-account-number')).fill('111111111111');
      await page.locator(byTestId('bank-account-submit')).click();
      const error = page.locator(byTestId('bank-account-error'));
      await error.waitFor({ timeout: 10_000 });
      if ((await error.getAttribute('data-field')) !== 'ifsc') fail(`the error names ${await error.getAttribute('data-field')}`);
      if (!((await error.textContent()) ?? '').includes('IFSC')) fail(`the error says ${await error.textContent()}`);
    });

    const settles = await step('add 111111111111: verifying, then verified without a reload', async () => {
      const id = await addAccount(page, { holder: 'Onboarded E2E Pvt Ltd', ifsc: 'HDFC0001234', number: '111111111111' });
      await accountReaches(page, id, 'verified');
      const text = (await rowOf(page, id).textContent()) ?? '';
      if (!text.includes('ONBOARDED E2E PVT LTD')) fail(`the row says ${JSON.stringify(text)}`);
      return id;
    });

    const secret = await step('create an API key: its secret is shown once', async () => {
      await page.locator(byTestId('nav-api-keys')).click();
      await page.getByLabel('Key name').fill('onboarding e2e');
      await page.locator(byTestId('api-key-create')).click();
      const shown = page.locator(byTestId('api-key-secret'));
      await shown.waitFor({ timeout: 10_000 });
      return ((await shown.textContent()) ?? '').trim();
    });

    await step('an API key may not add a bank account (403 forbidden)', async () => {
      const reply = await request('/bank-accounts', {
        apiKey: secret,
        method: 'POST',
        body: { holder_name: 'Thief', ifsc: 'HDFC0001234', account_number: '999999999999' },
      });
      if (reply.status !== 403 || reply.body?.error?.code !== 'forbidden') fail(`answered ${reply.status} ${JSON.stringify(reply.body)}`);
    });

    await step('the key pays out over HTTP to 111111111111; the dashboard shows it completed', async () => {
      const payout = await api('/payouts', {
        apiKey: secret,
        method: 'POST',
        headers: { 'Idempotency-Key': crypto.randomUUID() },
        body: { amount_paise: 10_000, bank_account_id: Number(settles) },
      });
      await payoutRowReaches(page, payout.id, 'completed');
      const done = await api(`/payouts/${payout.id}`, { apiKey: secret });
      if (done.attempts !== 1 || !done.utr) fail(`the payout is ${JSON.stringify(done)}`);
    });

    const sandbox = {};
    await step('add the sandbox accounts 222…, 444…, 555… and 333…', async () => {
      await page.locator(byTestId('nav-bank-accounts')).click();
      for (const digit of ['2', '4', '5', '3']) {
        sandbox[digit] = await addAccount(page, { holder: `Sandbox ${digit}`, ifsc: 'HDFC0001234', number: digit.repeat(12) });
      }
      for (const digit of ['2', '4', '3']) await accountReaches(page, sandbox[digit], 'verified');
      await accountReaches(page, sandbox['5'], 'rejected');
      const rejection = (await rowOf(page, sandbox['5']).locator(byTestId('bank-account-rejection')).textContent()) ?? '';
      if (!rejection.includes('account closed')) fail(`the rejected row says ${JSON.stringify(rejection)}`);
    });

    await step('screenshots of the Bank accounts page at 1280×900 and 390×844, no horizontal scroll', async () => {
      await page.screenshot({ path: join(SCREENSHOTS, 'bank-accounts-1280x900.png') });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      if (overflow > 0) fail(`the page scrolls sideways by ${overflow}px at 390 px`);
      await page.screenshot({ path: join(SCREENSHOTS, 'bank-accounts-390x844.png') });
      await page.screenshot({ path: join(SCREENSHOTS, 'bank-accounts-390-full.png'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await step('555555555555 (rejected) is not offered in the payout form', async () => {
      await page.locator(byTestId('nav-overview')).click();
      const select = page.locator(byTestId('payout-bank-account'));
      await select.waitFor({ timeout: 10_000 });
      const offered = await select.locator('option').evaluateAll((options) => options.map((option) => option.value));
      if (offered.includes(String(sandbox['5']))) fail(`the form offers ${JSON.stringify(offered)}`);
    });

    await step('222222222222: failed, bank_declined, refunded', async () => {
      const id = await payFromTheForm(page, sandbox['2'], secret);
      await payoutRowReaches(page, id, 'failed');
      const payout = await api(`/payouts/${id}`, { apiKey: secret });
      if (payout.failure_code !== 'bank_declined') fail(`the payout is ${JSON.stringify(payout)}`);
    });

    await step('444444444444: no answer to attempt 1, completed on attempt 2', async () => {
      const id = await payFromTheForm(page, sandbox['4'], secret);
      await payoutRowReaches(page, id, 'completed');
      const payout = await api(`/payouts/${id}`, { apiKey: secret });
      if (payout.attempts !== 2) fail(`the payout is ${JSON.stringify(payout)}`);
    });

    await step('333333333333: processing while the bank is silent, then failed no_bank_answer once it confirms the cancel', async () => {
      const id = await payFromTheForm(page, sandbox['3'], secret);
      await payoutRowReaches(page, id, 'processing');
      await payoutRowReaches(page, id, 'failed');
      const payout = await api(`/payouts/${id}`, { apiKey: secret });
      if (payout.failure_code !== 'no_bank_answer' || payout.utr !== null) fail(`the payout is ${JSON.stringify(payout)}`);
      const events = await api(`/payouts/${id}/events`, { apiKey: secret });
      if (!events.some((event) => event.reason.includes('asking the bank to cancel'))) fail('no cancellation request in the events');
      const balance = await api('/balance', { apiKey: secret });
      if (balance.held_paise !== 0) fail(`still held: ${JSON.stringify(balance)}`);
    });

    await step('revoke the key: the next call with it is 401', async () => {
      await page.locator(byTestId('nav-api-keys')).click();
      const row = page.locator(`${byTestId('api-key-row')}[data-revoked="false"]`, { hasText: 'onboarding e2e' });
      await row.locator(byTestId('api-key-revoke')).click();
      await page.locator(`${byTestId('api-key-row')}[data-revoked="true"]`, { hasText: 'onboarding e2e' }).waitFor({ timeout: 10_000 });
      const reply = await request('/me', { apiKey: secret });
      if (reply.status !== 401) fail(`GET /me with the revoked key answered ${reply.status}`);
    });

    await step('deactivate 111111111111 after a confirmation', async () => {
      await page.locator(byTestId('nav-bank-accounts')).click();
      await rowOf(page, settles).locator(byTestId('bank-account-deactivate')).click();
      await rowOf(page, settles).locator(byTestId('bank-account-deactivate-confirm')).click();
      await accountReaches(page, settles, 'deactivated');
    });

    if (pageErrors.length > 0) fail(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
  } catch (error) {
    await page.screenshot({ path: join(SCREENSHOTS, 'onboarding-failure.png'), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

finish('onboarding', main);
