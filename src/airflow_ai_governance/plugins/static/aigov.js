// The pages' few behaviours: lifecycle decisions through the API, the audit chain badge, the
// live state of a review, and "Open inside Airflow" when a page is opened on its own.
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base") || "";
  var navRoute = document.body.getAttribute("data-nav-route") || "governance";

  var framed = window.top !== window;
  var openIn = document.querySelector("[data-open-in-airflow]");
  if (openIn && !framed) {
    var prefix = base.replace(/\/ai-governance$/, "");
    openIn.href = prefix + "/plugin/" + navRoute + window.location.pathname + window.location.search;
    openIn.hidden = false;
  }

  // Links into Airflow's own pages (target=_top). Airflow's iframe is sandboxed without
  // allow-top-navigation, so inside Airflow they are followed by Airflow's router instead: push the
  // address onto Airflow's history and tell the router (same origin), as its own links do.
  if (framed) {
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[target=_top]");
      if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
      try {
        var url = new URL(link.href, window.location.href);
        if (url.origin !== window.top.location.origin) return;
        window.top.history.pushState({}, "", url.pathname + url.search + url.hash);
        window.top.dispatchEvent(new PopStateEvent("popstate", { state: {} }));
        event.preventDefault();
      } catch (e) { /* not same origin: let the browser decide */ }
    });
  }

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  function detail(body) {
    if (!body || body.detail === undefined) return "";
    if (typeof body.detail === "string") return body.detail;
    return body.detail.map(function (e) { return (e.loc || []).join(".") + ": " + e.msg; }).join("; ");
  }

  document.querySelectorAll("form.decision").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = form.closest("section").querySelector(".form-error");
      var reason = form.querySelector("input[name=reason]");
      var button = form.querySelector("button");
      var body = { reason: reason ? reason.value : "" };
      if (form.dataset.to) body.to = form.dataset.to;
      button.disabled = true;
      fetch(form.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body),
      }).then(function (response) {
        if (response.ok) { window.location.reload(); return null; }
        return response.json().catch(function () { return {}; }).then(function (body) {
          error.textContent = "Refused (" + response.status + "): " + (detail(body) || response.statusText);
          error.hidden = false;
          button.disabled = false;
        });
      }).catch(function (err) {
        error.textContent = "Could not reach Airflow: " + err;
        error.hidden = false;
        button.disabled = false;
      });
    });
  });

  var badge = document.getElementById("verify-badge");
  if (badge) {
    fetch(badge.dataset.verifyUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (res) {
        var ok = res[0], body = res[1];
        if (!ok) { badge.textContent = "chain not verified: " + detail(body); badge.className = "badge warn"; return; }
        if (body.ok) {
          badge.textContent = "chain verified: " + body.checked + " events";
          badge.className = "badge good";
        } else if (body.first_bad_seq !== null && body.first_bad_seq !== undefined) {
          badge.textContent = "chain BROKEN at seq " + body.first_bad_seq;
          badge.className = "badge bad";
        } else {  // the registry differs from the chain, untrusted checkpoints, no audit key
          badge.textContent = "chain check FAILED: " + String(body.reason || "").slice(0, 120);
          badge.className = "badge bad";
        }
        badge.title = (body.reason || "every link checks") + " · verified " + body.verified_at + (body.cached ? " (cached)" : "");
      })
      .catch(function (err) { badge.textContent = "chain not verified: " + err; badge.className = "badge warn"; });
  }

  var live = document.getElementById("live");
  if (live && live.dataset.liveUrl) {
    var key = live.dataset.liveKey;
    window.setInterval(function () {
      fetch(live.dataset.liveUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (!body) return;
          var q = body.request;
          var now = q.status + "|" + q.level + "|" + q.approvers.join(",") + "|" + body.decisions.length;
          if (now !== key) window.location.reload();
        })
        .catch(function () { /* next tick */ });
    }, 10000);
  }
})();
