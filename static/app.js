// Session Console page behaviour. Loaded on every page after htmx; no inline
// scripts exist anywhere (CSP script-src 'self'). Every feature here is an
// enhancement: all pages work as plain HTML forms without it.
(function () {
  "use strict";

  // Show the expiry warning this long before the session's deadline.
  var WARN_BEFORE_MS = 2 * 60 * 1000;
  // Other tabs of the same session learn about a new deadline through this key.
  var DEADLINE_KEY = "sessionconsole.deadline";
  // Guards against reloading over and over for one deadline.
  var RELOADED_KEY = "sessionconsole.reloadedFor";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // (a) Request headers for htmx requests: the CSRF token, and a marker for
  // background requests (polling, SSE) that must not count as user activity.
  document.addEventListener("htmx:configRequest", function (evt) {
    var token = csrfToken();
    if (token) {
      evt.detail.headers["X-CSRF-Token"] = token;
    }
    var elt = evt.detail.elt;
    if (elt && elt.closest && elt.closest("[data-background]")) {
      evt.detail.headers["X-Background"] = "1";
    }
    // A workspace section that toggled says whether it is now open.
    if (elt && elt.tagName === "DETAILS") {
      evt.detail.parameters["open"] = String(elt.open);
    }
  });

  // (a2) Upload progress: forms with data-upload-progress show how much of
  // the file has been sent in their <progress> while htmx uploads it.
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = evt.target && evt.target.closest ? evt.target.closest("form[data-upload-progress]") : null;
    var bar = form && form.querySelector("progress");
    var d = evt.detail;
    if (!bar || !d || !d.lengthComputable || !d.total) {
      return;
    }
    bar.hidden = false;
    bar.value = Math.round((d.loaded / d.total) * 100);
    bar.textContent = bar.value + "%";
  });

  // (b) Session-expiry warning.
  //
  // <body data-session-deadline> is the deadline in unix ms by the server's
  // clock; <body data-server-now> is the server's clock when it rendered the
  // page. Their difference to our clock is the skew we correct for, so a
  // browser whose clock is off neither warns too early nor reloads in a loop.
  var session = {
    deadline: 0, // server clock, unix ms; 0 = no session on this page
    skew: 0, // server clock minus our clock, ms
    timer: 0,
    ticker: 0,
  };

  function serverNow() {
    return Date.now() + session.skew;
  }

  function warningEl() {
    return document.getElementById("session-warning");
  }

  function formatRemaining(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var m = Math.floor(s / 60);
    s = s % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function renderCountdown() {
    var out = document.getElementById("session-warning-countdown");
    if (out) {
      out.textContent = formatRemaining(session.deadline - serverNow());
    }
  }

  function showWarning() {
    var el = warningEl();
    if (!el) {
      return;
    }
    renderCountdown();
    if (el.hidden) {
      el.hidden = false;
    }
    if (!session.ticker) {
      session.ticker = window.setInterval(renderCountdown, 1000);
    }
  }

  function hideWarning() {
    var el = warningEl();
    if (el) {
      el.hidden = true;
    }
    if (session.ticker) {
      window.clearInterval(session.ticker);
      session.ticker = 0;
    }
  }

  function expire() {
    // Reload once per deadline: the server then shows the login page with the
    // reason the session ended, or the page again if another tab refreshed it.
    var marker = String(session.deadline);
    try {
      if (window.sessionStorage.getItem(RELOADED_KEY) === marker) {
        return;
      }
      window.sessionStorage.setItem(RELOADED_KEY, marker);
    } catch (e) {
      // Storage may be disabled; reloading once is still right.
    }
    window.location.reload();
  }

  // schedule re-arms the single timer for whatever comes next: the warning or
  // the deadline itself.
  function schedule() {
    if (session.timer) {
      window.clearTimeout(session.timer);
      session.timer = 0;
    }
    if (!session.deadline) {
      hideWarning();
      return;
    }
    var left = session.deadline - serverNow();
    if (left <= 0) {
      hideWarning();
      expire();
      return;
    }
    if (left <= WARN_BEFORE_MS) {
      showWarning();
      session.timer = window.setTimeout(schedule, left);
    } else {
      hideWarning();
      // Browsers clamp long timeouts; waking up early only re-schedules.
      session.timer = window.setTimeout(schedule, Math.min(left - WARN_BEFORE_MS, 60 * 60 * 1000));
    }
  }

  function setDeadline(ms, broadcast) {
    if (!isFinite(ms) || ms <= 0 || ms === session.deadline) {
      return;
    }
    session.deadline = ms;
    if (broadcast) {
      try {
        window.localStorage.setItem(DEADLINE_KEY, String(ms));
      } catch (e) {
        // Other tabs will learn on their next request.
      }
    }
    schedule();
  }

  function initSession() {
    var body = document.body;
    var deadline = Number(body.getAttribute("data-session-deadline"));
    if (!deadline) {
      return;
    }
    var now = Number(body.getAttribute("data-server-now"));
    if (now) {
      session.skew = now - Date.now();
    }
    setDeadline(deadline, false);
  }

  // After any htmx response: a new deadline from the server (the refresh
  // button, or user activity that slid it) moves the warning out of the way.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    if (!xhr || !session.deadline) {
      return;
    }
    var header = xhr.getResponseHeader("X-Session-Deadline");
    if (header) {
      setDeadline(Number(header), true);
    }
    // A failed refresh means the session is already gone: let the server say why.
    var elt = evt.detail.elt;
    if (evt.detail.failed && elt && elt.closest && elt.closest("#session-warning")) {
      window.location.reload();
    }
  });

  // (b2) The store-unreachable banner. Live updates (polling) that get a 503
  // or no answer show it; the next answered one hides it. htmx does not swap
  // error responses, so the page keeps its last good figures meanwhile.
  function storeBanner(show) {
    var el = document.getElementById("store-banner");
    if (el && el.hidden === show) {
      el.hidden = !show;
    }
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    if (xhr && xhr.status === 503) {
      storeBanner(true);
    }
  });
  document.addEventListener("htmx:sendError", function () {
    storeBanner(true);
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail && evt.detail.successful) {
      storeBanner(false);
    }
  });

  // (b3) Forms inside [data-swap-errors] show their refusals (4xx: a reason
  // missing, a wrong password, an expired preview) in their target instead
  // of dropping them, as htmx does by default.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    var elt = evt.detail && evt.detail.elt;
    if (xhr && xhr.status >= 400 && xhr.status < 500 && elt && elt.closest && elt.closest("[data-swap-errors]")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // (b4) Links with data-clear="#id" empty that element (a panel's Cancel)
  // instead of navigating; without JavaScript they are plain links.
  document.addEventListener("click", function (evt) {
    var link = evt.target && evt.target.closest ? evt.target.closest("a[data-clear]") : null;
    if (!link) {
      return;
    }
    var target = document.querySelector(link.getAttribute("data-clear"));
    if (target) {
      evt.preventDefault();
      target.textContent = "";
    }
  });

  // (b5) Buttons with data-copy="#id" copy that field's value (a resume
  // link shown once); without JavaScript the field is selectable text.
  document.addEventListener("click", function (evt) {
    var btn = evt.target && evt.target.closest ? evt.target.closest("button[data-copy]") : null;
    var field = btn && document.querySelector(btn.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    field.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(function () {
        btn.textContent = "Copied";
      });
    }
  });

  // Another tab of this session got a new deadline.
  window.addEventListener("storage", function (evt) {
    if (evt.key === DEADLINE_KEY && evt.newValue && session.deadline) {
      setDeadline(Number(evt.newValue), false);
    }
  });

  // (c) Confirmation for forms (or their submit buttons) carrying
  // data-confirm. Runs in the capture phase so that a cancelled submit never
  // reaches htmx's own listener on the form.
  document.addEventListener(
    "submit",
    function (evt) {
      var form = evt.target;
      if (!(form instanceof HTMLFormElement)) {
        return;
      }
      var submitter = evt.submitter;
      var message =
        (submitter && submitter.getAttribute && submitter.getAttribute("data-confirm")) ||
        form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        evt.preventDefault();
        evt.stopPropagation();
      }
    },
    true
  );

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initSession);
  } else {
    initSession();
  }
})();
