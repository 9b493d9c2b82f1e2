/* recbot chat widget. Embed with:
 *   <script src="https://HOST/widget/recbot.js" data-site-key="KEY" async></script>
 * Plain JS, no build step. Everything lives in a shadow DOM (no CSS leaks either way); every text
 * from the server is inserted with textContent, never parsed as markup. The session id is kept in
 * the visitor's localStorage, so the conversation survives page loads.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector('script[src*="/widget/recbot.js"]');
  if (!script || window.__recbotWidgetLoaded) return;
  window.__recbotWidgetLoaded = true;

  var siteKey = script.getAttribute("data-site-key") || "";
  var srcUrl = new URL(script.src, location.href);
  var base = srcUrl.origin + srcUrl.pathname.replace(/\/widget\/recbot\.js$/, "");
  var api = base + "/api/v1";
  var storageKey = "recbot:session:" + base + ":" + siteKey;
  var title = script.getAttribute("data-title") || "Movie suggestions";

  var CSS = [
    // The page may style the host element (even with !important), so the layout and the fonts are
    // set on .wrap, inside the shadow root, where no page rule can match.
    ":host{all:initial}",
    ".wrap{position:fixed;right:16px;bottom:16px;z-index:2147483000;text-align:left;",
    "font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1a202c}",
    "*{box-sizing:border-box;font:inherit}",
    ".bubble{width:56px;height:56px;border-radius:50%;border:0;background:#4f46e5;color:#fff;display:flex;",
    "align-items:center;justify-content:center;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);",
    "margin-left:auto}",
    ".panel{display:none;flex-direction:column;width:min(370px,calc(100vw - 32px));",
    "height:min(560px,calc(100vh - 96px));background:#fff;border-radius:14px;margin-bottom:10px;",
    "box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden}",
    ".open .panel{display:flex}",
    ".head{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;",
    "background:#4f46e5;color:#fff;font-weight:600}",
    ".head button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}",
    ".log{flex:1;overflow-y:auto;padding:10px;background:#f7f7fb}",
    ".msg{margin:6px 0;padding:8px 10px;border-radius:10px;max-width:88%;white-space:pre-wrap;",
    "overflow-wrap:anywhere}",
    ".user{background:#4f46e5;color:#fff;margin-left:auto}",
    ".bot{background:#fff;border:1px solid #e2e8f0}",
    ".error{background:#fff5f5;border:1px solid #feb2b2;color:#9b2c2c}",
    ".card{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:8px 10px;margin:6px 0}",
    ".title{font-weight:600;overflow-wrap:anywhere}",
    ".meta{font-size:12px;color:#718096}",
    ".why{font-size:12px;color:#4a5568;margin-top:4px}",
    ".why ul{margin:4px 0 0;padding-left:16px}",
    ".fb{display:flex;flex-wrap:wrap;gap:4px;margin-top:6px}",
    ".fb button{flex:1 1 auto;border:1px solid #cbd5e0;background:#fff;border-radius:6px;",
    "padding:3px 6px;font-size:12px;cursor:pointer}",
    ".fb button:disabled{opacity:.5;cursor:default}",
    ".note{font-size:12px;color:#2f855a;margin-top:4px}",
    "form{display:flex;gap:6px;padding:8px;border-top:1px solid #e2e8f0;background:#fff}",
    "input{flex:1;min-width:0;border:1px solid #cbd5e0;border-radius:8px;padding:8px}",
    "form button{border:0;background:#4f46e5;color:#fff;border-radius:8px;padding:8px 12px;cursor:pointer}",
    "form button:disabled{opacity:.6}"
  ].join("");

  var FEEDBACK = [["up", "\u25B2 Like"], ["down", "\u25BC Dislike"], ["seen", "Seen it"],
    ["not_interested", "Not interested"]];
  var REMOVING = { down: 1, seen: 1, not_interested: 1 };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // A speech-bubble icon drawn with SVG nodes (no emoji font needed, no markup parsing).
  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function storedSession() {
    try { return localStorage.getItem(storageKey); } catch (e) { return null; }
  }
  function storeSession(id) {
    try {
      if (id) localStorage.setItem(storageKey, id); else localStorage.removeItem(storageKey);
    } catch (e) { /* private mode: the session lasts for this page only */ }
  }

  // --- the DOM ----------------------------------------------------------------------------
  var host = el("div");
  host.id = "recbot-widget";
  var root = host.attachShadow({ mode: "open" });
  var style = el("style", null, CSS);
  var wrap = el("div", "wrap");
  var panel = el("div", "panel");
  var head = el("div", "head");
  var close = el("button", null, "\u00D7");
  close.setAttribute("aria-label", "Close");
  head.appendChild(el("span", null, title));
  head.appendChild(close);
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var form = el("form");
  var input = el("input");
  input.placeholder = "What are you in the mood for?";
  input.maxLength = 4000;
  var sendBtn = el("button", null, "Send");
  sendBtn.type = "submit";
  form.appendChild(input);
  form.appendChild(sendBtn);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(form);
  var bubble = el("button", "bubble");
  bubble.appendChild(chatIcon());
  bubble.setAttribute("aria-label", "Open chat");
  wrap.appendChild(panel);
  wrap.appendChild(bubble);
  root.appendChild(style);
  root.appendChild(wrap);

  var sessionId = storedSession();
  var restored = false;

  function scroll() { log.scrollTop = log.scrollHeight; }
  function say(cls, text) {
    var node = el("div", "msg " + cls, text);
    log.appendChild(node);
    scroll();
    return node;
  }

  // --- the API ----------------------------------------------------------------------------
  function headers(extra) {
    var h = { "Content-Type": "application/json", "X-Recbot-Key": siteKey };
    for (var k in extra || {}) h[k] = extra[k];
    return h;
  }

  function problem(res) {
    return res.text().then(function (body) {
      var detail = body;
      try { detail = JSON.parse(body).detail; } catch (e) { /* not JSON */ }
      if (typeof detail !== "string") detail = JSON.stringify(detail);
      var err = new Error(detail || ("HTTP " + res.status));
      err.status = res.status;
      var wait = res.headers.get("Retry-After");
      if (res.status === 429 && wait) err.message = "Too many requests; try again in " + wait + " s.";
      throw err;
    });
  }

  function createSession() {
    return fetch(api + "/sessions", { method: "POST", headers: headers(), body: "{}" }).then(function (res) {
      if (!res.ok) return problem(res);
      return res.json().then(function (data) {
        sessionId = data.session_id;
        storeSession(sessionId);
        return sessionId;
      });
    });
  }

  function ensureSession() {
    return sessionId ? Promise.resolve(sessionId) : createSession();
  }

  // Read an SSE body: "event: NAME\ndata: JSON\n\n" blocks, handed to onEvent as they complete.
  function readEvents(res, onEvent) {
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (step) {
        buffer += decoder.decode(step.value || new Uint8Array(), { stream: !step.done });
        var cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          var block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          var name = "message", data = "";
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) name = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
          });
          if (data) onEvent(name, JSON.parse(data));
        }
        if (!step.done) return pump();
      });
    }
    return pump();
  }

  function postMessage(text, botNode, retried) {
    return ensureSession().then(function (sid) {
      return fetch(api + "/sessions/" + encodeURIComponent(sid) + "/messages", {
        method: "POST",
        headers: headers({ Accept: "text/event-stream" }),
        body: JSON.stringify({ message: text })
      });
    }).then(function (res) {
      if ((res.status === 404 || res.status === 403) && !retried && sessionId) {
        // The stored session is gone (or belongs elsewhere): start a new one once.
        sessionId = null;
        storeSession(null);
        return postMessage(text, botNode, true);
      }
      if (!res.ok) return problem(res);
      var streamed = "";
      // Cards by their index in the turn: each one is shown as its "card" event arrives (its
      // explanation passed the validator), before the later ones are written; "result" adds only
      // what no "card" event brought (a server without card events), never a card already removed.
      var cards = {};
      function showCard(index, rec) {
        if (cards[index]) return;
        cards[index] = card(rec);
        log.appendChild(cards[index]);
        scroll();
      }
      return readEvents(res, function (name, data) {
        if (name === "token") {
          streamed += data.text;
          botNode.textContent = streamed;
          scroll();
        } else if (name === "card") {
          showCard(data.index, data.recommendation);
        } else if (name === "result") {
          var reply = data.reply || streamed;
          if (data.question && reply.indexOf(data.question) < 0) reply += "\n\n" + data.question;
          botNode.textContent = reply;
          (data.recommendations || []).forEach(function (rec, i) { showCard(i, rec); });
          scroll();
        } else if (name === "error") {
          botNode.className = "msg error";
          botNode.textContent = data.detail || "Something went wrong.";
        }
      });
    });
  }

  function sendFeedback(itemId, kind) {
    var body = JSON.stringify({ item_id: itemId, kind: kind, event_id: newId() });
    var attempt = function () {
      return fetch(api + "/sessions/" + encodeURIComponent(sessionId) + "/feedback",
        { method: "POST", headers: headers(), body: body });
    };
    // One retry with the same event id: the server records a repeated event once.
    return attempt().catch(attempt).then(function (res) { return res.ok ? res.json() : problem(res); });
  }

  // --- recommendation cards ----------------------------------------------------------------
  function evidenceLines(ev) {
    var lines = [];
    (ev.neighbours || []).forEach(function (n) {
      lines.push("Close to " + n.title + (n.source === "cf" ? " (people who liked it liked this)" : " (similar story)"));
    });
    var asked = ev.asked_genres || [];
    var shared = (ev.matched_genres || []).filter(function (g) { return asked.indexOf(g) < 0; });
    if (asked.length) lines.push("Genres you asked for: " + asked.join(", "));
    if (shared.length) lines.push("Genres it shares with what you liked: " + shared.join(", "));
    if ((ev.matched_tags || []).length) lines.push("Matching tags: " + ev.matched_tags.join(", "));
    if (ev.mean_rating !== undefined && ev.mean_rating !== null) {
      lines.push("Rated " + Number(ev.mean_rating).toFixed(1) + " on average by " + (ev.n_ratings || 0) + " people");
    }
    var dialogue = ev.dialogue || {};
    var corpus = dialogue.corpus || "movie conversations";
    var named = (dialogue.named_with || []).map(function (w) { return w.title; }).filter(Boolean);
    if (named.length) lines.push("In " + corpus + " conversations it comes up with " + named.join(", "));
    if (dialogue.times_suggested) {
      lines.push("Recommended " + dialogue.times_suggested + " time" + (dialogue.times_suggested === 1 ? "" : "s") + " in " + corpus + " conversations");
    }
    return lines;
  }

  function card(rec) {
    var node = el("div", "card");
    node.setAttribute("data-item-id", String(rec.item_id));
    node.appendChild(el("div", "title", rec.title + (rec.year ? " (" + rec.year + ")" : "")));
    if ((rec.genres || []).length) node.appendChild(el("div", "meta", rec.genres.join(" \u00B7 ")));
    node.appendChild(el("div", null, rec.explanation));
    var lines = evidenceLines(rec.evidence || {});
    if (lines.length) {
      var why = el("details", "why");
      why.appendChild(el("summary", null, "Why this?"));
      var list = el("ul");
      lines.forEach(function (line) { list.appendChild(el("li", null, line)); });
      why.appendChild(list);
      node.appendChild(why);
    }
    var row = el("div", "fb");
    FEEDBACK.forEach(function (pair) {
      var button = el("button", "fb-" + pair[0], pair[1]);
      button.type = "button";
      button.addEventListener("click", function () {
        button.disabled = true;
        sendFeedback(rec.item_id, pair[0]).then(function () {
          if (REMOVING[pair[0]]) {
            node.parentNode && node.parentNode.removeChild(node);
          } else {
            node.appendChild(el("div", "note", "Noted, more like this."));
          }
        }).catch(function (err) {
          button.disabled = false;
          say("error", err.message);
        });
      });
      row.appendChild(button);
    });
    node.appendChild(row);
    return node;
  }

  // --- history and events -------------------------------------------------------------------
  function restore() {
    if (restored || !sessionId) return;
    restored = true;
    fetch(api + "/sessions/" + encodeURIComponent(sessionId), { headers: headers() }).then(function (res) {
      if (!res.ok) { sessionId = null; storeSession(null); return null; }
      return res.json();
    }).then(function (data) {
      if (!data) return;
      var turns = data.turns || [];
      var removed = {};
      (data.feedback || []).forEach(function (ev) { if (REMOVING[ev.kind]) removed[ev.item_id] = 1; });
      turns.forEach(function (turn, i) {
        var user = turn.message || turn.user_message || turn.user;
        if (user) say("user", user);
        if (turn.reply) say("bot", turn.reply);
        if (i === turns.length - 1) {
          (turn.recommendations || []).forEach(function (rec) {
            if (rec && typeof rec === "object" && !removed[rec.item_id]) log.appendChild(card(rec));
          });
        }
      });
      scroll();
    }).catch(function () { /* history is a nicety */ });
  }

  bubble.addEventListener("click", function () {
    var open = wrap.classList.toggle("open");
    bubble.setAttribute("aria-label", open ? "Hide chat" : "Open chat");
    if (open) { restore(); input.focus(); }
  });
  close.addEventListener("click", function () { wrap.classList.remove("open"); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    say("user", text);
    var botNode = say("bot", "\u2026");
    sendBtn.disabled = true;
    postMessage(text, botNode, false).catch(function (err) {
      botNode.className = "msg error";
      botNode.textContent = err.status === 403 ? "This site is not allowed to use the chat (" + err.message + ")."
        : (err.message || "Network error");
    }).then(function () { sendBtn.disabled = false; input.focus(); });
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
