/* Push notices, loaded by the service worker with importScripts.
   Every push shows a notification; a tap opens (or focuses) its page. */
"use strict";

const PUSH_ICON = "/static/icons/icon-192.png";
const PUSH_DEFAULT_TITLE = "マイページからのお知らせ";

function pushSameOriginUrl(url) {
  try {
    const target = new URL(url || "/", self.location.origin);
    return target.origin === self.location.origin ? target.href : self.location.origin + "/";
  } catch (error) {
    return self.location.origin + "/";
  }
}

self.addEventListener("push", (event) => {
  let data = {};
  if (event.data) {
    try { data = event.data.json(); } catch (error) { data = { body: event.data.text() }; }
  }
  const options = {
    body: data.body || "",
    icon: PUSH_ICON,
    badge: PUSH_ICON,
    lang: "ja",
    data: { url: pushSameOriginUrl(data.url) },
  };
  if (data.tag) {
    options.tag = data.tag;
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(data.title || PUSH_DEFAULT_TITLE, options));
});

async function pushOpen(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const exact = windows.find((client) => client.url === url);
  if (exact) return exact.focus();
  const ours = windows.find((client) => client.url.startsWith(self.location.origin));
  if (ours && "navigate" in ours) {
    const moved = await ours.navigate(url);
    return (moved || ours).focus();
  }
  return self.clients.openWindow(url);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = pushSameOriginUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(pushOpen(url));
});

function pushKeyBytes(base64url) {
  const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function pushResubscribe(event) {
  const response = await fetch("/api/push/key", { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) return; // signed out: the settings page sends it on the next visit
  const key = await response.json();
  const options = (event.oldSubscription && event.oldSubscription.options) || {};
  const subscription = event.newSubscription || await self.registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: options.applicationServerKey || pushKeyBytes(key.publicKey),
  });
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": key.csrfToken };
  await fetch("/api/push/subscriptions", {
    method: "POST", credentials: "same-origin", headers, body: JSON.stringify(subscription.toJSON()),
  });
  if (event.oldSubscription && event.oldSubscription.endpoint !== subscription.endpoint) {
    await fetch("/api/push/subscriptions", {
      method: "DELETE", credentials: "same-origin", headers,
      body: JSON.stringify({ endpoint: event.oldSubscription.endpoint }),
    });
  }
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(pushResubscribe(event).catch(() => undefined));
});
