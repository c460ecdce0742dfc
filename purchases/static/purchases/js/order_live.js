/* The order page follows its order without reloading (README "The live order page").
 *
 * The page's root, #order, says how (data-live, set by purchases.views.live_mode):
 *   live        poll the status API (data-status-url, Bearer data-token): after 1 s, then each
 *               wait 1.5 times longer up to 10 s; back to 1 s whenever anything moved;
 *   confirming  back from paying, not yet confirmed: poll the page itself (it asks Stripe), the
 *               same back-off from 2 s;
 *   slow        waiting on people (the customer's choice, an editor): look every data-slow-ms
 *               (ORDER_PAGE_SLOW_POLL_SECONDS, 30 s by default);
 *   off         a final state (published, failed, refunded): nothing more to look for.
 * Nothing is polled while the tab is hidden; it looks at once when the tab comes back.
 *
 * Each answer moves the progress bar, the stage, the queue position and the estimate in place.
 * When the order itself changed (status, actions, drafts, anything behind updatedAt), the page is
 * fetched again and #order-live is swapped for its fresh copy, whose data-live then says how to
 * go on; the change is announced in #live-region (aria-live="polite").
 *
 * No inline script anywhere: the CSP is script-src 'self'. Without JavaScript the page refreshes
 * itself through a <noscript> meta refresh instead.
 */
