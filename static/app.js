/*
 * app.js: progressive enhancement for the server-rendered admin pages.
 *
 * Plain ES2017, no build step, no dependencies (Chart.js is used when loaded).
 * Every behaviour is bound by a data attribute and is a no-op on pages without it;
 * each one is set up inside its own try/catch so one failure never stops the rest.
 *
 *   Session tokens   same-origin links/forms get a fresh App Bridge `id_token`;
 *                    window.App.authFetch() sends `Authorization: Bearer …`
 *   [data-progress-url]          poll a JSON progress endpoint every second; page-wide
 *                                [data-progress-count=KEY], [data-progress-summary],
 *                                [data-progress-failures], [data-progress-when-failed]
 *   [data-copy]                  copy text to the clipboard
 *   [data-modal-open|close]      open/close <dialog class="p-modal">; [data-open-on-load];
 *                                focus stays inside an open modal, Escape closes it
 *   [data-confirm]               a link or GET form to a confirm page: its
 *                                [data-confirm-modal] box is fetched and shown as a modal
 *   [data-bulk-table]            select-all / count / "select all matching" / bulk actions
 *   canvas[data-chart]           Chart.js line or bar chart from a JSON <script>
 *   .p-dropzone                  drag & drop onto a file input
 *   [data-autosubmit], [data-autosubmit-debounce]   submit filters on change / typing
 *   [data-toast]                 auto-dismiss flash toasts (App Bridge toast when present)
 *   [data-unit-of=SELECT]        a field's unit shown for the select's current value
 *   form[data-save-bar]          "Unsaved changes" bar (App Bridge's inside the admin)
 */
