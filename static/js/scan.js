// The packing screen: the scan field always has focus (a scanner types and
// presses Enter; nobody should need the mouse), and it is cleared after each scan.
(function () {
  "use strict";
  function input() { return document.querySelector("[data-scan-input]"); }
  function focus() {
    var el = input();
    var dialogOpen = document.querySelector("dialog[open]");
    if (el && !dialogOpen && document.activeElement !== el &&
        !(document.activeElement && /^(SELECT|TEXTAREA)$/.test(document.activeElement.tagName))) {
      el.focus();
    }
  }
  document.addEventListener("DOMContentLoaded", focus);
  document.addEventListener("htmx:after:swap", function () { var el = input(); if (el) { el.value = ""; el.focus(); } });
  document.addEventListener("click", function () { setTimeout(focus, 0); });
  document.addEventListener("keydown", function (evt) {
    // a scanner's first character goes to the field even if focus wandered
    if (evt.key.length === 1 && !evt.ctrlKey && !evt.metaKey && document.activeElement === document.body) focus();
  });
})();
