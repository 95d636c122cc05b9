// Sign-up and sign-in as the SPA and the CLI do it, then who am I and what may my organization use.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { signUpOrganization, anonymousClient, clientFor, type TestOrganization } from '../support/organizations.ts';
import { CliClientId, SpaClientId, claimsOf, refresh, signInWithAuthorizationCode, signInWithPassword } from '../support/oidc.ts';
import { expectProblem } from '../support/problems.ts';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { delay } from '../support/organizations.ts';

// Set by scripts/e2e.sh when it runs the stack (and so its mail sink); an API started elsewhere sends mail elsewhere.
const mailDir = process.env.CLEANCRM_E2E_MAIL_DIR;

const premiumFeatures = [
  'calendar_sync', 'workflows', 'proposals', 'smart_tasks', 'ai_copilot', 'slack_integration', 'advanced_reporting', 'revenue_splitting',
];

describe('sign-up and sign-in', () => {
  let org: TestOrganization & { statuses: string[] };

  before(async () => {
    org = await signUpOrganization('auth');
  });

  test('an anonymous signup is provisioned until active', () => {
    assert.equal(org.statuses.at(-1), 'active');
  });

  test('the SPA signs in with authorization code + PKCE through the real sign-in page', async () => {
    const signIn = await signInWithAuthorizationCode(org.email, org.password);
    assert.ok(signIn.visited.some((url) => new URL(url).pathname === '/account/login'), 'the sign-in page was never shown');
    assert.ok(signIn.antiforgeryField.length > 0);
    const claims = claimsOf(signIn.tokens.accessToken);
    assert.equal(claims.client_id, SpaClientId);
    assert.equal(claims.aud, 'cleancrm-api');
    assert.ok(signIn.tokens.refreshToken, 'offline_access gives a refresh token');
    assert.ok(signIn.tokens.idToken, 'openid gives an id token');

    const me = await clientFor(signIn.tokens.accessToken).me.get();
    assert.equal(me.result.email, org.email);
    assert.equal(claims.sub, me.result.id);

    const refreshed = await refresh(SpaClientId, signIn.tokens.refreshToken);
    assert.notEqual(refreshed.accessToken, signIn.tokens.accessToken);
    assert.equal((await clientFor(refreshed.accessToken).me.get()).result.id, me.result.id);
  });

  test('the CLI signs in with the password grant', async () => {
    const tokens = await signInWithPassword(org.email, org.password);
    assert.equal(claimsOf(tokens.accessToken).client_id, CliClientId);
    assert.ok(tokens.refreshToken);
    const refreshed = await refresh(CliClientId, tokens.refreshToken);
    assert.equal((await clientFor(refreshed.accessToken).me.get()).result.email, org.email);
  });

  test('/me lists the organization with the owner role', async () => {
    const me = (await org.client.me.get()).result;
    assert.equal(me.email, org.email);
    const membership = me.organizations.find((o) => o.slug === org.slug);
    assert.ok(membership, `${org.slug} is not among ${me.organizations.map((o) => o.slug).join(', ')}`);
    assert.equal(membership.id, org.organizationId);
    assert.equal(membership.role, 'owner');
    assert.equal(membership.status, 'active');
    assert.equal(membership.plan, 'free');
  });

  test('/features has every premium key, all off on the free plan', async () => {
    const features = (await org.client.features.get()).result;
    for (const key of premiumFeatures) {
      assert.equal(features[key], false, `${key} on the free plan`);
    }
  });

  test('the owner gets the welcome mail', { skip: mailDir ? false : 'no mail sink: the API was not started by scripts/e2e.sh' },
    async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const files = await readdir(mailDir!).catch(() => []);
        const mails = await Promise.all(files.map((file) => readFile(join(mailDir!, file), 'utf8')));
        const welcome = mails.find((mail) => /^X-CleanCrm-Kind: welcome$/mi.test(mail) && mail.includes(`To: ${org.email}`));
        if (welcome) {
          return;
        }
        assert.ok(Date.now() < deadline, `no welcome mail to ${org.email} among ${files.length} mails within 60 s`);
        await delay(250);
      }
    });

  test('X-Org names the organization by slug or id; without it an org-scoped call is the typed 400', async () => {
    const token = org.tokens.accessToken;
    assert.equal((await clientFor(token, org.organizationId).pipelines.list()).status, 200);
    assert.equal((await clientFor(token, org.slug).pipelines.list()).status, 200);
    await expectProblem(clientFor(token).pipelines.list(), 400, 'org_required');
    await expectProblem(clientFor(token, 'no-such-org-e2e').pipelines.list(), 404, 'not_found');
  });

  test('without a token the API answers the typed 401', async () => {
    await expectProblem(anonymousClient().me.get(), 401, 'unauthorized');
  });

  test('a taken slug is the typed 409 with the problem fields', async () => {
    const problem = await expectProblem(anonymousClient().organizations.signUp({
      organizationName: 'Taken',
      slug: org.slug,
      ownerEmail: `other-${org.slug}@auth.e2e.example`,
      ownerName: 'Other',
      ownerPassword: 'Another sunny meadow 77!',
      plan: 'free',
    }), 409, 'slug_taken');
    assert.equal(problem.title, 'Conflict');
  });
});
