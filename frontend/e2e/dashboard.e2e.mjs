#!/usr/bin/env node
/**
 * End-to-end check of the merchant dashboard against a running stack
 * (API, worker and dashboard, e.g. `make run`). It drives headless Chromium:
 *
 *   1. picks a merchant in the switcher and checks the balance the page shows
 *      against the API;
 *   1a. in demo mode, simulates a ₹12.34 customer payment from the Overview
 *      page and sees the credit and the balance that includes it;
 *   2. requests a ₹1.00 payout with a reference and a narration: reviews
 *      them with amount and account on the confirm step (nothing is sent
 *      before payout-confirm), sees its row appear and reach completed or
 *      failed without a reload, and sees the balances move; opens the
 *      payout's page and checks its reference, narration, UTR (or failure
 *      code) and events against the API;
 *   3. requests more than the available balance and sees the API's
 *      insufficient-funds message;
 *   4. makes more than a page of payouts through the API, pages through the
 *      history to the older ones and back, and filters it by status;
 *   5. checks there is no horizontal scroll at 390 px, saves screenshots
 *      (desktop and mobile, the confirm step and the paged history included);
 *   6. signs out, signs in with the password of a merchant made by
 *      create_merchant --owner-email, creates an API key, pays out with it over
 *      HTTP, revokes it (the next call is 401) and reads the security events.
 *
 * It starts on the sign-in page and signs in with the demo sign-in button.
 *
 * Env: E2E_WEB_URL (http://127.0.0.1:5173), E2E_API_URL (http://127.0.0.1:8000),
 * CHROME_PATH or CHROMIUM_PATH (scripts/browser.sh finds one; else /usr/bin/chromium), E2E_TERMINAL_TIMEOUT_MS (90000),
 * E2E_OWNER_EMAIL and E2E_OWNER_PASSWORD (a real merchant's owner; step 6 is skipped without them).
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
  Failure,
  fail,
  log,
  step,
  waitFor,
  finish,
} from './support.mjs';

const PAYOUT_PAISE = 100n;
const PAGE_SIZE = 20; // the dashboard's payout page (features/payouts/api/get-payouts.ts)

// Unique per run: a merchant's reference_id names one payout.
const REFERENCE = `E2E-${Date.now().toString(36)}`;
const NARRATION = 'Dashboard e2e check';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** "₹1,23,456.78" or "-₹0.05" to integer paise, exactly. */
function paiseFromText(text) {
  const match = /^\s*([+-]?)₹([\d,]+)\.(\d{2})\s*$/.exec(text ?? '');
  if (!match) fail(`not a rupee amount: ${JSON.stringify(text)}`);
  const paise = BigInt(match[2].replaceAll(',', '')) * 100n + BigInt(match[3]);
  return match[1] === '-' ? -paise : paise;
}

/** Integer paise to what a person types: 150050n -> "1500.50". */
function rupeeInput(paise) {
  return `${paise / 100n}.${(paise % 100n).toString().padStart(2, '0')}`;
}