(function () {
  "use strict";

  var FIRST_MS = 1000;
  var CONFIRM_FIRST_MS = 2000;
  var FACTOR = 1.5;
  var MAX_MS = 10000;
  var root = document.getElementById("order");
  if (!root || !window.fetch || !window.DOMParser) {
    return;
  }
  var SLOW_MS = parseInt(root.getAttribute("data-slow-ms"), 10) || 30000;

  var delay = firstDelay();
  var timer = null;
  var busy = false;
  var lastSignature = null;
  var lastQueueSignature = null;
  var lastStage = null;

  function mode() {
    return root.getAttribute("data-live") || "off";
  }

  function firstDelay() {
    return mode() === "confirming" ? CONFIRM_FIRST_MS : FIRST_MS;
  }

  function announce(text) {
    var region = document.getElementById("live-region");
    if (!region || !text) {
      return;
    }
    // A fresh text node each time, so the same words said twice are still read out.
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = text;
    }, 50);
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    timer = null;
    if (mode() === "off" || document.hidden) {
      return;
    }
    timer = window.setTimeout(tick, ms);
  }

  function nextDelay(moved) {
    if (mode() === "slow") {
      return SLOW_MS;
    }
    delay = moved ? firstDelay() : Math.min(Math.round(delay * FACTOR), MAX_MS);
    return delay;
  }

  function stageWords(queue) {
    var block = document.getElementById("progress-block");
    var table = {};
    try {
      table = JSON.parse((block && block.getAttribute("data-stage-words")) || "{}");
    } catch (e) {
      table = {};
    }
    // The same lookup as purchases.selectors.queue_stage_words.
    if (queue.state === "retrying" && table.retrying) {
      return table.retrying;
    }
    if (!queue.stage) {
      return table.queued || "Waiting for a writer";
    }
    if (table[queue.stage]) {
      return table[queue.stage];
    }
    var raw = String(queue.stage).replace(/_/g, " ");
    return raw.charAt(0).toUpperCase() + raw.slice(1).toLowerCase();
  }

  function waitWords(seconds) {
    // The same words as purchases.views.wait_words.
    if (seconds < 60) {
      return "About " + seconds + " second" + (seconds === 1 ? "" : "s") + " left";
    }
    var minutes = Math.round(seconds / 60);
    return "About " + minutes + " minute" + (minutes === 1 ? "" : "s") + " left";
  }

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node && node.textContent !== text) {
      node.textContent = text;
    }
  }

  function showQueue(body) {
    var queue = body.queue || {};
    var bar = document.getElementById("progress");
    if (!bar) {
      return;
    }
    var percent = Math.max(0, Math.min(100, Number(queue.progress) || 0));
    bar.value = percent;
    bar.textContent = percent + "%";
    setText("progress-percent", percent + "%");
    var words = stageWords(queue);
    setText("progress-stage", words);
    if (lastStage !== null && lastStage !== words) {
      announce(words);
    }
    lastStage = words;
    var position = "";
    if (queue.state === "queued" && typeof queue.position === "number") {
      position =
        queue.position === 0
          ? "Yours is next"
          : queue.position + " order" + (queue.position === 1 ? "" : "s") + " ahead of yours";
    }
    setText("queue-position", position);
    var estimate = typeof queue.estimatedSeconds === "number" ? queue.estimatedSeconds : body.estimatedSeconds;
    if (typeof estimate === "number") {
      setText("estimate", waitWords(Math.max(1, Math.round(estimate))));
    } else if (queue.state !== "queued") {
      setText("estimate", ""); // the page's own estimate was for the wait in the queue
    }
  }

  function signature(body) {
    return JSON.stringify([
      body.status,
      body.actions,
      body.regenerationCount,
      body.failureReason,
      body.statusMessage,
      body.updatedAt,
    ]);
  }

  function queueSignature(body) {
    var queue = body.queue || {};
    return JSON.stringify([queue.state, queue.stage, queue.progress, queue.position, queue.attempts]);
  }

  function fetchPage() {
    return window
      .fetch(window.location.href, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "text/html" },
      })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("order page answered " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("order");
        if (!fresh || !fresh.querySelector("#order-live")) {
          throw new Error("no #order-live in the page");
        }
        return { doc: doc, fresh: fresh };
      });
  }

  // Swap #order-live for the fresh page's; keep focus where it was if that element is still
  // there, else on the heading; say what changed.
  function swap(page, announceIt) {
    var current = document.getElementById("order-live");
    var replacement = document.importNode(page.fresh.querySelector("#order-live"), true);
    var active = document.activeElement;
    var focusWasInside = current && active && current.contains(active);
    var focusId = focusWasInside ? active.id : "";
    var focusAction = "";
    if (focusWasInside && active.form) {
      var actionField = active.form.querySelector("input[name=action]");
      focusAction = actionField ? actionField.value : "";
    }
    current.parentNode.replaceChild(replacement, current);
    root.setAttribute("data-swaps", String(Number(root.getAttribute("data-swaps") || 0) + 1));
    root.setAttribute("data-status", page.fresh.getAttribute("data-status") || "");
    root.setAttribute("data-live", page.fresh.getAttribute("data-live") || "off");
    if (page.doc.title) {
      document.title = page.doc.title;
    }
    if (focusWasInside) {
      var target = focusId ? document.getElementById(focusId) : null;
      if (!target && focusAction) {
        var field = replacement.querySelector('input[name=action][value="' + focusAction + '"]');
        target = field && field.form ? field.form.querySelector("button") : null;
      }
      (target || document.getElementById("order-heading")).focus();
    }
    lastStage = null;
    if (announceIt) {
      // The status moved on: a message about an earlier button press (above #order) is stale now.
      var stale = document.querySelectorAll("main > .banner");
      for (var i = 0; i < stale.length; i++) {
        stale[i].parentNode.removeChild(stale[i]);
      }
      var badge = document.getElementById("status");
      announce(announceIt !== true ? announceIt : badge ? "Your order is now: " + badge.textContent + "." : "");
    }
  }

  function pollStatus() {
    return window
      .fetch(root.getAttribute("data-status-url"), {
        credentials: "same-origin",
        cache: "no-store",
        headers: {
          Accept: "application/json",
          Authorization: "Bearer " + root.getAttribute("data-token"),
        },
      })
      .then(function (response) {
        if (response.status === 429) {
          var wait = Number(response.headers.get("Retry-After")) || 0;
          return { wait: Math.max(wait * 1000, nextDelay(false)) };
        }
        if (response.status === 404) {
          root.setAttribute("data-live", "off"); // the token stopped working: nothing more to show
          return { wait: 0 };
        }
        if (!response.ok) {
          throw new Error("status answered " + response.status);
        }
        return response.json().then(function (body) {
          var moved;
          var sig = signature(body);
          var changed = lastSignature !== null ? sig !== lastSignature : body.status !== root.getAttribute("data-status");
          lastSignature = sig;
          var queueSig = queueSignature(body);
          moved = lastQueueSignature !== null && lastQueueSignature !== queueSig;
          lastQueueSignature = queueSig;
          showQueue(body);
          if (!changed) {
            return { wait: nextDelay(moved) };
          }
          var statusChanged = body.status !== root.getAttribute("data-status");
          return fetchPage().then(function (page) {
            swap(page, statusChanged ? body.statusMessage || true : false);
            return { wait: nextDelay(true) };
          });
        });
      });
  }

  function pollPage() {
    return fetchPage().then(function (page) {
      if (page.fresh.getAttribute("data-status") === root.getAttribute("data-status")) {
        return { wait: nextDelay(false) };
      }
      swap(page, true);
      return { wait: nextDelay(true) };
    });
  }

  function tick() {
    timer = null;
    if (busy || mode() === "off" || document.hidden) {
      return;
    }
    busy = true;
    var poll = mode() === "confirming" ? pollPage : pollStatus;
    poll()
      .catch(function () {
        return { wait: nextDelay(false) }; // offline or a server hiccup: try again, more slowly
      })
      .then(function (result) {
        busy = false;
        schedule(result.wait);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      window.clearTimeout(timer);
      timer = null;
    } else {
      delay = firstDelay();
      schedule(0);
    }
  });

  schedule(mode() === "slow" ? SLOW_MS : delay);
})();
