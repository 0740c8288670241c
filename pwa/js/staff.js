/* Staff console passkeys: sign-in, the first passkey through a set-up link, and adding
   another one. Each box is rendered with its button hidden; it is shown only when the
   browser supports WebAuthn. */
(function () {
  "use strict";

  var MSG = {
    cancelled: "操作が取り消されたか、時間切れになりました。もう一度お試しください。",
    failed: "パスキーで処理できませんでした。もう一度お試しください。",
    network: "通信できませんでした。ネットワークを確認して、もう一度お試しください。",
    exists: "このパスキーは、すでに登録されています。",
    working: "処理中です…",
  };
  var W = window.MypageWebAuthn;
  var supported = !!(W && window.PublicKeyCredential && navigator.credentials && window.fetch);

  function explain(error) {
    if (error && error.problem) return error.problem;
    if (error && error.name === "InvalidStateError") return MSG.exists;
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      return MSG.cancelled;
    }
    return MSG.failed;
  }

  function post(path, body) {
    return W.post(path, body).then(function (res) {
      if (!res.ok) throw { problem: (res.data && res.data.error) || MSG.failed };
      return res.data;
    }, function () {
      throw { problem: MSG.network };
    });
  }

  function create(base) {
    return post(base + "/options").then(function (data) {
      return navigator.credentials.create({ publicKey: W.creationOptions(data.publicKey) });
    }).then(function (credential) {
      return post(base + "/verify", { credential: W.credentialJSON(credential) });
    });
  }

  function signIn(next) {
    return post("/staff/api/login/options").then(function (data) {
      return navigator.credentials.get({ publicKey: W.requestOptions(data.publicKey) });
    }).then(function (credential) {
      if (!credential) throw { problem: MSG.cancelled };
      return post("/staff/api/login/verify", { credential: W.credentialJSON(credential), next: next });
    });
  }

  var ACTIONS = {
    login: function (box) { return signIn(box.getAttribute("data-next") || ""); },
    setup: function (box) { return create("/staff/api/setup/" + box.getAttribute("data-token")); },
    add: function () { return create("/staff/api/account/passkeys"); },
  };

  document.querySelectorAll("[data-staff-passkey]").forEach(function (box) {
    if (!supported) {
      box.querySelectorAll("[data-passkey-unsupported]").forEach(function (el) { el.hidden = false; });
      return;
    }
    var action = ACTIONS[box.getAttribute("data-staff-passkey")];
    var button = box.querySelector("[data-passkey-start]");
    var status = box.querySelector("[data-passkey-status]");
    box.querySelectorAll("[data-passkey-support]").forEach(function (el) { el.hidden = false; });
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = MSG.working;
      status.classList.remove("passkey-error");
      action(box).then(function (data) {
        location.assign(data.redirect || "/staff/");
      }).catch(function (error) {
        status.textContent = explain(error);
        status.classList.add("passkey-error");
        button.disabled = false;
      });
    });
  });
})();
