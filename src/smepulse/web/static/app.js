// smepulse: the little script the pages use (no build, no CDN). Forms work without it; with it, a form marked
// data-autosave saves each block as the respondent answers (POST with the CSRF token) and shows "saved".
(function () {
  "use strict";
  var last = Date.now();
  function save(form, block) {
    var data = new FormData(form);
    data.set("action", "save");
    if (block) data.set("block", block);
    data.set("seconds", String((Date.now() - last) / 1000));
    last = Date.now();
    return fetch(form.getAttribute("data-autosave"), {
      method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
      headers: {"X-CSRF-Token": data.get("csrf_token") || "", "Accept": "application/json"}
    }).then(function (r) { return r.json(); }).then(function (doc) {
      var s = form.querySelector("[data-status]");
      if (s) s.textContent = doc.message || "";
      return doc;
    }).catch(function () {});
  }
  document.addEventListener("change", function (ev) {
    var form = ev.target.form;
    if (!form || !form.hasAttribute("data-autosave")) return;
    var fs = ev.target.closest("fieldset[data-block]");
    save(form, fs ? fs.getAttribute("data-block") : "");
  });
  // a select marked data-autosubmit submits its form when changed
  document.addEventListener("change", function (ev) {
    if (ev.target.hasAttribute && ev.target.hasAttribute("data-autosubmit")) ev.target.form.submit();
  });
  // the wave page's live response rate is htmx's (static/vendor/htmx, hx-trigger on its section)
  window.smepulse = {save: save};
})();
