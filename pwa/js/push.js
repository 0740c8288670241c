/* Push notices on /settings: turn them on or off for this device.
   The permission prompt only ever follows a tap on 通知をオンにする. */
(() => {
  "use strict";
  const section = document.getElementById("notifications");
  if (!section) return;
  const $ = (selector) => section.querySelector(selector);
  const controls = $("[data-push-controls]");
  const state = $("[data-push-state]");
  const onButton = $("[data-push-on]");
  const offButton = $("[data-push-off]");
  const keyUrl = section.dataset.keyUrl;
  const apiUrl = section.dataset.subscriptionsUrl;

  const ios = /iP(hone|ad|od)/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  const standalone = navigator.standalone === true ||
    window.matchMedia("(display-mode: standalone)").matches;
  const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

  if (!supported) {
    $(ios && !standalone ? "[data-push-ios]" : "[data-push-unsupported]").hidden = false;
    return;
  }
  controls.hidden = false;

  const say = (text) => { state.textContent = text; };

  // Messages from our server are Japanese sentences for the member; a
  // browser's own errors are not, so those get a sentence of ours.
  class ServerSaid extends Error {}

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  async function serverKey() {
    const response = await fetch(keyUrl, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error("key " + response.status);
    return response.json();
  }

  async function send(method, body, csrfToken) {
    const response = await fetch(apiUrl, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
      body: JSON.stringify(body),
    });
    if (!response.ok && response.status !== 404) {
      let message = "通知の設定に失敗しました。時間をおいて、もう一度お試しください。";
      try { message = (await response.json()).error || message; } catch (e) { /* keep the default */ }
      throw new ServerSaid(message);
    }
    return response;
  }

  async function registration() {
    await navigator.serviceWorker.register("/service-worker.js", { scope: "/" });
    return navigator.serviceWorker.ready;
  }

  function show(subscribed) {
    onButton.hidden = subscribed;
    offButton.hidden = !subscribed;
    if (Notification.permission === "denied") {
      onButton.hidden = true;
      say("この端末では通知がブロックされています。ブラウザーの設定でこのサイトの通知を許可してください。");
    } else {
      say(subscribed ? "この端末は通知を受け取ります。" : "この端末は通知を受け取っていません。");
    }
  }

  async function turnOn() {
    onButton.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") { show(false); return; }
      const [reg, key] = await Promise.all([registration(), serverKey()]);
      let subscription = await reg.pushManager.getSubscription();
      if (!subscription) {
        subscription = await reg.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(key.publicKey),
        });
      }
      await send("POST", subscription.toJSON(), key.csrfToken);
      window.location.reload();
    } catch (error) {
      say(error instanceof ServerSaid ? error.message
        : "通知をオンにできませんでした。時間をおいて、もう一度お試しください。");
    } finally {
      onButton.disabled = false;
    }
  }

  async function turnOff() {
    offButton.disabled = true;
    try {
      const reg = await navigator.serviceWorker.getRegistration("/");
      const subscription = reg && await reg.pushManager.getSubscription();
      if (subscription) {
        const key = await serverKey();
        await send("DELETE", { endpoint: subscription.endpoint }, key.csrfToken);
        await subscription.unsubscribe();
      }
      window.location.reload();
    } catch (error) {
      say(error instanceof ServerSaid ? error.message
        : "通知をオフにできませんでした。時間をおいて、もう一度お試しください。");
    } finally {
      offButton.disabled = false;
    }
  }

  onButton.addEventListener("click", turnOn);
  offButton.addEventListener("click", turnOff);

  // No prompt here: only look at what this browser already has, and make
  // sure the server knows it (a changed subscription is sent again).
  (async () => {
    const reg = await navigator.serviceWorker.getRegistration("/");
    const subscription = reg && Notification.permission === "granted" &&
      await reg.pushManager.getSubscription();
    show(Boolean(subscription));
    if (subscription) {
      try {
        const key = await serverKey();
        await send("POST", subscription.toJSON(), key.csrfToken);
      } catch (error) { /* the list on the page still tells the truth */ }
    }
  })();
})();
