// Inbox queue keyboard: j/k move between rows, Enter opens the lead page, e marks done,
// r opens the lead page's composer for the row's channel. Keys are ignored while typing in a
// field (a checked filter or row box keeps the keys working).
(function () {
  "use strict";
  var current = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-queue-row]")); }
  function select(index) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) { row.classList.toggle("is-selected", i === current); });
    all[current].scrollIntoView({ block: "nearest" });
  }
  function typing(el) {
    if (!el || !el.closest) return false;
    if (el.closest("textarea, select, [contenteditable]")) return true;
    return el.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset)$/i.test(el.type);
  }
  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (typing(evt.target)) return;
    if (!document.querySelector("[data-inbox-queue]")) return;
    var row = rows()[current];
    if (evt.key === "j") { select(current + 1); evt.preventDefault(); }
    else if (evt.key === "k") { select(current - 1); evt.preventDefault(); }
    else if (evt.key === "Enter" && row && row.dataset.openUrl) { window.location.href = row.dataset.openUrl; }
    else if (evt.key === "r" && row && row.dataset.replyUrl) { window.location.href = row.dataset.replyUrl; }
    else if (evt.key === "e" && row) {
      var done = row.querySelector("[data-queue-done]");
      if (done) { done.click(); evt.preventDefault(); }
    }
  });
  document.addEventListener("htmx:after:swap", function () { if (current >= 0) select(current); });
})();
