/* The card credential's encodings, shared by the card (card.js) and the shop
   verifier (verify.js): base64url, base45 (RFC 9285), the small part of CBOR
   (RFC 8949) the credential uses, and the bytes the device signs. Written by
   hand (a few dozen lines each) so that no build step or large library is
   needed; plain ES5 for old phones (Android Chrome 69). */
(function (root) {
  "use strict";
  var B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  var QR_PREFIX = "CC1:";
  var STEP_SECONDS = 30;
  var utf8 = new TextEncoder();
  var utf8Decoder = new TextDecoder("utf-8", { fatal: true });

  function concat(parts) {
    var length = 0;
    var i;
    for (i = 0; i < parts.length; i++) length += parts[i].length;
    var out = new Uint8Array(length);
    var at = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }

  function toBase64url(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(text) {
    var plain = text.replace(/-/g, "+").replace(/_/g, "/");
    while (plain.length % 4) plain += "=";
    var binary = atob(plain);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  function toBase45(bytes) {
    var out = "";
    for (var i = 0; i + 1 < bytes.length; i += 2) {
      var n = bytes[i] * 256 + bytes[i + 1];
      out += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
    }
    if (bytes.length % 2) {
      var last = bytes[bytes.length - 1];
      out += B45[last % 45] + B45[Math.floor(last / 45)];
    }
    return out;
  }

  function fromBase45(text) {
    var out = [];
    if (text.length % 3 === 1) throw new Error("base45 length");
    for (var i = 0; i < text.length; i += 3) {
      var c = B45.indexOf(text[i]);
      var d = B45.indexOf(text[i + 1]);
      var e = i + 2 < text.length ? B45.indexOf(text[i + 2]) : -2;
      if (c < 0 || d < 0 || e === -1) throw new Error("base45 character");
      if (e === -2) {
        var byte = c + d * 45;
        if (byte > 255) throw new Error("base45 value");
        out.push(byte);
      } else {
        var n = c + d * 45 + e * 2025;
        if (n > 65535) throw new Error("base45 value");
        out.push(n >> 8, n & 255);
      }
    }
    return new Uint8Array(out);
  }

  // CBOR head: major type and argument (lengths and integers up to 2^53).
  function head(major, n) {
    var m = major << 5;
    if (n < 24) return new Uint8Array([m | n]);
    if (n < 256) return new Uint8Array([m | 24, n]);
    if (n < 65536) return new Uint8Array([m | 25, n >> 8, n & 255]);
    if (n < 4294967296) return new Uint8Array([m | 26, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255]);
    return concat([new Uint8Array([m | 27]), uint64(n)]);
  }

  // Encodes what the card makes: arrays, byte strings, text and unsigned integers.
  function cborEncode(value) {
    if (value instanceof Uint8Array) return concat([head(2, value.length), value]);
    if (typeof value === "string") { var text = utf8.encode(value); return concat([head(3, text.length), text]); }
    if (typeof value === "number" && value >= 0 && Math.floor(value) === value) return head(0, value);
    if (Array.isArray(value)) return concat([head(4, value.length)].concat(value.map(cborEncode)));
    throw new Error("cbor: unsupported value");
  }

  // Decodes maps, arrays, text, bytes and integers; anything else is refused.
  function cborDecode(bytes) {
    var at = 0;
    function take(n) {
      if (at + n > bytes.length) throw new Error("cbor: short");
      var part = bytes.subarray(at, at + n);
      at += n;
      return part;
    }
    function argument(info) {
      if (info < 24) return info;
      var size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
      if (!size) throw new Error("cbor: argument");
      var part = take(size);
      var n = 0;
      for (var i = 0; i < size; i++) n = n * 256 + part[i];
      if (n > Number.MAX_SAFE_INTEGER) throw new Error("cbor: integer too large");
      return n;
    }
    function item(depth) {
      if (depth > 8) throw new Error("cbor: too deep");
      var first = take(1)[0];
      var major = first >> 5;
      var n = argument(first & 31);
      var i;
      switch (major) {
        case 0: return n;
        case 1: return -1 - n;
        case 2: return new Uint8Array(take(n));
        case 3: return utf8Decoder.decode(take(n));
        case 4:
          var list = [];
          for (i = 0; i < n; i++) list.push(item(depth + 1));
          return list;
        case 5:
          var map = new Map();
          for (i = 0; i < n; i++) { var key = item(depth + 1); map.set(key, item(depth + 1)); }
          return map;
        default: throw new Error("cbor: unsupported type");
      }
    }
    var value = item(0);
    if (at !== bytes.length) throw new Error("cbor: trailing bytes");
    return value;
  }

  function uint64(n) {
    var out = new Uint8Array(8);
    var high = Math.floor(n / 4294967296);
    var low = n % 4294967296;
    for (var i = 0; i < 4; i++) {
      out[3 - i] = (high >>> (8 * i)) & 255;
      out[7 - i] = (low >>> (8 * i)) & 255;
    }
    return out;
  }

  function stepAt(ms) { return Math.floor(ms / 1000 / STEP_SECONDS); }

  // What the device signs for one time step (spec: "coop-card/v1/step" || cert || step).
  function stepMessage(certificate, step) {
    return concat([utf8.encode("coop-card/v1/step"), certificate, uint64(step)]);
  }

  function qrText(certificate, step, signature) {
    return QR_PREFIX + toBase45(cborEncode([certificate, step, signature]));
  }

  // The QR text back to {certificate, step, signature}; throws on anything malformed.
  function parseQr(text) {
    var code = String(text).trim();
    if (code.indexOf(QR_PREFIX) !== 0) throw new Error("not a card code");
    var parts = cborDecode(fromBase45(code.slice(QR_PREFIX.length)));
    if (!Array.isArray(parts) || parts.length !== 3 || !(parts[0] instanceof Uint8Array) ||
        typeof parts[1] !== "number" || parts[1] < 0 || !(parts[2] instanceof Uint8Array)) {
      throw new Error("bad card code");
    }
    return { certificate: parts[0], step: parts[1], signature: parts[2] };
  }

  var ECDSA = { name: "ECDSA", namedCurve: "P-256" };
  var SIGN = { name: "ECDSA", hash: { name: "SHA-256" } };

  root.CoopCard = {
    ECDSA: ECDSA,
    SIGN: SIGN,
    STEP_SECONDS: STEP_SECONDS,
    utf8: function (text) { return utf8.encode(text); },
    concat: concat,
    toBase64url: toBase64url,
    fromBase64url: fromBase64url,
    toBase45: toBase45,
    fromBase45: fromBase45,
    cborEncode: cborEncode,
    cborDecode: cborDecode,
    stepAt: stepAt,
    stepMessage: stepMessage,
    qrText: qrText,
    parseQr: parseQr
  };
})(self);
