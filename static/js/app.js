// Small, CSP-friendly behaviour for every page (no inline scripts, no eval).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // CSRF for every htmx request (Flask-WTF reads X-CSRFToken).
  document.addEventListener("htmx:config:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    if (ctx && ctx.request && ctx.request.headers) {
      ctx.request.headers["X-CSRFToken"] = csrfToken();
    }
  });

  // Toasts: the server sends HX-Trigger: {"toast": {"message": "...", "level": "success"}}.
  function showToast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var el = document.createElement("div");
    el.className = "toast" + (level === "error" ? " toast--error" : "");
    el.setAttribute("role", level === "error" ? "alert" : "status");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () {
      el.classList.add("is-leaving");
      setTimeout(function () { el.remove(); }, 350);
    }, level === "error" ? 7000 : 3500);
  }
  window.crmToast = showToast;
  document.addEventListener("toast", function (evt) {
    var d = evt.detail || {};
    showToast(d.message || d.value, d.level);
  });

  // A network failure must not pass silently.
  document.addEventListener("htmx:error", function (evt) {
    var status = evt.detail && evt.detail.ctx && evt.detail.ctx.response && evt.detail.ctx.response.status;
    if (!status) showToast("The server could not be reached. Check your connection and try again.", "error");
  });

  // Select-on-focus for copyable fields (invite links, payment links).
  document.addEventListener("focusin", function (evt) {
    if (evt.target.matches && evt.target.matches("[data-select-on-focus]")) evt.target.select();
  });

  // "/" focuses the header search; Escape closes its results.
  document.addEventListener("keydown", function (evt) {
    var search = document.getElementById("global-q");
    if (!search) return;
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (evt.key === "/" && !typing) { evt.preventDefault(); search.focus(); search.select(); }
    if (evt.key === "Escape" && document.activeElement.closest && document.activeElement.closest(".global-search")) {
      document.getElementById("global-results").innerHTML = "";
      search.blur();
    }
    if (evt.key === "ArrowDown" && document.activeElement === search) {
      var first = document.querySelector("#global-results .search-results__item");
      if (first) { evt.preventDefault(); first.focus(); }
    }
  });
  document.addEventListener("click", function (evt) {
    var box = document.getElementById("global-results");
    if (box && !evt.target.closest(".global-search")) box.innerHTML = "";
  });

  // A stage menu asks for a lost reason only when Lost or Bogus is picked (without
  // this script the field is simply always there).
  function syncReason(select) {
    var field = document.getElementById(select.dataset.reasonField);
    if (!field) return;
    field.hidden = !(select.value === "LOST" || select.value === "BOGUS");
    document.querySelectorAll('[data-reasons-for="' + field.id + '"]').forEach(function (picks) {
      picks.hidden = field.hidden;
    });
  }
  function syncReasons() {
    document.querySelectorAll("select[data-reason-field]").forEach(syncReason);
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("select[data-reason-field]")) syncReason(evt.target);
  });
  document.addEventListener("DOMContentLoaded", syncReasons);
  document.addEventListener("htmx:after:swap", syncReasons);

  // Flash messages fade after a while; errors stay.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".flashes .alert:not(.alert--error)").forEach(function (el) {
      setTimeout(function () { el.remove(); }, 6000);
    });
  });
})();
