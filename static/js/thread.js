// The conversation composer (templates/inbox/thread/_composer.html): its tabs (click, or
// arrow keys on the tab list) and Ctrl+Enter (or Cmd+Enter) to send the open form. Delegated
// from the document, so it works on every re-render of the card. No inline script (CSP).
(function () {
  "use strict";

  function select(tab, focus) {
    var list = tab.closest("[role=tablist]");
    var composer = tab.closest("[data-composer]");
    if (!list || !composer) return;
    list.querySelectorAll("[role=tab]").forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      t.classList.toggle("is-active", on);
      var panel = composer.querySelector("#" + t.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    if (focus) tab.focus();
  }

  // A link to a composer field (the inbox's "r": /leads/<id>#sms-body) opens its tab once the
  // card has loaded, and puts the cursor there (once per page).
  var hashDone = false;
  document.addEventListener("htmx:after:swap", function () {
    if (hashDone || !location.hash) return;
    var el = document.getElementById(location.hash.slice(1));
    var panel = el && el.closest("[data-composer] [role=tabpanel]");
    if (!panel) return;
    hashDone = true;
    var tab = document.getElementById(panel.getAttribute("aria-labelledby"));
    if (tab) select(tab, false);
    if (el.focus) el.focus();
  });

  document.addEventListener("click", function (evt) {
    var tab = evt.target.closest && evt.target.closest("[data-composer] [role=tab]");
    if (tab) select(tab, false);
  });

  document.addEventListener("keydown", function (evt) {
    var tab = evt.target.closest && evt.target.closest("[data-composer] [role=tab]");
    if (tab && (evt.key === "ArrowRight" || evt.key === "ArrowLeft")) {
      var tabs = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[role=tab]"));
      var next = tabs[(tabs.indexOf(tab) + (evt.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      select(next, true);
      evt.preventDefault();
      return;
    }
    if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey)) {
      var form = evt.target.closest && evt.target.closest("form[data-ctrl-enter]");
      if (form && form.requestSubmit) {
        evt.preventDefault();
        form.requestSubmit();
      }
    }
  });
})();
