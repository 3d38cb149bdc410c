// Lapor's service worker: the page and its assets kept for offline opens, and the waiting
// entries sent by background sync where the browser has it. Never touches /api: answers
// there are the server's own, and entries wait in IndexedDB, not in a cache.

import { sendWaiting } from "__ASSETS__/sync.js";

const PAGE = "/lapor";
const ASSETS = ["__ASSET_URLS__"];
const CACHE = "lapor-__ASSETS__";
// On a link that comes and goes, waiting longer than this for the page is worse than
// opening the copy kept here.
const PAGE_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([PAGE, ...ASSETS]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("lapor-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

async function pageFirstFromNetwork(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request, { signal: AbortSignal.timeout(PAGE_TIMEOUT_MS) });
    if (response.ok) await cache.put(PAGE, response.clone());
    return response;
  } catch {
    const kept = await cache.match(PAGE);
    if (kept) return kept;
    throw new TypeError("offline, and the page was never kept");
  }
}

async function assetFromCache(request) {
  const kept = await caches.match(request);
  return kept ?? fetch(request);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) {
    event.respondWith(pageFirstFromNetwork(event.request));
  } else if (url.pathname.startsWith("/lapor/assets/")) {
    event.respondWith(assetFromCache(event.request));
  }
});

self.addEventListener("sync", (event) => {
  // A rejection tells the browser to try again later.
  if (event.tag !== "lapor-send") return;
  event.waitUntil(
    sendWaiting().then((outcome) => {
      if (outcome.stopped) throw new Error(`not sent yet: ${outcome.stopped}`);
    }),
  );
});
