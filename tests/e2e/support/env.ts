// Where the stack under test is (set by scripts/e2e.sh).
function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the suites through scripts/e2e.sh`);
  }
  return value;
}

export const apiUrl = required('CLEANCRM_E2E_API_URL').replace(/\/+$/, '');
export const spaPort = Number(process.env.CLEANCRM_E2E_SPA_PORT ?? '5091');
/** The static SPA page's origin: another origin than the API, allowed by its CORS policy. */
export const spaOrigin = `http://127.0.0.1:${spaPort}`;
/** A redirect URI of cleancrm-spa (CleanCrm:Identity:SpaRedirectUris), also used by the node sign-in. */
export const spaCallbackUrl = `${spaOrigin}/callback.html`;
export const chromiumPath = process.env.CLEANCRM_E2E_CHROMIUM ?? '/usr/bin/chromium';
