// The verify page's service worker (register/web/webapp.py says what it is for). The server
// writes PRECACHE (the files the page needs, by path) and CACHE (a name that changes with them)
// before this script.
//
// The kept files are answered from the network when it answers, and from the cache when it
// does not: a page opened online is always the newest, and opens offline as last seen. The
// body's offline data (/offline.json and its status lists) is not this worker's: the page
// keeps it itself (static/offline.js), with the time of each sync.
"use strict";

const KEPT = new Set(PRECACHE);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith("certreg-verify-") && name !== CACHE)
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request, path) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) {
      // The page under its own address (?lang=de included) and under its plain path.
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const kept =
      (await cache.match(request)) || (await cache.match(path, { ignoreSearch: true }));
    if (kept) {
      return kept;
    }
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !KEPT.has(url.pathname)) {
    return; // everything else goes to the network as if there were no worker
  }
  event.respondWith(networkFirst(request, url.pathname));
});
