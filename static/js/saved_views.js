// A list's filters as the address bar shows them: a list that changes its filters in place
// (htmx with hx-push-url, the inbox) has moved on since the page was served. "Save view"
// saves them, and a link marked data-follow-filters (the CSV) carries them. Without this
// script both use the filters the page was served with.
(function () {
  "use strict";
  if (window.savedViewsReady) return;
  window.savedViewsReady = true;
  function filters() { return window.location.search.replace(/^\?/, ""); }
  document.addEventListener("submit", function (evt) {
    var field = evt.target.querySelector && evt.target.querySelector("[data-saved-view-query]");
    if (field) field.value = filters();
  }, true);
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("a[data-follow-filters]");
    if (link) link.href = link.href.split("?")[0] + (filters() ? "?" + filters() : "");
  }, true);
})();
