/* Co-op My Page service worker: the app shell for offline use (with the card
   shell and the shop verifier), and the last copy of the member's card and
   statement pages, kept under a per-member cache. Member copies go only at an
   explicit sign-out or when another member signs in on this device; an
   expired session keeps them (the card must work at the counter). Everything
   else goes to the network. Push notices are handled in sw-push.js. */
importScripts("/static/js/sw-push.js");
const PREFIX = "mypage-";
const VERSION = "2026-12-04.1";
const SHELL = PREFIX + "shell-" + VERSION;
// One cache per member: PREFIX + "member-" + the opaque key the server sends.
const MEMBER = PREFIX + "member-";
const KEY_HEADER = "X-Mypage-Cache-Key";
const KEY_FORMAT = /^[0-9a-f]{32,64}$/;
const OFFLINE_PAGE = "/offline";
// The device's card (card.js): its key and certificate, apart from the caches.
const CARD_DB = "coop-card";
// Public pages kept whole for offline use: the card shell (no member data; the
// script fills it from the device's certificate) and the shop verifier.
const SHELL_PAGES = ["/card", "/verify"];
// Public data the verifier needs offline, refreshed whenever the network answers.
const SHELL_DATA = ["/.well-known/coop-card-keys.json", "/api/card/revocations"];
const SHELL_FILES = [
  OFFLINE_PAGE,
  ...SHELL_PAGES,
  "/static/css/app.css",
  "/static/css/card.css",
  "/static/css/verify.css",
  "/static/js/app.js",
  "/static/js/card.js",
  "/static/js/cardcodec.js",
  "/static/js/verify.js",
  "/static/js/vendor/qrcode.js",
  "/static/js/vendor/jsQR.js",
  "/static/icons/favicon-48.png",
];
// Member pages kept for offline use: the card, the statement list and months.
const MEMBER_PAGE = /^\/(card|statements|statements\/\d{4}-\d{2})$/;
// A slow network should not keep the card from a clerk for long.
const NETWORK_TIMEOUT_MS = 5000;
const BANNER_HIDDEN = "data-offline-banner hidden";
const BANNER_SHOWN = "data-offline-banner";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL)
      .then((cache) => cache.addAll(SHELL_FILES.map(anonymous))
        // The verifier's data is refreshed on every use: a hiccup here must not stop the install.
        .then(() => Promise.all(SHELL_DATA.map((url) => cache.add(anonymous(url)).catch(() => undefined)))))
      .then(() => self.skipWaiting())
  );
});

// Anonymous and fresh: the shell never holds a member's data.
function anonymous(url) {
  return new Request(url, { credentials: "omit", cache: "reload" });
}

self.addEventListener("activate", (event) => {
  // Old versions of this app's shell go; member copies stay; other caches are not ours.
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith(PREFIX) && key !== SHELL && !key.startsWith(MEMBER))
          .map((key) => caches.delete(key))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  let work = Promise.resolve();
  if (data.type === "purge") {
    work = purgeMembers();
  } else if (data.type === "keep" && typeof data.path === "string" && MEMBER_PAGE.test(data.path)) {
    // A member page opened before this worker was in control: fetch a copy now.
    work = fetch(data.path, { credentials: "same-origin", redirect: "manual" })
      .then((response) => store(response, data.path))
      .catch(() => undefined);
  }
  const reply = () => { if (event.ports[0]) event.ports[0].postMessage({ done: data.type }); };
  event.waitUntil(work.then(reply, reply));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/logout") {
    // The page also asks for this; the network answers with Clear-Site-Data.
    event.waitUntil(purgeMembers());
    return;
  }
  if (request.method !== "GET") return;
  if (MEMBER_PAGE.test(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname, event));
  } else if (SHELL_DATA.includes(url.pathname) || SHELL_PAGES.includes(url.pathname)) {
    event.respondWith(publicFirst(request, url.pathname, event));
  } else if (request.mode === "navigate") {
    event.respondWith(navigate(request, url.pathname, event));
  } else if (SHELL_FILES.includes(url.pathname)) {
    event.respondWith(shellFile(request, url.pathname, event));
  }
});

