// Browser reality: a static SPA page on another origin (the static server below) signs in with oidc-client-ts through
// the API's real sign-in page and lists contacts with the bundled client in Debian's Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { apiUrl, spaCallbackUrl, spaPort } from '../support/env.ts';
import { startStaticServer, type StaticServer } from '../support/static-server.ts';
import { signUpOrganization, type TestOrganization } from '../support/organizations.ts';
import { buildSpa } from '../spa/build.ts';
import { SpaClientId } from '../support/oidc.ts';
import type { SpaReport } from '../spa/report.ts';

describe('an SPA on another origin', () => {
  let owner: TestOrganization;
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const apiResponses: { url: string; status: number; allowOrigin: string | undefined }[] = [];

  before(async () => {
    await buildSpa();
    owner = await signUpOrganization('spa');
    server = await startStaticServer(spaPort, { apiUrl, clientId: SpaClientId, redirectUri: spaCallbackUrl });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') {
        consoleErrors.push(message.text());
      }
    });
    page.on('response', (response) => {
      if (response.url().startsWith(`${apiUrl}/api/`)) {
        const allowOrigin = response.headers()['access-control-allow-origin'];
        apiResponses.push({ url: response.url(), status: response.status(), allowOrigin });
      }
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('signs in through the API sign-in page and comes back to the callback', async () => {
    await page.goto(`${server.origin}/index.html`);
    await page.waitForURL((url) => url.href.startsWith(`${apiUrl}/account/login`), { timeout: 30_000 });
    await page.fill('input[name=email]', owner.email);
    await page.fill('input[name=password]', owner.password);
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.href.startsWith(`${server.origin}/index.html`), { timeout: 30_000 });
    assert.ok(server.requests.includes('/callback.html'), `the callback page was never loaded: ${server.requests.join(', ')}`);
  });

  test('lists the contacts through the client and renders the rows', async () => {
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 90_000 });
    const state = await page.getAttribute('body', 'data-state');
    const status = await page.textContent('#status');
    assert.equal(state, 'done', `the page failed: ${status ?? ''}; console errors: ${consoleErrors.join(' | ')}`);
    const rows = await page.$$eval('#contacts tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(rows.length, 3);
    for (const email of ['ada@spa.example', 'grace@spa.example', 'katherine@spa.example']) {
      assert.ok(rows.some((row) => row.includes(email)), `no row shows ${email}: ${rows.join(' | ')}`);
    }
  });

  test('sends If-Match and reads the exposed headers (ETag, Location, RateLimit-*, Retry-After) across origins', async () => {
    const report = JSON.parse((await page.textContent('#report')) ?? '{}') as SpaReport;
    assert.equal(report.org, owner.slug);
    assert.equal(report.email, owner.email);
    assert.match(report.created.etag ?? '', /^"\d+"$/);
    assert.equal(report.created.location, `/api/v1/contacts/${report.created.id}`);
    assert.match(report.patched.etag ?? '', /^"\d+"$/);
    assert.notEqual(report.patched.etag, report.created.etag);
    assert.equal(report.patched.staleStatus, 412, 'a stale If-Match sent from the page');
    assert.equal(report.patched.staleCode, 'precondition_failed');
    assert.equal(report.rateLimit.limit, '100', 'the free plan allows 100 requests per 10 s');
    assert.match(report.rateLimit.remaining ?? '', /^\d+$/);
    assert.match(report.rateLimit.reset ?? '', /^\d+$/);
    assert.equal(report.listed, 3);
    assert.ok(report.burst.rateLimited > 0, `no 429 in ${report.burst.calls} calls`);
    assert.equal(report.burst.code, 'rate_limited');
    assert.ok(report.burst.retryAfter !== null && report.burst.retryAfter > 0 && report.burst.retryAfter <= 10,
      `Retry-After as the page read it: ${String(report.burst.retryAfter)}`);
    assert.ok(report.retry.retries > 0, 'the call after the burst should have waited for Retry-After');
    assert.equal(report.retry.status, 200);
  });

  test('every API response carried the CORS grant for the page origin', () => {
    assert.ok(apiResponses.length > 0, 'the page made no API call');
    const foreign = apiResponses.filter((response) => response.allowOrigin !== server.origin);
    assert.deepEqual(foreign, [], 'responses without Access-Control-Allow-Origin for the page');
  });
});
