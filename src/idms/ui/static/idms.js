/* iDMS web UI: the little the pages need beyond HTML (no inline scripts: the CSP forbids them).
 * - htmx requests carry the session's form token (X-CSRF-Token), read from <meta name="csrf-token">;
 * - a form with data-confirm asks before it is sent;
 * - the import wizard's upload: a file dropped on [data-dropzone] goes into its file input, and a
 *   file over the size limit (data-max-bytes) is refused before it is sent. */
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  function checkSize(form) {
    var input = form.querySelector('input[type="file"]');
    var shown = form.querySelector("[data-upload-error]");
    var limit = Number(form.dataset.maxBytes || 0);
    var file = input && input.files && input.files[0];
    var tooLarge = Boolean(file && limit && file.size > limit);
    if (shown) {
      shown.textContent = tooLarge ? "The file is larger than the " + form.dataset.maxText + " an upload may be: choose a smaller one." : "";
      shown.hidden = !tooLarge;
    }
    return !tooLarge;
  }
  function setUpDropzone(zone) {
    var form = zone.closest("form");
    var input = zone.querySelector('input[type="file"]');
    if (!form || !input) { return; }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        checkSize(form);
      }
    });
    input.addEventListener("change", function () { checkSize(form); });
    form.addEventListener("submit", function (event) {
      if (!checkSize(form)) { event.preventDefault(); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-dropzone]").forEach(setUpDropzone);
  });
})();
