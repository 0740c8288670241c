/* The shop's verifier (/verify): reads a card's QR (camera, photo or pasted
   text) and checks it in the browser, offline too, exactly as the server's
   POST /api/card/verify does (server/card/verification.py, same order of checks): the
   co-op's signature against the published keys (cached by the service
   worker), the dates, the device's signature, the 30-second step (±90 s) and
   the revocation list. Without this script the form asks the server. ES5 for
   old phones (Android Chrome 69). */
(function () {
  "use strict";
  var app = document.getElementById("verify-app");
  var form = document.getElementById("verify-form");
  var C = self.CoopCard;
  if (!app || !form || !C || !window.crypto || !crypto.subtle || !window.fetch || !window.Promise) return;
  var MAX_STEP_DRIFT = 3;
  var EARLY_SECONDS = 5 * 60;
  var CLOCK_WARN_MS = 60 * 1000;
  var LABELS = {
    valid: "有効",
    malformed: "読み取れません",
    unknown_key: "署名が正しくない",
    bad_signature: "署名が正しくない",
    expired: "期限切れ",
    out_of_time: "時間外",
    revoked: "失効"
  };
  var MESSAGES = {
    valid: "有効な組合員証です。",
    malformed: "読み取れません。QRコードをもう一度読み取ってください。",
    unknown_key: "署名が正しくありません。生協が発行した組合員証ではありません。",
    bad_signature: "署名が正しくありません。内容が書き換えられているか、別の端末の写しです。",
    expired: "期限切れです。この組合員証の有効期限は過ぎています。",
    out_of_time: "時間外です。画面の写し（スクリーンショット）か、端末の時刻のずれが考えられます。",
    revoked: "失効しています。この組合員証はご利用いただけません。"
  };
  var keys = null;      // kid -> CryptoKey, from the published keys
  var revoked = {};     // certificate id -> true
  var revokedAt = null; // when the list was made (server time, seconds)

  function byId(id) { return document.getElementById(id); }
  function jdate(seconds) {
    var j = new Date(seconds * 1000 + 9 * 3600 * 1000);
    return j.getUTCFullYear() + "年" + (j.getUTCMonth() + 1) + "月" + j.getUTCDate() + "日";
  }
  function jtime(seconds) {
    var j = new Date(seconds * 1000 + 9 * 3600 * 1000);
    var m = j.getUTCMinutes();
    return jdate(seconds) + " " + j.getUTCHours() + ":" + (m < 10 ? "0" : "") + m;
  }
  function getJson(url) {
    return fetch(url, { credentials: "omit" }).then(function (response) {
      if (!response.ok) throw new Error(url + ": " + response.status);
      return response.json();
    });
  }

  // --- The co-op's keys and the revocation list (the worker answers from its copy offline).
  function loadKeys() {
    return getJson("/.well-known/coop-card-keys.json").then(function (data) {
      var found = {};
      return Promise.all((data.keys || []).map(function (jwk) {
        return crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true },
          C.ECDSA, false, ["verify"]).then(function (key) { found[jwk.kid] = key; }, function () { /* skip a bad key */ });
      })).then(function () { keys = found; });
    });
  }
  function loadRevocations() {
    return getJson("/api/card/revocations").then(function (data) {
      var ids = {};
      (data.revoked || []).forEach(function (id) { ids[id] = true; });
      revoked = ids;
      revokedAt = data.updated_at || null;
      byId("verify-list-date").textContent = revokedAt ? "失効リスト: " + jtime(revokedAt) + " 時点" : "";
    });
  }
  function checkClock() {
    if (!navigator.onLine) return;
    var sent = Date.now();
    getJson("/api/card/time").then(function (data) {
      var off = data.now_ms - (sent + Date.now()) / 2;
      byId("verify-clock").hidden = Math.abs(off) <= CLOCK_WARN_MS;
    }).catch(function () { /* offline: nothing to compare with */ });
  }

  // --- Verification, first failure wins (the server's order).
  function verdict(reason, fields) { return { reason: reason, fields: fields || null }; }

  function verifyCode(text, nowMs) {
    var parts, cose, protectedHeader, payload, kid;
    try {
      parts = C.parseQr(text);
      cose = C.cborDecode(parts.certificate);
      if (!Array.isArray(cose) || cose.length !== 4 || !(cose[0] instanceof Uint8Array) ||
          !(cose[2] instanceof Uint8Array) || !(cose[3] instanceof Uint8Array)) throw new Error("cose");
      protectedHeader = C.cborDecode(cose[0]);
      payload = C.cborDecode(cose[2]);
      if (!(protectedHeader instanceof Map) || protectedHeader.get(1) !== -7 ||
          !(protectedHeader.get(4) instanceof Uint8Array) || !(payload instanceof Map)) throw new Error("header");
      kid = new TextDecoder().decode(protectedHeader.get(4));
      if (payload.get("v") !== 1 || !(payload.get("pk") instanceof Uint8Array) ||
          typeof payload.get("iat") !== "number" || typeof payload.get("exp") !== "number") throw new Error("payload");
      ["id", "no", "n", "k", "c"].forEach(function (name) {
        if (typeof payload.get(name) !== "string") throw new Error(name);
      });
    } catch (error) {
      return Promise.resolve(verdict("malformed"));
    }
    var coopKey = keys && keys[kid];
    if (!coopKey) return Promise.resolve(verdict("unknown_key"));
    var signed = C.cborEncode(["Signature1", cose[0], new Uint8Array(0), cose[2]]);
    return crypto.subtle.verify(C.SIGN, coopKey, cose[3], signed).then(function (good) {
      if (!good) return verdict("bad_signature");
      var fields = {
        member_no: payload.get("no"), name: payload.get("n"), name_kana: payload.get("k"),
        category: payload.get("c"), valid_until: jdate(payload.get("exp"))
      };
      return crypto.subtle.importKey("raw", payload.get("pk"), C.ECDSA, false, ["verify"]).then(function (device) {
        return crypto.subtle.verify(C.SIGN, device, parts.signature, C.stepMessage(parts.certificate, parts.step));
      }).catch(function () { return false; }).then(function (deviceGood) {
        var now = nowMs / 1000;
        if (!deviceGood) return verdict("bad_signature", fields);
        if (now > payload.get("exp") || now < payload.get("iat") - EARLY_SECONDS) return verdict("expired", fields);
        if (Math.abs(parts.step - C.stepAt(nowMs)) > MAX_STEP_DRIFT) return verdict("out_of_time", fields);
        if (revoked[payload.get("id")]) return verdict("revoked", fields);
        return verdict("valid", fields);
      });
    });
  }

  function show(result) {
    var box = byId("verify-result");
    var valid = result.reason === "valid";
    box.className = "verdict " + (valid ? "verdict-valid" : "verdict-invalid");
    box.setAttribute("data-reason", result.reason);
    byId("verify-label").textContent = LABELS[result.reason];
    byId("verify-message").textContent = MESSAGES[result.reason];
    var facts = byId("verify-facts");
    facts.hidden = !result.fields;
    if (result.fields) {
      byId("verify-name").textContent = result.fields.name;
      byId("verify-kana").textContent = result.fields.name_kana;
      byId("verify-no").textContent = result.fields.member_no;
      byId("verify-category").textContent = result.fields.category;
      byId("verify-until").textContent = result.fields.valid_until + "まで";
    }
    var at = Date.now() / 1000;
    byId("verify-when").textContent = "確認 " + jtime(at) + ":" + ("0" + new Date(at * 1000).getUTCSeconds()).slice(-2) +
      (navigator.onLine ? "" : "（オフラインで確認しました）");
    box.hidden = false;
    var old = byId("verdict"); // the server's verdict from a form post, now out of date
    if (old) old.hidden = true;
    box.scrollIntoView({ block: "start" });
    box.focus();
  }

  // Keys first (cached copy offline); the revocation list when we can have it.
  var ready = loadKeys().catch(function () { keys = keys || {}; });
  var listReady = loadRevocations().catch(function () { /* no list yet: nothing known revoked */ });

  function check(text) {
    byId("verify-reading").hidden = true;
    if (navigator.onLine) {
      // A fresh list when the network answers within 3 s; else the one we have.
      var fresh = loadRevocations().catch(function () {});
      listReady = Promise.race([fresh, new Promise(function (resolve) { setTimeout(resolve, 3000); })]);
    }
    return Promise.all([ready, listReady]).then(function () {
      return verifyCode(text, Date.now());
    }).then(show);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    check(byId("verify-code").value);
  });

  // --- Reading the QR: BarcodeDetector where the browser has it, else jsQR.
  var detector = null;
  if (window.BarcodeDetector) {
    try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (error) { detector = null; }
  }
  var scratch = document.createElement("canvas");

  function decodeImage(source, width, height) {
    if (detector) {
      return detector.detect(source).then(function (codes) { return codes.length ? codes[0].rawValue : null; })
        .catch(function () { return decodeWithJsQR(source, width, height); });
    }
    return Promise.resolve(decodeWithJsQR(source, width, height));
  }
  function decodeWithJsQR(source, width, height) {
    if (!self.jsQR) return null;
    var scale = Math.min(1, 1600 / Math.max(width, height));
    scratch.width = Math.round(width * scale);
    scratch.height = Math.round(height * scale);
    var g = scratch.getContext("2d");
    g.drawImage(source, 0, 0, scratch.width, scratch.height);
    var image = g.getImageData(0, 0, scratch.width, scratch.height);
    var found = self.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  }

  function found(text) {
    byId("verify-code").value = text;
    check(text);
  }

  // A photo of the card (or a screenshot sent by a member: the step check catches that).
  byId("verify-photo").addEventListener("change", function () {
    var file = this.files && this.files[0];
    if (!file) return;
    var reader = new FileReader();
    reader.onload = function () {
      var image = new Image();
      image.onload = function () {
        decodeImage(image, image.naturalWidth, image.naturalHeight).then(function (text) {
          if (text) found(text);
          else notRead();
        });
      };
      image.onerror = notRead;
      image.src = reader.result; // a data: URL, which the CSP allows for images
    };
    reader.readAsDataURL(file);
    this.value = "";
  });

  function notRead() {
    show(verdict("malformed"));
  }

  var stream = null;
  var video = byId("verify-video");
  var cameraButton = byId("verify-camera");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    cameraButton.hidden = true;
  }
  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.hidden = true;
    cameraButton.textContent = "カメラで読み取る";
  }
  function scan() {
    if (!stream) return;
    if (video.readyState < 2) { setTimeout(scan, 150); return; }
    decodeImage(video, video.videoWidth, video.videoHeight).then(function (text) {
      if (text && text.indexOf("CC1:") === 0) {
        stopCamera();
        found(text);
      } else {
        setTimeout(scan, 150);
      }
    });
  }
  cameraButton.addEventListener("click", function () {
    if (stream) { stopCamera(); return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (media) {
      stream = media;
      video.srcObject = media;
      video.hidden = false;
      video.play();
      byId("verify-reading").hidden = false;
      cameraButton.textContent = "カメラを止める";
      scan();
    }).catch(function () {
      byId("verify-camera-error").hidden = false;
    });
  });

  app.hidden = false;
  checkClock();
  window.addEventListener("online", function () { loadRevocations().catch(function () {}); checkClock(); });
})();
