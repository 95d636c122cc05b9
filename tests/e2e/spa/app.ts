// A tiny SPA as a customer's team would write it: oidc-client-ts signs in against cleancrm-spa (authorization code +
// PKCE through the API's sign-in page) and the generated client (@cleancrm/client) calls the API from another origin.
import { UserManager, WebStorageStateStore } from 'oidc-client-ts';
import { createCleanCrmClient, etagOf, ifMatch, ProblemError, iterate, type RetryEvent } from '@cleancrm/client';
import type { SpaReport } from './report.ts';

interface SpaConfig {
  apiUrl: string;
  clientId: string;
  redirectUri: string;
}

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) {
    throw new Error(`#${id} is missing`);
  }
  return found;
}

function setState(state: string, status: string): void {
  document.body.dataset.state = state;
  element('status').textContent = status;
}

function header(headers: Record<string, unknown>, name: string): string | null {
  const value = headers[name.toLowerCase()];
  return typeof value === 'string' ? value : null;
}

async function main(): Promise<void> {
  const config = (await (await fetch('/config.json')).json()) as SpaConfig;
  const users = new UserManager({
    authority: config.apiUrl,
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    response_type: 'code',
    scope: 'openid profile email offline_access api',
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });

  if (location.pathname === '/callback.html') {
    await users.signinRedirectCallback();
    location.replace('/index.html');
    return;
  }
  const user = await users.getUser();
  if (!user || user.expired) {
    setState('signing-in', 'Signing in…');
    await users.signinRedirect();
    return;
  }

  setState('working', 'Loading contacts…');
  const accessToken = (): string => user.access_token;
  const me = await createCleanCrmClient({ baseUrl: config.apiUrl, accessToken }).me.get();
  const org = me.result.organizations[0]?.slug;
  if (!org) {
    throw new Error('the signed-in user has no organization');
  }
  let retries = 0;
  const api = createCleanCrmClient({
    baseUrl: config.apiUrl,
    accessToken,
    org,
    retry: { maxAttempts: 4, maxDelayMs: 15_000 },
    onRetry: (_event: RetryEvent) => {
      retries++;
    },
  });

  const people = [
    { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@spa.example' },
    { firstName: 'Grace', lastName: 'Hopper', email: 'grace@spa.example' },
    { firstName: 'Katherine', lastName: 'Johnson', email: 'katherine@spa.example' },
  ];
  const created = await api.contacts.create(people[0]!);
  for (const person of people.slice(1)) {
    await api.contacts.create(person);
  }

  const patched = await api.contacts.update(created.result.id, { jobTitle: 'Analyst' }, undefined, ifMatch(created));
  const stale = await api.contacts.update(created.result.id, { jobTitle: 'Countess' }, undefined, ifMatch(created)).then(
    () => null,
    (error: unknown) => (error instanceof ProblemError ? error : null));

  const firstPage = await api.contacts.list(undefined, 2);
  const rows = element('contacts').querySelector('tbody');
  if (!rows) {
    throw new Error('the contacts table has no body');
  }
  let listed = 0;
  for await (const contact of iterate((cursor) => api.contacts.list(undefined, 2, cursor))) {
    const row = document.createElement('tr');
    row.dataset.id = contact.id;
    for (const text of [`${contact.firstName ?? ''} ${contact.lastName ?? ''}`.trim(), contact.email ?? '']) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    rows.append(row);
    listed++;
  }

  // Past the plan's budget: without retries every refused call is a typed 429 carrying the exposed Retry-After. The
  // burst goes on until a 429 leaves at least 2 s of the window, so the retrying call below surely meets a spent budget.
  const once = createCleanCrmClient({ baseUrl: config.apiUrl, accessToken, org, retry: { maxAttempts: 1 } });
  const burst: SpaReport['burst'] = { calls: 0, rateLimited: 0, code: null, retryAfter: null };
  const workers = Array.from({ length: 8 }, async () => {
    while ((burst.retryAfter ?? 0) < 2 && burst.calls < 500) {
      burst.calls++;
      try {
        await once.contacts.list(undefined, 1);
      } catch (error) {
        if (!(error instanceof ProblemError) || error.status !== 429) {
          throw error;
        }
        burst.rateLimited++;
        burst.code = error.code;
        burst.retryAfter = Math.max(burst.retryAfter ?? 0, error.retryAfter ?? 0);
      }
    }
  });
  await Promise.all(workers);
  const after = await api.contacts.list(undefined, 1);

  const report: SpaReport = {
    email: me.result.email,
    org,
    created: { id: created.result.id, etag: etagOf(created) ?? null, location: header(created.headers, 'Location') },
    patched: { etag: etagOf(patched) ?? null, staleStatus: stale?.status ?? null, staleCode: stale?.code ?? null },
    rateLimit: {
      limit: header(firstPage.headers, 'RateLimit-Limit'),
      remaining: header(firstPage.headers, 'RateLimit-Remaining'),
      reset: header(firstPage.headers, 'RateLimit-Reset'),
    },
    listed,
    burst,
    retry: { retries, status: after.status },
  };
  element('report').textContent = JSON.stringify(report);
  setState('done', `${listed} contacts`);
}

main().catch((error: unknown) => {
  const text = error instanceof ProblemError
    ? `${error.status} ${error.code}: ${error.detail ?? error.title}`
    : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  setState('error', text);
});
