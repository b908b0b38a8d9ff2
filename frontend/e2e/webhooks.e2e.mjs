#!/usr/bin/env node
/**
 * End-to-end check of webhooks (CONTRACT §8) through the dashboard, against a
 * running stack whose API allows http and private addresses for endpoints
 * (WEBHOOKS_ALLOW_HTTP and WEBHOOKS_ALLOW_PRIVATE, as under make run and
 * scripts/e2e.sh). It starts a real HTTP receiver on 127.0.0.1 (node:http),
 * then in headless Chromium:
 *
 *   1. the owner of a merchant signs in and opens the Webhooks page; a URL the
 *      API refuses shows the API's message;
 *   2. adds an endpoint pointing to the receiver and sees its whsec_ secret
 *      once (gone after a reload);
 *   3. makes a payout on the dashboard; the receiver gets payout.created,
 *      payout.processing and the final event (in any order, as delivery
 *      allows), each verified with HMAC-SHA256
 *      per Standard Webhooks (node:crypto), webhook-id equal to the event id;
 *   4. the page lists the deliveries; "redeliver" sends payout.created again
 *      with the same webhook-id, and a valid signature;
 *   5. rotates the secret (shown once; deliveries then carry both
 *      signatures), deletes a second endpoint after confirming;
 *   6. disables the endpoint: the banner shows on every page; a viewer of the
 *      same merchant sees it too, without the Webhooks page;
 *   7. screenshots of the page at 1280×900 and 390×844, with no sideways scroll.
 *
 * Env: E2E_WEB_URL, E2E_API_URL, CHROME_PATH or CHROMIUM_PATH, E2E_TERMINAL_TIMEOUT_MS (90000),
 * E2E_HOOKS_EMAIL and E2E_HOOKS_PASSWORD (the merchant's owner), E2E_HOOKS_VIEWER_EMAIL and
 * E2E_HOOKS_VIEWER_PASSWORD (a viewer of the same merchant). Exits non-zero with the reason on any failure.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import {
  WEB_URL,
  CHROMIUM_PATH,
  TERMINAL_TIMEOUT_MS,
  SCREENSHOTS,
  byTestId,
  fail,
  log,
  step,
  waitFor,
  finish,
} from './support.mjs';

const OWNER = { email: process.env.E2E_HOOKS_EMAIL, password: process.env.E2E_HOOKS_PASSWORD };
const VIEWER = { email: process.env.E2E_HOOKS_VIEWER_EMAIL, password: process.env.E2E_HOOKS_VIEWER_PASSWORD };
const FINAL = new Set(['payout.completed', 'payout.failed']);


// --- the receiver -----------------------------------------------------------------------------

/** A webhook receiver on 127.0.0.1: answers 204 to every POST and keeps what it got, raw. */
function startReceiver() {
  const received = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method, path: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(204).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, received, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

/**
 * Standard Webhooks: `webhook-signature` holds space-separated `v1,<base64>`, each an
 * HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" keyed with the secret's
 * base64 part decoded. Returns how many of `secrets` signed this delivery.
 */
function signedBy(delivery, secrets) {
  const id = delivery.headers['webhook-id'];
  const timestamp = delivery.headers['webhook-timestamp'];
  const header = delivery.headers['webhook-signature'] ?? '';
  if (!id || !/^\d+$/.test(timestamp ?? '')) fail(`a delivery lacks webhook-id or webhook-timestamp: ${JSON.stringify(delivery.headers)}`);
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) fail(`webhook-timestamp ${timestamp} is more than 5 minutes off`);
  const given = header
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3), 'base64'));
  return secrets.filter((secret) => {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${delivery.body}`).digest();
    return given.some((signature) => signature.length === expected.length && timingSafeEqual(signature, expected));
  }).length;
}

function eventOf(delivery) {
  const event = JSON.parse(delivery.body);
  if (event.id !== delivery.headers['webhook-id']) fail(`webhook-id ${delivery.headers['webhook-id']} is not the event id ${event.id}`);
  if (delivery.headers['content-type'] !== 'application/json') fail(`content-type is ${delivery.headers['content-type']}`);
  return event;
}

// --- the browser --------------------------------------------------------------------------------

async function signIn(page, { email, password }) {
  await page.goto(WEB_URL, { waitUntil: 'domcontentloaded' });
  await page.locator(byTestId('login-submit')).waitFor({ timeout: 20_000 });
  await page.locator(byTestId('login-email')).fill(email);
  await page.locator(byTestId('login-password')).fill(password);
  await page.locator(byTestId('login-submit')).click();
  await page.locator(byTestId('sign-out')).waitFor({ timeout: 15_000 });
}

async function openWebhooks(page) {
  await page.locator(byTestId('nav-webhooks')).click();
  await page.locator(byTestId('webhook-url')).waitFor({ timeout: 10_000 });
}

async function noSidewaysScroll(page) {
  const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  if (widths.scroll > widths.client) fail(`the page scrolls sideways: ${widths.scroll} > ${widths.client}`);
}

async function main() {
  if (!OWNER.email || !OWNER.password) fail('E2E_HOOKS_EMAIL and E2E_HOOKS_PASSWORD must name an owner (scripts/e2e.sh sets them)');
  await mkdir(SCREENSHOTS, { recursive: true });
  const receiver = await step('a webhook receiver listens on 127.0.0.1', startReceiver);
  log(`     receiver at ${receiver.url}`);

  const profile = await mkdtemp(join(tmpdir(), 'webhooks-e2e-'));
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
    await step(`the owner ${OWNER.email} signs in and opens the Webhooks page`, async () => {
      await signIn(page, OWNER);
      await openWebhooks(page);
      if ((await page.locator(byTestId('webhook-disabled-banner')).count()) !== 0) fail('a banner shows with no endpoint disabled');
    });

    await step("a URL the API refuses shows the API's message", async () => {
      await page.locator(byTestId('webhook-url')).fill('ftp://127.0.0.1/hooks');
      await page.locator(byTestId('webhook-submit')).click();
      const error = page.locator(byTestId('webhook-error'));
      await error.waitFor({ timeout: 10_000 });
      const message = ((await error.textContent()) ?? '').trim();
      if (!/http/i.test(message)) fail(`webhook-error says ${JSON.stringify(message)}`);
      if ((await page.locator(byTestId('webhook-row')).count()) !== 0) fail('a refused endpoint was listed');
      log(`     webhook-error: ${message}`);
    });

    const { secret, endpointId } = await step('add an endpoint to the receiver: its secret is shown once', async () => {
      await page.locator(byTestId('webhook-url')).fill(`${receiver.url}/hooks`);
      await page.locator(byTestId('webhook-submit')).click();
      const shown = page.locator(byTestId('webhook-secret'));
      await shown.waitFor({ timeout: 10_000 });
      const value = ((await shown.textContent()) ?? '').trim();
      if (!/^whsec_[A-Za-z0-9+/]+=*$/.test(value)) fail(`the secret shown is ${JSON.stringify(value)}`);
      const row = page.locator(byTestId('webhook-row'), { hasText: `${receiver.url}/hooks` });
      await row.waitFor({ timeout: 10_000 });
      if ((await row.getAttribute('data-status')) !== 'enabled') fail('the new endpoint is not enabled');
      await page.screenshot({ path: join(SCREENSHOTS, 'webhooks-secret-1280x900.png') });
      return { secret: value, endpointId: await row.getAttribute('data-endpoint-id') };
    });

    await step('after a reload the secret is nowhere on the page', async () => {
      await page.reload({ waitUntil: 'domcontentloaded' });
      await page.locator(byTestId('webhook-row')).first().waitFor({ timeout: 15_000 });
      const body = (await page.locator('body').textContent()) ?? '';
      if (body.includes('whsec_') || body.includes(secret)) fail('the secret is shown again');
    });

    const payout = await step('make a ₹1.00 payout on the dashboard', async () => {
      await page.locator(byTestId('nav-overview')).click();
      const account = page.locator(byTestId('payout-bank-account'));
      await account.waitFor({ timeout: 15_000 });
      await waitFor('a bank account to choose', async () => Boolean(await account.inputValue()));
      await page.locator(byTestId('payout-amount')).fill('1.00');
      await page.locator(byTestId('payout-submit')).click();
      await page.locator(byTestId('payout-confirm')).waitFor({ timeout: 10_000 });
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/v1\/payouts\/?$/.test(new URL(r.url()).pathname), {
          timeout: 30_000,
        }),
        page.locator(byTestId('payout-confirm')).click(),
      ]);
      if (response.status() !== 201) fail(`POST /payouts answered ${response.status()}`);
      const body = await response.json();
      log(`     payout ${body.id} created`);
      return body;
    });

    const events = await step('the receiver gets payout.created … the final event, each signed with the secret', async () => {
      const forPayout = () =>
        receiver.received.map((delivery) => ({ delivery, event: eventOf(delivery) })).filter(({ event }) => event.data?.id === payout.id);
      // Deliveries may arrive out of order (receivers order by data.updated_at): wait for all three.
      await waitFor(
        'payout.created, payout.processing and the final event of the payout',
        async () => {
          const types = new Set(forPayout().map(({ event }) => event.type));
          return types.has('payout.created') && types.has('payout.processing') && [...FINAL].some((type) => types.has(type));
        },
        { timeoutMs: TERMINAL_TIMEOUT_MS, intervalMs: 250 },
      );
      const got = forPayout();
      for (const { delivery, event } of got) {
        if (signedBy(delivery, [secret]) !== 1) fail(`the ${event.type} delivery is not signed with the secret shown`);
        if (delivery.method !== 'POST' || delivery.path !== '/hooks') fail(`a delivery went to ${delivery.method} ${delivery.path}`);
      }
      const types = [...new Set(got.map(({ event }) => event.type))];
      const byType = Object.fromEntries(got.map(({ event }) => [event.type, event]));
      if (!byType['payout.created'] || !byType['payout.processing']) fail(`the receiver got ${JSON.stringify(types)}`);
      const final = types.find((type) => FINAL.has(type));
      if (byType[final].data.status !== final.split('.')[1]) fail(`the ${final} event carries status ${byType[final].data.status}`);
      if (String(byType['payout.created'].data.amount_paise) !== '100') fail('payout.created does not carry the payout');
      log(`     received ${got.length}: ${got.map(({ event }) => event.type).join(', ')}; all signatures verified`);
      return byType;
    });

    await step('the page lists the deliveries of the endpoint', async () => {
      await openWebhooks(page);
      const row = page.locator(`${byTestId('webhook-row')}[data-endpoint-id="${endpointId}"]`);
      await row.locator(byTestId('webhook-deliveries-toggle')).click();
      for (const event of Object.values(events)) {
        await row.locator(`${byTestId('webhook-delivery-row')}[data-event-id="${event.id}"]`).first().waitFor({ timeout: 15_000 });
      }
      const first = row.locator(byTestId('webhook-delivery-row')).first();
      if (!/HTTP 204/.test((await first.textContent()) ?? '')) fail('a delivery row does not show the status code 204');
      await page.screenshot({ path: join(SCREENSHOTS, 'webhooks-1280x900.png') });
    });

    await step('redeliver payout.created: the receiver gets it again with the same webhook-id', async () => {
      const created = events['payout.created'];
      const before = receiver.received.filter((delivery) => delivery.headers['webhook-id'] === created.id).length;
      const row = page.locator(`${byTestId('webhook-delivery-row')}[data-event-id="${created.id}"]`).first();
      await row.locator(byTestId('webhook-redeliver')).click();
      const again = await waitFor('the redelivery', async () => {
        const same = receiver.received.filter((delivery) => delivery.headers['webhook-id'] === created.id);
        return same.length > before ? same.at(-1) : null;
      });
      if (signedBy(again, [secret]) !== 1) fail('the redelivery is not signed with the secret');
      if (eventOf(again).type !== 'payout.created' || JSON.parse(again.body).data.id !== payout.id) fail('the redelivery is another event');
      await waitFor('the redelivery listed on the page', async () => {
        const rows = page.locator(`${byTestId('webhook-delivery-row')}[data-event-id="${created.id}"]`);
        return (await rows.count()) >= 2;
      });
    });

    await step('rotate the secret: the new one is shown once, and deliveries are signed with both', async () => {
      const row = page.locator(`${byTestId('webhook-row')}[data-endpoint-id="${endpointId}"]`);
      await row.locator(byTestId('webhook-rotate')).click();
      const shown = page.locator(byTestId('webhook-secret'));
      await shown.waitFor({ timeout: 10_000 });
      const rotated = ((await shown.textContent()) ?? '').trim();
      if (!rotated.startsWith('whsec_') || rotated === secret) fail(`the rotated secret is ${JSON.stringify(rotated)}`);
      const created = events['payout.created'];
      const before = receiver.received.length;
      await page.locator(`${byTestId('webhook-delivery-row')}[data-event-id="${created.id}"]`).first().locator(byTestId('webhook-redeliver')).click();
      const delivery = await waitFor('a delivery after the rotation', async () => receiver.received.slice(before).at(-1));
      if (signedBy(delivery, [secret, rotated]) !== 2) fail('a delivery after the rotation is not signed with both secrets');
    });

    await step('a second endpoint is deleted only after confirming', async () => {
      await page.locator(byTestId('webhook-url')).fill(`${receiver.url}/spare`);
      await page.locator(byTestId('webhook-submit')).click();
      const spare = page.locator(byTestId('webhook-row'), { hasText: `${receiver.url}/spare` });
      await spare.waitFor({ timeout: 10_000 });
      await spare.locator(byTestId('webhook-delete')).click();
      await spare.locator(byTestId('webhook-delete-confirm')).click();
      await spare.waitFor({ state: 'detached', timeout: 10_000 });
      if ((await page.locator(byTestId('webhook-row')).count()) !== 1) fail('not exactly one endpoint is left');
    });

    await step('at 390×844 the page fits without sideways scroll', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      await noSidewaysScroll(page);
      await page.screenshot({ path: join(SCREENSHOTS, 'webhooks-390x844.png') });
      await page.screenshot({ path: join(SCREENSHOTS, 'webhooks-390-full.png'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await step('disable the endpoint: the banner shows, on every page', async () => {
      const row = page.locator(`${byTestId('webhook-row')}[data-endpoint-id="${endpointId}"]`);
      await row.locator(byTestId('webhook-toggle')).click();
      await page.locator(`${byTestId('webhook-row')}[data-endpoint-id="${endpointId}"][data-status="disabled"]`).waitFor({ timeout: 10_000 });
      const banner = page.locator(byTestId('webhook-disabled-banner'));
      await banner.waitFor({ timeout: 10_000 });
      await page.screenshot({ path: join(SCREENSHOTS, 'webhooks-disabled-1280x900.png') });
      for (const nav of ['overview', 'payouts', 'api-keys']) {
        await page.locator(byTestId(`nav-${nav}`)).click();
        await banner.waitFor({ timeout: 5_000 });
      }
      await page.locator(byTestId('webhook-disabled-banner-link')).click();
      await page.locator(byTestId('webhook-url')).waitFor({ timeout: 10_000 });
    });

    if (VIEWER.email && VIEWER.password) {
      await step('a viewer sees the banner too, but not the Webhooks page', async () => {
        await page.locator(byTestId('sign-out')).click();
        await signIn(page, VIEWER);
        await page.locator(byTestId('webhook-disabled-banner')).waitFor({ timeout: 10_000 });
        if ((await page.locator(byTestId('nav-webhooks')).count()) !== 0) fail('a viewer is offered the Webhooks page');
        if ((await page.locator(byTestId('webhook-disabled-banner-link')).count()) !== 0) fail('a viewer is linked to the page');
        await page.screenshot({ path: join(SCREENSHOTS, 'webhooks-viewer-banner-1280x900.png') });
      });
    } else {
      log('skip the viewer: E2E_HOOKS_VIEWER_EMAIL and E2E_HOOKS_VIEWER_PASSWORD are not set');
    }

    if (pageErrors.length) fail(`the page threw: ${pageErrors.join('; ')}`);
  } catch (error) {
    await page.screenshot({ path: join(SCREENSHOTS, 'webhooks-failure.png'), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
    receiver.server.close();
  }
}

finish('webhooks', main);
