/*
 * Copylift storefront tracker. No dependencies, ES2017.
 *
 *   <script src="https://copylift.example/tracker.js" data-experiment="KEY"
 *           data-write-key="KEY" data-endpoint="https://copylift.example" async></script>
 *
 * Puts the assigned copy into every [data-copylift-slot] element and reports an impression
 * (a slot at least 50 % visible), clicks ([data-copylift-slot], [data-copylift-click]),
 * add-to-carts ([data-copylift-add-to-cart]) and orders (window.copylift.order({revenue, product})).
 *
 * Catalog experiments: give each slot its product's SKU, `data-product="SKU"` (on the slot or on
 * an element around it, e.g. the product card; clicks and add-to-carts take the SKU the same
 * way). A page with one SKU asks /api/v1/assign?product=SKU; a listing with several asks
 * /api/v1/copy once (data-experiment is then optional: each product's running experiment
 * decides), and one impression per product is reported. Every event carries its `product`.
 * Without data-product the page is one product of a one-product experiment, as before.
 *
 * Every event carries the visitor's attributes (device, new or returning, traffic source from the
 * utm_medium or the referrer, and the country the page puts in data-country="DE"): the segments a
 * report can break its lifts down by.
 *
 * Delivery is at-least-once: every event carries a random event_id and the server drops
 * duplicates, so whenever in doubt (retries, beacons, reloads) this script sends again.
 */
