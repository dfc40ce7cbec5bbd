// The little glue htmx does not cover: copy buttons, confirmations and visible errors.
(function () {
  "use strict";

  // Messages go away by themselves (not while the pointer or the focus is on one), and
  // each has a button to dismiss it now. `sticky` ones stay until dismissed or replaced
  // (e.g. why the board closed this page's connection).
  const SHOWN_MS = { error: 12000, success: 6000, info: 6000, warning: 10000, undo: 10000 };

  function leaveLater(p, ms) {
    window.setTimeout(function () {
      if (!p.isConnected) return;
      if (p.matches(":hover, :focus-within")) leaveLater(p, 2000);
      else p.remove();
    }, ms);
  }

  function dismissable(p, kind, sticky) {
    const close = document.createElement("button");
    close.type = "button";
    close.className = "alert-dismiss";
    close.setAttribute("aria-label", "Dismiss this message");
    close.textContent = "×";
    p.append(close);
    if (!sticky) leaveLater(p, SHOWN_MS[kind] || SHOWN_MS.error);
  }

  function alertBox(message, kind, sticky, extraClass) {
    const box = document.getElementById("alerts");
    if (!box) return;
    const p = document.createElement("p");
    kind = kind || "error";
    p.className = "alert alert-" + kind + (extraClass ? " " + extraClass : "");
    const text = document.createElement("span");
    text.textContent = message; // textContent: server text is never parsed as HTML here
    p.append(text);
    box.replaceChildren(p);
    dismissable(p, kind, sticky);
  }

  // The messages the server put on this page (after a redirect).
  for (const p of document.querySelectorAll("#alerts > .alert")) {
    const kind = (p.className.match(/alert-(\w+)/) || [, "info"])[1];
    dismissable(p, kind, false);
  }

  document.addEventListener("click", function (event) {
    const close = event.target.closest(".alert-dismiss");
    if (close) close.closest(".alert").remove();
  });

  window.attuneAlert = alertBox;

  // "Deleted. Undo" for a moment after a delete: Undo posts to the answer's restore URL
  // (the facilitators also have "Recently deleted" for longer).
  window.attuneUndo = function (url, message) {
    const box = document.getElementById("alerts");
    if (!box || !url) return;
    const p = document.createElement("p");
    p.className = "alert alert-info alert-undo";
    p.setAttribute("role", "status");
    const text = document.createElement("span");
    text.textContent = message;
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "undo";
    undo.textContent = "Undo";
    undo.setAttribute("hx-post", url);
    undo.setAttribute("hx-swap", "none");
    undo.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) p.remove();
    });
    p.append(text, undo);
    box.replaceChildren(p);
    dismissable(p, "undo", false);
    htmx.process(p);
  };

  // Sticky things sit below the header at its real height (it wraps on narrow screens),
  // and a heading scrolled to lands below the header and the room bar. Where the header
  // is not sticky (phones) it takes no room.
  function measure() {
    const root = document.documentElement.style;
    const topbar = document.querySelector(".topbar");
    if (topbar) {
      const sticky = window.getComputedStyle(topbar).position === "sticky";
      root.setProperty("--header-h", (sticky ? topbar.offsetHeight : 0) + "px");
    }
    const bar = document.getElementById("room-bar");
    if (bar) root.setProperty("--bar-h", bar.offsetHeight + "px");
  }
  window.attuneMeasure = measure;
  measure();
  if (window.ResizeObserver) {
    const topbar = document.querySelector(".topbar");
    if (topbar) new ResizeObserver(measure).observe(topbar);
  }
  window.addEventListener("resize", measure);

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const input = document.querySelector(button.dataset.copy);
    input.select();
    (navigator.clipboard ? navigator.clipboard.writeText(input.value) : Promise.reject())
      .then(function () { button.textContent = "Copied"; })
      .catch(function () { document.execCommand("copy"); button.textContent = "Copied"; });
    window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
  });

  // A form that needs a second thought says so in data-confirm (no inline handlers: the
  // Content-Security-Policy runs no script but these files).
  document.addEventListener("submit", function (event) {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("attune:error", function (event) {
    alertBox(event.detail.message);
  });

  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    let message = "Something went wrong (" + xhr.status + "). Nothing was changed.";
    if (xhr.status === 403) message = "Not allowed: " + (xhr.responseText.match(/<p>([^<]*)<\/p>/) || [, "you cannot do this here."])[1];
    if (xhr.status === 404) message = "That is gone: someone may have deleted it, or your link was replaced. Reload the page.";
    if (xhr.status === 400 || xhr.status === 423 || xhr.status === 503) message = xhr.responseText.slice(0, 300);
    alertBox(message);
  });

  document.addEventListener("htmx:sendError", function () {
    alertBox("Could not reach the server. Your text is still here: try again in a moment.");
  });
  // A data sample larger than the server takes is said before it is sent (the server
  // says so too, for pages without this script).
  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-max-bytes]");
    if (!form) return;
    const input = form.querySelector("input[type=file]");
    const file = input && input.files && input.files[0];
    const most = Number(form.dataset.maxBytes);
    if (file && most && file.size > most) {
      event.preventDefault();
      input.setAttribute("aria-invalid", "true");
      alertBox("This file is " + (file.size / 1048576).toFixed(1) + " MB, more than the " +
               (most / 1048576).toFixed(0) + " MB Attune profiles. Upload a sample of its rows.");
    }
  });
})();
