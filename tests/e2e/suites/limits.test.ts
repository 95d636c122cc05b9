// What a free-plan organization may not do (typed 402 and 403), an org-bound API client, and the plan's rate limit.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProblemError, createCleanCrmClient, type RetryEvent } from '@cleancrm/client';
import { apiUrl } from '../support/env.ts';
import { claimsOf, signInWithClientCredentials } from '../support/oidc.ts';
import { clientFor, signUpOrganization, uniqueSuffix, type TestOrganization } from '../support/organizations.ts';
import { expectProblem, headerOf } from '../support/problems.ts';

const freeRequestsPer10Seconds = 100;

describe('plan limits, API clients and rate limits', () => {
  let org: TestOrganization;

  before(async () => {
    org = await signUpOrganization('limits');
  });

  test('an org-bound client-credentials client calls the API', async () => {
    const created = await org.client.apiClients.create({ name: `e2e integration ${uniqueSuffix()}`, role: 'member' });
    assert.equal(created.status, 201);
    const { clientId, clientSecret } = created.result;
    assert.match(clientId, /^cc_/);
    assert.equal(headerOf(created, 'Location'), `/api/v1/api-clients/${clientId}`);

    const tokens = await signInWithClientCredentials(clientId, clientSecret);
    assert.equal(claimsOf(tokens.accessToken).client_id, clientId);
    // Bound to the organization: no X-Org needed.
    const integration = clientFor(tokens.accessToken);
    const company = await integration.companies.create({ name: 'Made by an integration' });
    assert.equal(company.status, 201);
    assert.equal((await org.client.companies.get(company.result.id)).result.name, 'Made by an integration');
    await expectProblem(integration.me.get(), 404, 'not_found');
    await expectProblem(clientFor(tokens.accessToken, 'some-other-org').companies.list(), 403, 'org_mismatch');

    const listed = (await org.client.apiClients.list()).result.items;
    assert.ok(listed.some((c) => c.clientId === clientId && c.role === 'member'));
  });

  test('a second seat on the free plan is the typed 402 plan_limit_reached', async () => {
    const problem = await expectProblem(
      org.client.invitations.create({ email: `colleague-${uniqueSuffix()}@limits.e2e.example`, role: 'member' }), 402,
      'plan_limit_reached');
    assert.ok(problem.errors.seats?.length, `errors: ${JSON.stringify(problem.errors)}`);
    assert.equal((await org.client.invitations.list()).result.items.length, 0, 'nothing was invited');
  });

  test('a premium feature on the free plan is the typed 403 feature_disabled', async () => {
    const me = (await org.client.me.get()).result;
    const deal = (await org.client.deals.create({ name: 'Shared deal', amount: 1_000, currency: 'USD' })).result;
    await expectProblem(org.client.deals.setSplits(deal.id, [{ memberId: me.id, percent: 100 }]), 403, 'feature_disabled');
  });

  test('a burst past the rate limit gets the typed 429, and the client retries after Retry-After and succeeds', async () => {
    const once = createCleanCrmClient({
      baseUrl: apiUrl, accessToken: () => org.tokens.accessToken, org: org.slug, retry: { maxAttempts: 1 },
    });
    const limited: ProblemError[] = [];
    let issued = 0;
    // Until a 429 says the window has at least 2 s left, so the retrying calls below surely land in the spent window.
    const spent = (): boolean => limited.some((problem) => (problem.retryAfter ?? 0) >= 2);
    await Promise.all(Array.from({ length: 10 }, async () => {
      while (!spent() && issued < 5 * freeRequestsPer10Seconds) {
        issued++;
        try {
          const page = await once.companies.list(undefined, 1);
          assert.equal(headerOf(page, 'RateLimit-Limit'), String(freeRequestsPer10Seconds));
        } catch (error) {
          if (!(error instanceof ProblemError) || error.status !== 429) {
            throw error;
          }
          limited.push(error);
        }
      }
    }));
    assert.ok(spent(), `no 429 with Retry-After >= 2 in ${issued} calls (${limited.length} 429s)`);
    assert.ok(issued > freeRequestsPer10Seconds - 20, `rate limited after only ${issued} calls`);
    for (const problem of limited) {
      assert.equal(problem.code, 'rate_limited');
      assert.ok(problem.retryAfter !== undefined && problem.retryAfter > 0 && problem.retryAfter <= 10,
        `Retry-After ${String(problem.retryAfter)}`);
    }

    // The budget is spent: the retrying client waits for Retry-After, then the same calls succeed.
    const retries: RetryEvent[] = [];
    const patient = createCleanCrmClient({
      baseUrl: apiUrl,
      accessToken: () => org.tokens.accessToken,
      org: org.slug,
      retry: { maxAttempts: 3, maxDelayMs: 15_000 },
      onRetry: (event) => retries.push(event),
    });
    const started = Date.now();
    const pages = await Promise.all(Array.from({ length: 5 }, () => patient.companies.list(undefined, 1)));
    assert.deepEqual(pages.map((p) => p.status), [200, 200, 200, 200, 200]);
    assert.ok(retries.length > 0, 'no call was retried');
    for (const retry of retries) {
      assert.equal(retry.status, 429);
      assert.ok(retry.delayMs > 0 && retry.delayMs <= 10_000, `waited ${retry.delayMs} ms`);
    }
    assert.ok(Date.now() - started >= Math.min(...retries.map((r) => r.delayMs)) - 50, 'the retry did not wait for Retry-After');
  });
});
