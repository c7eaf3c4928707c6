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
  // a section marked data-live="URL" refreshes its figures from the JSON at URL every few seconds
  function cells(values) {
    var tr = document.createElement("tr");
    values.forEach(function (v) { var td = document.createElement("td"); td.textContent = String(v); tr.appendChild(td); });
    return tr;
  }
  function refresh(section) {
    fetch(section.getAttribute("data-live"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; }).then(function (doc) {
        if (!doc) return;
        section.querySelectorAll("[data-key]").forEach(function (el) {
          var v = doc[el.getAttribute("data-key")], fixed = el.getAttribute("data-fixed");
          el.textContent = fixed ? Number(v).toFixed(Number(fixed)) : String(v);
        });
        var strata = section.querySelector("#strata"), days = section.querySelector("#days");
        if (strata) strata.replaceChildren.apply(strata, doc.strata.map(function (s) { return cells([s.value, s.invited, s.answered, s.rate]); }));
        if (days) days.replaceChildren.apply(days, doc.days.map(function (d) { return cells([d.day, d.answered, d.cumulative, d.rate + "%"]); }));
      }).catch(function () {});
  }
  document.querySelectorAll("[data-live]").forEach(function (section) {
    setInterval(function () { refresh(section); }, Number(section.getAttribute("data-every") || 3000));
  });
  window.smepulse = {save: save, refresh: refresh};
})();
