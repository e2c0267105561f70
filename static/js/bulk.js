// Bulk selection on lists: a count, select-all, and the submit button enabled
// only with a selection. The server answers with a message; the list reloads.
(function () {
  "use strict";
  function update() {
    var items = document.querySelectorAll("[data-bulk-item]");
    var checked = document.querySelectorAll("[data-bulk-item]:checked").length;
    var count = document.querySelector("[data-bulk-count]");
    if (count) count.textContent = checked + " selected";
    var submit = document.querySelector("[data-bulk-submit]");
    if (submit) submit.disabled = checked === 0;
    var all = document.querySelector("[data-select-all]");
    if (all) all.checked = items.length > 0 && checked === items.length;
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.matches("[data-select-all]")) {
      document.querySelectorAll("[data-bulk-item]").forEach(function (box) { box.checked = evt.target.checked; });
    }
    if (evt.target.matches("[data-select-all], [data-bulk-item]")) update();
  });
  document.addEventListener("leadsChanged", function () {
    setTimeout(function () { window.location.reload(); }, 900);
  });
  document.addEventListener("DOMContentLoaded", update);
  document.addEventListener("htmx:after:swap", update);
})();
