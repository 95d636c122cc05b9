// k6 version of tests/load/tenants.lua: GETs spread over the first K benchmark organizations.
//
//   k6 run -e BASE_URL=http://127.0.0.1:5190 -e USER_ID=<uuid> -e K=200 -e VUS=64 -e DURATION=30s tests/load/tenants.k6.js
//
// Run it once with K=1 and once with K=200 (same VUS) and compare http_reqs rates; the thresholds fail the run on any
// non-200 answer. MODE=get fetches single companies by their deterministic seeded ids instead of listing.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:5190';
const USER_ID = __ENV.USER_ID;
const K = parseInt(__ENV.K || '1', 10);
const SLUG_PREFIX = __ENV.SLUG_PREFIX || 'bench-';
const MODE = __ENV.MODE || 'list';
const COMPANIES = parseInt(__ENV.COMPANIES || '20', 10);

if (!USER_ID) {
  throw new Error('USER_ID is required (seed-tenants prints it)');
}

const non200 = new Counter('non_200_responses');

export const options = {
  scenarios: {
    tenants: {
      executor: 'constant-vus',
      vus: parseInt(__ENV.VUS || '64', 10),
      duration: __ENV.DURATION || '30s',
    },
  },
  thresholds: {
    non_200_responses: ['count==0'],
    http_req_failed: ['rate==0'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(99)', 'max'],
};

function pad(n, width) {
  return String(n).padStart(width, '0');
}

export default function () {
  const slug = SLUG_PREFIX + pad(1 + Math.floor(Math.random() * K), 4);
  const path = MODE === 'get'
    ? `/api/v1/companies/00000000-0000-4000-8000-${pad(1 + Math.floor(Math.random() * COMPANIES), 12)}`
    : '/api/v1/companies?limit=20';
  const res = http.get(`${BASE_URL}${path}`, {
    headers: { Authorization: `Dev user=${USER_ID}`, 'X-Org': slug, Accept: 'application/json' },
    tags: { name: MODE === 'get' ? 'GET /api/v1/companies/{id}' : 'GET /api/v1/companies' },
  });
  if (res.status !== 200) {
    non200.add(1, { status: String(res.status) });
  }
  check(res, { 'status is 200': (r) => r.status === 200 });
}