async function api(path, { apiKey, method = 'GET', body, headers = {} } = {}) {
  let response;
  try {
    response = await fetch(`${API_URL}/api/v1${path}`, {
      method,
      headers: {
        ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    fail(`the API at ${API_URL} is not reachable (${error.cause?.code ?? error.message}). Start the stack first, e.g. make run.`);
  }
  const text = await response.text();
  if (!response.ok) fail(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}


const isPayoutPost = (request) => request.method() === 'POST' && /\/api\/v1\/payouts\/?$/.test(new URL(request.url()).pathname);

/** The ids of the payout rows on screen, or null while a page is being turned (the old rows are still shown). */
function shownPayoutIds(page) {
  return page.evaluate(() => {
    const list = document.querySelector('[data-testid="payout-list"]');
    if (list?.getAttribute('aria-busy') === 'true') return null;
    return [...document.querySelectorAll('[data-testid="payout-row"]')].map((row) => row.dataset.payoutId);
  });
}

/**
 * Presses payout-submit and checks the confirm step: the amount in rupees and
 * the chosen account are shown, and nothing has been sent yet.
 */
async function reviewPayout(page, paise, postsSent) {
  const account = page.locator(byTestId('payout-bank-account'));
  const accountLabel = await account.evaluate((select) => select.selectedOptions[0]?.textContent ?? '');
  const last4 = /••(\d{4})/.exec(accountLabel)?.[1];
  if (!last4) fail(`cannot read the account number from the option ${JSON.stringify(accountLabel)}`);
  const before = postsSent();
  await page.locator(byTestId('payout-amount')).fill(rupeeInput(paise));
  await page.locator(byTestId('payout-submit')).click();
  await page.locator(byTestId('payout-confirm')).waitFor({ timeout: 10_000 });
  const shownAmount = (await page.locator(byTestId('payout-confirm-amount')).textContent())?.trim();
  if (paiseFromText(shownAmount) !== paise) fail(`the confirm step shows ${shownAmount}, expected ${paise} paise`);
  const shownAccount = (await page.locator(byTestId('payout-confirm-account')).textContent()) ?? '';
  if (!shownAccount.includes(last4)) fail(`the confirm step shows account ${JSON.stringify(shownAccount)}, expected one ending ${last4}`);
  await page.waitForTimeout(300);
  if (postsSent() !== before) fail('a payout was sent before payout-confirm was pressed');
  return { shownAmount, last4 };
}

async function text(page, testId) {
  const locator = page.locator(byTestId(testId));
  return (await locator.count()) > 0 ? (await locator.first().textContent())?.trim() : undefined;
}

/**
 * A merchant onboarded with `create_merchant --owner-email` (scripts/e2e.sh makes it and passes
 * E2E_OWNER_EMAIL and E2E_OWNER_PASSWORD): its owner signs in with the password, makes an API key,
 * the key makes a payout over HTTP, the owner revokes it, and the next call with it is refused.
 */
async function signInWithPasswordAndUseAKey(page) {
  const email = process.env.E2E_OWNER_EMAIL;
  const password = process.env.E2E_OWNER_PASSWORD;
  if (!email || !password) {
    log('skip the password sign-in: E2E_OWNER_EMAIL and E2E_OWNER_PASSWORD are not set');
    return;
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  await step('sign out back to the sign-in page', async () => {
    await page.locator(byTestId('sign-out')).click();
    await page.locator(byTestId('login-submit')).waitFor({ timeout: 10_000 });
  });

  await step('a wrong password is refused with the API message', async () => {
    await page.locator(byTestId('login-email')).fill(email);
    await page.locator(byTestId('login-password')).fill(`${password}-wrong`);
    await page.locator(byTestId('login-submit')).click();
    const error = page.locator(byTestId('login-error'));
    await error.waitFor({ timeout: 10_000 });
    const message = (await error.textContent()) ?? '';
    if (!message.includes('email or the password')) fail(`login-error says ${JSON.stringify(message)}`);
  });

  const session = await step(`the owner ${email} signs in with the password`, async () => {
    await page.locator(byTestId('login-password')).fill(password);
    await page.locator(byTestId('login-submit')).click();
    await page.locator(byTestId('available-balance')).waitFor({ timeout: 15_000 });
    const shown = (await page.locator(byTestId('signed-in-as')).textContent()) ?? '';
    if (!shown.includes(email) || !shown.includes('owner')) fail(`the header says ${JSON.stringify(shown)}`);
    if ((await page.locator(byTestId('merchant-switcher')).count()) !== 0) fail('a real merchant was offered the demo switcher');
  });
  void session;

  const secret = await step('create an API key: its secret is shown once', async () => {
    await page.locator(byTestId('nav-api-keys')).click();
    await page.getByLabel('Key name').fill('e2e integration');
    await page.locator(byTestId('api-key-create')).click();
    const shown = page.locator(byTestId('api-key-secret'));
    await shown.waitFor({ timeout: 10_000 });
    const value = ((await shown.textContent()) ?? '').trim();
    if (!/^sk_live_[A-Za-z0-9_-]{20,}$/.test(value)) fail(`the secret shown is ${JSON.stringify(value)}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'api-keys-1280x900.png') });
    return value;
  });

  const keyPayout = await step('the key makes a payout over HTTP', async () => {
    const accounts = await api('/bank-accounts', { apiKey: secret });
    const payout = await api('/payouts', {
      apiKey: secret,
      method: 'POST',
      headers: { 'Idempotency-Key': crypto.randomUUID() },
      body: { amount_paise: 100, bank_account_id: accounts[0].id },
    });
    if (payout.status !== 'pending' || payout.amount_paise !== 100) fail(`the payout is ${JSON.stringify(payout)}`);
    return payout;
  });
  void keyPayout;

  await step('revoke the key: the next call with it is 401', async () => {
    const row = page.locator(`${byTestId('api-key-row')}[data-revoked="false"]`, { hasText: 'e2e integration' });
    await row.locator(byTestId('api-key-revoke')).click();
    await page
      .locator(`${byTestId('api-key-row')}[data-revoked="true"]`, { hasText: 'e2e integration' })
      .waitFor({ timeout: 10_000 });
    const response = await fetch(`${API_URL}/api/v1/me`, {
      headers: { Authorization: `Bearer ${secret}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status !== 401) fail(`GET /me with the revoked key answered ${response.status}`);
  });

  await step('the security events list the sign-ins and the key', async () => {
    await page.locator(byTestId('nav-security')).click();
    await page.locator(`${byTestId('security-event-row')}[data-kind="api_key_revoked"]`).waitFor({ timeout: 10_000 });
    const kinds = await page.locator(byTestId('security-event-row')).evaluateAll((rows) => rows.map((row) => row.dataset.kind));
    const expected = ['api_key_revoked', 'api_key_created', 'login_succeeded', 'login_failed'];
    if (JSON.stringify(kinds.slice(0, 4)) !== JSON.stringify(expected)) fail(`the events are ${JSON.stringify(kinds)}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'security-events-1280x900.png') });
  });
}

async function main() {
  await mkdir(SCREENSHOTS, { recursive: true });

  const merchants = await step('the API is up and lists demo merchants', async () => {
    await api('/health');
    const list = await api('/demo/merchants');
    if (!Array.isArray(list) || list.length === 0) fail('GET /demo/merchants returned no merchants (is DEMO_MODE on and the seed run?)');
    return list;
  });

  const merchant = await step('choose a merchant that can afford a ₹1.00 payout', async () => {
    const withBalance = [];
    for (const candidate of merchants) {
      const balance = await api('/balance', { apiKey: candidate.api_key });
      withBalance.push({ ...candidate, available: BigInt(balance.available_paise) });
    }
    const able = withBalance.filter((candidate) => candidate.available >= PAYOUT_PAISE);
    if (able.length === 0) fail('no demo merchant has ₹1.00 available');
    // Prefer one that is not the default, so the switcher is really exercised.
    const chosen = able.find((candidate) => String(candidate.id) !== String(merchants[0].id)) ?? able[0];
    log(`     merchant "${chosen.name}" (id ${chosen.id}), API says available ${chosen.available} paise`);
    return chosen;
  });

  await step(`the dashboard is served at ${WEB_URL}`, async () => {
    try {
      const response = await fetch(WEB_URL, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) fail(`GET ${WEB_URL} answered ${response.status}`);
    } catch (error) {
      if (error instanceof Failure) throw error;
      fail(`nothing answers at ${WEB_URL} (${error.cause?.code ?? error.message}). Start it with npm run dev.`);
    }
  });

  const profile = await mkdtemp(join(tmpdir(), 'payout-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  const pageErrors = [];
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));
  let payoutPosts = 0;
  page.on('request', (request) => {
    if (isPayoutPost(request)) payoutPosts += 1;
  });
  const postsSent = () => payoutPosts;

  try {
    await step('open the dashboard, sign in as the first demo merchant, then pick the merchant in the switcher', async () => {
      await page.goto(WEB_URL, { waitUntil: 'domcontentloaded' });
      await page.locator(byTestId('login-submit')).waitFor({ timeout: 20_000 });
      await page.screenshot({ path: join(SCREENSHOTS, 'sign-in-1280x900.png') });
      await page.locator(`${byTestId('demo-login')}[data-merchant-id="${merchants[0].id}"]`).click();
      const switcher = page.locator(byTestId('merchant-switcher'));
      await switcher.waitFor({ timeout: 20_000 });
      await switcher.selectOption(String(merchant.id));
      await page.locator('h1', { hasText: merchant.name }).waitFor({ timeout: 10_000 });
      await page.locator(byTestId('available-balance')).waitFor({ timeout: 15_000 });
      await page.locator(byTestId('held-balance')).waitFor({ timeout: 15_000 });
    });

    await step('the page shows the balance the API reports', async () => {
      await waitFor('the page balance to match GET /balance', async () => {
        const balance = await api('/balance', { apiKey: merchant.api_key });
        const shown = paiseFromText(await text(page, 'available-balance'));
        const held = paiseFromText(await text(page, 'held-balance'));
        return shown === BigInt(balance.available_paise) && held === BigInt(balance.held_paise);
      }, { timeoutMs: 20_000, intervalMs: 500 });
      log(`     page: available ${await text(page, 'available-balance')}, held ${await text(page, 'held-balance')}`);
    });

    await step('demo mode: "Simulate a customer payment" credits ₹12.34 and the balance shows it', async () => {
      const start = BigInt((await api('/balance', { apiKey: merchant.api_key })).available_paise);
      await page.locator(byTestId('demo-payment-amount')).fill('12.34');
      const [response] = await Promise.all([
        page.waitForResponse(
          (candidate) =>
            candidate.request().method() === 'POST' && new URL(candidate.url()).pathname.endsWith('/demo/payments'),
          { timeout: 15_000 },
        ),
        page.locator(byTestId('demo-payment-submit')).click(),
      ]);
      const credit = await response.json();
      if (response.status() !== 201) fail(`POST /demo/payments answered ${response.status()}: ${JSON.stringify(credit)}`);
      if (credit.amount_paise !== 1234 || credit.merchant_id !== merchant.id || !credit.reference.startsWith('demo_')) {
        fail(`the demo payment credited ${JSON.stringify(credit)}`);
      }
      await page.locator(byTestId('demo-payment-result')).waitFor({ timeout: 10_000 });
      const result = (await text(page, 'demo-payment-result')) ?? '';
      if (!result.includes('₹12.34 credited') || !result.includes(credit.reference)) fail(`the result says ${JSON.stringify(result)}`);
      await waitFor('the page balance to include the credit', async () => {
        const balance = BigInt((await api('/balance', { apiKey: merchant.api_key })).available_paise);
        return balance >= start + 1234n && paiseFromText(await text(page, 'available-balance')) === balance;
      }, { timeoutMs: 15_000, intervalMs: 300 });
      log(`     credited ${credit.reference}; page: available ${await text(page, 'available-balance')}`);
    });

    const before = {
      available: await text(page, 'available-balance'),
      held: await text(page, 'held-balance'),
    };

    const existingIds = await step('the payout history has loaded', async () => {
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid="payout-row"]') !== null ||
          /No payouts yet/.test(document.body.textContent ?? ''),
        undefined,
        { timeout: 15_000 },
      );
      return page.$$eval('[data-testid="payout-row"]', (rows) => rows.map((row) => row.dataset.payoutId));
    });

    // Record every balance the page shows from now on, so a brief hold that is
    // released quickly (a fast bank failure) is still seen.
    await page.evaluate(() => {
      const seen = new Set();
      const sample = () => {
        const available = document.querySelector('[data-testid="available-balance"]')?.textContent;
        const held = document.querySelector('[data-testid="held-balance"]')?.textContent;
        if (available && held) seen.add(`${available}|${held}`);
      };
      sample();
      new MutationObserver(sample).observe(document.body, { subtree: true, childList: true, characterData: true });
      window.__balancesSeen = seen;
    });

    await step('payout-submit shows the amount and account to confirm, and sends nothing', async () => {
      const account = page.locator(byTestId('payout-bank-account'));
      await account.waitFor({ timeout: 10_000 });
      if (!(await account.inputValue())) fail('the merchant has no bank account to pay out to');
      await page.locator(byTestId('payout-reference')).fill(REFERENCE);
      await page.locator(byTestId('payout-narration')).fill(NARRATION);
      const { shownAmount, last4 } = await reviewPayout(page, PAYOUT_PAISE, postsSent);
      const reference = await text(page, 'payout-confirm-reference');
      const narration = await text(page, 'payout-confirm-narration');
      if (reference !== REFERENCE || narration !== NARRATION) {
        fail(`the confirm step shows reference ${JSON.stringify(reference)} and narration ${JSON.stringify(narration)}`);
      }
      log(`     confirm step: ${shownAmount} to the account ending ${last4}, reference ${reference}`);
      await page.screenshot({ path: join(SCREENSHOTS, 'confirm-1280x900.png') });
    });

    const created = await step('payout-confirm requests the ₹1.00 payout', async () => {
      const [response] = await Promise.all([
        page.waitForResponse((candidate) => isPayoutPost(candidate.request()), { timeout: 30_000 }),
        page.locator(byTestId('payout-confirm')).click(),
      ]);
      const key = response.request().headers()['idempotency-key'];
      if (!UUID_V4.test(key ?? '')) fail(`Idempotency-Key is not a UUID v4: ${key}`);
      const body = await response.json().catch(() => null);
      if (response.status() !== 201) fail(`POST /payouts answered ${response.status()}: ${JSON.stringify(body)}`);
      if (String(body.amount_paise) !== String(PAYOUT_PAISE)) fail(`payout amount is ${body.amount_paise}, expected ${PAYOUT_PAISE}`);
      if (body.reference_id !== REFERENCE || body.narration !== NARRATION) {
        fail(`the payout carries reference ${JSON.stringify(body.reference_id)}, narration ${JSON.stringify(body.narration)}`);
      }
      await waitFor('the amount field to clear after success', async () =>
        (await page.locator(byTestId('payout-amount')).inputValue()) === '',
      );
      log(`     payout ${body.id} created (${body.status}), Idempotency-Key ${key}`);
      return body;
    });

    const row = page.locator(`${byTestId('payout-row')}[data-payout-id="${created.id}"]`);

    await step('its row appears in the payout history', async () => {
      await row.waitFor({ timeout: 10_000 });
      if (existingIds.includes(String(created.id))) fail('the payout id was already listed before the request');
    });

    const finalStatus = await step('the row reaches completed or failed without a reload', async () => {
      const navigations = [];
      page.on('framenavigated', (frame) => frame === page.mainFrame() && navigations.push(frame.url()));
      const seen = [];
      const status = await waitFor(
        'a terminal data-status',
        async () => {
          const current = await row.getAttribute('data-status');
          if (current && seen.at(-1) !== current) {
            seen.push(current);
            log(`     data-status = ${current}`);
          }
          return current === 'completed' || current === 'failed' ? current : null;
        },
        { timeoutMs: TERMINAL_TIMEOUT_MS, intervalMs: 200 },
      );
      if (navigations.length > 0) fail(`the page navigated: ${navigations.join(', ')}`);
      const truth = await api(`/payouts/${created.id}`, { apiKey: merchant.api_key });
      if (truth.status !== status) fail(`page says ${status}, API says ${truth.status}`);
      return status;
    });

    await step('the balances moved after the request', async () => {
      const seen = await page.evaluate(() => [...window.__balancesSeen]);
      const initial = `${before.available}|${before.held}`;
      const changed = seen.filter((value) => value !== initial);
      if (changed.length > 0) {
        log(`     before ${initial}; seen since: ${changed.join('; ')}`);
        return;
      }
      if (finalStatus === 'completed') fail(`available and held never changed from ${initial}`);
      // A failure that returns the funds before the next read leaves the same
      // figures; then the ledger must show the debit and its reversal.
      await waitFor('a payout debit and its reversal in the ledger', async () => {
        const kinds = await page.$$eval(
          `[data-testid="ledger-row"][data-payout-id="${created.id}"]`,
          (rows) => rows.map((entry) => entry.dataset.kind),
        );
        return kinds.includes('payout') && kinds.includes('reversal');
      }, { timeoutMs: 20_000 });
      log('     funds were held and returned between two reads; the ledger shows the debit and its reversal');
    });

    await step('the final balance on the page matches the API', async () => {
      await waitFor('page balance = API balance', async () => {
        const balance = await api('/balance', { apiKey: merchant.api_key });
        return (
          paiseFromText(await text(page, 'available-balance')) === BigInt(balance.available_paise) &&
          paiseFromText(await text(page, 'held-balance')) === BigInt(balance.held_paise)
        );
      }, { timeoutMs: 20_000, intervalMs: 500 });
      log(`     page: available ${await text(page, 'available-balance')}, held ${await text(page, 'held-balance')}`);
    });

    await step('the payout events open as a timeline', async () => {
      await row.locator('button').first().click();
      await row.locator('ol li').first().waitFor({ timeout: 10_000 });
      const items = await row.locator('ol li').count();
      log(`     ${items} event(s) listed`);
    });

    await step("the payout's page shows its reference, narration, UTR or failure code, and events", async () => {
      await row.locator(byTestId('payout-open')).click();
      const detail = page.locator(`${byTestId('payout-detail')}[data-payout-id="${created.id}"]`);
      await detail.waitFor({ timeout: 10_000 });
      if (!new URL(page.url()).hash.endsWith(`/payouts/${created.id}`)) fail(`the page's address is ${page.url()}`);
      const truth = await api(`/payouts/${created.id}`, { apiKey: merchant.api_key });
      const shown = {
        status: await detail.getAttribute('data-status'),
        reference: await text(page, 'payout-detail-reference'),
        narration: await text(page, 'payout-detail-narration'),
        utr: await text(page, 'payout-detail-utr'),
      };
      if (shown.status !== truth.status) fail(`the page says ${shown.status}, the API ${truth.status}`);
      if (shown.reference !== REFERENCE) fail(`reference shown: ${JSON.stringify(shown.reference)}`);
      if (shown.narration !== NARRATION) fail(`narration shown: ${JSON.stringify(shown.narration)}`);
      if (truth.status === 'completed') {
        if (!truth.utr || shown.utr !== truth.utr) fail(`UTR shown ${JSON.stringify(shown.utr)}, the API's ${truth.utr}`);
        log(`     completed, UTR ${shown.utr}`);
      } else {
        const code = await text(page, 'payout-detail-failure-code');
        if (truth.utr !== null) fail(`a ${truth.status} payout has a UTR: ${truth.utr}`);
        if (!truth.failure_code || code !== truth.failure_code) fail(`failure code shown ${JSON.stringify(code)}, the API's ${truth.failure_code}`);
        log(`     failed, failure code ${code}`);
      }
      const events = await api(`/payouts/${created.id}/events`, { apiKey: merchant.api_key });
      await waitFor('every event on the page', async () =>
        (await page.locator(`${byTestId('payout-detail-events')} ol li`).count()) === events.length,
      );
      await page.screenshot({ path: join(SCREENSHOTS, 'payout-page-1280x900.png'), fullPage: true });
      await page.locator(byTestId('nav-overview')).click();
      await row.waitFor({ timeout: 10_000 });
      await row.locator('button').first().click();
      await row.locator('ol li').first().waitFor({ timeout: 10_000 });
    });

    await step('screenshot at 1280×900', async () => {
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-1280x900.png') });
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-1280-full.png'), fullPage: true });
    });

    await step('a payout above the available balance shows the insufficient-funds message', async () => {
      const available = paiseFromText(await text(page, 'available-balance'));
      const tooMuch = (available > 0n ? available : 0n) + 10_000n;
      await reviewPayout(page, tooMuch, postsSent);
      const [response] = await Promise.all([
        page.waitForResponse((candidate) => isPayoutPost(candidate.request()), { timeout: 30_000 }),
        page.locator(byTestId('payout-confirm')).click(),
      ]);
      const body = await response.json().catch(() => null);
      if (response.status() !== 422 || body?.error?.code !== 'insufficient_funds') {
        fail(`expected 422 insufficient_funds for ${rupeeInput(tooMuch)}, got ${response.status()}: ${JSON.stringify(body)}`);
      }
      const error = page.locator(byTestId('payout-error'));
      await error.waitFor({ timeout: 10_000 });
      const shown = (await error.textContent())?.trim() ?? '';
      if (!shown.includes(body.error.message)) fail(`payout-error says ${JSON.stringify(shown)}, API said ${JSON.stringify(body.error.message)}`);
      if ((await error.getAttribute('role')) !== 'alert') fail('payout-error is not role="alert"');
      log(`     asked for ₹${rupeeInput(tooMuch)}; payout-error: "${shown}"`);
      await page.locator(byTestId('payout-submit')).scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(SCREENSHOTS, 'insufficient-funds-1280x900.png') });
    });

    const newest = await step(`more than a page of payouts (${PAGE_SIZE + 1} made through the API) reach the page`, async () => {
      const accounts = await api('/bank-accounts', { apiKey: merchant.api_key });
      const made = [];
      for (let i = 0; i < PAGE_SIZE + 1; i += 1) {
        const payout = await api('/payouts', {
          apiKey: merchant.api_key,
          method: 'POST',
          headers: { 'Idempotency-Key': crypto.randomUUID() },
          body: { amount_paise: 100, bank_account_id: accounts[i % accounts.length].id },
        });
        made.push(String(payout.id));
      }
      // Payouts made elsewhere show at the next slow poll (15 s while all on screen are final); do not wait for it.
      await page.reload({ waitUntil: 'domcontentloaded' });
      const expected = made.slice(-PAGE_SIZE).reverse();
      await waitFor('the newest page to list the new payouts', async () => {
        const ids = await shownPayoutIds(page);
        return ids?.length === PAGE_SIZE && ids.every((id, index) => id === expected[index]);
      }, { timeoutMs: 15_000, intervalMs: 300 });
      return expected;
    });

    await step('"Older" shows the next page of the history, "Newer" comes back', async () => {
      const next = page.locator(byTestId('payouts-next'));
      await next.scrollIntoViewIfNeeded();
      await next.click();
      const truth = await api(`/payouts?limit=${PAGE_SIZE}`, { apiKey: merchant.api_key });
      const cursor = new URL(truth.next).search;
      const older = (await api(`/payouts${cursor}`, { apiKey: merchant.api_key })).results.map((payout) => String(payout.id));
      const shown = await waitFor('the second page', async () => {
        const ids = await shownPayoutIds(page);
        return ids?.length === older.length && ids.every((id, index) => id === older[index]) ? ids : null;
      });
      if (shown.some((id) => newest.includes(id))) fail('the second page repeats payouts of the first');
      if (!shown.includes(String(created.id))) fail(`the payout made in the page (${created.id}) is not on the second page`);
      const label = (await text(page, 'payouts-page')) ?? '';
      if (!/Page 2/.test(label)) fail(`the pager says ${JSON.stringify(label)}`);
      log(`     page 2: ${shown.length} older payout(s), the oldest ${shown.at(-1)}`);
      await page.locator('#payout-history-title').evaluate((title) => title.scrollIntoView({ block: 'start' }));
      await page.screenshot({ path: join(SCREENSHOTS, 'history-page2-1280x900.png') });

      await page.locator(byTestId('payouts-previous')).click();
      await waitFor('the newest page again', async () => (await shownPayoutIds(page))?.[0] === newest[0]);
    });

    await step('the status filter shows only payouts in that status', async () => {
      const filter = page.locator(byTestId('payout-status-filter'));
      for (const status of ['completed', 'failed']) {
        await filter.selectOption(status);
        const ids = await waitFor(`a ${status} payout in the filtered list`, async () => {
          const shown = await shownPayoutIds(page);
          return shown?.length ? shown : null;
        }, { timeoutMs: TERMINAL_TIMEOUT_MS, intervalMs: 500 });
        const statuses = await page.$$eval('[data-testid="payout-row"]', (rows) => rows.map((row) => row.dataset.status));
        if (statuses.some((shown) => shown !== status)) fail(`filtered by ${status}, the list shows ${statuses.join(', ')}`);
        const truth = (await api(`/payouts?status=${status}&limit=100`, { apiKey: merchant.api_key })).results.map((p) => String(p.id));
        const stray = ids.filter((id) => !truth.includes(id));
        if (stray.length > 0) fail(`filtered by ${status}, the list shows ${stray.join(', ')}, which the API does not list as ${status}`);
        log(`     ${status}: ${ids.length} payout(s)`);
      }
      await filter.selectOption('all');
      await waitFor('the unfiltered newest page', async () => (await shownPayoutIds(page))?.[0] === newest[0]);
    });

    await step('at 390×844 nothing scrolls sideways', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.waitForTimeout(300);
      const { scrollWidth, clientWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      if (scrollWidth > clientWidth) fail(`page is ${scrollWidth} px wide in a ${clientWidth} px viewport`);
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-390x844.png') });
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-390-full.png'), fullPage: true });
    });

    await step('at 390 px the confirm step fits, and "Back" returns to the form without sending', async () => {
      await reviewPayout(page, 123_456_789n, postsSent);
      await page.locator(byTestId('payout-confirm')).scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(SCREENSHOTS, 'confirm-390x844.png') });
      const { scrollWidth, clientWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      if (scrollWidth > clientWidth) fail(`with the confirm step the page is ${scrollWidth} px wide in ${clientWidth} px`);
      const before = postsSent();
      await page.getByRole('button', { name: 'Back' }).click();
      await page.locator(byTestId('payout-submit')).waitFor({ timeout: 5_000 });
      if ((await page.locator(byTestId('payout-amount')).inputValue()) !== rupeeInput(123_456_789n)) fail('Back lost the amount');
      if (postsSent() !== before) fail('Back sent a payout');
      await page.locator(byTestId('payout-amount')).fill('');
    });

    await step('at 390 px the paged history fits', async () => {
      await page.locator(byTestId('payouts-next')).click();
      await waitFor('the second page', async () => {
        const ids = await shownPayoutIds(page);
        return ids?.length > 0 && !ids.includes(newest[0]);
      });
      await page.locator('nav[aria-label="Payout pages"]').scrollIntoViewIfNeeded();
      const { scrollWidth, clientWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      if (scrollWidth > clientWidth) fail(`with the pager the page is ${scrollWidth} px wide in ${clientWidth} px`);
      await page.locator('#payout-history-title').evaluate((title) => title.scrollIntoView({ block: 'start' }));
      await page.screenshot({ path: join(SCREENSHOTS, 'history-page2-390x844.png') });
      await page.locator(byTestId('payout-status-filter')).selectOption('failed');
      await waitFor('the failed payouts', async () => (await shownPayoutIds(page))?.length > 0);
      await page.locator('#payout-history-title').evaluate((title) => title.scrollIntoView({ block: 'start' }));
      await page.screenshot({ path: join(SCREENSHOTS, 'history-failed-390x844.png') });
      await page.locator(byTestId('payout-status-filter')).selectOption('all');
    });

    await step('the merchant choice survives a reload', async () => {
      await page.reload({ waitUntil: 'domcontentloaded' });
      const switcher = page.locator(byTestId('merchant-switcher'));
      await switcher.waitFor({ timeout: 20_000 });
      const value = await switcher.inputValue();
      if (value !== String(merchant.id)) fail(`switcher shows ${value}, expected ${merchant.id}`);
    });

    await signInWithPasswordAndUseAKey(page);

    if (pageErrors.length > 0) fail(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
  } catch (error) {
    await page.screenshot({ path: join(SCREENSHOTS, 'failure.png'), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

finish('dashboard', main);