(function () {
  "use strict";

  var LOG_PREFIX = "[app]";

  function logError(where, err) {
    // console.error keeps the stack; the prefix makes our errors easy to grep in logs.
    console.error(LOG_PREFIX, where, err);
  }

  /** Wrap an event handler so an exception is logged instead of escaping. */
  function guarded(where, fn) {
    return function () {
      try {
        var result = fn.apply(this, arguments);
        if (result && typeof result.catch === "function") {
          result.catch(function (err) { logError(where, err); });
        }
        return result;
      } catch (err) {
        logError(where, err);
        return undefined;
      }
    };
  }

  function $all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  function locale() {
    return document.documentElement.lang || undefined;
  }

  function formatNumber(n, maxFractionDigits) {
    return new Intl.NumberFormat(locale(), {
      maximumFractionDigits: maxFractionDigits === undefined ? 0 : maxFractionDigits,
    }).format(n);
  }

  // ---------------------------------------------------------------------------
  // Session tokens (App Bridge)
  // ---------------------------------------------------------------------------

  /** True when the App Bridge CDN script has loaded and can mint session tokens. */
  function hasAppBridge() {
    return !!(window.shopify && typeof window.shopify.idToken === "function");
  }

  /** The token the server put in <meta name="session-token">, if any. */
  function metaToken() {
    var meta = document.querySelector('meta[name="session-token"]');
    return meta && meta.content ? meta.content : null;
  }

  /** A fresh session token from App Bridge, else the server-provided one, else null. */
  async function sessionToken() {
    if (hasAppBridge()) {
      return await window.shopify.idToken();
    }
    return metaToken();
  }

  function isSameOrigin(url) {
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch (err) {
      return false;
    }
  }

  /** `url` with its `id_token` query parameter replaced (or removed when token is null). */
  function withIdToken(url, token) {
    var u = new URL(url, window.location.href);
    if (token) {
      u.searchParams.set("id_token", token);
    } else {
      u.searchParams.delete("id_token");
    }
    return u.toString();
  }

  /**
   * Navigate to `url`, carrying a fresh session token when App Bridge is present.
   * Used for links, progress redirects and reloads: a token in the current URL may
   * already have expired (they live one minute).
   */
  async function navigate(url) {
    var target = url;
    if (hasAppBridge() && isSameOrigin(url)) {
      try {
        target = withIdToken(url, await window.shopify.idToken());
      } catch (err) {
        logError("navigate: idToken", err);
      }
    }
    window.location.assign(target);
  }

  /**
   * fetch() with `Authorization: Bearer <session token>` for same-origin URLs.
   *
   * Shopify's contract: a 401 carrying `X-Shopify-Retry-Invalid-Session-Request: 1`
   * means "token expired/invalid, get a new one and try again". We retry once, and only
   * when App Bridge can mint a fresh token (the <meta> token would just fail again).
   * The token is never sent to other origins.
   */
  async function authFetch(url, options) {
    var opts = Object.assign({}, options || {});
    var sameOrigin = isSameOrigin(url);

    async function attempt() {
      var headers = new Headers(opts.headers || {});
      if (sameOrigin) {
        var token = await sessionToken();
        if (token) headers.set("Authorization", "Bearer " + token);
      }
      if (!headers.has("Accept")) headers.set("Accept", "application/json");
      return fetch(url, Object.assign({}, opts, { headers: headers }));
    }

    var response = await attempt();
    if (
      response.status === 401 &&
      response.headers.get("X-Shopify-Retry-Invalid-Session-Request") === "1" &&
      sameOrigin &&
      hasAppBridge()
    ) {
      response = await attempt();
    }
    return response;
  }

  /** Links: same-origin, same tab, plain left click → navigate with a fresh id_token. */
  function onLinkClick(event) {
    if (event.defaultPrevented || !hasAppBridge()) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link) return;
    if (link.target || link.hasAttribute("download") || link.hasAttribute("data-no-token")) return;
    if (link.closest("[data-no-token]")) return;
    var href = link.getAttribute("href");
    if (!href || href.charAt(0) === "#" || /^(javascript|mailto|tel):/i.test(href)) return;
    if (!isSameOrigin(link.href)) return;
    // A link to an anchor on this very page needs no new document (and no token).
    var dest = new URL(link.href);
    if (dest.hash && dest.pathname === location.pathname && dest.search === location.search) return;

    event.preventDefault();
    navigate(link.href).catch(function (err) {
      logError("link navigation", err);
      window.location.assign(link.href);
    });
  }

  /**
   * Forms: set a fresh hidden `id_token`, then submit for real. The first submit event
   * is cancelled while the token is fetched; the second (marked) one goes through.
   */
  function onFormSubmit(event) {
    if (event.defaultPrevented || !hasAppBridge()) return;
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if ((form.getAttribute("method") || "").toLowerCase() === "dialog") return;
    if (form.hasAttribute("data-no-token")) return;
    var target = event.submitter && event.submitter.getAttribute("formtarget") || form.target;
    if (target && target !== "_self") return;
    var action = (event.submitter && event.submitter.getAttribute("formaction")) || form.action;
    if (!isSameOrigin(action)) return;

    if (form.dataset.tokenReady === "1") {
      delete form.dataset.tokenReady; // our own re-submit: let the browser proceed
      return;
    }

    event.preventDefault();
    if (form.dataset.tokenPending === "1") return; // double click while fetching
    form.dataset.tokenPending = "1";
    var submitter = event.submitter || null;

    window.shopify.idToken()
      .then(function (token) {
        var input = form.querySelector('input[name="id_token"]');
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = "id_token";
          form.appendChild(input);
        }
        input.value = token;
        // The server reads the action URL's token first (an upload's multipart body is not
        // parsed before authentication), so the URL gets the fresh token too.
        if (submitter && submitter.hasAttribute("formaction")) {
          submitter.setAttribute("formaction", withIdToken(action, token));
        } else {
          form.action = withIdToken(action, token);
        }
      })
      .catch(function (err) { logError("form submit: idToken", err); })
      .then(function () {
        delete form.dataset.tokenPending;
        form.dataset.tokenReady = "1";
        submitForm(form, submitter);
      });
  }

  /** requestSubmit keeps the submitter's name=value and fires the submit event. */
  function submitForm(form, submitter) {
    if (typeof form.requestSubmit === "function") {
      if (submitter && submitter.form === form) {
        form.requestSubmit(submitter);
      } else {
        form.requestSubmit();
      }
    } else {
      // Old browsers: form.submit() skips the submit event and the submitter's value.
      if (submitter && submitter.name) {
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = submitter.name;
        hidden.value = submitter.value;
        form.appendChild(hidden);
      }
      if (form.dataset) delete form.dataset.tokenReady;
      form.submit();
    }
  }

  function initSessionTokens() {
    document.addEventListener("click", guarded("link click", onLinkClick));
    document.addEventListener("submit", guarded("form submit", onFormSubmit));
  }

  // ---------------------------------------------------------------------------
  // Progress polling
  // ---------------------------------------------------------------------------

  var POLL_INTERVAL_MS = 1000;
  var POLL_MAX_FAILURES = 10;

  function formatDuration(seconds) {
    var s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " s";
    var m = Math.round(s / 60);
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60);
    return h + " h " + (m % 60) + " min";
  }

  /** "1,234 of 10,000 rows · 2,300 rows/s · about 4 s left" from what is known. */
  function progressText(data) {
    var parts = [];
    var unit = data.unit || "rows";
    if (typeof data.done === "number") {
      parts.push(
        typeof data.total === "number" && data.total > 0
          ? formatNumber(data.done) + " of " + formatNumber(data.total) + " " + unit
          : formatNumber(data.done) + " " + unit
      );
    }
    if (typeof data.rate === "number" && data.rate > 0 && !data.finished) {
      parts.push(formatNumber(data.rate, data.rate < 10 ? 1 : 0) + " " + unit + "/s");
    }
    if (typeof data.eta_seconds === "number" && !data.finished) {
      parts.push("about " + formatDuration(data.eta_seconds) + " left");
    }
    if (!parts.length && data.message) return data.message;
    return parts.join(" \u00b7 ");
  }

  function renderProgress(root, data) {
    var percent = typeof data.percent === "number" ? Math.max(0, Math.min(100, data.percent)) : null;
    $all(".p-progress", root).forEach(function (track) {
      track.classList.toggle("p-progress--indeterminate", percent === null && !data.finished);
    });
    var bar = root.querySelector(".p-progress__bar");
    if (bar && percent !== null) {
      bar.style.width = percent + "%";
    }
    // aria-valuenow lives on the role=progressbar element (the track or the bar).
    var meter = root.querySelector('[role="progressbar"]') || bar;
    if (meter) {
      if (percent === null) {
        meter.removeAttribute("aria-valuenow");
      } else {
        meter.setAttribute("aria-valuenow", String(Math.round(percent)));
      }
    }
    var text = progressText(data);
    $all("[data-progress-text]", root).forEach(function (el) {
      el.textContent = text;
    });
    $all("[data-progress-status]", root).forEach(function (el) {
      // As the server renders it ("Running"), not the raw status ("running").
      if (data.status) el.textContent = data.status.charAt(0).toUpperCase() + data.status.slice(1);
    });
    $all("[data-progress-message]", root).forEach(function (el) {
      el.textContent = data.message || "";
      el.hidden = !data.message;
    });
    renderCounts(data);
    // A page-wide summary that would repeat the bar's text word for word stays hidden.
    $all("[data-progress-summary]").forEach(function (el) {
      el.hidden = el.textContent === text;
    });
  }

  /** Page-wide live figures: [data-progress-count=KEY], [data-progress-summary] (the
   * message), the failure list and the banner that holds it. */
  function renderCounts(data) {
    $all("[data-progress-count]").forEach(function (el) {
      var value = data[el.getAttribute("data-progress-count")];
      if (typeof value === "number") el.textContent = formatNumber(value);
    });
    $all("[data-progress-summary]").forEach(function (el) {
      if (data.message) el.textContent = data.message;
    });
    // The page header's status badge ("Queued" until a worker takes the job).
    $all("[data-import-status-badge] .p-badge").forEach(function (el) {
      if (data.label) el.textContent = data.label;
    });
    if (!Array.isArray(data.failures)) return;
    $all("[data-progress-failures]").forEach(function (list) {
      list.textContent = "";
      data.failures.forEach(function (failure) {
        var item = document.createElement("li");
        item.textContent = formatNumber(failure.count) +
          (failure.retrying ? " waiting to retry: " : " failed: ") + failure.reason;
        list.appendChild(item);
      });
    });
    $all("[data-progress-when-failed]").forEach(function (el) {
      el.hidden = !(data.failed || data.retrying);
    });
  }

  function startPolling(root) {
    var url = root.getAttribute("data-progress-url");
    var failures = 0;

    async function tick() {
      var data;
      try {
        var response = await authFetch(url, { cache: "no-store" });
        if (!response.ok) throw new Error("HTTP " + response.status);
        data = await response.json();
        failures = 0;
      } catch (err) {
        failures += 1;
        logError("progress poll " + url, err);
        if (failures >= POLL_MAX_FAILURES) {
          $all("[data-progress-text]", root).forEach(function (el) {
            el.textContent = "Progress updates stopped. Reload the page to check again.";
          });
          return;
        }
        // Back off a little on repeated failures (1 s, 2 s, … capped at 10 s).
        setTimeout(tick, Math.min(POLL_INTERVAL_MS * failures, 10000));
        return;
      }

      renderProgress(root, data);
      if (data.finished) {
        root.dispatchEvent(new CustomEvent("progress:finished", { bubbles: true, detail: data }));
        if (data.redirect) {
          await navigate(data.redirect);
        } else if (hasAppBridge()) {
          await navigate(window.location.href); // reload with a fresh id_token
        } else {
          window.location.reload();
        }
        return;
      }
      setTimeout(tick, POLL_INTERVAL_MS);
    }

    setTimeout(tick, POLL_INTERVAL_MS);
  }

  function initProgress() {
    $all("[data-progress-url]").forEach(function (root) {
      try {
        startPolling(root);
      } catch (err) {
        logError("progress init", err);
      }
    });
  }

  // ---------------------------------------------------------------------------
  // Copy button
  // ---------------------------------------------------------------------------

  function textToCopy(button) {
    var ref = button.getAttribute("data-copy");
    var source = ref ? document.getElementById(ref) : null;
    if (!source) return ref || "";
    if ("value" in source && typeof source.value === "string" && source.tagName !== "BUTTON") {
      return source.value;
    }
    return source.textContent.trim();
  }

  /** Fallback for browsers/iframes without the async clipboard (no permission). */
  function copyWithExecCommand(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } finally {
      document.body.removeChild(area);
    }
    if (!ok) throw new Error("execCommand('copy') failed");
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return;
      } catch (err) {
        // The admin iframe may deny clipboard-write; fall through to the old way.
      }
    }
    copyWithExecCommand(text);
  }

  function flashLabel(button, label) {
    var target = button.querySelector("[data-copy-label]") || button;
    if (!("copyOriginal" in button.dataset)) button.dataset.copyOriginal = target.textContent;
    target.textContent = label;
    clearTimeout(button._copyTimer);
    button._copyTimer = setTimeout(function () {
      target.textContent = button.dataset.copyOriginal;
      delete button.dataset.copyOriginal;
    }, 2000);
  }

  async function onCopyClick(event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    event.preventDefault();
    try {
      await copyText(textToCopy(button));
      flashLabel(button, "Copied");
    } catch (err) {
      logError("copy", err);
      flashLabel(button, "Copy failed");
    }
  }

  function initCopy() {
    document.addEventListener("click", guarded("copy", onCopyClick));
  }

  // ---------------------------------------------------------------------------
  // Modals (<dialog class="p-modal">)
  // ---------------------------------------------------------------------------

  var FOCUSABLE = [
    "a[href]",
    "button:not([disabled])",
    "input:not([disabled]):not([type=hidden])",
    "select:not([disabled])",
    "textarea:not([disabled])",
    "[tabindex]:not([tabindex='-1'])",
  ].join(",");

  function openDialog(dialog) {
    if (!dialog || typeof dialog.showModal !== "function") return false;
    if (!dialog.open) dialog.showModal();
    var autofocus = dialog.querySelector("[autofocus]");
    if (autofocus) autofocus.focus();
    return true;
  }

  /** The modal on top: the last one opened that is still open. */
  function openModal() {
    var open = $all("dialog.p-modal[open]");
    return open.length ? open[open.length - 1] : null;
  }

  /** Tab and Shift+Tab go round the modal's controls and never leave it. */
  function trapFocus(event) {
    var dialog = openModal();
    if (!dialog) return;
    if (event.key === "Escape") {
      event.preventDefault();
      dialog.close();
      return;
    }
    if (event.key !== "Tab") return;
    var items = $all(FOCUSABLE, dialog).filter(function (el) {
      return el.getClientRects().length > 0;
    });
    if (!items.length) {
      event.preventDefault();
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    var active = document.activeElement;
    if (event.shiftKey && (active === first || !dialog.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !dialog.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  }

  function onModalClick(event) {
    var opener = event.target.closest && event.target.closest("[data-modal-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-modal-open"));
      // If the browser has no <dialog> support the link's href (a real page) is used.
      if (openDialog(dialog)) event.preventDefault();
      return;
    }
    var closer = event.target.closest && event.target.closest("[data-modal-close]");
    if (closer) {
      var parent = closer.closest("dialog");
      if (parent) {
        event.preventDefault();
        parent.close();
      }
      return;
    }
    // A click on the backdrop hits the <dialog> element itself (content has no padding gap).
    if (event.target instanceof HTMLDialogElement && event.target.classList.contains("p-modal")) {
      var rect = event.target.getBoundingClientRect();
      var inside = event.clientX >= rect.left && event.clientX <= rect.right &&
        event.clientY >= rect.top && event.clientY <= rect.bottom;
      if (!inside) event.target.close();
    }
  }

  // ---------------------------------------------------------------------------
  // Ask first ([data-confirm] links and GET forms)
  // ---------------------------------------------------------------------------
  //
  // Without JavaScript the link (or GET form) leads to a confirm page whose
  // [data-confirm-modal] box holds the question, the counts and the POST form. Here that
  // page is fetched and the same box is shown as a modal; if anything goes wrong the
  // browser goes to the confirm page instead, so the merchant is always asked.

  function confirmUrl(opener) {
    if (opener instanceof HTMLFormElement) {
      // What the browser would request: the action without its query, plus the fields.
      var url = new URL(opener.action, window.location.href);
      url.search = new URLSearchParams(new FormData(opener)).toString();
      return url.toString();
    }
    return opener.href;
  }

  /** A <dialog> holding the confirm page's box; removed again once closed. */
  function confirmDialog(box, opener) {
    var dialog = document.createElement("dialog");
    dialog.className = box.className.replace(/\s*\bp-modal--page\b/, "");
    dialog.id = box.id;
    ["aria-labelledby", "aria-describedby"].forEach(function (name) {
      if (box.hasAttribute(name)) dialog.setAttribute(name, box.getAttribute(name));
    });
    dialog.setAttribute("data-confirm-modal", "");
    while (box.firstChild) dialog.appendChild(document.adoptNode(box.firstChild));
    // Focus starts on the safe choice, as Polaris does for destructive modals.
    var cancel = dialog.querySelector(".p-modal__footer [data-modal-close]");
    if (cancel) cancel.setAttribute("autofocus", "");
    dialog.addEventListener("close", function () {
      dialog.remove();
      // Back to the button that asked, so the keyboard user is where they were.
      var back = opener instanceof HTMLFormElement ? opener.querySelector("[type=submit]") : opener;
      if (back && back.isConnected) back.focus();
    });
    return dialog;
  }

  async function askFirst(opener) {
    var url = confirmUrl(opener);
    if (opener.dataset.confirmPending === "1") return;
    opener.dataset.confirmPending = "1";
    opener.setAttribute("aria-busy", "true");
    try {
      var response = await authFetch(url, { headers: { Accept: "text/html" }, cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      var page = new DOMParser().parseFromString(await response.text(), "text/html");
      var box = page.querySelector("[data-confirm-modal]");
      if (!box) throw new Error("no [data-confirm-modal] at " + url);
      var stale = document.getElementById(box.id);
      if (stale && stale.tagName === "DIALOG") stale.close();
      var dialog = confirmDialog(box, opener);
      document.body.appendChild(dialog);
      openDialog(dialog);
    } catch (err) {
      logError("ask first " + url, err);
      await navigate(url); // the confirm page asks instead
    } finally {
      delete opener.dataset.confirmPending;
      opener.removeAttribute("aria-busy");
    }
  }

  function canShowModals() {
    return typeof window.HTMLDialogElement === "function" &&
      typeof window.HTMLDialogElement.prototype.showModal === "function" &&
      typeof window.DOMParser === "function";
  }

  function onConfirmClick(event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest && event.target.closest("a[data-confirm][href]");
    if (!link || !canShowModals()) return;
    event.preventDefault();
    askFirst(link);
  }

  function onConfirmSubmit(event) {
    var form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    if (!form.hasAttribute("data-confirm") || (form.method || "").toLowerCase() !== "get") return;
    if (!canShowModals()) return;
    event.preventDefault();
    askFirst(form);
  }

  function initModals() {
    document.addEventListener("click", guarded("modal", onModalClick));
    document.addEventListener("keydown", guarded("modal keys", trapFocus));
    document.addEventListener("click", guarded("ask first", onConfirmClick));
    document.addEventListener("submit", guarded("ask first", onConfirmSubmit));
    $all("dialog[data-open-on-load]").forEach(function (dialog) {
      try {
        openDialog(dialog);
      } catch (err) {
        logError("modal open-on-load", err);
      }
    });
  }

  // ---------------------------------------------------------------------------
  // Bulk select
  // ---------------------------------------------------------------------------

  function initBulkTable(table) {
    // Count, banner and actions usually sit outside the <table> (card header, toolbar):
    // look for them in the nearest [data-bulk-scope], else the whole document.
    var scope = table.closest("[data-bulk-scope]") || document;
    var all = scope.querySelector("[data-bulk-all]");
    var rows = function () { return $all("[data-bulk-row]", table); };
    var matchingBanner = scope.querySelector("[data-bulk-select-matching]");
    var matchingInput = scope.querySelector("[data-bulk-matching]");
    var lastClicked = null;

    function isMatching() {
      return !!(matchingInput && matchingInput.value === "1");
    }

    function setMatching(on) {
      if (matchingInput) matchingInput.value = on ? "1" : "0";
    }

    function update() {
      var boxes = rows();
      var checked = boxes.filter(function (b) { return b.checked; }).length;
      var allOnPage = boxes.length > 0 && checked === boxes.length;
      if (!allOnPage) setMatching(false);

      if (all) {
        all.checked = allOnPage;
        all.indeterminate = checked > 0 && !allOnPage;
      }
      boxes.forEach(function (b) {
        var tr = b.closest("tr");
        if (tr) tr.classList.toggle("p-table__row--selected", b.checked);
      });

      var total = matchingBanner ? Number(matchingBanner.getAttribute("data-bulk-total")) : NaN;
      $all("[data-bulk-count]", scope).forEach(function (el) {
        if (isMatching()) {
          el.textContent = isFinite(total) && total > 0 ? "All " + formatNumber(total) + " selected" : "All selected";
        } else {
          el.textContent = formatNumber(checked) + " selected";
        }
      });

      if (matchingBanner) {
        // Only worth offering when there are more matches than rows on this page.
        var more = !isFinite(total) || total > boxes.length;
        matchingBanner.hidden = !(allOnPage && more);
        var btn = matchingBanner.querySelector("button, a, [data-bulk-select-matching-button]");
        if (btn) {
          if (!("bulkLabel" in btn.dataset)) btn.dataset.bulkLabel = btn.textContent;
          btn.textContent = isMatching() ? "Clear selection" : btn.dataset.bulkLabel;
        }
      }

      var nothing = checked === 0;
      $all("[data-bulk-action]", scope).forEach(function (el) {
        if ("disabled" in el && el.tagName !== "A") {
          el.disabled = nothing;
        } else {
          el.setAttribute("aria-disabled", String(nothing));
          el.classList.toggle("p-button--disabled", nothing);
          if (nothing) el.setAttribute("tabindex", "-1");
          else el.removeAttribute("tabindex");
        }
      });
    }

    if (all) {
      all.addEventListener("change", guarded("bulk all", function () {
        rows().forEach(function (b) { if (!b.disabled) b.checked = all.checked; });
        update();
      }));
    }

    table.addEventListener("click", guarded("bulk row", function (event) {
      var box = event.target.closest && event.target.closest("[data-bulk-row]");
      if (!box) return;
      // Shift-click selects the range since the last clicked row, like the admin.
      var boxes = rows();
      if (event.shiftKey && lastClicked && lastClicked !== box) {
        var a = boxes.indexOf(lastClicked);
        var b = boxes.indexOf(box);
        if (a >= 0 && b >= 0) {
          boxes.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) {
            if (!x.disabled) x.checked = box.checked;
          });
        }
      }
      lastClicked = box;
    }));
    table.addEventListener("change", guarded("bulk row change", function (event) {
      if (event.target.matches && event.target.matches("[data-bulk-row]")) update();
    }));

    if (matchingBanner) {
      matchingBanner.addEventListener("click", guarded("bulk matching", function (event) {
        var btn = event.target.closest("button, a, [data-bulk-select-matching-button]");
        if (!btn) return;
        event.preventDefault();
        setMatching(!isMatching());
        update();
      }));
    }

    // Links disabled by aria-disabled must not navigate either.
    scope.addEventListener("click", function (event) {
      var action = event.target.closest && event.target.closest('[data-bulk-action][aria-disabled="true"]');
      if (action) event.preventDefault();
    });

    update();
  }

  function initBulk() {
    $all("[data-bulk-table]").forEach(function (table) {
      try {
        initBulkTable(table);
      } catch (err) {
        logError("bulk init", err);
      }
    });
  }

  // ---------------------------------------------------------------------------
  // Charts (Chart.js v4, loaded separately from /static/vendor/chart.umd.min.js)
  // ---------------------------------------------------------------------------

  // Polaris data-visualisation palette (first colours of polaris-viz's default theme).
  var CHART_COLORS = ["#2c6ecb", "#29845a", "#8051ff", "#e4a11b", "#c70a24", "#00a0ac"];
  var CHART_GRID = "#ebebeb";
  var CHART_TEXT = "#616161";

  function moneyFormatter(currency, loc, fractionDigits) {
    var fmt = new Intl.NumberFormat(loc, {
      style: "currency",
      currency: currency || "USD",
      minimumFractionDigits: fractionDigits,
      maximumFractionDigits: fractionDigits,
    });
    return function (v) { return fmt.format(v); };
  }

  function countFormatter(loc) {
    var fmt = new Intl.NumberFormat(loc, { maximumFractionDigits: 0 });
    return function (v) { return fmt.format(v); };
  }

  /**
   * Build a Chart.js config from our JSON spec. Money values are in major units
   * (e.g. 12.5 = $12.50); the server converts from minor units for display only.
   */
  function chartConfig(spec) {
    var type = spec.type === "bar" ? "bar" : "line";
    var loc = spec.locale || locale();
    var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var axisKind = {};

    var datasets = (spec.datasets || []).map(function (ds, i) {
      var color = CHART_COLORS[i % CHART_COLORS.length];
      var axis = ds.yAxisID === "y1" ? "y1" : "y";
      axisKind[axis] = axisKind[axis] || ds.kind || "count";
      return {
        label: ds.label,
        data: ds.data || [],
        yAxisID: axis,
        kind: ds.kind || "count",
        borderColor: color,
        backgroundColor: color, // bars, hover points and the legend swatch
        pointBackgroundColor: color,
        borderWidth: 2,
        borderRadius: type === "bar" ? 4 : 0,
        maxBarThickness: 32,
        pointRadius: type === "line" ? 0 : undefined,
        pointHoverRadius: 4,
        pointHitRadius: 8,
        tension: 0.3,
        fill: false,
      };
    });

    function tickFormatter(kind) {
      return kind === "money" ? moneyFormatter(spec.currency, loc, 0) : countFormatter(loc);
    }

    var scales = {
      x: {
        grid: { display: false },
        border: { color: CHART_GRID },
        ticks: { color: CHART_TEXT, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 },
      },
      y: {
        beginAtZero: true,
        position: "left",
        grid: { color: CHART_GRID },
        border: { display: false },
        ticks: { color: CHART_TEXT, precision: 0, callback: tickFormatter(axisKind.y || "count") },
      },
    };
    if (axisKind.y1) {
      scales.y1 = {
        beginAtZero: true,
        position: "right",
        grid: { drawOnChartArea: false },
        border: { display: false },
        ticks: { color: CHART_TEXT, precision: 0, callback: tickFormatter(axisKind.y1) },
      };
    }

    // The currency's own decimals, from the server (JPY 0, KWD 3), not a fixed 2.
    var digits = typeof spec.fraction_digits === "number" ? spec.fraction_digits : 2;
    var moneyExact = moneyFormatter(spec.currency, loc, digits);
    var count = countFormatter(loc);

    return {
      type: type,
      data: { labels: spec.labels || [], datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reduceMotion ? false : { duration: 400 },
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: {
            display: datasets.length > 1,
            position: "bottom",
            labels: { color: "#303030", usePointStyle: true, pointStyle: "circle", boxWidth: 8, boxHeight: 8 },
          },
          tooltip: {
            backgroundColor: "#ffffff",
            titleColor: "#303030",
            bodyColor: "#303030",
            borderColor: "#e3e3e3",
            borderWidth: 1,
            padding: 10,
            cornerRadius: 8,
            usePointStyle: true,
            boxPadding: 4,
            callbacks: {
              label: function (ctx) {
                var kind = ctx.dataset.kind;
                var v = ctx.parsed.y;
                return " " + ctx.dataset.label + ": " + (kind === "money" ? moneyExact(v) : count(v));
              },
            },
          },
        },
      },
    };
  }

  function initCharts() {
    var canvases = $all("canvas[data-chart]");
    if (!canvases.length) return;
    if (typeof window.Chart !== "function") {
      console.warn(LOG_PREFIX, "Chart.js is not loaded; charts left as their fallback content");
      return;
    }
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.font.size = 12;
    window.Chart.defaults.color = CHART_TEXT;

    canvases.forEach(function (canvas) {
      try {
        var source = document.getElementById(canvas.getAttribute("data-chart"));
        if (!source) throw new Error("no <script id=" + canvas.getAttribute("data-chart") + ">");
        var spec = JSON.parse(source.textContent);
        if (!canvas.hasAttribute("role")) canvas.setAttribute("role", "img");
        if (!canvas.hasAttribute("aria-label")) {
          canvas.setAttribute("aria-label", "Chart: " + (spec.datasets || []).map(function (d) { return d.label; }).join(", "));
        }
        new window.Chart(canvas, chartConfig(spec));
      } catch (err) {
        logError("chart " + canvas.getAttribute("data-chart"), err);
      }
    });
  }

  // ---------------------------------------------------------------------------
  // Dropzone
  // ---------------------------------------------------------------------------

  function formatBytes(bytes) {
    if (bytes < 1024) return formatNumber(bytes) + " B";
    if (bytes < 1024 * 1024) return formatNumber(bytes / 1024, 1) + " KB";
    return formatNumber(bytes / (1024 * 1024), 1) + " MB";
  }

  function initDropzone(zone) {
    var input = zone.querySelector('input[type="file"]');
    if (!input) return;
    var label = zone.querySelector("[data-dropzone-label]");
    var originalLabel = label ? label.innerHTML : "";
    var depth = 0; // dragenter/dragleave fire for every child; count to know when we left

    zone.classList.add("p-dropzone--enhanced");

    function showFiles() {
      if (!label) return;
      var files = Array.prototype.slice.call(input.files || []);
      if (!files.length) {
        label.innerHTML = originalLabel;
        return;
      }
      label.textContent = files.map(function (f) {
        return f.name + " (" + formatBytes(f.size) + ")";
      }).join(", ");
    }

    function hasFiles(event) {
      var types = event.dataTransfer && event.dataTransfer.types;
      return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
    }

    zone.addEventListener("dragenter", guarded("dropzone dragenter", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      zone.classList.add("p-dropzone--active");
    }));
    zone.addEventListener("dragover", guarded("dropzone dragover", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("p-dropzone--active");
    }));
    zone.addEventListener("dragleave", guarded("dropzone dragleave", function () {
      depth = Math.max(0, depth - 1);
      if (depth === 0) zone.classList.remove("p-dropzone--active");
    }));
    zone.addEventListener("drop", guarded("dropzone drop", function (event) {
      event.preventDefault();
      depth = 0;
      zone.classList.remove("p-dropzone--active");
      var files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) return;
      if (!input.multiple && files.length > 1) {
        // Keep only the first file for a single-file input.
        var dt = new DataTransfer();
        dt.items.add(files[0]);
        files = dt.files;
      }
      input.files = files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }));
    input.addEventListener("change", guarded("dropzone change", showFiles));
    showFiles(); // e.g. a file kept by the browser on back navigation
  }

  function initDropzones() {
    var zones = $all(".p-dropzone");
    zones.forEach(function (zone) {
      try {
        initDropzone(zone);
      } catch (err) {
        logError("dropzone init", err);
      }
    });
    if (zones.length) {
      // A file dropped just outside the zone would otherwise replace the app with the file.
      window.addEventListener("dragover", function (e) { e.preventDefault(); });
      window.addEventListener("drop", function (e) { e.preventDefault(); });
    }
  }

  // ---------------------------------------------------------------------------
  // Auto-submit (filters, sort, search)
  // ---------------------------------------------------------------------------

  var FOCUS_KEY = "app:autosubmit-focus";

  function autoSubmit(form, field) {
    if (!form) return;
    try {
      // Restore the caret in the search field after the page reloads.
      if (field && field.name) sessionStorage.setItem(FOCUS_KEY, field.name);
    } catch (err) { /* storage can be blocked in third-party iframes */ }
    submitForm(form, null);
  }

  function initAutoSubmit() {
    document.addEventListener("change", guarded("autosubmit", function (event) {
      var el = event.target;
      if (!el.matches) return;
      if (el.matches("select[data-autosubmit], input[type=radio][data-autosubmit]")) {
        autoSubmit(el.form, null);
      }
    }));

    var timers = new WeakMap();
    document.addEventListener("input", guarded("autosubmit debounce", function (event) {
      var el = event.target;
      if (!el.matches || !el.matches("input[data-autosubmit-debounce]")) return;
      var delay = parseInt(el.getAttribute("data-autosubmit-debounce"), 10) || 400;
      clearTimeout(timers.get(el));
      timers.set(el, setTimeout(guarded("autosubmit debounce submit", function () {
        if (el.value === el.defaultValue) return; // typed and deleted back: nothing new
        autoSubmit(el.form, el);
      }), delay));
    }));

    try {
      var name = sessionStorage.getItem(FOCUS_KEY);
      if (name) {
        sessionStorage.removeItem(FOCUS_KEY);
        var field = document.querySelector('input[data-autosubmit-debounce][name="' + CSS.escape(name) + '"]');
        if (field) {
          field.focus();
          var end = field.value.length;
          if (typeof field.setSelectionRange === "function" && field.type !== "email") {
            field.setSelectionRange(end, end);
          }
        }
      }
    } catch (err) { /* storage can be blocked in third-party iframes */ }
  }

  // ---------------------------------------------------------------------------
  // Toasts (flash messages)
  // ---------------------------------------------------------------------------

  function initToasts() {
    $all("[data-toast]").forEach(function (toast) {
      try {
        var text = toast.getAttribute("data-toast") || toast.textContent.trim();
        var isError = toast.classList.contains("p-toast--critical");
        // Inside the admin, App Bridge draws the native toast outside our iframe.
        if (window.shopify && window.shopify.toast && typeof window.shopify.toast.show === "function") {
          window.shopify.toast.show(text, { isError: isError });
          toast.remove();
          return;
        }
        var close = toast.querySelector(".p-toast__close");
        if (close) close.addEventListener("click", function () { toast.remove(); });
        setTimeout(function () { toast.remove(); }, isError ? 8000 : 5000);
      } catch (err) {
        logError("toast", err);
      }
    });
  }

  // ---------------------------------------------------------------------------
  // Units that follow a select ([data-unit-of]: "%" for a percentage, "$" for an amount)
  // ---------------------------------------------------------------------------

  function showUnits(select) {
    $all('[data-unit-of="' + select.name + '"]').forEach(function (unit) {
      unit.hidden = unit.getAttribute("data-unit") !== select.value;
    });
  }

  function initUnits() {
    var names = {};
    $all("[data-unit-of]").forEach(function (unit) { names[unit.getAttribute("data-unit-of")] = true; });
    Object.keys(names).forEach(function (name) {
      $all('select[name="' + name + '"]').forEach(function (select) {
        select.addEventListener("change", guarded("units", function () { showUnits(select); }));
        if (select.form) select.form.addEventListener("reset", function () {
          setTimeout(function () { showUnits(select); }, 0);
        });
      });
    });
  }

  // ---------------------------------------------------------------------------
  // Contextual save bar (form[data-save-bar]): App Bridge's in the admin, ours elsewhere
  // ---------------------------------------------------------------------------

  function formState(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function initSaveBars() {
    if (window.shopify && window.shopify.saveBar) return;  // the admin draws its own
    $all("form[data-save-bar]").forEach(function (form) {
      var bar = document.querySelector('[data-save-bar-for="' + form.id + '"]');
      if (!bar) return;
      var saved = formState(form);
      var update = guarded("save bar", function () { bar.hidden = formState(form) === saved; });
      form.addEventListener("input", update);
      form.addEventListener("change", update);
      bar.querySelector("[data-save-bar-discard]").addEventListener("click", function () {
        form.reset();
        setTimeout(update, 0);
      });
      bar.querySelector("[data-save-bar-save]").addEventListener("click", function () {
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
  }

  // ---------------------------------------------------------------------------

  window.App = Object.assign(window.App || {}, {
    authFetch: authFetch,
    navigate: navigate,
  });

  function init() {
    // Session tokens go last: their document-level click/submit listeners must run after
    // the others, so a modal opener or disabled bulk link can cancel navigation first.
    [
      ["modals", initModals],
      ["copy", initCopy],
      ["progress", initProgress],
      ["bulk", initBulk],
      ["charts", initCharts],
      ["dropzones", initDropzones],
      ["autosubmit", initAutoSubmit],
      ["toasts", initToasts],
      ["units", initUnits],
      ["save bars", initSaveBars],
      ["session tokens", initSessionTokens],
    ].forEach(function (entry) {
      try {
        entry[1]();
      } catch (err) {
        logError("init " + entry[0], err);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
