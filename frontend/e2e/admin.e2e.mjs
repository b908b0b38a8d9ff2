#!/usr/bin/env node
/**
 * End-to-end check of the operators' console (/admin/ on the API's origin) in
 * headless Chromium, with DEBUG off, so the second factor is asked for:
 *
 *   1. the admin sends a visitor to its sign-in page; email and password
 *      alone do not get in (the code is required);
 *   2. signs in with email, password, the TOTP device and a code computed
 *      here from the device's otpauth:// URI, as an authenticator app does;
 *   3. opens the index, the payouts list, the payouts awaiting the bank's
 *      cancellation, a ledger entry (read-only: no input, no save button) and
 *      the credit form of a merchant; credits it ₹1.00 and sees the merchant's
 *      available balance grow by 100 paise over the API;
 *   4. saves screenshots of each page under e2e/screenshots/admin-*.png.
 *
 * Env: E2E_API_URL (http://127.0.0.1:8000), E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD,
 * E2E_ADMIN_TOTP_URI (what `manage.py totp_enroll` printed), CHROME_PATH or
 * CHROMIUM_PATH (else /usr/bin/chromium). Exits non-zero with the reason on any failure.
 */

import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import {
  API_URL,
  CHROMIUM_PATH,
  SCREENSHOTS,
  fail,
  step,
  finish,
} from './support.mjs';

const EMAIL = process.env.E2E_ADMIN_EMAIL;
const PASSWORD = process.env.E2E_ADMIN_PASSWORD;
const TOTP_URI = process.env.E2E_ADMIN_TOTP_URI;

/** RFC 4648 base32 to bytes. */
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) fail(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The TOTP code (RFC 6238, HMAC-SHA1) an authenticator app shows for this otpauth:// URI now. */
function totpCode(uri, now = Date.now()) {
  const params = new URL(uri).searchParams;
  const key = base32Decode(params.get('secret') ?? fail('no secret in the otpauth URI'));
  const digits = Number(params.get('digits') ?? 6);
  const period = Number(params.get('period') ?? 30);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / period)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** A code not used yet: django-otp accepts each time step's code once, so wait for the next step if needed. */
let lastCode = null;
async function freshCode() {
  let code = totpCode(TOTP_URI);
  while (code === lastCode) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    code = totpCode(TOTP_URI);
  }
  lastCode = code;
  return code;
}

async function availablePaise(request, merchantId) {
  // The admin's own merchant page shows it; read it from the change view's readonly field.
  const reply = await request.get(`${API_URL}/admin/merchants/merchant/${merchantId}/change/`);
  const html = await reply.text();
  const match = /field-available_paise[\s\S]*?<div class="readonly">(-?\d+)<\/div>/.exec(html);
  if (!match) fail('no available_paise on the merchant page');
  return Number(match[1]);
}

async function main() {
  if (!EMAIL || !PASSWORD || !TOTP_URI) fail('E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD and E2E_ADMIN_TOTP_URI are required');
  await mkdir(SCREENSHOTS, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), 'admin-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const shot = (name) => page.screenshot({ path: join(SCREENSHOTS, `admin-${name}-1280x900.png`), fullPage: true });
  try {
    await step('the admin asks a visitor to sign in', async () => {
      await page.goto(`${API_URL}/admin/`);
      if (!new URL(page.url()).pathname.startsWith('/admin/login/')) fail(`not sent to sign in: ${page.url()}`);
      await page.locator('#id_otp_token').waitFor();
    });

    await step('email and password alone do not get in', async () => {
      await page.fill('#id_username', EMAIL);
      await page.fill('#id_password', PASSWORD);
      await page.click('input[type=submit][value="Log in"]');
      await page.waitForLoadState('domcontentloaded');
      if (!new URL(page.url()).pathname.startsWith('/admin/login/')) fail(`signed in without a code: ${page.url()}`);
      // The form now offers the user's devices.
      await page.locator('#id_otp_device option').first().waitFor({ state: 'attached' });
      await shot('sign-in-code');
    });

    await step('email, password, device and TOTP code get in', async () => {
      await page.fill('#id_username', EMAIL);
      await page.fill('#id_password', PASSWORD);
      const device = await page.locator('#id_otp_device option').nth(1).getAttribute('value'); // 0 is the blank choice
      await page.selectOption('#id_otp_device', device);
      await page.fill('#id_otp_token', await freshCode());
      await page.click('input[type=submit][value="Log in"]');
      await page.waitForURL(`${API_URL}/admin/`);
      const text = await page.locator('#content').innerText();
      for (const model of ['Ledger entries', 'Payouts', 'Payouts awaiting bank cancellation', 'Reconciliation incidents']) {
        if (!text.includes(model)) fail(`the index does not list ${model}`);
      }
      const cookie = (await context.cookies(API_URL)).find((c) => c.name === 'sessionid');
      if (!cookie?.httpOnly || !cookie.secure || cookie.sameSite !== 'Lax') fail(`session cookie ${JSON.stringify(cookie)}`);
      await shot('index');
    });

    await step('the payouts list', async () => {
      await page.goto(`${API_URL}/admin/payouts/payout/`);
      const rows = await page.locator('#result_list tbody tr').count();
      if (rows === 0) fail('no payouts listed');
      await shot('payouts');
    });

    await step('payouts awaiting the bank cancellation', async () => {
      await page.goto(`${API_URL}/admin/ops/payoutawaitingcancellation/`);
      await page.locator('#changelist').waitFor();
      await shot('awaiting-cancellation');
    });

    await step('a ledger entry, read-only', async () => {
      await page.goto(`${API_URL}/admin/ledger/ledgerentry/`);
      await page.locator('#result_list tbody tr th a').first().click();
      await page.waitForLoadState('domcontentloaded');
      const inputs = await page.locator('#content-main form input:not([type=hidden]), #content-main select, #content-main textarea').count();
      if (inputs !== 0) fail(`${inputs} editable fields on a ledger entry`);
      if ((await page.locator('input[name=_save]').count()) !== 0) fail('a save button on a ledger entry');
      await shot('ledger-entry');
    });

    await step('credit a merchant through the form', async () => {
      await page.goto(`${API_URL}/admin/merchants/merchant/`);
      const link = page.locator('#result_list tbody tr').first().locator('a', { hasText: 'Credit' });
      const href = await link.getAttribute('href');
      const merchantId = Number(/merchant\/(\d+)\/credit/.exec(href)?.[1]);
      const before = await availablePaise(page.request, merchantId);
      await link.click();
      await page.locator('#credit-form').waitFor();
      await page.fill('#id_amount_paise', '100');
      await page.fill('#id_reference', `admin-e2e-${Date.now().toString(36)}`);
      await page.fill('#id_description', 'customer payment (admin e2e)');
      await shot('credit-form');
      await page.click('#credit-form input[type=submit]');
      await page.waitForURL(`${API_URL}/admin/merchants/merchant/${merchantId}/change/`);
      const message = await page.locator('.messagelist').innerText();
      if (!message.includes('Credited 100 paise')) fail(`no confirmation: ${message}`);
      const after = await availablePaise(page.request, merchantId);
      if (after - before !== 100) fail(`available went from ${before} to ${after}, not +100`);
      await shot('credited');
    });
  } catch (error) {
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-failure.png'), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

finish('admin', main);
