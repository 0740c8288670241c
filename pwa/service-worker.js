importScripts("/static/js/sw-push.js");
/* Co-op My Page service worker. The PWA issue fills in offline caching;
   for now it only takes over cleanly and removes this app's old caches. */
const PREFIX = "mypage-";
const VERSION = PREFIX + "v1";

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith(PREFIX) && key !== VERSION).map((key) => caches.delete(key))
      ))
      .then(() => self.clients.claim())
  );
});
