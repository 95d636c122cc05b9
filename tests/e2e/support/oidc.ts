// Signing in the way clients of the API do (docs/API.md, "Authentication"): cleancrm-spa with authorization code + PKCE
// through the real sign-in page, cleancrm-cli with the password grant, an API client with client credentials. The
// protocol side is openid-client; only the user's part (following redirects, filling the sign-in form) is fetch.
import * as oidc from 'openid-client';
import { apiUrl, spaCallbackUrl } from './env.ts';

export const SpaClientId = 'cleancrm-spa';
export const CliClientId = 'cleancrm-cli';
const userScopes = 'openid profile email offline_access api';

export interface Tokens {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  scope: string | undefined;
  expiresIn: number | undefined;
}

function toTokens(response: oidc.TokenEndpointResponse): Tokens {
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    idToken: response.id_token,
    scope: response.scope,
    expiresIn: response.expires_in,
  };
}

// Development runs the API on plain http (127.0.0.1 only); openid-client refuses http unless told.
async function discover(clientId: string, clientSecret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(apiUrl), clientId, clientSecret, clientSecret ? oidc.ClientSecretPost(clientSecret) : oidc.None(),
    { execute: [oidc.allowInsecureRequests] });
}

/** A cookie jar for one simulated browser: name → value, for the API's origin only. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const pair = header.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) {
        this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  names(): string[] {
    return [...this.cookies.keys()];
  }
}

/** What a browser would do with one request: send the jar's cookies, keep the new ones, not follow redirects. */
async function browse(jar: CookieJar, url: URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.header();
  if (cookie) {
    headers.set('Cookie', cookie);
  }
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(response);
  return response;
}

function locationOf(response: Response, base: URL): URL {
  const location = response.headers.get('Location');
  if (response.status < 300 || response.status > 399 || !location) {
    throw new Error(`expected a redirect from ${base.href}, got ${response.status}`);
  }
  return new URL(location, base);
}

/** The hidden and named inputs of the sign-in form (server-rendered HTML, one form). */
export function parseLoginForm(html: string): { action: string; fields: Map<string, string> } {
  const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form?.[1] || form[2] === undefined) {
    throw new Error('the sign-in page has no form');
  }
  const fields = new Map<string, string>();
  for (const input of form[2].matchAll(/<input\b[^>]*>/gi)) {
    const tag = input[0];
    const name = /\bname="([^"]*)"/i.exec(tag)?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(tag)?.[1] ?? '';
    if (name) {
      fields.set(decodeHtml(name), decodeHtml(value));
    }
  }
  return { action: decodeHtml(form[1]), fields };
}

function decodeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, entity: string) => {
    const lower = entity.toLowerCase();
    if (lower.startsWith('#x')) {
      return String.fromCodePoint(parseInt(lower.slice(2), 16));
    }
    if (lower.startsWith('#')) {
      return String.fromCodePoint(parseInt(lower.slice(1), 10));
    }
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    return named[lower] ?? '';
  });
}

export interface AuthorizationCodeSignIn {
  tokens: Tokens;
  /** Every URL the simulated browser visited, in order (authorize, sign-in page, authorize again, callback). */
  visited: string[];
  /** The antiforgery field the sign-in form carried. */
  antiforgeryField: string;
}

/**
 * cleancrm-spa's sign-in: authorization code + PKCE (S256) with state, through /connect/authorize and the real
 * server-rendered /account/login form (antiforgery token and cookie), up to the redirect URI carrying the code.
 */
export async function signInWithAuthorizationCode(email: string, password: string): Promise<AuthorizationCodeSignIn> {
  const config = await discover(SpaClientId);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authorize = oidc.buildAuthorizationUrl(config, {
    redirect_uri: spaCallbackUrl,
    scope: userScopes,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const jar = new CookieJar();
  const visited: string[] = [authorize.href];

  // No session yet: the authorization endpoint sends the browser to the sign-in page.
  const loginUrl = locationOf(await browse(jar, authorize), authorize);
  visited.push(loginUrl.href);
  const page = await browse(jar, loginUrl);
  if (page.status !== 200) {
    throw new Error(`GET ${loginUrl.href} answered ${page.status}`);
  }
  const { action, fields } = parseLoginForm(await page.text());
  const antiforgeryField = [...fields.keys()].find((name) => name !== 'returnUrl' && name !== 'email' && name !== 'password');
  if (!antiforgeryField) {
    throw new Error('the sign-in form carries no antiforgery token');
  }
  fields.set('email', email);
  fields.set('password', password);
  const postUrl = new URL(action, loginUrl);
  const posted = await browse(jar, postUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams([...fields]).toString(),
  });
  if (posted.status === 200 || posted.status === 400 || posted.status === 429) {
    const alert = /<p role="alert">([^<]*)<\/p>/.exec(await posted.text())?.[1] ?? '';
    throw new Error(`the sign-in form was refused (${posted.status}): ${decodeHtml(alert)}`);
  }

  // Signed in: back to the authorization endpoint, which now redirects to the client with the code.
  let next = locationOf(posted, postUrl);
  for (let hop = 0; hop < 5 && !next.href.startsWith(spaCallbackUrl); hop++) {
    visited.push(next.href);
    next = locationOf(await browse(jar, next), next);
  }
  visited.push(next.href);
  if (!next.href.startsWith(spaCallbackUrl)) {
    throw new Error(`the browser never came back to ${spaCallbackUrl} (last: ${next.href})`);
  }

  const response = await oidc.authorizationCodeGrant(config, next, { pkceCodeVerifier: verifier, expectedState: state });
  return { tokens: toTokens(response), visited, antiforgeryField };
}

/** cleancrm-cli's sign-in: the resource owner password grant. */
export async function signInWithPassword(email: string, password: string): Promise<Tokens> {
  const config = await discover(CliClientId);
  return toTokens(await oidc.genericGrantRequest(config, 'password', { username: email, password, scope: userScopes }));
}

/** A refresh of either first-party client. */
export async function refresh(clientId: string, refreshToken: string): Promise<Tokens> {
  const config = await discover(clientId);
  return toTokens(await oidc.refreshTokenGrant(config, refreshToken));
}

/** An org-bound API client (cc_…): client credentials. */
export async function signInWithClientCredentials(clientId: string, clientSecret: string): Promise<Tokens> {
  const config = await discover(clientId, clientSecret);
  return toTokens(await oidc.clientCredentialsGrant(config, { scope: 'api' }));
}

/** The claims of a JWT access token (read, not verified: the API verifies it). */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) {
    throw new Error('not a JWT');
  }
  const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null) {
    throw new Error('the JWT payload is not an object');
  }
  return parsed as Record<string, unknown>;
}
