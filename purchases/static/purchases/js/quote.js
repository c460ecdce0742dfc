/* The buy forms ask the link policy for the price while the customer types (README "Link policy").
 *
 * Once the target URL looks like an address, the form's fields are sent to the quote endpoint
 * (data-quote-url on #order-form; POST /api/v1/purchase/quote, which writes nothing), 500 ms after
 * the last keystroke. Its answer fills the Price box (#quote): the base price, any niche surcharge
 * and the total, or the refusal in words; the link preview (#link-preview) shows the link as the
 * page will carry it. The total is put in the form's acceptedTotal, so the customer pays in one
 * step exactly what the box said; without this script the form itself comes back with the price
 * to confirm (purchases.views._order_form). Everything is written with textContent: what the
 * customer typed never becomes markup. No inline script anywhere: the CSP is script-src 'self'.
 */
(function () {
  "use strict";

  var DELAY_MS = 500;
  var form = document.getElementById("order-form");
  var box = document.getElementById("quote");
  if (!form || !box || !window.fetch || !window.JSON) {
    return;
  }
  var url = form.getAttribute("data-quote-url");
  var list = document.getElementById("quote-price");
  var status = document.getElementById("quote-status");
  var preview = document.getElementById("link-preview");
  var accepted = document.getElementById("acceptedTotal");
  var submit = form.querySelector("button[type=submit]");
  var submitWords = submit ? submit.textContent : "";
  var timer = null;
  var asked = 0;
  var WATCHED = ["targetUrl", "anchorText", "customerNotes", "topic", "keywords"];

  function field(name) {
    var el = form.elements.namedItem(name);
    return el && typeof el.value === "string" ? el.value : "";
  }

  function body() {
    var data = {
      orderType: field("orderType") || "backlink",
      targetUrl: field("targetUrl").trim(),
      anchorText: field("anchorText"),
      customerNotes: field("customerNotes")
    };
    if (field("articleId")) {
      data.articleId = parseInt(field("articleId"), 10);
    }
    if (data.orderType === "article") {
      data.topic = field("topic");
      data.keywords = field("keywords").split(",").map(function (k) { return k.trim(); })
        .filter(function (k) { return k; });
    }
    return data;
  }

  function row(term, value, strong) {
    var dt = document.createElement("dt");
    var dd = document.createElement("dd");
    dt.textContent = term;
    if (strong) {
      var b = document.createElement("strong");
      b.textContent = value;
      dd.appendChild(b);
    } else {
      dd.textContent = value;
    }
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function showPrice(answer) {
    var p = answer.price;
    var cur = " " + p.currency;
    list.textContent = "";
    row("Base price", p.base + cur, false);
    if (Number(p.surcharge) > 0) {
      row("Surcharge", p.surcharge + cur + " (links about " + p.niche + ")", false);
    }
    row("Total", p.total + cur, true);
    box.className = Number(p.surcharge) > 0 ? "quote surcharged" : "quote";
    status.className = "muted";
    status.textContent = Number(p.surcharge) > 0 ? p.note + " This is the price you pay." : "No surcharge applies to this link.";
    if (preview && answer.linkPreview) {
      preview.textContent = answer.linkPreview;
    }
    if (accepted) {
      accepted.value = p.total;
    }
    if (submit) {
      submit.textContent = "Pay " + p.total + cur + ": continue to payment";
    }
  }

  function showRefusal(error) {
    box.className = "quote refused";
    status.className = "refusal";
    status.textContent = "Not accepted: " + error.message;
    if (submit) {
      submit.textContent = submitWords;
    }
  }

  function ask() {
    var data = body();
    if (!/^https?:\/\/[^\/\s]+\.[^\/\s]+/i.test(data.targetUrl)) {
      return;
    }
    var mine = ++asked;
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(data),
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (json) { return { ok: response.ok, json: json }; });
    }).then(function (result) {
      if (mine !== asked) {
        return; // a newer question is on its way
      }
      if (result.ok) {
        showPrice(result.json);
      } else if (result.json && result.json.error && result.json.error.code === "link_refused") {
        showRefusal(result.json.error);
      }
      // Other answers (a URL still being typed, a rate limit): the form says it on submit.
    }).catch(function () { /* offline: the form's own submit quotes */ });
  }

  function later() {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(ask, DELAY_MS);
  }

  WATCHED.forEach(function (name) {
    var el = form.elements.namedItem(name);
    if (el && el.addEventListener) {
      el.addEventListener("input", later);
      el.addEventListener("change", later);
    }
  });
  if (field("targetUrl")) {
    ask();
  }
}());
