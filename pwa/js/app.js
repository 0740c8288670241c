/* Co-op My Page: registers the service worker, keeps the offline copies in
   step with who is signed in, removes the device's card at sign-out, and
   offers installation. Every page works without this script. */
(function () {
  "use strict";
  var sw = "serviceWorker" in navigator ? navigator.serviceWorker : null;
  // Pages the service worker keeps for offline use (same rule as the worker).
  var KEPT = /^\/(card|statements|statements\/\d{4}-\d{2})$/;

  // Send a message to the active worker and wait (briefly) for its answer.
  function tellWorker(message) {
    if (!sw) return Promise.resolve();
    return sw.getRegistration().then(function (registration) {
      var worker = registration && registration.active;
      if (!worker) return undefined;
      return new Promise(function (resolve) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function () { resolve(); };
        worker.postMessage(message, [channel.port2]);
        setTimeout(resolve, 1500);
      });
    }).catch(function () { return undefined; });
  }

  function register() {
    var controlled = !!sw.controller;
    sw.register("/service-worker.js", { scope: "/" }).then(function () {
      // (An ended session purges nothing: only sign-out does, below.)
      if (!controlled && KEPT.test(location.pathname)) {
        // This page arrived before the worker took over; ask it to keep a copy.
        sw.ready.then(function () { tellWorker({ type: "keep", path: location.pathname }); });
      }
    }).catch(function () { /* the site works without it */ });
  }
  if (sw) {
    // After the page has loaded, so the worker's first install never slows it down.
    if (document.readyState === "complete") register();
    else window.addEventListener("load", register);
  }

  // Sign-out stops this device's push notices, as nothing of the member may reach it after:
  // the form carries the endpoint so the server deletes it, and the browser drops the
  // subscription. Never holds sign-out up.
  function forgetPush(form) {
    if (!sw || !("PushManager" in window)) return Promise.resolve();
    var work = navigator.serviceWorker.getRegistration().then(function (registration) {
      return registration && registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) return;
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "push_endpoint";
      field.value = subscription.endpoint;
      form.appendChild(field);
      return subscription.unsubscribe();
    }).catch(function () { /* sign-out goes on */ });
    var limit = new Promise(function (resolve) { setTimeout(resolve, 1500); });
    return Promise.race([work, limit]);
  }

  // The card's key and certificate (card.js) go with an explicit sign-out, and only then.
  function forgetCard() {
    if (!window.indexedDB) return Promise.resolve();
    var work = new Promise(function (resolve) {
      var request = indexedDB.deleteDatabase("coop-card");
      request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
    });
    return Promise.race([work, new Promise(function (resolve) { setTimeout(resolve, 1500); })]);
  }

  // Sign-out: the worker drops the member's copies and the card goes before the form does.
  Array.prototype.forEach.call(document.querySelectorAll('form[action="/logout"]'), function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-purged")) return;
      event.preventDefault();
      forgetPush(form).then(function () {
        return Promise.all([tellWorker({ type: "purge" }), forgetCard()]);
      }).then(function () {
        form.setAttribute("data-purged", "1");
        form.submit();
      });
    });
  });

  // Install hint on the home page.
  var hint = document.getElementById("install-hint");
  if (!hint) return;
  var standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
  if (standalone) return;
  var button = document.getElementById("install-button");
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    var prompt = event;
    hint.hidden = false;
    button.hidden = false;
    button.addEventListener("click", function () {
      prompt.prompt();
      prompt.userChoice.then(function () { hint.hidden = true; });
    }, { once: true });
  });
  window.addEventListener("appinstalled", function () { hint.hidden = true; });
  // iPhone and iPad offer no prompt: explain "ホーム画面に追加" instead.
  var ios = /iPhone|iPad|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  if (ios) {
    hint.hidden = false;
    document.getElementById("install-ios").hidden = false;
  }
})();
