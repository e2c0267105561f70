// The packing screen: the scan field always has focus (a scanner types and
// presses Enter; nobody should need the mouse). It is emptied as soon as a scan
// is sent, so the next scan can be typed while the answer comes back.
(function () {
  "use strict";
  function input() {
    var fields = document.querySelectorAll("[data-scan-input]");
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].closest("[hidden]")) return fields[i];
    }
    return null;
  }
  function focus() {
    var el = input();
    var busy = document.activeElement && /^(SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (el && !busy && !document.querySelector("dialog[open]") && document.activeElement !== el) el.focus();
  }
  document.addEventListener("DOMContentLoaded", focus);
  document.addEventListener("htmx:before:request", function (evt) {
    var form = evt.target.closest && evt.target.closest("form");
    var field = form && form.querySelector("[data-scan-keep]");
    if (field) field.value = "";  // the request already carries the code
  });
  document.addEventListener("htmx:after:swap", function () { setTimeout(focus, 0); });
  document.addEventListener("click", function () { setTimeout(focus, 0); });
  document.addEventListener("keydown", function (evt) {
    // a scanner's first character goes to the field even if focus wandered
    if (evt.key.length === 1 && !evt.ctrlKey && !evt.metaKey && document.activeElement === document.body) focus();
  });
})();
