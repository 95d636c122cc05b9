// A fresh organization per suite: the anonymous signup, its owner signed in (password grant), polled until active.
import { randomBytes } from 'node:crypto';
import { createCleanCrmClient, type CleanCrmClient, type RetryOptions } from '@cleancrm/client';
import { apiUrl } from './env.ts';
import { signInWithPassword, type Tokens } from './oidc.ts';

export interface TestOrganization {
  organizationId: string;
  slug: string;
  name: string;
  email: string;
  password: string;
  tokens: Tokens;
  /** The owner's client, with `X-Org` set to the organization. */
  client: CleanCrmClient;
}

/** A client without a token (signup is anonymous). */
export function anonymousClient(): CleanCrmClient {
  return createCleanCrmClient({ baseUrl: apiUrl, accessToken: () => undefined });
}

export function clientFor(accessToken: string, org?: string, retry?: RetryOptions): CleanCrmClient {
  return createCleanCrmClient({ baseUrl: apiUrl, accessToken: () => accessToken, org, retry });
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

export async function delay(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls the provisioning status until the organization is active; fails on `failed` or after the deadline. */
export async function waitUntilActive(client: CleanCrmClient, slug: string, timeoutMs = 120_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const seen: string[] = [];
  for (;;) {
    const status = (await client.organizations.getStatus(slug)).result;
    if (seen.at(-1) !== status.status) {
      seen.push(status.status);
    }
    if (status.status === 'active') {
      return seen;
    }
    if (status.status === 'failed') {
      throw new Error(`provisioning of ${slug} failed: ${status.error ?? 'no error given'}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${slug} was not active within ${timeoutMs} ms (statuses seen: ${seen.join(' → ')})`);
    }
    await delay(250);
  }
}

export async function signUpOrganization(prefix: string): Promise<TestOrganization & { statuses: string[] }> {
  const suffix = uniqueSuffix();
  const slug = `e2e-${prefix}-${suffix}`;
  const name = `E2E ${prefix} ${suffix}`;
  const email = `owner-${suffix}@${prefix}.e2e.example`;
  const password = `Sunny meadow ${suffix} 42!`;
  const signup = await anonymousClient().organizations.signUp({
    organizationName: name,
    slug,
    ownerEmail: email,
    ownerName: `Owner ${suffix}`,
    ownerPassword: password,
    plan: 'free',
  });
  if (signup.status !== 202 || signup.result.slug !== slug) {
    throw new Error(`signup answered ${signup.status} for ${slug}`);
  }
  const tokens = await signInWithPassword(email, password);
  const client = clientFor(tokens.accessToken, slug);
  const statuses = await waitUntilActive(client, slug);
  return { organizationId: signup.result.organizationId, slug, name, email, password, tokens, client, statuses };
}
