// Patron console: small enhancements only; every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // The language menu takes effect on choice; its button stays for keyboards and no-script use.
  document.querySelectorAll("select.auto-submit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Forms that must not be sent twice (a redemption, an adjustment) disable their button once sent.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });
});
