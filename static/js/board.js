// The pipeline board: drag a card to another column, or pick a stage in the
// card's menu (keyboard). Both submit the card's move form; the server answers
// with the moved card and the two column heads (hx-partial), or a dialog
// asking why a lead is lost, or the real board after a conflicting move.
(function () {
  "use strict";
  var pending = null; // {card, from, index, stage} of the move awaiting an answer
  var keyboardLead = null; // the lead last moved with its stage menu
  var refocus = null; // ...whose menu gets the focus back once its card is re-rendered

  function moveForm(card) { return card.querySelector("form.move-form"); }

  function revert() {
    if (!pending) return;
    var p = pending;
    pending = null;
    var ref = p.from.children[p.index] || null;
    p.from.insertBefore(p.card, ref);
    var select = moveForm(p.card).querySelector("select");
    select.value = p.stage;
  }

  function init(root) {
    if (!window.Sortable) return;
    root.querySelectorAll(".board__cards").forEach(function (list) {
      if (list._sortable) return;
      list._sortable = window.Sortable.create(list, {
        group: "leads",
        draggable: ".lead-card",
        filter: "select, option, button",
        preventOnFilter: false,
        animation: 120,
        ghostClass: "is-ghost",
        onEnd: function (evt) {
          if (evt.from === evt.to) return; // order within a column is by recency
          var form = moveForm(evt.item);
          pending = { card: evt.item, from: evt.from, index: evt.oldIndex,
                      stage: form.querySelector("[name=from_stage]").value };
          form.querySelector("select").value = evt.to.dataset.stage;
          form.requestSubmit();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var board = document.getElementById("board");
    if (board) init(board);
  });

  // The keyboard path: remember where the card was so Cancel can undo nothing.
  document.addEventListener("change", function (evt) {
    var select = evt.target;
    if (!select.matches || !select.matches(".move-form select")) return;
    var card = select.closest(".lead-card");
    pending = { card: card, from: card.parentNode,
                index: Array.prototype.indexOf.call(card.parentNode.children, card),
                stage: card.querySelector("[name=from_stage]").value };
    keyboardLead = card.dataset.lead;
  }, true);

  // After a keyboard move the card is re-rendered at the top of its new column: give
  // the focus back to its stage menu, so the rep keeps their place.
  function restoreFocus() {
    if (!refocus) return;
    var menu = document.getElementById("stage-" + refocus);
    if (menu) { refocus = null; menu.focus(); }
  }
  document.addEventListener("leadMoved", function (evt) {
    var moved = evt.detail && evt.detail.id;
    if (moved && moved === keyboardLead) {
      keyboardLead = null;
      refocus = moved;
      setTimeout(restoreFocus, 0); // in case the swap came before this event
    }
  });

  document.addEventListener("htmx:after:swap", function () {
    var board = document.getElementById("board");
    if (board) init(board);
    restoreFocus();
    var dialog = document.querySelector("dialog[data-autoshow]");
    if (dialog && !dialog.open) {
      dialog.removeAttribute("data-autoshow");
      dialog.showModal();
      var field = dialog.querySelector("textarea");
      if (field) field.focus();
    }
  });

  // A finished move (or a refreshed board) settles the pending state.
  document.addEventListener("htmx:after:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    var status = ctx && ctx.response && ctx.response.status;
    if (status === 200 || status === 409) pending = null;
  });

  function cancelDialog(dialog) {
    if (dialog.open) dialog.close();
    dialog.remove();
    revert();
  }
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-action=cancel-move]");
    if (button) cancelDialog(button.closest("dialog"));
  });
  document.addEventListener("cancel", function (evt) { // Escape on the dialog
    if (evt.target.id === "lost-dialog") { evt.preventDefault(); cancelDialog(evt.target); }
  }, true);
})();
