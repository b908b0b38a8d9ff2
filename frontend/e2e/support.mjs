/**
 * What every end-to-end script shares: where the stack and the browser are, how a step is
 * logged and fails, how to wait for the page or the API, and how a script ends (PASS, or
 * FAIL with the reason and a non-zero exit).
 *
 * Env: E2E_WEB_URL (http://127.0.0.1:5173), E2E_API_URL (http://127.0.0.1:8000),
 * CHROME_PATH or CHROMIUM_PATH (/usr/bin/chromium), E2E_TERMINAL_TIMEOUT_MS (90000).
 */

import { fileURLToPath } from 'node:url';

export const WEB_URL = (process.env.E2E_WEB_URL ?? 'http://127.0.0.1:5173').replace(/\/+$/, '');
export const API_URL = (process.env.E2E_API_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
export const CHROMIUM_PATH = process.env.CHROME_PATH || process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const TERMINAL_TIMEOUT_MS = Number(process.env.E2E_TERMINAL_TIMEOUT_MS ?? 90_000);
export const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

export const byTestId = (id) => `[data-testid="${id}"]`;

/** A check that did not hold: its message is the whole report. */
export class Failure extends Error {}

export function fail(message) {
  throw new Failure(message);
}

const started = Date.now();
export function log(message) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  console.log(`[${seconds}s] ${message}`);
}

/** Runs one named step: logs it with its time, or fails naming it. */
export async function step(name, body) {
  const t0 = Date.now();
  try {
    const result = await body();
    log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return result;
  } catch (error) {
    if (error instanceof Failure) throw new Failure(`${name}: ${error.message}`);
    throw new Failure(`${name}: ${error?.message ?? error}`);
  }
}

/** Polls `probe` until it returns something truthy (returned), or fails after `timeoutMs`. */
export async function waitFor(description, probe, { timeoutMs = 10_000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found) return found;
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs / 1000} s waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Runs the script's `main` and exits: 0 with PASS, 1 with FAIL and the reason. */
export function finish(name, main) {
  main().then(
    () => {
      log(`PASS: ${name} end-to-end; screenshots in ${SCREENSHOTS}`);
      process.exit(0);
    },
    (error) => {
      console.error(`\nFAIL: ${error instanceof Failure ? error.message : (error?.stack ?? error)}`);
      console.error(`(screenshots, if any, in ${SCREENSHOTS})`);
      process.exit(1);
    },
  );
}
