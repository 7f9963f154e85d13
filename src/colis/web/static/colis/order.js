/* Order page and fulfill items: scan-to-verify, the detected carrier, the packing slip after
   shipping. Keyboard only; no sound. */
(function () {
  "use strict";

  function say(box, text, tone) {
    box.textContent = text;
    box.className = "scan-message " + tone;
  }

  function norm(value) { return (value || "").trim().toUpperCase(); }

  function setupScan(form) {
    var start = form.querySelector("[data-scan-start]");
    var input = form.querySelector("[data-scan]");
    var box = document.getElementById("scan-message");
    if (!start || !input || !box) { return; }
    var rows = Array.prototype.slice.call(form.querySelectorAll("tr[data-line]"));

    start.addEventListener("click", function () {
      rows.forEach(function (row) { row.querySelector("input.qty").value = "0"; row.classList.remove("counted"); });
      input.hidden = false;
      form.classList.add("scanning");
      say(box, "", "");
      input.focus();
    });

    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      var code = norm(input.value);
      input.value = "";
      if (!code) { return; }
      var row = rows.find(function (r) {
        return norm(r.dataset.sku) === code || (r.dataset.barcode && norm(r.dataset.barcode) === code);
      });
      if (!row) {
        say(box, input.dataset.msgWrong + " " + code, "error");
        input.classList.add("refused");
        setTimeout(function () { input.classList.remove("refused"); }, 600);
        return;
      }
      var qty = row.querySelector("input.qty");
      var have = parseInt(qty.value || "0", 10) || 0;
      var max = parseInt(row.dataset.remaining, 10) || 0;
      if (have >= max) {
        say(box, input.dataset.msgFull + " " + row.dataset.sku + " (" + max + ")", "error");
        return;
      }
      qty.value = String(have + 1);
      row.classList.toggle("counted", have + 1 === max);
      var all = rows.every(function (r) {
        return (parseInt(r.querySelector("input.qty").value, 10) || 0) === (parseInt(r.dataset.remaining, 10) || 0);
      });
      say(box, all ? input.dataset.msgDone : input.dataset.msgOk + " " + row.dataset.sku + " " + (have + 1) + "/" + max, "ok");
    });
  }

  function setupCarrier(form) {
    var select = form.querySelector("[data-carrier-select]");
    if (!select) { return; }
    select.addEventListener("change", function () { select.dataset.touched = "1"; });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var target = event.detail && event.detail.target;
      var found = document.getElementById("carrier-detected");
      if (!found || (target && target.id !== "carrier-detected" && target !== found)) { return; }
      if (select.dataset.touched) { return; }
      var code = found.dataset.carrier || "";
      if (Array.prototype.some.call(select.options, function (o) { return o.value === code; })) {
        select.value = code;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-fulfill]");
    if (form) { setupScan(form); setupCarrier(form); }
    var open = document.querySelector("a[data-open-now]");
    if (open) { window.open(open.href, "_blank", "noopener"); }
    var error = document.getElementById("error");
    if (error) { error.setAttribute("tabindex", "-1"); error.focus(); }
  });
})();
