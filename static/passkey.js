// Ostiary passkeys: the one script of the hosted pages (WebAuthn has no form for it). A button
// with data-passkey="create" or "get" reads the options the server put in its data-options
// attribute, asks the browser's authenticator, writes the answer into the form's "credential"
// field and submits the form. Every page works without this script; only passkeys need it.
(function () {
  "use strict";
  function decode(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }
  function encode(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creation(o) {
    o.challenge = decode(o.challenge);
    o.user.id = decode(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = decode(c.id); });
    return o;
  }
  function request(o) {
    o.challenge = decode(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = decode(c.id); });
    return o;
  }
  function answer(c) {
    var r = c.response, out = { id: c.id, rawId: encode(c.rawId), type: c.type, extensions: {} };
    if (r.attestationObject) {
      out.response = {
        attestationObject: encode(r.attestationObject),
        clientDataJSON: encode(r.clientDataJSON)
      };
    } else {
      out.response = {
        authenticatorData: encode(r.authenticatorData),
        clientDataJSON: encode(r.clientDataJSON),
        signature: encode(r.signature),
        userHandle: r.userHandle ? encode(r.userHandle) : null
      };
    }
    return out;
  }
  function run(button) {
    var form = button.form, status = document.getElementById("passkey-status");
    var options = JSON.parse(button.getAttribute("data-options")).publicKey;
    var ask = button.getAttribute("data-passkey") === "create"
      ? navigator.credentials.create({ publicKey: creation(options) })
      : navigator.credentials.get({ publicKey: request(options) });
    ask.then(function (c) {
      form.elements.credential.value = JSON.stringify(answer(c));
      form.submit();
    }).catch(function () {
      if (status) status.textContent = "The passkey was not used. Try again, or use another way.";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("[data-passkey]");
    for (var i = 0; i < buttons.length; i++) {
      if (!window.PublicKeyCredential) { buttons[i].hidden = true; continue; }
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (e) { e.preventDefault(); run(e.currentTarget); });
    }
  });
})();
