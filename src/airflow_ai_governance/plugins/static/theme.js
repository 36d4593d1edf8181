// Follow Airflow's colour mode: the parent page's <html class="dark|light"> when shown inside
// Airflow (same origin), else Airflow's stored choice ("theme" in localStorage), else the system's.
(function () {
  "use strict";
  var root = document.documentElement;
  function airflowTheme() {
    try {
      if (window.parent !== window) {
        var cls = window.parent.document.documentElement.classList;
        if (cls.contains("dark")) return "dark";
        if (cls.contains("light")) return "light";
      }
    } catch (e) { /* another origin: fall through */ }
    try {
      var stored = window.localStorage.getItem("theme");
      if (stored === "dark" || stored === "light") return stored;
    } catch (e) { /* storage blocked */ }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function apply() { root.setAttribute("data-theme", airflowTheme()); }
  apply();
  try {
    if (window.parent !== window) {
      new MutationObserver(apply).observe(window.parent.document.documentElement, {
        attributes: true, attributeFilter: ["class", "style"],
      });
    }
  } catch (e) { /* not same origin */ }
  window.addEventListener("storage", apply);
  if (window.matchMedia) {
    var mq = window.matchMedia("(prefers-color-scheme: dark)");
    if (mq.addEventListener) mq.addEventListener("change", apply);
  }
})();