// The shell copy at once (a shop with a weak signal must not hold up the
// stylesheet), refreshed in the background for the next page; the browser's
// own HTTP cache keeps these files for an hour anyway.
async function shellFile(request, path, event) {
  const cached = await caches.match(path, { cacheName: SHELL });
  const network = fetch(request).then(async (response) => {
    if (response.ok && response.type === "basic") {
      await (await caches.open(SHELL)).put(path, response.clone());
    }
    return response;
  });
  event.waitUntil(network.catch(() => undefined));
  return cached || network;
}

async function networkFirst(request, path, event) {
  const network = fetch(request);
  // The copy is taken (cloned) before the page reads the body, and saved after.
  event.waitUntil(network.then((response) => store(response.clone(), path)).catch(() => undefined));
  const cached = await memberCopy(path);
  // No copy of a statement: wait for the network as long as it takes.
  if (!cached && path !== "/card") return network.catch(() => fromShell(OFFLINE_PAGE));
  const first = await soon(network);
  if (first) return first;
  // Offline (or too slow): the copy we have, saying so; else the card shell,
  // which shows the card from the certificate on this device.
  return cached ? offlineCopy(cached) : fromShell(path, OFFLINE_PAGE);
}

// The network's answer within NETWORK_TIMEOUT_MS, else null.
async function soon(network) {
  let timer;
  const slow = new Promise((resolve) => { timer = setTimeout(resolve, NETWORK_TIMEOUT_MS, null); });
  const first = await Promise.race([network.catch(() => null), slow]);
  clearTimeout(timer);
  return first;
}

// Public pages and data: the network's fresh copy (kept for next time), else ours.
async function publicFirst(request, path, event) {
  // By URL: a navigation's own request cannot be re-sent with other credentials.
  const network = fetch(anonymous(path));
  event.waitUntil(network.then(async (response) => {
    // Fetched without cookies, so never a member's page (the key header would say so).
    if (response.ok && response.type === "basic" && !response.headers.get(KEY_HEADER)) {
      await (await caches.open(SHELL)).put(path, response.clone());
    }
  }).catch(() => undefined));
  return (await soon(network)) || fromShell(path, request.mode === "navigate" ? OFFLINE_PAGE : null);
}

// Keep a member page under its member's key. A redirect (the session ended) no
// longer purges: only sign-out does, so the card survives an idle timeout.
async function store(response, path) {
  const key = response.headers.get(KEY_HEADER);
  if (response.ok && key && KEY_FORMAT.test(key)) {
    await onlyMember(key);
    const cache = await caches.open(MEMBER + key);
    await cache.put(path, response);
  }
}

async function navigate(request, path, event) {
  try {
    const response = await fetch(request);
    event.waitUntil(observe(response));
    return response;
  } catch (error) {
    return fromShell(OFFLINE_PAGE);
  }
}

// Any page tells who is signed in: another member's copies (and card) must go.
async function observe(response) {
  const key = response.headers.get(KEY_HEADER);
  if (key && KEY_FORMAT.test(key)) await onlyMember(key);
}

async function onlyMember(key) {
  const others = (await caches.keys()).filter((name) => name.startsWith(MEMBER) && name !== MEMBER + key);
  if (!others.length) return;
  await Promise.all(others.map((name) => caches.delete(name)));
  // The card on this device was made while that other member was signed in.
  await forgetCard();
}

function forgetCard() {
  return new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(CARD_DB);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

async function purgeMembers() {
  const keys = await caches.keys();
  await Promise.all(keys.filter((name) => name.startsWith(MEMBER)).map((name) => caches.delete(name)));
}

// The member copy of a page, only when exactly one member's cache exists.
async function memberCopy(path) {
  const names = (await caches.keys()).filter((name) => name.startsWith(MEMBER));
  if (names.length !== 1) return undefined;
  const cache = await caches.open(names[0]);
  return cache.match(path, { ignoreVary: true, ignoreSearch: true });
}

async function offlineCopy(cached) {
  const html = (await cached.text()).replace(BANNER_HIDDEN, BANNER_SHOWN);
  const headers = new Headers();
  for (const name of ["Content-Type", "Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"]) {
    const value = cached.headers.get(name);
    if (value) headers.set(name, value);
  }
  headers.set("Cache-Control", "no-store");
  return new Response(html, { status: 200, headers });
}

async function fromShell(path, fallback) {
  const cached = await caches.match(path, { cacheName: SHELL });
  if (cached) return cached;
  if (fallback) return fromShell(fallback, null);
  return new Response("オフラインです。", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}
