/*
 * Plaza web chat widget. Embed it with
 *
 *   <script src="https://YOUR-PLAZA/widget.js?workspaceId=WORKSPACE_ID" async></script>
 *
 * Options, in the script's URL: Id (the agent that answers, as Plazbot's
 * widget takes it), zone, title, color (#rrggbb), dark=1, open=1.
 * Self-contained: no other file, no external resource, no cookie. The
 * visitor's token is kept in localStorage, per workspace, so a visitor who
 * comes back finds their conversation.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var src = new URL(script.src, location.href);
  var param = function (name) {
    var want = name.toLowerCase(), found = null;
    src.searchParams.forEach(function (v, k) { if (found === null && k.toLowerCase() === want) { found = v; } });
    return found;
  };
  var base = src.origin;
  var workspaceId = param("workspaceId");
  if (!workspaceId) { return; }
  var agentId = param("Id") || "";
  var zone = param("zone") || "";
  var title = param("title") || "Chat";
  var color = /^#[0-9a-fA-F]{6}$/.test(param("color") || "") ? param("color") : "#2563eb";
  var dark = param("dark") === "1" || param("dark") === "true";
  var startOpen = param("open") === "1" || param("open") === "true";
  var storeKey = "plaza-webchat:" + workspaceId;
  var instanceKey = "__plazaWebchat_" + workspaceId;
  if (window[instanceKey]) { return; }
  window[instanceKey] = true;

  var token = null;
  try { token = localStorage.getItem(storeKey); } catch (e) { token = null; }
  var session = null, stream = null, shown = {}, starting = null, retry = 3000;

  // --- The view, in a shadow root so the host page's styles stay out. ---
  var host = document.createElement("div");
  host.setAttribute("data-plaza-webchat", workspaceId);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var bg = dark ? "#1f2937" : "#ffffff", fg = dark ? "#f9fafb" : "#111827", soft = dark ? "#374151" : "#f3f4f6";
  var style = document.createElement("style");
  style.textContent =
    ":host{all:initial}" +
    ".pz{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:" + fg + "}" +
    ".pz-bubble{width:56px;height:56px;border-radius:50%;border:0;background:" + color + ";color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);font-size:26px;line-height:56px;text-align:center;padding:0}" +
    ".pz-panel{display:none;flex-direction:column;position:absolute;right:0;bottom:70px;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 110px);background:" + bg + ";border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}" +
    ".pz.open .pz-panel{display:flex}" +
    ".pz-head{background:" + color + ";color:#fff;padding:12px 14px;font-weight:600;display:flex;justify-content:space-between;align-items:center}" +
    ".pz-close{background:none;border:0;color:#fff;font-size:20px;cursor:pointer;line-height:1}" +
    ".pz-list{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px}" +
    ".pz-msg{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}" +
    ".pz-in{align-self:flex-end;background:" + color + ";color:#fff;border-bottom-right-radius:4px}" +
    ".pz-out{align-self:flex-start;background:" + soft + ";border-bottom-left-radius:4px}" +
    ".pz-note{align-self:center;font-size:12px;opacity:.7;text-align:center}" +
    ".pz-form{display:flex;border-top:1px solid " + soft + "}" +
    ".pz-input{flex:1;border:0;padding:12px;font:inherit;background:" + bg + ";color:" + fg + ";outline:none;resize:none}" +
    ".pz-send{border:0;background:none;color:" + color + ";font-weight:600;padding:0 14px;cursor:pointer}";
  var box = el("div", "pz");
  var panel = el("div", "pz-panel");
  var head = el("div", "pz-head");
  head.appendChild(document.createTextNode(title));
  var close = el("button", "pz-close");
  close.type = "button";
  close.setAttribute("aria-label", "Close");
  close.textContent = "\u00d7";
  head.appendChild(close);
  var list = el("div", "pz-list");
  list.setAttribute("aria-live", "polite");
  var form = el("form", "pz-form");
  var input = el("textarea", "pz-input");
  input.rows = 1;
  input.maxLength = 4096;
  input.placeholder = "Write a message\u2026";
  var send = el("button", "pz-send");
  send.type = "submit";
  send.textContent = "Send";
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(list);
  panel.appendChild(form);
  var bubble = el("button", "pz-bubble");
  bubble.type = "button";
  bubble.setAttribute("aria-label", title);
  bubble.textContent = "\ud83d\udcac";
  box.appendChild(panel);
  box.appendChild(bubble);
  root.appendChild(style);
  root.appendChild(box);

  function el(tag, cls) { var e = document.createElement(tag); e.className = cls; return e; }

  function note(text) {
    var n = el("div", "pz-note");
    n.textContent = text;
    list.appendChild(n);
    list.scrollTop = list.scrollHeight;
  }

  // show renders a message once, whether it came from the history, the
  // answer to a post or the stream.
  function show(m) {
    if (!m || !m.id || shown[m.id]) { return; }
    shown[m.id] = true;
    var b = el("div", "pz-msg " + (m.direction === "in" ? "pz-in" : "pz-out"));
    b.textContent = m.content;
    list.appendChild(b);
    list.scrollTop = list.scrollHeight;
  }

  // --- The API. ---
  function call(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (token) { headers.Authorization = "Bearer " + token; }
    return fetch(base + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, credentials: "omit" })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (env) {
          if (!res.ok) {
            var err = new Error(env.message || ("HTTP " + res.status));
            err.status = res.status;
            err.retryAfter = res.headers.get("Retry-After");
            throw err;
          }
          return env.data;
        });
      });
  }

  function forget() {
    token = null;
    session = null;
    try { localStorage.removeItem(storeKey); } catch (e) { /* private mode */ }
  }

  // start creates or resumes the session; a token the server no longer
  // accepts is forgotten and a new session started.
  function start() {
    if (session) { return Promise.resolve(session); }
    if (starting) { return starting; }
    var body = { workspaceId: workspaceId, agentId: agentId, zone: zone };
    if (token) { body.token = token; }
    starting = call("POST", "/widget/session", body).then(function (s) {
      session = s;
      token = s.token;
      try { localStorage.setItem(storeKey, token); } catch (e) { /* private mode */ }
      listen();
      return s;
    }, function (err) {
      if (err.status === 401 && token) { forget(); starting = null; return start(); }
      throw err;
    });
    starting.then(function () { starting = null; }, function () { starting = null; });
    return starting;
  }

  // listen follows the conversation over server-sent events; the history
  // is read once the stream is open, so nothing falls in between.
  function listen() {
    if (stream || !window.EventSource) { history(); return; }
    stream = new EventSource(base + "/widget/events?token=" + encodeURIComponent(token));
    var loaded = false;
    stream.addEventListener("open", function () {
      if (!loaded) { loaded = true; history(); }
    });
    stream.addEventListener("message", function (e) {
      try { show(JSON.parse(e.data)); } catch (x) { /* not ours */ }
    });
    stream.addEventListener("open", function () { retry = 3000; });
    stream.addEventListener("error", function () {
      if (stream && stream.readyState === EventSource.CLOSED) {
        // Refused: resume the session (a token no longer valid is then
        // forgotten and a new session started) and listen again, waiting
        // longer each time the stream is refused in a row.
        stream.close();
        stream = null;
        session = null;
        setTimeout(function () { start().catch(function () {}); }, retry);
        retry = Math.min(retry * 2, 300000);
      }
    });
  }

  function history() {
    call("GET", "/widget/messages?limit=200").then(function (msgs) {
      (msgs || []).forEach(show);
    }, function () { /* the stream still brings what is new */ });
  }

  function post(text) {
    return start().then(function () {
      return call("POST", "/widget/messages", { content: text });
    }).then(show, function (err) {
      if (err.status === 429) {
        note("Too many messages: wait " + (err.retryAfter || "a few") + " seconds and try again.");
      } else if (err.status === 401) {
        forget();
        note("Your chat session ended; send your message again to start a new one.");
      } else {
        note(err.message || "The message could not be sent.");
      }
      throw err;
    });
  }

  // --- Behaviour. ---
  function open() {
    box.classList.add("open");
    start().catch(function (err) { note(err.message || "The chat is not available."); });
    setTimeout(function () { input.focus(); }, 0);
  }
  bubble.addEventListener("click", function () {
    if (box.classList.contains("open")) { box.classList.remove("open"); } else { open(); }
  });
  close.addEventListener("click", function () { box.classList.remove("open"); });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    send.disabled = true;
    post(text).then(function () { input.value = ""; }, function () {}).then(function () { send.disabled = false; input.focus(); });
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : send.click(); }
  });

  function mount() {
    document.body.appendChild(host);
    // A returning visitor sees replies that came while they were away.
    if (startOpen) { open(); } else if (token) { start().catch(function () {}); }
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
