// k6 version of tests/load/crm-mixed.lua ("latency under load", issue 6): VUS users spread over K benchmark
// organizations (bench-0001 ... bench-K, seeded by `CleanCrm.Benchmarks seed-tenants`), each thinking 0.5-1.5 s between
// requests, 80% reads and 20% writes. Fails unless p95 < 50 ms and every answer is 2xx.
//
//   TOKEN=$(curl -s $BASE_URL/connect/token -d grant_type=password -d client_id=cleancrm-cli \
//       -d username=bench-owner@example.com --data-urlencode password=$PW -d 'scope=openid api' | jq -r .access_token)
//   k6 run -e BASE_URL=http://127.0.0.1:5190 -e TOKEN=$TOKEN -e K=100 -e VUS=1000 -e DURATION=60s tests/load/crm-mixed.k6.js
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:5190';
const TOKEN = __ENV.TOKEN;
const K = parseInt(__ENV.K || '100', 10);
const ROWS = parseInt(__ENV.ROWS || '50', 10);
const VUS = parseInt(__ENV.VUS || '1000', 10);

if (!TOKEN) {
  throw new Error('TOKEN is required (a bearer token of the benchmark owner)');
}

export const options = {
  scenarios: {
    sales_team: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: __ENV.RAMP || '30s', target: VUS },
        { duration: __ENV.DURATION || '60s', target: VUS },
      ],
      gracefulRampDown: '5s',
    },
  },
  thresholds: {
    http_req_duration: ['p(95)<50'],
    http_req_failed: ['rate==0'],
  },
};

const pad = (n) => String(n).padStart(12, '0');
const id = (kind, n) => `00000000-0000-4000-${kind}-${pad(n)}`;
const pick = (n) => 1 + Math.floor(Math.random() * n);

export default function () {
  const params = {
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      'X-Org': `bench-${String(pick(K)).padStart(4, '0')}`,
      Accept: 'application/json',
      'Content-Type': 'application/json',
    },
  };
  const r = pick(100);
  let res;
  if (r <= 45) {
    res = http.get(`${BASE_URL}/api/v1/deals/${id('a000', pick(ROWS))}`, Object.assign({ tags: { name: 'get deal' } }, params));
  } else if (r <= 60) {
    res = http.get(`${BASE_URL}/api/v1/deals?limit=20`, Object.assign({ tags: { name: 'list deals' } }, params));
  } else if (r <= 70) {
    res = http.get(`${BASE_URL}/api/v1/companies/${id('8000', pick(ROWS))}`, Object.assign({ tags: { name: 'get company' } }, params));
  } else if (r <= 80) {
    res = http.get(`${BASE_URL}/api/v1/notes?limit=20&companyId=${id('8000', pick(ROWS))}`, Object.assign({ tags: { name: 'list notes' } }, params));
  } else if (r <= 90) {
    res = http.post(`${BASE_URL}/api/v1/notes`, JSON.stringify({ body: `Load test note ${pick(1000000)}`, companyId: id('8000', pick(ROWS)) }),
      Object.assign({ tags: { name: 'create note' } }, params));
  } else if (r <= 95) {
    res = http.patch(`${BASE_URL}/api/v1/deals/${id('a000', pick(ROWS))}`, JSON.stringify({ probability: pick(101) - 1 }),
      Object.assign({ tags: { name: 'patch deal' } }, params));
  } else {
    res = http.post(`${BASE_URL}/api/v1/activities`, JSON.stringify({ type: 'call', subject: 'Load test call', dealId: id('a000', pick(ROWS)) }),
      Object.assign({ tags: { name: 'create activity' } }, params));
  }
  check(res, { '2xx': (x) => x.status >= 200 && x.status < 300 });
  sleep(0.5 + Math.random());
}
