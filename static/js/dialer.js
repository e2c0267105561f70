// The power dialer: a call timer (started by the tel: link or its button; it fills the
// duration field unless the rep typed one) and outcome hotkeys (C N V B W press the button
// carrying data-hotkey, which posts the outcome form). Keys are ignored while typing in a
// field; Esc leaves the field.
(function () {
  "use strict";
  var started = null;
  var ticker = null;
  var typed = false;
  var submitting = false;

  function clock(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function elapsed() { return started ? Math.floor((Date.now() - started) / 1000) : 0; }
  function tick() {
    var out = document.querySelector("[data-call-timer]");
    if (out) out.textContent = clock(elapsed());
    var field = document.querySelector("[data-call-duration]");
    if (field && !typed && started) field.value = clock(elapsed());
  }
  function start() {
    if (started) return;
    started = Date.now();
    ticker = setInterval(tick, 1000);
    var toggle = document.querySelector("[data-call-timer-toggle]");
    if (toggle) toggle.textContent = "Stop timer";
    tick();
  }
  function stop() {
    if (!started) return;
    tick();
    clearInterval(ticker);
    ticker = null;
    started = null;
    var toggle = document.querySelector("[data-call-timer-toggle]");
    if (toggle) toggle.textContent = "Start timer";
  }

  document.addEventListener("click", function (evt) {
    if (evt.target.closest("[data-call-start]")) start();
    if (evt.target.closest("[data-call-timer-toggle]")) { if (started) stop(); else start(); }
  });
  document.addEventListener("input", function (evt) {
    if (evt.target.matches("[data-call-duration]")) typed = evt.target.value.trim() !== "";
  });
  document.addEventListener("submit", function (evt) {
    if (evt.target.id === "dial-form") { stop(); submitting = true; }
  });
  document.addEventListener("keydown", function (evt) {
    var target = evt.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing) {
      if (evt.key === "Escape") target.blur();
      return;
    }
    if (evt.ctrlKey || evt.metaKey || evt.altKey || evt.repeat) return;
    var key = (evt.key || "").toLowerCase();
    if (key.length !== 1) return;
    var button = document.querySelector('#dial-form [data-hotkey="' + key + '"]');
    if (!button || button.disabled) return;
    evt.preventDefault();
    if (submitting) return;  // one outcome per lead, however fast the keys come
    submitting = true;
    button.form.requestSubmit(button);
  });
})();