(() => {
  "use strict";

  if (window.copylift && window.copylift.version) return; // included twice: the first one wins

  const COOKIE = "copylift_uid";
  const STORE_KEY = "copylift_pending_v1";
  const TYPES = ["impression", "click", "add_to_cart", "order"];
  const FLUSH_MS = 1000;
  const FLUSH_AT = 20;
  const MAX_BATCH = 50; // keepalive fetches and beacons are capped at 64 KB of body
  const MAX_STORED = 500; // bounds localStorage while the endpoint is down for a long time
  const MAX_AGE_MS = 24 * 3600 * 1000; // older stored events are not worth resending
  const MAX_BACKOFF_MS = 60000;

  // Async scripts still see document.currentScript while they first run; the selector covers
  // tag managers that inject the tag in ways that hide it.
  const script = document.currentScript || document.querySelector("script[data-experiment][src*='tracker.js']");
  const config = (script && script.dataset) || {};
  const experiment = config.experiment || "";
  const writeKey = config.writeKey || "";
  const endpoint = (config.endpoint || (script && script.src ? new URL(script.src, location.href).origin : "")).replace(
    /\/+$/,
    ""
  );
  const eventsUrl = endpoint + "/api/v1/events";

  const log = (level, message, detail = "") => console[level]("[copylift] " + message, detail);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
    if (window.crypto && crypto.getRandomValues) {
      return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join("");
    }
    return Date.now().toString(36) + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  }

  // --- The visitor's unit id: a first-party cookie, so it survives reloads and stays per site. ---

  function readCookie(name) {
    for (const part of document.cookie ? document.cookie.split("; ") : []) {
      const eq = part.indexOf("=");
      if (part.slice(0, eq) !== name) continue;
      try {
        return decodeURIComponent(part.slice(eq + 1));
      } catch (e) {
        return ""; // malformed: replaced by a fresh id
      }
    }
    return "";
  }

  function unitId() {
    let unit = readCookie(COOKIE);
    if (!unit || unit.length > 128) unit = randomId(); // the API takes 1–128 characters
    // Set again on every visit so that the year counts from the last visit, not the first.
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${COOKIE}=${encodeURIComponent(unit)}; Max-Age=31536000; Path=/; SameSite=Lax${secure}`;
    return unit;
  }

  // --- Pending events: in memory, mirrored to localStorage so that a reload resends them. ---

  let queue = [];
  let flushTimer = null;
  let inFlight = new Set(); // ids of the batch a fetch is carrying now
  let failures = 0; // consecutive, for the exponential backoff
  let retryAt = 0; // no fetch before this time (backoff or Retry-After)
  let beaconed = new Set(); // ids handed to sendBeacon since the page was last visible

  function storedEvents() {
    try {
      const list = JSON.parse(localStorage.getItem(STORE_KEY) || "[]");
      return Array.isArray(list) ? list.filter((e) => e && typeof e.event_id === "string") : [];
    } catch (e) {
      return []; // storage disabled (privacy modes) or corrupt: memory alone still works
    }
  }

  // Tabs of the same site share the stored list: merge into it instead of overwriting theirs.
  function persist(removed = new Set()) {
    try {
      const merged = storedEvents().filter((e) => !removed.has(e.event_id));
      const ids = new Set(merged.map((e) => e.event_id));
      for (const e of queue) if (!ids.has(e.event_id)) merged.push(e);
      if (merged.length) localStorage.setItem(STORE_KEY, JSON.stringify(merged.slice(-MAX_STORED)));
      else localStorage.removeItem(STORE_KEY);
    } catch (e) {
      // quota exceeded or storage disabled: the events stay in memory
    }
  }

  function adoptStored() {
    const cutoff = Date.now() - MAX_AGE_MS;
    const expired = new Set();
    for (const e of storedEvents()) {
      if (Date.parse(e.ts) > cutoff) queue.push(e);
      else expired.add(e.event_id);
    }
    if (expired.size) persist(expired);
  }

  // text/plain is a CORS-safelisted type: no preflight, and beacons can carry it too. The write
  // key rides in the body because beacons cannot set an Authorization header.
  const body = (events) => JSON.stringify({ events, write_key: writeKey });

  function schedule(delay) {
    if (flushTimer) return;
    flushTimer = setTimeout(() => {
      flushTimer = null;
      flush();
    }, Math.max(0, delay));
  }

  function forget(batch) {
    const ids = new Set(batch.map((e) => e.event_id));
    queue = queue.filter((e) => !ids.has(e.event_id));
    persist(ids);
  }

  function retryAfterMs(response) {
    // Readable cross-origin only when the server exposes it (Access-Control-Expose-Headers).
    const value = response && response.headers.get("Retry-After");
    if (!value) return 0;
    const seconds = Number(value);
    return Number.isFinite(seconds) ? seconds * 1000 : Math.max(0, Date.parse(value) - Date.now() || 0);
  }

  function backoff(response) {
    failures += 1;
    // Full jitter keeps many storefront tabs from retrying in lock-step after an outage.
    const cap = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
    const delay = Math.max(cap / 2 + (Math.random() * cap) / 2, retryAfterMs(response));
    retryAt = Date.now() + delay;
    schedule(delay);
  }

  async function send(batch) {
    let response;
    try {
      response = await fetch(eventsUrl, {
        method: "POST",
        headers: { "Content-Type": "text/plain" },
        body: body(batch),
        keepalive: true, // a batch started just before a navigation still completes
        credentials: "omit", // the write key authenticates; cookies would only widen CORS needs
      });
    } catch (e) {
      return backoff(null); // offline, DNS, CORS: the events are fine, try again later
    }
    if (response.ok) {
      failures = 0;
      forget(batch);
      const result = await response.json().catch(() => ({}));
      for (const r of result.rejected || []) log("warn", "event rejected", { event: batch[r.index], errors: r.errors });
    } else if ([400, 401, 413].includes(response.status)) {
      // Sending again would fail the same way: drop, but loudly, so the integration gets fixed.
      forget(batch);
      log("error", `dropped ${batch.length} events: HTTP ${response.status}`, await response.text().catch(() => ""));
    } else {
      backoff(response); // 429, 503 and other server errors
    }
  }

  async function flush() {
    if (inFlight.size || !queue.length) return;
    if (Date.now() < retryAt) return schedule(retryAt - Date.now());
    const batch = queue.slice(0, MAX_BATCH);
    inFlight = new Set(batch.map((e) => e.event_id));
    try {
      await send(batch);
    } finally {
      inFlight = new Set();
    }
    if (queue.length) schedule(queue.length >= FLUSH_AT ? 0 : FLUSH_MS);
  }

  // The page is going away or may be discarded in the background: beacons are delivered even
  // after unload. The events stay stored until a fetch is acknowledged, so a later page view
  // sends them again if the beacon was lost (and the server drops the duplicate if it was not).
  // A batch already in flight is left out: keepalive lets that fetch finish after unload.
  function beacon() {
    const fresh = queue.filter((e) => !beaconed.has(e.event_id) && !inFlight.has(e.event_id));
    if (!fresh.length || !navigator.sendBeacon) return;
    for (let i = 0; i < fresh.length; i += MAX_BATCH) {
      const chunk = fresh.slice(i, i + MAX_BATCH);
      if (!navigator.sendBeacon(eventsUrl, new Blob([body(chunk)], { type: "text/plain" }))) break;
      for (const e of chunk) beaconed.add(e.event_id);
    }
  }

  function enqueue(event) {
    queue.push(event);
    persist();
    if (queue.length >= FLUSH_AT && Date.now() >= retryAt) {
      clearTimeout(flushTimer);
      flushTimer = null;
      flush();
    } else {
      schedule(FLUSH_MS);
    }
  }

  // --- Assignment, slots and events ---

  // --- Unit attributes, the report's segments: sent with every event; the server keeps a unit's first. ---
  // The cookie tells a returning visitor, so read it before unitId() sets it. Country comes from the
  // storefront (data-country="DE", e.g. from its geo-IP): a browser does not know it.
  const returning = readCookie(COOKIE) !== "";

  function deviceType() {
    const ua = navigator.userAgent || "";
    if (/iPad|Tablet|PlayBook|Silk|(Android(?!.*Mobile))/i.test(ua)) return "tablet";
    if (/Mobi|iPhone|iPod|Android|BlackBerry|IEMobile|Opera Mini/i.test(ua)) return "mobile";
    return /Windows|Macintosh|Linux|CrOS|X11/i.test(ua) ? "desktop" : "other";
  }

  const SEARCH = /(^|\.)(google|bing|duckduckgo|yahoo|baidu|yandex|ecosia|qwant|startpage)\./i;
  const SOCIAL = /(^|\.)(facebook|instagram|t\.co|twitter|x\.com|linkedin|pinterest|tiktok|reddit|youtube)/i;

  function trafficSource() {
    const params = new URLSearchParams(location.search);
    const medium = (params.get("utm_medium") || "").toLowerCase();
    if (medium === "email") return "email";
    if (/^(cpc|ppc|paid|paidsearch|display|cpm)$/.test(medium)) return "paid";
    if (medium === "social") return "social";
    if (medium) return "other";
    let host = "";
    try {
      host = document.referrer ? new URL(document.referrer).hostname : "";
    } catch (e) {
      host = "";
    }
    if (!host || host === location.hostname) return "direct";
    if (SEARCH.test(host)) return "search";
    if (SOCIAL.test(host)) return "social";
    return "referral";
  }

  const attributes = { device: deviceType(), visitor: returning ? "returning" : "new", source: trafficSource() };
  if (/^[A-Z]{2}$/.test(config.country || "")) attributes.country = config.country;
  else if (config.country) log("warn", "data-country must be an ISO 3166-1 alpha-2 code in upper case", config.country);

  const unit = unitId();
  const COPY_MAX_SKUS = 100; // what one /api/v1/copy call takes

  async function getJson(url) {
    for (let attempt = 1; ; attempt++) {
      let response = null;
      try {
        response = await fetch(url, { credentials: "omit" });
      } catch (e) {
        if (attempt >= 3) throw e;
      }
      if (response && response.ok) return response.json();
      if (response && (response.status < 500 || attempt >= 3)) {
        const error = await response.json().catch(() => ({}));
        throw new Error(error.error || `HTTP ${response.status}`); // 400/404: retrying cannot help
      }
      await sleep(300 * attempt);
    }
  }

  // One experiment's arm and copy; `sku` names the product (omitted: a one-product experiment).
  function fetchAssignment(sku) {
    if (!experiment || !writeKey || !endpoint) throw new Error("data-experiment and data-write-key are required");
    const product = sku ? `&product=${encodeURIComponent(sku)}` : "";
    return getJson(
      `${endpoint}/api/v1/assign?experiment=${encodeURIComponent(experiment)}&unit=${encodeURIComponent(unit)}${product}`
    );
  }

  // Copy of many products at once (a listing): SKU -> {experiment, variant, copy, in_experiment}, or null
  // for a SKU the shop does not know. One call per 100 SKUs.
  async function fetchCopies(skus) {
    if (!writeKey || !endpoint) throw new Error("data-write-key is required");
    const result = {};
    for (let i = 0; i < skus.length; i += COPY_MAX_SKUS) {
      const chunk = skus.slice(i, i + COPY_MAX_SKUS).map(encodeURIComponent).join(",");
      Object.assign(result, await getJson(`${endpoint}/api/v1/copy?unit=${encodeURIComponent(unit)}&products=${chunk}`));
    }
    return result;
  }

  const domReady = new Promise((resolve) => {
    if (document.readyState !== "loading") resolve();
    else document.addEventListener("DOMContentLoaded", () => resolve(), { once: true });
  });
  const slots = () => Array.from(document.querySelectorAll("[data-copylift-slot]"));
  const holderSku = (element) => {
    const holder = element.closest("[data-product]");
    return holder ? holder.getAttribute("data-product") : "";
  };

  // Pages name their products with data-product (on the slot, or on an element around it such as
  // the product card). Without it, the page shows one product of a one-product experiment.
  let pageSkus = []; // distinct SKUs of the page's slots, in page order
  let byProduct = null; // SKU -> assignment (null: no copy for that SKU); null on a page without SKUs
  const slotSku = (slot) => holderSku(slot) || (pageSkus.length === 1 ? pageSkus[0] : "");

  function watchImpression(elements, seen) {
    let sent = false;
    const impression = () => {
      if (!sent) seen();
      sent = true;
    };
    if (!elements.length) return;
    if (!window.IntersectionObserver) return impression();
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting && entry.intersectionRatio >= 0.5)) {
          observer.disconnect();
          impression();
        }
      },
      { threshold: 0.5 }
    );
    for (const element of elements) observer.observe(element);
  }

  function fill(slot, assignment) {
    slot.textContent = assignment.copy; // never innerHTML: copy is untrusted text
    if (assignment.variant) slot.setAttribute("data-copylift-variant", assignment.variant);
    slot.setAttribute("data-copylift-state", "ready");
  }

  async function assignPage() {
    await domReady;
    pageSkus = Array.from(new Set(slots().map(holderSku).filter(Boolean)));
    if (!pageSkus.length) {
      const assignment = await fetchAssignment(null);
      for (const slot of slots()) fill(slot, assignment);
      watchImpression(slots(), () => track("impression"));
      return assignment;
    }
    // One product with a known experiment: /assign. Several (a listing): one /copy call, where each
    // product's own running experiment decides (the same arm for a visitor on every product).
    const single = pageSkus.length === 1 && experiment;
    const found = single ? { [pageSkus[0]]: await fetchAssignment(pageSkus[0]) } : await fetchCopies(pageSkus);
    byProduct = new Map(pageSkus.map((sku) => [sku, found[sku] || null]));
    const groups = new Map();
    for (const slot of slots()) {
      const sku = slotSku(slot);
      const assignment = byProduct.get(sku);
      if (!assignment) {
        slot.setAttribute("data-copylift-state", "error"); // unknown SKU: keep the page's fallback
        log("warn", `no copy for product ${JSON.stringify(sku)}`);
        continue;
      }
      fill(slot, assignment);
      if (!groups.has(sku)) groups.set(sku, []);
      groups.get(sku).push(slot);
    }
    for (const [sku, elements] of groups) watchImpression(elements, () => track("impression", { product: sku }));
    return single ? found[pageSkus[0]] : { products: Object.fromEntries(byProduct) };
  }

  // Resolves to the assignment (a page with one product), to {products: {SKU: assignment}} (a page
  // with several), or to null when there is none (bad config, unknown experiment, endpoint down):
  // storefront code can always `await copylift.ready` without a catch.
  const ready = assignPage().catch(async (error) => {
    log("warn", `no assignment for experiment ${JSON.stringify(experiment)}: ${error.message}`);
    await domReady;
    for (const slot of slots()) slot.setAttribute("data-copylift-state", "error"); // keep the page's fallback
    return null;
  });

  // Which experiment and arm an event of `sku` belongs to; null where the server would refuse it
  // (outside the experiment: coverage, namespace, not running, or a product in no experiment).
  function eventTarget(sku, assignment) {
    if (!assignment) return null;
    if (!byProduct) return assignment.in_experiment ? { experiment, variant: assignment.variant } : null;
    if (!sku && pageSkus.length === 1) sku = pageSkus[0];
    let chosen = sku ? byProduct.get(sku) : null;
    if (!sku && experiment) {
      // An order on a listing without a SKU: the visitor's arm is the same on every product.
      chosen = Array.from(byProduct.values()).find((a) => a && a.experiment === experiment) || null;
    }
    if (!chosen || !chosen.experiment || !chosen.in_experiment) return null;
    return { experiment: chosen.experiment, variant: chosen.variant, product: sku || undefined };
  }

  async function track(type, extra = {}) {
    const ts = new Date().toISOString(); // when it happened, even if the assignment is still loading
    if (!TYPES.includes(type)) {
      log("warn", "unknown event type", type);
      return false;
    }
    const event = { event_id: randomId(), type, experiment, unit, ts, attributes };
    if (type === "order" && extra.revenue !== undefined && extra.revenue !== null) {
      const revenue = Number(extra.revenue);
      if (!Number.isFinite(revenue) || revenue < 0) {
        log("warn", "order revenue must be a number ≥ 0", extra.revenue);
        return false;
      }
      event.revenue = revenue;
    }
    const target = eventTarget(extra.product ? String(extra.product) : "", await ready);
    if (!target) return false;
    event.experiment = target.experiment;
    event.variant = target.variant; // lets the server catch a storefront showing the wrong copy
    if (target.product) event.product = target.product;
    enqueue(event);
    return true;
  }

  // One delegated listener also covers elements added after load. Capture phase: a click is
  // still counted when the page's own handler stops propagation.
  document.addEventListener(
    "click",
    (e) => {
      if (!(e.target instanceof Element)) return;
      const clicked = e.target.closest("[data-copylift-slot], [data-copylift-click]");
      if (clicked) track("click", { product: holderSku(clicked) });
      const added = e.target.closest("[data-copylift-add-to-cart]");
      if (added) track("add_to_cart", { product: holderSku(added) });
    },
    true
  );

  window.addEventListener("pagehide", beacon);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") beacon();
    else beaconed = new Set(); // visible again: a later hide beacons whatever is still pending
  });

  // Events stored by an earlier page wait for the first regular flush: that page's beacon has
  // usually landed by then, and the resend is then a cheap duplicate instead of racing it.
  adoptStored();
  if (queue.length) schedule(FLUSH_MS);

  window.copylift = {
    version: "1",
    unit,
    ready,
    track: (type, extra) => track(type, extra || {}),
    order: ({ revenue, product } = {}) => track("order", { revenue, product }),
    // The assignment of one product of the page (null: none), once `ready` has resolved.
    assignmentFor: async (sku) => {
      const assignment = await ready;
      return byProduct ? byProduct.get(sku) || null : assignment;
    },
    flush,
  };
})();
