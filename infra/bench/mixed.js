// Mixed shopper load for k6 (run by infra/bench/mixed.sh): every iteration is one shopper
// action, chosen at random — browse 90 % (a list page, a search or a product page), cart 8 %
// (a new cart and a line in it), checkout 2 % (a cart, a line, then checkout with cash on
// delivery and pickup). Requests are tagged with their step (and the checkout request itself
// with `order`) so the summary (written as JSON to SUMMARY) has figures per step; requests
// made in setup are not counted.
//
// Environment (k6 -e): BASE, STORE, OWNER, PASSWORD, SUMMARY.
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE;
const STORE = __ENV.STORE || 'demo';
const API = `${BASE}/api/v1/stores/${STORE}`;
const JSON_HEADERS = { 'content-type': 'application/json' };
// What the summary reports on: each step, the checkout request alone, every load request.
const REPORTED = ['step:browse', 'step:cart', 'step:checkout', 'order:yes', 'load:yes'];

export const options = {
  summaryTrendStats: ['med', 'p(99)', 'max', 'count'],
  // A submetric appears in the summary only when a threshold names it; these always pass.
  thresholds: Object.fromEntries(
    REPORTED.flatMap((tag) => [
      [`http_req_duration{${tag}}`, ['max>=0']],
      [`http_req_failed{${tag}}`, ['rate>=0']],
      [`http_reqs{${tag}}`, ['count>=0']],
    ]),
  ),
};

function tagged(step, headers, extra) {
  return { headers: { ...JSON_HEADERS, ...(headers || {}) }, tags: { step, load: 'yes', ...extra } };
}

export function setup() {
  const login = http.post(
    `${BASE}/api/v1/auth/login`,
    JSON.stringify({ email: __ENV.OWNER, password: __ENV.PASSWORD }),
    { headers: JSON_HEADERS },
  );
  const staff = { ...JSON_HEADERS, authorization: `Bearer ${login.json('access_token')}` };
  const slugs = [];
  let cursor = '';
  for (let page = 0; page < 5; page++) {
    const list = http.get(`${API}/products?limit=100${cursor ? `&cursor=${cursor}` : ''}`).json();
    for (const item of list.items) slugs.push(item.slug);
    if (!list.next_cursor) break;
    cursor = encodeURIComponent(list.next_cursor);
  }
  // Ten in-stock products, restocked far beyond what the run can sell.
  const variants = [];
  const stocked = http.get(`${API}/products?in_stock=true&sort=newest&limit=10`).json();
  for (const item of stocked.items) {
    const detail = http.get(`${API}/products/${item.slug}`).json();
    for (const variant of detail.variants) {
      const path = `/api/v1/admin/stores/${STORE}/products/${item.id}/variants/${variant.id}/stock`;
      http.post(`${BASE}${path}`, JSON.stringify({ delta: 1000000, reason: 'benchmark' }), {
        headers: staff,
      });
      variants.push(variant.id);
    }
  }
  const cart = http.post(`${API}/carts`, null, { headers: JSON_HEADERS }).json();
  const token = { 'X-Cart-Token': cart.token };
  http.post(
    `${API}/carts/${cart.id}/lines`,
    JSON.stringify({ variant_id: variants[0], quantity: 1 }),
    { headers: { ...JSON_HEADERS, ...token } },
  );
  const methods = http
    .get(`${API}/carts/${cart.id}/shipping-methods?country=NG`, { headers: token })
    .json();
  const pickup = methods.find((m) => m.kind === 'pickup').id;
  return { slugs, variants, pickup };
}

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

function browse(data) {
  const roll = Math.random();
  let response;
  if (roll < 0.5) {
    const sort = pick(['newest', 'price_asc', 'price_desc']);
    response = http.get(`${API}/products?limit=20&sort=${sort}`, tagged('browse'));
  } else if (roll < 0.6) {
    response = http.get(`${API}/products?q=${pick(['galaxy', 'phone', 'laptop'])}&limit=20`, tagged('browse'));
  } else {
    response = http.get(`${API}/products/${pick(data.slugs)}`, tagged('browse'));
  }
  check(response, { 'browse 200': (r) => r.status === 200 });
}

function fillCart(data, step) {
  const created = http.post(`${API}/carts`, null, tagged(step));
  check(created, { 'cart 201': (r) => r.status === 201 });
  if (created.status !== 201) return null;
  const cart = created.json();
  const token = { 'X-Cart-Token': cart.token };
  const line = http.post(
    `${API}/carts/${cart.id}/lines`,
    JSON.stringify({ variant_id: pick(data.variants), quantity: 1 }),
    tagged(step, token),
  );
  check(line, { 'line added': (r) => r.status === 200 || r.status === 201 });
  return { cart, token };
}

function checkout(data) {
  const filled = fillCart(data, 'checkout');
  if (!filled) return;
  const key = `mixed-${__VU}-${__ITER}-${Date.now()}`;
  const body = {
    cart_id: filled.cart.id,
    email: `${key}@example.com`,
    shipping_address: { name: 'Ada Obi', line1: '1 Marina', city: 'Lagos', country: 'NG' },
    shipping_method_id: data.pickup,
    payment_method: 'cash_on_delivery',
  };
  const placed = http.post(
    `${API}/checkout`,
    JSON.stringify(body),
    tagged('checkout', { ...filled.token, 'Idempotency-Key': key }, { order: 'yes' }),
  );
  check(placed, { 'order 201': (r) => r.status === 201 });
}

export default function (data) {
  const roll = Math.random();
  if (roll < 0.9) browse(data);
  else if (roll < 0.98) fillCart(data, 'cart');
  else checkout(data);
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
