// The live board's glue: apply the server's frames without ever touching what a
// person is typing, keep the board version, resync after gaps and reconnects,
// follow the room's phase, and run the shared countdown.
(function () {
  "use strict";
  const live = document.getElementById("live");
  if (!live) return;

  let version = parseInt(live.dataset.version, 10);
  let socket = null;
  let resyncPending = false;
  let syncing = false; // a sync in several parts is arriving: events wait for its end
  let following = true;
  let lastError = null;
  let lastPong = Date.now();
  let clockOffset = 0;
  let failures = 0; // connection attempts since the page was last live
  let behindTimer = null;
  let room = JSON.parse(document.getElementById("room-state").textContent);
  const status = document.getElementById("connection");
  const announcer = document.getElementById("announcer");
  const PING_MS = 15000;
  const TRY_AGAIN = 4013; // sessions/closecodes.py
  const TROUBLE_AFTER = 8; // failed attempts (about 13 s) before the page says what to do
  let troubleShown = false;
  window.attuneLive = { get version() { return version; }, get room() { return room; } };

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
    document.body.dataset.connection = state;
  }

  function send(message) {
    if (socket) socket.send(JSON.stringify(message));
  }

  // Two writes committing at once may broadcast out of order, and one change may come
  // in several parts. Frames that come early wait a moment for the missing version;
  // only a real gap costs a resync. `early` maps a version to its parts so far.
  const early = new Map();
  let gapTimer = null;

  function complete(entry) {
    return entry.got.size === entry.parts;
  }

  function applyEntry(entry) {
    const parts = Array.from(entry.got.keys()).sort((a, b) => a - b);
    for (const part of parts) {
      const frame = entry.got.get(part);
      apply(frame.ops);
      announce(frame.announce);
    }
  }

  function drain() {
    for (const seen of Array.from(early.keys())) if (seen <= version) early.delete(seen);
    while (!syncing && early.has(version + 1) && complete(early.get(version + 1))) {
      applyEntry(early.get(version + 1));
      early.delete(version + 1);
      version += 1;
    }
    if (!early.size || syncing) {
      window.clearTimeout(gapTimer);
      gapTimer = null;
    } else if (gapTimer === null) {
      gapTimer = window.setTimeout(giveUpWaiting, 300);
    }
    live.dataset.version = version;
  }

  function giveUpWaiting() {
    gapTimer = null;
    // Show what we have (it is current as far as it goes), then ask for the rest.
    for (const key of Array.from(early.keys()).sort((a, b) => a - b)) applyEntry(early.get(key));
    early.clear();
    requestResync();
  }

  function requestResync() {
    if (resyncPending) return;
    resyncPending = true;
    send({ type: "resync", version: version });
  }

  function onEvent(frame) {
    if (frame.version <= version) return;
    let entry = early.get(frame.version);
    if (!entry) { entry = { parts: frame.parts || 1, got: new Map() }; early.set(frame.version, entry); }
    entry.got.set(frame.part || 1, frame);
    drain();
  }

  function onSync(frame) {
    // Parts of a sync are applied as they arrive, so a large board fills in while the
    // page stays usable; the version moves only when the last part is in.
    syncing = (frame.part || 1) < (frame.parts || 1);
    apply(frame.ops);
    if (syncing) return;
    if (frame.audience) document.body.classList.toggle("is-facilitator", frame.audience === "facilitators");
    version = Math.max(version, frame.version);
    resyncPending = false;
    drain();
    failures = 0;
    if (troubleShown) {
      // Only the "can't reach" message goes: an Undo shown since stays.
      troubleShown = false;
      for (const p of document.querySelectorAll("#alerts .alert-trouble")) p.remove();
    }
    if (status.dataset.state !== "live") setStatus("live", "Live");
  }

  // The heartbeat's answer carries the board's version: a page that is behind and does
  // not catch up by itself within a moment (frames may be in flight) resyncs.
  function onPong(frame) {
    lastPong = Date.now();
    if (typeof frame.version !== "number" || frame.version <= version || behindTimer) return;
    const wanted = frame.version;
    behindTimer = window.setTimeout(function () {
      behindTimer = null;
      if (version >= wanted) return;
      setStatus("behind", "Catching up…");
      requestResync();
    }, 1500);
  }

  // --- Applying frames ---------------------------------------------------------
  function isField(el) {
    return el && el.matches && el.matches("input, textarea, select");
  }

  function isDirty(el) {
    for (const field of el.querySelectorAll("input, textarea, select")) {
      if (field.type === "hidden" || isReleased(field)) continue;
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.tagName === "SELECT") {
        for (const option of field.options) if (option.selected !== option.defaultSelected) return true;
      } else if (field.value !== field.defaultValue) return true;
    }
    return false;
  }

  // Busy: someone is editing in here. Busy elements are never replaced or moved.
  // A form whose save succeeded is "released" (data-saved): what it holds is saved, so
  // it no longer counts, and the frame of its own change replaces it.
  function isReleased(el) {
    return Boolean(el && el.closest && el.closest("[data-saved]"));
  }

  function isBusy(el) {
    if (isReleased(el)) return false;
    if (el.classList && el.classList.contains("editing")) return true;
    const active = document.activeElement;
    if (isField(active) && el.contains(active) && !isReleased(active)) return true;
    return isDirty(el);
  }

  function markStale(el, deleted) {
    const form = el.matches(".editing") ? el : el.querySelector(".editing");
    // A form whose own save is in flight is about to be replaced by its answer.
    if (form && form.classList.contains("htmx-request")) return;
    const note = form && form.querySelector(".stale-note");
    if (note) {
      note.hidden = false;
      if (deleted) note.textContent = "Someone deleted this while you were editing. Your text is kept here: copy what you need.";
    }
  }

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function placed(node) {
    htmx.process(node);
    return node;
  }

  // Bring `old` to look like `fresh`, keeping busy descendants exactly where they are.
  function merge(old, fresh) {
    if (!isBusy(old)) {
      old.replaceWith(fresh);
      return placed(fresh);
    }
    if (old.matches(".editing") || !fresh) {
      markStale(old, !fresh);
      return old;
    }
    for (const attr of ["class", "data-version"]) {
      if (fresh.hasAttribute(attr)) old.setAttribute(attr, fresh.getAttribute(attr));
    }
    const wanted = new Set(Array.from(fresh.children, (c) => c.id).filter(Boolean));
    for (const child of Array.from(old.children)) {
      if (child.id && wanted.has(child.id)) continue;
      if (isBusy(child)) markStale(child, Boolean(child.id));
      else child.remove();
    }
    let previous = null;
    for (const next of Array.from(fresh.children)) {
      const current = next.id ? old.querySelector(":scope > #" + CSS.escape(next.id)) : null;
      let node = current ? merge(current, next) : next;
      if (!current) {
        if (previous) previous.after(node); else old.prepend(node);
        placed(node);
      } else if (!isBusy(node) && node.previousElementSibling !== previous) {
        if (previous) previous.after(node); else old.prepend(node);
      }
      previous = node;
    }
    return old;
  }

  // What a frame brought for an element someone was editing waits here (the newest
  // only), so that a save which succeeds can show it at once: the frame of one's own
  // change may come before the answer that releases the form.
  const held = new Map();

  function mergeOrHold(el, op) {
    if (isBusy(el)) held.set(op.id, op);
    else held.delete(op.id);
    merge(el, parse(op.html));
  }

  // Lists that show another list's items in its order (data-follows: the roadmap's
  // lanes and the matrix's quadrants follow the recipes list). An item goes where that
  // list has its item (same number at the end of the id), before the placeholder.
  function rankIn(list) {
    const rank = new Map();
    const master = document.getElementById(list.dataset.follows);
    if (master) Array.from(master.children).forEach(function (child, index) {
      const pk = /(\d+)$/.exec(child.id || "");
      if (pk) rank.set(pk[1], index);
    });
    return function (el) {
      const pk = /(\d+)$/.exec(el.id || "");
      return pk && rank.has(pk[1]) ? rank.get(pk[1]) : Infinity;
    };
  }

  function placeFollowing(list, node) {
    const rankOf = rankIn(list);
    const mine = rankOf(node);
    const next = Array.from(list.children).find(function (child) {
      return child !== node && child.id && rankOf(child) > mine;
    });
    const end = list.querySelector(":scope > .placeholder");
    if (next) next.before(node);
    else if (end) end.before(node);
    else list.appendChild(node);
  }

  // After the followed list's order changed: the same order here, moving no busy item.
  function resortFollowers(masterId) {
    for (const list of document.querySelectorAll("[data-follows='" + masterId + "']")) {
      const rankOf = rankIn(list);
      const items = Array.from(list.children).filter(function (child) { return child.id; });
      const sorted = items.slice().sort(function (a, b) { return rankOf(a) - rankOf(b); });
      if (sorted.every(function (item, index) { return item === items[index]; })) continue;
      for (const item of sorted) if (!isBusy(item)) placeFollowing(list, item);
    }
  }

  function applyOne(op) {
    const el = op.id ? document.getElementById(op.id) : null;
    if (op.op === "remove") {
      held.delete(op.id);
      if (el && isBusy(el)) markStale(el, true);
      else if (el) el.remove();
    } else if (op.op === "upsert") {
      const list = op.list ? document.getElementById(op.list) : null;
      if (el) {
        // Its quadrant or lane changed: it moves there (unless someone is editing it).
        if (list && el.parentNode !== list && !isBusy(el)) placeFollowing(list, el);
        mergeOrHold(el, op);
      } else if (list) {
        const fresh = parse(op.html);
        const previous = op.after && document.getElementById(op.after);
        if (list.dataset.follows) placeFollowing(list, fresh);
        else if (previous && previous.parentNode === list) previous.after(fresh);
        else if (op.after === null) list.prepend(fresh);
        else list.appendChild(fresh);
        placed(fresh);
      }
    } else if (op.op === "replace" && el) {
      mergeOrHold(el, op);
    } else if (op.op === "order") {
      reorder(op);
      resortFollowers(op.list);
    } else if (op.op === "fetch") {
      fetchOps(op.url);
    }
    if (op.order) reorderPhases(op.order);
    if (op.state) applyRoom(op.state);
    if (op.trigger) htmx.trigger(document.body, op.trigger);
  }

  // The ids of a list in order: put the page's items in that order; items the list no
  // longer has go (unless someone is editing them: they are marked instead).
  function reorder(op) {
    const list = document.getElementById(op.list);
    if (!list) return;
    const wanted = op.pks.map(function (pk) { return op.prefix + pk; });
    const keep = new Set(wanted);
    for (const child of Array.from(list.children)) {
      // One's own private writing is not in the room's order: it stays (a reveal or a
      // delete says what becomes of it).
      if (!child.id || keep.has(child.id) || isPrivate(child)) continue;
      if (isBusy(child)) markStale(child, true); else child.remove();
    }
    let previous = null;
    for (const id of wanted) {
      const node = document.getElementById(id);
      if (!node || node.parentNode !== list) continue;
      if (!isBusy(node) && node.previousElementSibling !== previous) {
        if (previous) previous.after(node); else list.prepend(node);
      }
      previous = node;
    }
  }

  // The cards this page's person wrote (from the page, and from their adds' answers):
  // marked, so that CSS shows their actions. Who wrote which card is in no frame.
  const mine = new Set(JSON.parse((document.getElementById("my-items") || {}).textContent || "[]"));
  function markMine() {
    for (const id of mine) {
      const card = document.getElementById(id);
      if (card) card.classList.add("mine");
    }
  }
  document.body.addEventListener("htmx:afterSwap", markMine);

  // A renamed workshop: the tab's title follows the header (templates/base.html's form).
  function retitle() {
    const name = document.querySelector("#workshop-name .workshop-title");
    if (name) document.title = name.textContent + " · Attune";
  }

  function isPrivate(card) {
    return Boolean(card.querySelector(":scope > .private-note"));
  }

  // A part too large for a frame comes over HTTP, rendered for this page's audience.
  function fetchOps(url) {
    window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) apply(body.ops); })
      .catch(function (error) { console.error("attune: could not fetch", url, error); });
  }

  function apply(ops) {
    const touched = new Set();
    for (const op of ops || []) {
      try { applyOne(op); } catch (error) { console.error("attune: could not apply", op, error); }
      touched.add(String(op.list || op.id || "").replace(/^list-/, "").replace(/-\d+$/, ""));
    }
    window.attuneChoices.sync(touched);
    if (touched.has("presence")) announcePresence();
    if (touched.has("workshop-name")) retitle();
    markMine();
    showSpotlight();
    restoreFocus();
  }

  // Who came and went, said politely to screen readers: not oneself, and not those who
  // were there when the page loaded.
  function presentPeople() {
    const found = new Map();
    for (const li of document.querySelectorAll("#presence li[data-person]")) found.set(li.dataset.person, li.dataset.name);
    return found;
  }
  let present = presentPeople();
  function namesOf(names) {
    return names.length <= 2 ? names.join(" and ") : names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
  }
  function announcePresence() {
    const now = presentPeople();
    const me = live.dataset.person;
    const came = Array.from(now).filter(([who]) => who !== me && !present.has(who)).map(([, name]) => name);
    const went = Array.from(present).filter(([who]) => who !== me && !now.has(who)).map(([, name]) => name);
    present = now;
    const said = [];
    if (came.length) said.push(namesOf(came) + " joined");
    if (went.length) said.push(namesOf(went) + " left");
    if (said.length) announce(said.join("; "));
  }

  function announce(text) {
    if (!text) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function reorderPhases(order) {
    const container = document.querySelector(".sections");
    let previous = document.getElementById("room-bar");
    for (const [key, minutes, skipped] of order) {
      const section = document.getElementById("phase-" + key);
      if (!section) continue;
      section.classList.toggle("skipped", skipped);
      const timebox = section.querySelector(".phase-head .timebox");
      if (timebox) timebox.textContent = minutes + " min";
      if (previous && previous.nextElementSibling !== section && !isBusy(section)) previous.after(section);
      previous = section;
    }
    if (!container) return;
    let step = 1;
    for (const badge of container.querySelectorAll(".phase .step")) badge.textContent = step++;
  }

  // --- A person's own writes ---------------------------------------------------------
  // A write that succeeded answers with no fragment (201 or 204): this page sees the
  // change through its broadcast, like every other page (docs/architecture.md, "One way
  // to answer a write"). An add form empties for the next item; any other form is
  // released, so its change's frame replaces it, or replaces it now if it came first.
  // Should no frame come (the socket is down), the page fetches what it saved itself.
  const RELEASED_FALLBACK_MS = 3000;
  let refocus = null; // the id of what held the focus when its form was released

  function isLive() {
    return status.dataset.state === "live";
  }

  function release(form) {
    const owner = form.id ? form : form.parentElement && form.parentElement.closest("[id]");
    if (owner && form.contains(document.activeElement)) refocus = owner.id;
    form.dataset.saved = "";
    form.inert = true; // saved: not to be typed into while its replacement comes
    for (const [id, op] of Array.from(held)) {
      const el = document.getElementById(id);
      if (el && el.contains(form)) { held.delete(id); applyOne(op); }
    }
    restoreFocus();
    window.setTimeout(function () {
      if (!form.isConnected) return;
      const cancel = form.querySelector("[data-cancel]");
      if (cancel) htmx.ajax("GET", cancel.dataset.cancel, { target: form, swap: "outerHTML" });
    }, isLive() ? RELEASED_FALLBACK_MS : 0);
  }

  // While this page's socket is down its own add would not show until the catch-up:
  // fetch the new card (the answer's Location) and show it now, at the list's end.
  function showOwnAdd(form, location) {
    if (isLive() || !location) return;
    window.fetch(location, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        const fresh = parse(html || "");
        if (fresh && fresh.id) apply([{ op: "upsert", id: fresh.id, list: form.dataset.addsTo, html: fresh.outerHTML }]);
      })
      .catch(function (error) { console.error("attune: could not fetch", location, error); });
  }

  function restoreFocus() {
    if (!refocus || (document.activeElement && document.activeElement !== document.body)) return;
    const el = document.getElementById(refocus);
    if (!el || isReleased(el)) return;
    refocus = null;
    // Back to the control that opened the form (a card's actions), else the first one.
    const target = el.matches("button, a[href]") ? el
      : el.querySelector(".card-actions button:not([disabled])") || el.querySelector("button:not([disabled]), a[href]");
    if (target) target.focus({ preventScroll: true });
  }

  // A delete's answer carries its "Undo". It is read off the request itself: the live
  // frame that removes the card often arrives before the answer, and htmx's events from a
  // button no longer on the page reach no listener.
  document.body.addEventListener("htmx:beforeSend", function (event) {
    const xhr = event.detail.xhr;
    xhr.addEventListener("load", function () {
      if (xhr.status !== 204) return;
      const undo = xhr.getResponseHeader("X-Attune-Undo");
      if (undo && window.attuneUndo) window.attuneUndo(undo, "Deleted.");
    });
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    const answered = event.detail.xhr ? event.detail.xhr.status : 0;
    if (answered !== 201 && answered !== 204) return;
    const added = /\/s\/([a-z_]+)\/(\d+)\/$/.exec(event.detail.xhr.getResponseHeader("Location") || "");
    if (added) { mine.add(added[1] + "-" + added[2]); markMine(); }
    const elt = event.detail.elt;
    const form = elt && elt.closest ? elt.closest("form") : null;
    if (!form) return;
    if (form.dataset.addsTo) {
      form.reset();
      showOwnAdd(form, event.detail.xhr.getResponseHeader("Location"));
    } else release(form);
  });

  // --- The room: phase, locks, anonymity, spotlight, timer -------------------------
  function typing() {
    return isField(document.activeElement);
  }

  function goToRoom() {
    const target = room.phase && document.getElementById("phase-" + room.phase);
    if (target) target.scrollIntoView({ behavior: "smooth", block: "start" });
    autoScrollUntil = Date.now() + 1500;
    following = true;
    updateBackButton();
  }

  // Scrolling away from the room's phase is looking around, as following an agenda
  // link is: the page stops following the room and offers the way back; scrolling back
  // to it follows again. (Not while the page scrolls there by itself.)
  let autoScrollUntil = 0;
  let scrollPending = false;
  function roomInView() {
    const section = room.phase && document.getElementById("phase-" + room.phase);
    if (!section) return true;
    const bar = document.getElementById("room-bar");
    const under = bar ? bar.getBoundingClientRect().bottom : 0;
    const box = section.getBoundingClientRect();
    return box.bottom > under + 48 && box.top < window.innerHeight - 48;
  }
  // A person's own scrolling ends the page's.
  for (const kind of ["wheel", "touchstart", "keydown", "mousedown"]) {
    window.addEventListener(kind, function () { autoScrollUntil = 0; }, { passive: true });
  }
  window.addEventListener("scroll", function () {
    if (scrollPending) return;
    scrollPending = true;
    window.requestAnimationFrame(function () {
      scrollPending = false;
      if (Date.now() < autoScrollUntil) return;
      following = roomInView();
      updateBackButton();
    });
  }, { passive: true });

  function updateBackButton() {
    const button = document.querySelector(".back-to-room");
    if (button) button.hidden = following;
  }

  function applyRoom(state) {
    const moved = state.phase !== room.phase;
    room = state;
    clockOffset = state.timer.server_now - Date.now();
    document.body.classList.toggle("board-locked", state.board_locked);
    document.body.classList.toggle("open-editing", Boolean(state.open_editing));
    for (const section of document.querySelectorAll(".phase[data-sections]")) {
      const keys = section.dataset.sections.split(" ").filter(Boolean);
      section.classList.toggle("is-locked", state.board_locked || keys.some((k) => state.locked_sections.includes(k)));
      section.classList.toggle("is-anonymous", keys.some((k) => state.anonymous_sections.includes(k)));
      section.classList.toggle("is-private", keys.some((k) => (state.private_sections || []).includes(k)));
      section.classList.toggle("is-current", section.dataset.phase === state.phase);
    }
    if (moved) {
      if (following && !typing()) goToRoom();
      else { following = false; updateBackButton(); }
    }
    updateBackButton();
    showControls();
    showHandsAndReady(state);
    tick();
  }

  // Ready and raised hands: each page shows its person's own state (from the room's
  // state, which names who is ready and whose hand is up), the facilitators the count
  // and the queue. Names are text, never HTML.
  function press(button, on, flag, labels) {
    if (!button) return;
    button.setAttribute("aria-pressed", String(on));
    button.setAttribute("hx-vals", JSON.stringify({ [flag]: on ? "0" : "1" }));
    button.textContent = on ? labels[1] : labels[0];
  }

  function showHandsAndReady(state) {
    const bar = document.getElementById("room-bar");
    if (!bar || !state.hands) return;
    const me = Number(live.dataset.participant || 0);
    press(bar.querySelector(".me-ready"), me > 0 && state.ready.includes(me), "ready", ["Ready", "Ready ✓"]);
    press(bar.querySelector(".me-hand"), me > 0 && state.hands.some(function (hand) { return hand[0] === me; }), "raised", ["Raise hand", "Lower hand"]);
    const count = bar.querySelector(".ready-count");
    if (count) count.textContent = state.taking_part ? state.ready.length + " of " + state.taking_part + " ready" : "";
    const box = bar.querySelector(".hands");
    if (!box) return;
    box.hidden = state.hands.length === 0;
    const facilitator = document.body.classList.contains("is-facilitator");
    const items = state.hands.map(function (hand) {
      const li = document.createElement("li");
      li.textContent = hand[1];
      if (facilitator) {
        const lower = document.createElement("button");
        lower.type = "button";
        lower.className = "link lower-hand";
        lower.textContent = "Lower";
        lower.setAttribute("aria-label", "Lower " + hand[1] + "'s hand");
        lower.setAttribute("hx-post", box.dataset.lower.replace("/0/lower/", "/" + hand[0] + "/lower/"));
        lower.setAttribute("hx-swap", "none");
        li.append(" ", lower);
      }
      return li;
    });
    box.querySelector("ol").replaceChildren.apply(box.querySelector("ol"), items);
    if (facilitator) htmx.process(box);
  }

  // The facilitator's controls on a phone: folded behind "Controls", open until closed
  // (the room bar is redrawn by every room change: the choice is kept here).
  let controlsOpen = false;
  function showControls() {
    const bar = document.getElementById("room-bar");
    const toggle = bar && bar.querySelector(".room-more");
    if (!toggle) return;
    bar.classList.toggle("controls-open", controlsOpen);
    toggle.setAttribute("aria-expanded", String(controlsOpen));
    toggle.textContent = controlsOpen ? "Hide controls" : "Controls";
    window.attuneMeasure && window.attuneMeasure();
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".room-more")) return;
    controlsOpen = !controlsOpen;
    showControls();
  });

  function showSpotlight() {
    for (const el of document.querySelectorAll(".spotlight")) {
      if (el.id !== room.spotlight) el.classList.remove("spotlight");
    }
    const target = room.spotlight && document.getElementById(room.spotlight);
    if (target && !target.classList.contains("spotlight")) {
      target.classList.add("spotlight");
      if (following && !typing()) target.scrollIntoView({ behavior: "smooth", block: "center" });
    }
  }

  function secondsLeft() {
    const timer = room.timer;
    if (timer.running && timer.ends_at) {
      return Math.max(0, Math.round((timer.ends_at - (Date.now() + clockOffset)) / 1000));
    }
    return timer.remaining;
  }

  function tick() {
    const display = document.querySelector("[data-timer]");
    if (!display) return;
    const left = secondsLeft();
    if (left === null || left === undefined) { display.textContent = "—"; return; }
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    display.textContent = left === 0 && room.timer.running ? "Time's up" : minutes + ":" + seconds;
    display.dataset.seconds = left;
    display.closest(".timer").classList.toggle("overtime", left === 0);
  }
  window.setInterval(tick, 250);

  document.addEventListener("click", function (event) {
    if (event.target.closest(".back-to-room")) { goToRoom(); return; }
    const link = event.target.closest(".agenda a[href^='#phase-']");
    if (link) {
      following = link.getAttribute("href") === "#phase-" + room.phase;
      updateBackButton();
    }
  });

  // --- The socket (the htmx ws extension owns connecting; we own the backoff) ---------
  function struggling() {
    if (failures < TROUBLE_AFTER) return false;
    troubleShown = true;
    setStatus("trouble", navigator.onLine ? "Can't reach the board" : "Offline");
    window.attuneAlert && window.attuneAlert(navigator.onLine
      ? "The board can't be reached right now. It keeps trying by itself; if this stays, reload the page. Nothing you saved is lost."
      : "You are offline. The board reconnects when your network is back; nothing you saved is lost.", "error", true,
      "alert-trouble");
    return true;
  }

  document.body.addEventListener("htmx:wsConnecting", function () {
    failures += 1;
    if (status.dataset.state === "connecting" || struggling()) return;
    setStatus("reconnecting", "Reconnecting…");
  });

  document.body.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    lastError = null;
    lastPong = Date.now(); // a fresh socket: the heartbeat must not judge it by the old one
    resyncPending = true;
    syncing = false;
    // The audience this page shows: if the person's role changed while it was away,
    // the server sends the whole board as they may now see it.
    const shown = document.body.classList.contains("is-facilitator") ? "facilitators" : "room";
    send({ type: "hello", version: version, audience: shown });
    // Not "live" yet: an open socket is not a joined room (the server accepts first and
    // may still fail to join the board's groups, e.g. while Redis is down, and close).
    // The answer to hello, a sync frame, is the proof; it sets "live".
  });

  document.body.addEventListener("htmx:wsClose", function (event) {
    const code = event.detail.event.code;
    socket = null;
    if (code === TRY_AGAIN) {
      // The server is up but its channel layer is not, for a moment: come back soon.
      const wrapper = event.detail.socketWrapper;
      window.setTimeout(function () { wrapper.reconnect(); }, htmx.config.wsReconnectDelay());
      if (!struggling()) setStatus("reconnecting", "Reconnecting…");
    } else if (code >= 4000 && code < 5000) {
      const why = lastError ? lastError.message : "This board closed your connection.";
      setStatus("closed", "Disconnected");
      window.attuneAlert && window.attuneAlert(why, "error", true); // stays: it says why
      document.body.classList.add("disconnected");
    } else if (!struggling()) {
      setStatus("reconnecting", "Reconnecting…");
    }
  });

  document.body.addEventListener("htmx:wsBeforeMessage", function (event) {
    event.preventDefault(); // our frames are JSON, applied here, not by htmx
    let frame;
    try { frame = JSON.parse(event.detail.message); } catch (error) { return; }
    if (frame.type === "event") onEvent(frame);
    else if (frame.type === "sync") onSync(frame);
    else if (frame.type === "presence") apply(frame.ops);
    else if (frame.type === "pong") onPong(frame);
    else if (frame.type === "error") {
      lastError = frame;
      if (!frame.code && frame.reason !== "unavailable") window.attuneAlert && window.attuneAlert(frame.message);
    }
    live.dataset.version = version;
  });

  // A heartbeat keeps presence and group membership fresh, tells the page the board's
  // version, and notices a silently dead connection.
  window.setInterval(function () {
    if (!socket || !["live", "behind"].includes(status.dataset.state)) return;
    if (Date.now() - lastPong > 4 * PING_MS) { socket.reconnect(); return; }
    send({ type: "ping" });
  }, PING_MS);

  // Reconnect soon: after an outage every page should be back within seconds of the
  // server, not after a backoff that doubled while it was away. The ws extension
  // resets its own retry count whenever a socket opens (even one the server then
  // closes), so the delay follows our count of attempts since the page was last live:
  // 0.25 s, 0.5 s, 1 s, 2 s, then at most 3 s, with jitter so a room does not
  // reconnect in one burst. While the browser knows it is offline, retry every second
  // (attempts fail at once and cost the server nothing).
  htmx.config.wsReconnectDelay = function () {
    if (!navigator.onLine) return 1000;
    const ceiling = Math.min(3000, 250 * Math.pow(2, Math.max(0, failures - 1)));
    return ceiling / 2 + Math.random() * ceiling / 2;
  };

  applyRoom(room);
  markMine();
  following = true;
  // Someone joining mid-session lands where the room is, unless the link names a place
  // (or the board is archived: its banner, at the top, says so first).
  if (!window.location.hash && room.phase && !document.body.classList.contains("archived")) {
    const here = document.getElementById("phase-" + room.phase);
    if (here) here.scrollIntoView({ block: "start" });
  }
})();
