// Starts the storefront. A file of its own (not an inline script) so the page's
// Content-Security-Policy needs no 'unsafe-inline'.
//
// While the app's code downloads, it asks the API for what the first page will ask for: the
// store's profile and, on a listing or a product page, that listing or product. The app takes
// each answer once, for exactly the same URL (`api::early` in src/api.rs), so the first grid
// does not wait for a round trip after the wasm has arrived. These are public, anonymous GETs:
// the answers are the ones the app's own requests would get.

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.content.trim() || "";
}

// The store and the page, found as `state::detect` finds them.
function place() {
  const domain = meta("techverse-domain");
  const host = location.hostname;
  if (domain && host.endsWith(`.${domain}`)) {
    const slug = host.slice(0, -domain.length - 1);
    if (slug && !slug.includes(".")) return { slug, page: location.pathname };
  }
  const found = location.pathname.match(/^\/s\/([^/]+)(\/.*)?$/);
  return found ? { slug: found[1], page: found[2] || "/" } : null;
}

// `api::query`: the URL's pairs in order, empty values left out.
function query() {
  const pairs = [...new URLSearchParams(location.search)]
    .filter(([, value]) => value !== "")
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  return pairs.length ? `?${pairs.join("&")}` : "";
}

const here = place();
if (here) {
  const store = `${meta("techverse-api").replace(/\/+$/, "")}/api/v1/stores/${here.slug}`;
  const wanted = [store];
  if (here.page === "/products") wanted.push(`${store}/products${query()}`);
  const product = here.page.match(/^\/products\/([^/]+)$/);
  if (product) wanted.push(`${store}/products/${product[1]}`);
  window.techverseEarly = new Map(
    // A failed fetch leaves `undefined`: the app then asks itself.
    wanted.map((url) => [
      url,
      fetch(url, { credentials: "include", headers: { Accept: "application/json" } }).catch(() => undefined),
    ]),
  );
}

const { default: init } = await import("{{PREFIX}}/{{JS}}");
init({ module_or_path: "{{PREFIX}}/{{WASM}}" });
