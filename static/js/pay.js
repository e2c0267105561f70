// The customer's invoice page: a print button, and sign-form errors that go away once
// they are fixed (no inline script under the CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-print]");
    if (button) { evt.preventDefault(); window.print(); }
  });

  // A field marked data-clears-error drops its error message when it is fixed: the box
  // ticked, or the name typed. The server still checks everything on submit.
  function fixed(input) {
    return input.type === "checkbox" ? input.checked : input.value.trim().length >= 2;
  }

  function clearError(evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("[data-clears-error]") || !fixed(input)) { return; }
    var field = input.closest(".field");
    if (!field) { return; }
    field.classList.remove("field--error");
    field.querySelectorAll(".error").forEach(function (message) {
      var ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && id !== message.id;
      });
      if (ids.length) { input.setAttribute("aria-describedby", ids.join(" ")); }
      else { input.removeAttribute("aria-describedby"); }
      message.remove();
    });
  }

  document.addEventListener("change", clearError);
  document.addEventListener("input", clearError);
})();
