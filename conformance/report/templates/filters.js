
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var total = document.querySelectorAll("tr.rule").length;
  function checked(name) {
    return Array.prototype.map.call(
      form.querySelectorAll("input[name=" + name + "]:checked"),
      function (e) { return e.value; });
  }
  function apply() {
    var statuses = checked("status"), cols = checked("backend");
    var disagree = form.querySelector("input[name=disagree]").checked;
    document.querySelectorAll("[data-col]").forEach(function (el) {
      el.hidden = cols.indexOf(el.getAttribute("data-col")) < 0;
    });
    // A family's heading spans the columns of it still shown.
    document.querySelectorAll("th[data-family]").forEach(function (th) {
      var n = 0;
      document.querySelectorAll("th[data-of]").forEach(function (c) {
        if (c.getAttribute("data-of") === th.getAttribute("data-family") && !c.hidden) { n += 1; }
      });
      th.hidden = n === 0;
      if (n > 0) { th.colSpan = n; }
    });
    var shown = 0;
    document.querySelectorAll("tr.rule").forEach(function (tr) {
      var seen = [], any = false;
      tr.querySelectorAll("td[data-col]").forEach(function (td) {
        if (cols.indexOf(td.getAttribute("data-col")) < 0) { return; }
        var s = td.getAttribute("data-status");
        if (statuses.indexOf(s) >= 0) { any = true; }
        if (s !== "not-run" && s !== "untestable" && seen.indexOf(s) < 0) { seen.push(s); }
      });
      var show = any && (!disagree || seen.length > 1);
      tr.hidden = !show;
      if (show) { shown += 1; }
    });
    document.querySelectorAll("tbody.rules").forEach(function (tb) {
      tb.hidden = !tb.querySelector("tr.rule:not([hidden])");
    });
    document.getElementById("shown").textContent = shown + " of " + total + " rules shown";
  }
  form.addEventListener("change", apply);
  document.addEventListener("keydown", function (ev) {
    var open = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (ev.key === "Escape" && open && open.classList.contains("drill")) { location.hash = "#matrix"; }
  });
  apply();
})();
