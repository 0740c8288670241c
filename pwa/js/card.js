/* The card is live, not a screenshot: a running clock (Japan time), a mark
   that keeps moving, and a QR code the device signs anew every 30 seconds
   with a key that never leaves it (format: README, "The card credential"). The certificate
   lives in IndexedDB, apart from the web session: the card shows online or
   offline, signed in or not, until the member signs out. Without this script
   the card shows the server's time and the member-number QR. ES5 on purpose:
   old phones (Android Chrome 69) must run it. */
(function () {
  "use strict";
  var card = document.getElementById("card");
  var clock = document.getElementById("card-clock");
  if (!card || !clock) return;
  var C = self.CoopCard;
  var signedIn = card.getAttribute("data-signed-in") === "1";
  var DB_NAME = "coop-card";
  var STORE = "card";
  var KEY = "current";
  var DAY_MS = 24 * 3600 * 1000;
  // Japan has no daylight saving time: JST is UTC+9 all year. (Plain arithmetic
  // instead of Intl, whose time-zone data costs a long task on slow phones.)
  var JST_OFFSET_MS = 9 * 3600 * 1000;
  var offsetMs = 0;
  var qrTimer = null;

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function jst(ms) { return new Date(ms + JST_OFFSET_MS); }
  function jdate(ms) { var j = jst(ms); return j.getUTCFullYear() + "年" + (j.getUTCMonth() + 1) + "月" + j.getUTCDate() + "日"; }
  function now() { return Date.now() + offsetMs; }

  function tick() {
    var at = now();
    var j = jst(at);
    clock.textContent = jdate(at) + " " + two(j.getUTCHours()) + ":" + two(j.getUTCMinutes()) + ":" + two(j.getUTCSeconds());
    clock.setAttribute("datetime", new Date(at).toISOString());
    setTimeout(tick, 1000 - (at % 1000) + 5);
  }

  function startMark() {
    var slider = document.getElementById("card-live-slider");
    // Under reduced motion the mark stays put; the clock's seconds remain the live sign.
    if (!slider || !slider.animate || window.matchMedia("(prefers-reduced-motion: reduce)").matches) return;
    // Back and forth across the band, on the compositor (Web Animations, allowed
    // by the CSP). The slider is as wide as the band and the mark 64px wide, so
    // calc() needs no measuring (no forced layout while the page loads).
    slider.animate(
      [{ transform: "translateX(0)" }, { transform: "translateX(calc(100% - 64px))" }],
      { duration: 2400, iterations: Infinity, direction: "alternate", easing: "ease-in-out" }
    );
  }

  // --- IndexedDB: one record, opened and closed per use so sign-out can delete the database.
  function withStore(mode, work) {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(STORE); };
      open.onerror = function () { reject(open.error); };
      open.onsuccess = function () {
        var db = open.result;
        var tx = db.transaction(STORE, mode);
        var request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request.result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      };
    });
  }
  function loadRecord() { return withStore("readonly", function (s) { return s.get(KEY); }); }
  function saveRecord(record) { return withStore("readwrite", function (s) { return s.put(record, KEY); }); }
  function forget() {
    return new Promise(function (resolve) {
      var request = indexedDB.deleteDatabase(DB_NAME);
      request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
    });
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function postJson(url, body) {
    var sent = Date.now();
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      var received = Date.now();
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data, midpoint: (sent + received) / 2 };
      });
    });
  }

  // A fresh certificate answer (issue or renewal) into the stored record.
  function recordFrom(answer, privateKey, publicKeyRaw) {
    var d = answer.data;
    return {
      privateKey: privateKey,
      publicKeyRaw: publicKeyRaw,
      certificate: d.certificate,
      id: d.id,
      expiresAt: d.expires_at,
      fields: { member_no: d.member_no, name: d.name, name_kana: d.name_kana, category: d.category, valid_until: d.valid_until },
      // The server's clock minus ours, at the middle of the round trip.
      clockOffsetMs: Math.round(d.server_now_ms - answer.midpoint),
      renewedAt: Date.now()
    };
  }

  function issue() {
    var keys;
    return crypto.subtle.generateKey(C.ECDSA, false, ["sign"]).then(function (pair) {
      keys = pair;
      return crypto.subtle.exportKey("raw", pair.publicKey);
    }).then(function (raw) {
      var publicKeyRaw = C.toBase64url(new Uint8Array(raw));
      return postJson(card.getAttribute("data-issue-url"), { public_key: publicKeyRaw }).then(function (answer) {
        if (answer.status !== 201) return null;
        var record = recordFrom(answer, keys.privateKey, publicKeyRaw);
        return saveRecord(record).then(function () { return record; });
      });
    });
  }

  function renew(record) {
    var ts = Math.round(Date.now() + record.clockOffsetMs);
    var message = C.utf8("coop-card/v1/renew/" + record.id + "/" + ts);
    return crypto.subtle.sign(C.SIGN, record.privateKey, message).then(function (signature) {
      return postJson(card.getAttribute("data-renew-url"), {
        id: record.id, ts: ts, signature: C.toBase64url(new Uint8Array(signature))
      });
    }).then(function (answer) {
      if (answer.status === 201) {
        var fresh = recordFrom(answer, record.privateKey, record.publicKeyRaw);
        return saveRecord(fresh).then(function () { show(fresh); });
      }
      // Only the server's word that this card is over drops it (not a CSRF or network hiccup).
      if (answer.status === 403 && answer.data && answer.data.reason) {
        return forget().then(function () { dropped(answer.data.error); });
      }
      return undefined;
    }).catch(function () { /* offline or refused for now: the card stays, we try again next time */ });
  }

  function dropped(message) {
    if (qrTimer) clearTimeout(qrTimer);
    card.hidden = true;
    document.getElementById("card-status-text").textContent =
      (message || "この組合員証は使えなくなりました。") + " この端末の組合員証を削除しました。";
    document.getElementById("card-status").hidden = false;
    if (!signedIn) document.getElementById("card-signin").hidden = false;
  }

  function setText(selector, text) { card.querySelector(selector).textContent = text; }

  function show(record) {
    var f = record.fields;
    offsetMs = record.clockOffsetMs || 0;
    setText(".card-kana", f.name_kana);
    setText(".card-name-kanji", f.name);
    setText(".card-no", f.member_no);
    setText(".card-category dd", f.category);
    var until = record.expiresAt * 1000;
    var year = jst(until).getUTCFullYear();
    var fiscal = jst(until).getUTCMonth() >= 3 ? year : year - 1;
    var valid = card.querySelector(".card-valid dd");
    valid.textContent = fiscal + "年度";
    var range = document.createElement("span");
    range.className = "card-valid-range";
    range.textContent = jdate(until) + "まで有効";
    valid.appendChild(range);
    setText("#card-fetched", "証明書の発行 " + jdate(record.renewedAt));
    card.hidden = false;
    drawLoop(record, C.fromBase64url(record.certificate));
  }

  // The QR for the current 30-second step, then again at the next step boundary.
  function drawLoop(record, certificate) {
    if (qrTimer) clearTimeout(qrTimer);
    var box = document.getElementById("card-qr");
    var at = now();
    if (at > record.expiresAt * 1000) {
      box.textContent = "有効期限が切れています。インターネットにつながる場所で開くと更新されます。";
      box.className = "card-qr card-qr-expired";
      return;
    }
    var step = C.stepAt(at);
    crypto.subtle.sign(C.SIGN, record.privateKey, C.stepMessage(certificate, step)).then(function (signature) {
      paint(box, C.qrText(certificate, step, new Uint8Array(signature)));
    });
    var next = (step + 1) * C.STEP_SECONDS * 1000 - at + 20;
    qrTimer = setTimeout(function () { drawLoop(record, certificate); }, next);
  }

  // Crisp modules: a whole number of device pixels each, the canvas sized to match.
  function paint(box, text) {
    var qr = qrcode(0, "L");
    qr.addData(text, "Alphanumeric");
    qr.make();
    var margin = 2;
    var count = qr.getModuleCount() + 2 * margin;
    var ratio = window.devicePixelRatio || 1;
    var module = Math.max(1, Math.floor(box.clientWidth * ratio / count));
    var canvas = document.createElement("canvas");
    canvas.width = canvas.height = module * count;
    canvas.className = "card-qr-canvas";
    canvas.style.setProperty("width", (module * count / ratio) + "px");
    canvas.style.setProperty("height", (module * count / ratio) + "px");
    var g = canvas.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = "#000";
    for (var r = 0; r < count - 2 * margin; r++) {
      for (var c = 0; c < count - 2 * margin; c++) {
        if (qr.isDark(r, c)) g.fillRect((c + margin) * module, (r + margin) * module, module, module);
      }
    }
    box.setAttribute("role", "img");
    box.setAttribute("aria-label", "組合員証のQRコード（30秒ごとに変わります）");
    box.setAttribute("data-code", text);
    box.setAttribute("data-qr-version", String((qr.getModuleCount() - 17) / 4));
    box.className = "card-qr card-qr-live";
    box.textContent = "";
    box.appendChild(canvas);
    // For bench/card_paint.py: when the first valid QR is in the page.
    if (window.performance && performance.mark && !performance.getEntriesByName("card-qr").length) performance.mark("card-qr");
  }

  function differs(record) {
    var f = record.fields;
    return f.name !== card.getAttribute("data-name") || f.name_kana !== card.getAttribute("data-name-kana") ||
      f.category !== card.getAttribute("data-category");
  }

  function capable() {
    return !!(window.indexedDB && window.crypto && crypto.subtle && window.Promise && window.fetch &&
      window.TextEncoder && self.CoopCard && self.qrcode);
  }

  tick();
  startMark();
  if (!capable()) {
    if (!signedIn) document.getElementById("card-signin").hidden = false;
    return;
  }
  loadRecord().then(function (record) {
    if (signedIn && record && record.fields.member_no !== card.getAttribute("data-member-no")) {
      // Another member's card on this device: it goes, and this member gets their own.
      return forget().then(issue);
    }
    if (signedIn && !record) return issue();
    return record;
  }).then(function (record) {
    if (!record) {
      if (!signedIn) document.getElementById("card-signin").hidden = false;
      return;
    }
    show(record);
    var stale = Date.now() - record.renewedAt > DAY_MS || now() > record.expiresAt * 1000;
    if (navigator.onLine && (stale || (signedIn && differs(record)))) renew(record);
  }).catch(function () {
    // Storage or crypto refused (private mode, say): the server's card stays as it is.
    if (!signedIn) document.getElementById("card-signin").hidden = false;
  });
})();
