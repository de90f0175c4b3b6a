// The upload page's drop zone: dropping a file onto it fills the ordinary file input, so the form
// submits exactly as it does without JavaScript. A file over the size limit is refused here, before
// it is sent; the server refuses it too (413) for a browser without this script.
(function () {
  "use strict";

  function megabytes(bytes) {
    if (bytes < 1024 * 1024) return Math.max(1, Math.ceil(bytes / 1024)) + " KB";
    return (Math.ceil(bytes / 1024 / 1024 * 100) / 100) + " MB";
  }

  function setUp(zone) {
    var input = zone.querySelector("input[type=file]");
    var status = zone.querySelector("[data-dropzone-status]");
    var form = zone.closest("form");
    var submit = form && form.querySelector("[data-upload-submit]");
    var limit = Number(zone.getAttribute("data-max-bytes")) || 0;
    var limitLabel = zone.getAttribute("data-max-label") || "";
    if (!input || !status || !form) return;

    function check() {
      var file = input.files && input.files[0];
      var message = "";
      if (file && limit && file.size > limit) {
        message = "The file is " + megabytes(file.size) + "; the most an upload may be is " +
          limitLabel + ". Compress it (.csv.gz or .zip) or split it into smaller files.";
      }
      input.setCustomValidity(message);
      zone.classList.toggle("is-invalid", Boolean(message));
      zone.classList.toggle("has-file", Boolean(file));
      status.textContent = message || (file ? file.name + " (" + megabytes(file.size) + ")" : "");
    }

    zone.addEventListener("dragenter", function (event) {
      event.preventDefault();
      zone.classList.add("is-dragover");
    });
    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("is-dragover");
    });
    zone.addEventListener("dragleave", function (event) {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("is-dragover");
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("is-dragover");
      var files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) return;
      var chosen = new DataTransfer();
      chosen.items.add(files[0]); // one export per upload
      input.files = chosen.files;
      check();
      input.focus();
    });
    input.addEventListener("change", check);
    form.addEventListener("submit", function (event) {
      check();
      if (!form.checkValidity()) {
        event.preventDefault();
        form.reportValidity();
        return;
      }
      if (submit) {
        submit.textContent = "Uploading…";
        submit.setAttribute("aria-disabled", "true");
      }
    });
    check();
  }

  // A file dropped beside the zone would make the browser leave the page to show it.
  document.addEventListener("dragover", function (event) {
    if (document.querySelector("[data-dropzone]")) event.preventDefault();
  });
  document.addEventListener("drop", function (event) {
    if (document.querySelector("[data-dropzone]")) event.preventDefault();
  });

  document.querySelectorAll("[data-dropzone]").forEach(setUp);
})();
