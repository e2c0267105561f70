// The customer's printable invoice: a print button (no inline script under the CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-print]");
    if (button) { evt.preventDefault(); window.print(); }
  });
})();
