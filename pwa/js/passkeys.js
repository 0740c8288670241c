/* Passkeys: sign-in on /login, adding in /settings, and the offer after a password
   sign-in. Everything here is an addition: the passkey parts of the pages are rendered
   hidden and only shown once this script has seen that the browser supports WebAuthn,
   so without JavaScript or WebAuthn the password form works unchanged. */
(function () {
  "use strict";

  var OFFER_COOKIE = "mypage_passkey_offer";
  var OFFER_PAUSE_DAYS = 30;
  var CREATED_PAUSE_DAYS = 365;
  var MSG = {
    cancelled: "操作が取り消されたか、時間切れになりました。もう一度お試しください。",
    failed: "パスキーで処理できませんでした。もう一度お試しください。",
    network: "通信できませんでした。電波の良い場所で、もう一度お試しください。",
    exists: "この端末（パスワード管理アプリ）のパスキーは、すでに登録されています。",
    working: "処理中です…",
  };

  var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch);
  if (!supported) {
    show("[data-passkey-unsupported]");
    var box = document.getElementById("passkey-login-box");
    if (box) box.hidden = true;  // its reserved room goes: no passkeys in this browser
    return;
  }

  function show(selector) {
    document.querySelectorAll(selector).forEach(function (el) { el.hidden = false; });
  }

  function say(el, text, isError) {
    if (!el) return;
    el.textContent = text || "";
    el.classList.toggle("passkey-error", !!isError);
  }

  var W = window.MypageWebAuthn;
  var creationOptions = W.creationOptions;
  var requestOptions = W.requestOptions;
  var credentialJSON = W.credentialJSON;

  /* A problem the member should read: from the server (Japanese) or ours. */
  function Problem(message, data) {
    this.message = message;
    this.data = data || {};
  }

  function post(path, body) {
    return W.post(path, body).catch(function () { throw new Problem(MSG.network); });
  }

  /* After re-confirmation the session has a new token, and the CSRF token bound to it:
     the page's meta tag and forms get it, so later posts from this page still work. */
  function renewCsrf(data) {
    if (!data || !data.csrfToken) return;
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) meta.content = data.csrfToken;
    document.querySelectorAll('input[name="csrf_token"]').forEach(function (input) {
      input.value = data.csrfToken;
    });
  }

  function explain(error) {
    if (error instanceof Problem) return error.message;
    if (error && error.name === "InvalidStateError") return MSG.exists;
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      return MSG.cancelled;
    }
    return MSG.failed;
  }

  function setCookie(days) {
    var secure = location.protocol === "https:" ? "; secure" : "";
    document.cookie = OFFER_COOKIE + "=1; max-age=" + days * 86400 + "; path=/; samesite=lax" + secure;
  }

  function hasCookie() {
    return document.cookie.split("; ").some(function (c) { return c.indexOf(OFFER_COOKIE + "=") === 0; });
  }

  /* Sign-in (/login) ------------------------------------------------------ */

  function initLogin(box) {
    var button = document.getElementById("passkey-login");
    var status = document.getElementById("passkey-login-status");
    var next = box.getAttribute("data-next") || "";
    var pending = null;

    function signIn(conditional) {
      return post("/api/passkeys/authentication/options").then(function (res) {
        if (!res.ok) throw new Problem(res.data.error || MSG.failed);
        var request = { publicKey: requestOptions(res.data.publicKey) };
        if (conditional) {
          pending = new AbortController();
          request.mediation = "conditional";
          request.signal = pending.signal;
        }
        return navigator.credentials.get(request);
      }).then(function (credential) {
        if (!credential) throw new Problem(MSG.cancelled);
        return post("/api/passkeys/authentication/verify", {
          credential: credentialJSON(credential), next: next,
        }).then(function (res) {
          if (res.ok) {
            location.assign(res.data.redirect || "/");
            return;
          }
          if (res.data.unknownCredential &&
              typeof PublicKeyCredential.signalUnknownCredential === "function") {
            PublicKeyCredential.signalUnknownCredential({
              rpId: location.hostname, credentialId: credential.id,
            }).catch(function () {});
          }
          throw new Problem(res.data.error || MSG.failed);
        });
      });
    }

    button.addEventListener("click", function () {
      if (pending) { pending.abort(); pending = null; }
      say(status, MSG.working);
      button.disabled = true;
      signIn(false).catch(function (error) {
        say(status, explain(error), true);
      }).then(function () { button.disabled = false; });
    });
    // Its room was reserved while invisible: appearing moves nothing (no layout shift).
    box.classList.remove("passkey-pending");

    if (typeof PublicKeyCredential.isConditionalMediationAvailable === "function") {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) return;
        signIn(true).catch(function (error) {
          if (error && error.name === "AbortError") return;  // the button took over
          say(status, explain(error), true);
        });
      }, function () {});
    }
  }

  /* Adding a passkey (/settings and the offer) ------------------------------ */

  function addPasskey(status, onReauth) {
    say(status, MSG.working);
    return post("/api/passkeys/registration/options").then(function (res) {
      if (res.status === 403 && res.data.reauth) {
        say(status, res.data.error);
        onReauth();
        return null;
      }
      if (!res.ok) throw new Problem(res.data.error || MSG.failed);
      return navigator.credentials.create({ publicKey: creationOptions(res.data.publicKey) })
        .then(function (credential) {
          if (!credential) throw new Problem(MSG.cancelled);
          return post("/api/passkeys/registration/verify", { credential: credentialJSON(credential) });
        })
        .then(function (done) {
          if (done.status === 403 && done.data.reauth) {
            say(status, done.data.error);
            onReauth();
            return null;
          }
          if (!done.ok) throw new Problem(done.data.error || MSG.failed);
          setCookie(CREATED_PAUSE_DAYS);
          location.assign(done.data.redirect || "/settings#passkeys");
          return null;
        });
    }).catch(function (error) {
      say(status, explain(error), true);
    });
  }

  function initSettings(box) {
    var button = document.getElementById("passkey-add");
    var status = document.getElementById("passkey-add-status");
    var reauthBox = document.getElementById("passkey-reauth");
    var password = document.getElementById("passkey-reauth-password");
    var confirm = document.getElementById("passkey-reauth-submit");

    function showReauth() {
      reauthBox.hidden = false;
      if (password) password.focus();
    }

    button.addEventListener("click", function () {
      button.disabled = true;
      addPasskey(status, showReauth).then(function () { button.disabled = false; });
    });

    function submitPassword() {
      confirm.disabled = true;
      post("/api/passkeys/reauth", { password: password.value }).then(function (res) {
        if (!res.ok) throw new Problem(res.data.error || MSG.failed);
        renewCsrf(res.data);
        password.value = "";
        reauthBox.hidden = true;
        return addPasskey(status, showReauth);
      }).catch(function (error) {
        say(status, explain(error), true);
      }).then(function () { confirm.disabled = false; });
    }

    var withPasskey = document.getElementById("passkey-reauth-passkey");
    if (withPasskey) {
      withPasskey.addEventListener("click", function () {
        withPasskey.disabled = true;
        say(status, MSG.working);
        post("/api/passkeys/reauth/options").then(function (res) {
          if (!res.ok) throw new Problem(res.data.error || MSG.failed);
          return navigator.credentials.get({ publicKey: requestOptions(res.data.publicKey) });
        }).then(function (credential) {
          if (!credential) throw new Problem(MSG.cancelled);
          return post("/api/passkeys/reauth/verify", { credential: credentialJSON(credential) });
        }).then(function (res) {
          if (!res.ok) throw new Problem(res.data.error || MSG.failed);
          renewCsrf(res.data);
          reauthBox.hidden = true;
          return addPasskey(status, showReauth);
        }).catch(function (error) {
          say(status, explain(error), true);
        }).then(function () { withPasskey.disabled = false; });
      });
    }

    if (confirm && password) {
      confirm.addEventListener("click", submitPassword);
      password.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); submitPassword(); }
      });
    }
    box.hidden = false;
  }

  function initOffer(offer) {
    if (hasCookie()) return;
    var check = PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable;
    if (typeof check !== "function") return;
    check.call(PublicKeyCredential).then(function (available) {
      if (!available) return;
      var status = document.getElementById("passkey-offer-status");
      document.getElementById("passkey-offer-dismiss").addEventListener("click", function () {
        setCookie(OFFER_PAUSE_DAYS);
        offer.hidden = true;
      });
      document.getElementById("passkey-offer-create").addEventListener("click", function () {
        addPasskey(status, function () { location.assign("/settings#passkeys"); });
      });
      offer.hidden = false;
    }, function () {});
  }

  var login = document.getElementById("passkey-login-box");
  if (login) initLogin(login);
  var add = document.querySelector(".passkey-add[data-passkey-ui]");
  if (add) initSettings(add);
  var offer = document.querySelector("[data-passkey-offer]");
  if (offer) initOffer(offer);
})();
