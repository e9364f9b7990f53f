// Starts the storefront. A file of its own (not an inline script) so the page's
// Content-Security-Policy needs no 'unsafe-inline'.
import init from "{{PREFIX}}/{{JS}}";
init({ module_or_path: "{{PREFIX}}/{{WASM}}" });
