// Message templates: click a merge field to insert it at the cursor of the editor's
// subject or message; an SMS character/segment hint; and the composers' canned-reply
// picker, which copies a rendered reply (a hidden fragment from the server) into the
// composer's subject and body. No inline script (CSP).
(function () {
  "use strict";
  var lastText = null; // the editor's subject or body that last had the focus

  document.addEventListener("focusin", function (evt) {
    var el = evt.target;
    if (el.closest && el.closest("[data-canned-editor]") && (el.name === "body" || el.name === "subject")) lastText = el;
  });

  function insertAt(el, text) {
    var start = el.selectionStart != null ? el.selectionStart : el.value.length;
    var end = el.selectionEnd != null ? el.selectionEnd : el.value.length;
    el.value = el.value.slice(0, start) + text + el.value.slice(end);
    el.selectionStart = el.selectionEnd = start + text.length;
    el.focus();
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-insert-field]");
    if (!button) return;
    var target = lastText || document.querySelector("[data-canned-editor] [name=body]");
    if (target) insertAt(target, button.getAttribute("data-insert-field"));
  });

  // SMS: characters and segments (GSM-7: 160 / 153 per part; otherwise 70 / 67).
  var GSM = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXT = "^{}\\[~]|€";
  function segments(text) {
    var gsm = true, len = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (GSM.indexOf(c) >= 0) len += 1;
      else if (GSM_EXT.indexOf(c) >= 0) len += 2;
      else { gsm = false; break; }
    }
    if (!gsm) len = text.length;
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    return { length: len, parts: len === 0 ? 0 : (len <= single ? 1 : Math.ceil(len / multi)) };
  }
  function updateCounter() {
    var form = document.querySelector("[data-canned-editor]");
    if (!form) return;
    var counter = form.querySelector("[data-sms-counter]");
    var channel = form.querySelector("[name=channel]");
    var body = form.querySelector("[name=body]");
    if (!counter || !channel || !body) return;
    var sms = channel.value === "SMS";
    counter.hidden = !sms;
    var subject = form.querySelector("[name=subject]");
    if (subject) subject.closest(".field").hidden = sms;
    if (sms) {
      var s = segments(body.value);
      counter.textContent = s.length + " characters before merge fields are filled · " + s.parts + " SMS segment" + (s.parts === 1 ? "" : "s");
    }
  }
  document.addEventListener("input", updateCounter);
  document.addEventListener("change", updateCounter);
  document.addEventListener("DOMContentLoaded", updateCounter);

  // The picker: after the server's fragment is swapped in, copy it into the composer.
  function applyResults() {
    document.querySelectorAll("[data-canned-result]:not([data-applied])").forEach(function (result) {
      result.setAttribute("data-applied", "");
      var picker = result.closest("[data-canned-picker]");
      if (!picker) return;
      var body = document.querySelector(picker.getAttribute("data-body-target"));
      var subjectSel = picker.getAttribute("data-subject-target");
      var subject = subjectSel ? document.querySelector(subjectSel) : null;
      var subjectText = result.querySelector("[data-canned-subject]");
      var bodyText = result.querySelector("[data-canned-body]");
      if (subject && subjectText) {
        subject.value = subjectText.value;
        subject.dispatchEvent(new Event("input", { bubbles: true }));
      }
      if (body && bodyText) insertAt(body, bodyText.value);
    });
  }
  document.addEventListener("htmx:after:swap", applyResults);
  document.addEventListener("htmx:after:settle", applyResults);
})();
