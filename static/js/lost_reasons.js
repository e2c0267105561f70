// The lost dialog's suggested reasons: a click puts the reason in the form's reason field
// (still free text). Delegated, so a dialog swapped in later works too.
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var pick = evt.target.closest && evt.target.closest("[data-lost-reason]");
    if (!pick) return;
    var form = pick.closest("form");
    var field = form && form.querySelector('[name="lost_reason"]');
    if (!field) return;
    field.value = pick.getAttribute("data-lost-reason");
    field.focus();
  });
})();
