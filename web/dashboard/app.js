// WA Gateway dashboard: plain ES module over the public JSON API, signed in
// with the session cookie set by /auth/login and /auth/register. Every
// value from the server is put on the page as text, never as HTML.

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let me = null;            // GET /api/auth/me, or null when signed out
let freshKey = null;      // the first API key, shown once after sign-up
let stream = null;        // the open EventSource of a device page

// h builds an element: h("p", {class: "x", onclick: f}, "text", child…).
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 3000);
}

class APIError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  let json = null;
  try { json = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok || !json || json.success === false) {
    const e = (json && json.error) || {};
    throw new APIError(resp.status, e.code || "http_" + resp.status, e.message || resp.statusText);
  }
  return json.data;
}

function when(t) {
  return t ? new Date(t).toLocaleString() : "—";
}

function statusBadge(s) {
  return h("span", { class: "status " + s, "data-status": s }, s);
}

// form wires a submit handler that shows the API's error under the form.
function form(attrs, fields, submitLabel, onsubmit) {
  const err = h("p", { class: "error", role: "alert" });
  const btn = h("button", { type: "submit" }, submitLabel);
  const f = h("form", { class: "stack", ...attrs }, fields, btn, err);
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    btn.disabled = true;
    try {
      await onsubmit(new FormData(f));
    } catch (e) {
      err.textContent = e.message;
    } finally {
      btn.disabled = false;
    }
  });
  return f;
}

function field(label, name, type = "text", extra = {}) {
  return h("label", {}, label, h("input", { name, type, required: true, ...extra }));
}

// ---- pages

function loginPage() {
  show(h("div", { class: "card" },
    h("h1", {}, "Sign in"),
    form({ id: "login-form" }, [field("E-mail", "email", "email"), field("Password", "password", "password")], "Sign in",
      async (fd) => {
        await api("POST", "/auth/login", { email: fd.get("email"), password: fd.get("password") });
        await refreshMe();
        location.hash = "#/devices";
      }),
    h("p", { class: "muted" }, "No account yet? ", h("a", { href: "#/register" }, "Create one"), ".")));
}

function registerPage() {
  show(h("div", { class: "card" },
    h("h1", {}, "Create your workspace"),
    form({ id: "register-form" }, [
      field("Your name", "name"), field("E-mail", "email", "email"),
      field("Password (8 characters or more)", "password", "password", { minlength: 8 }),
      field("Workspace name", "workspace"),
    ], "Create workspace", async (fd) => {
      const d = await api("POST", "/auth/register", {
        name: fd.get("name"), email: fd.get("email"), password: fd.get("password"), workspace: fd.get("workspace"),
      });
      freshKey = d.apiKey;
      await refreshMe();
      location.hash = "#/settings";
    }),
    h("p", { class: "muted" }, "Already registered? ", h("a", { href: "#/login" }, "Sign in"), ".")));
}

async function devicesPage() {
  const list = await api("GET", "/api/devices");
  const rows = list.items.map((d) => h("tr", {},
    h("td", {}, h("a", { href: "#/devices/" + d.id }, d.name)),
    h("td", {}, d.engine === "sim" ? "sandbox" : d.engine),
    h("td", {}, statusBadge(d.status)),
    h("td", {}, d.phone || "—"),
    h("td", {}, when(d.lastSeenAt))));
  const created = h("div");
  show(
    h("h1", {}, "Devices"),
    rows.length
      ? h("table", { id: "devices" }, h("tr", {}, ["Name", "Engine", "Status", "Phone", "Last seen"].map((t) => h("th", {}, t))), rows)
      : h("p", { class: "muted" }, "No devices yet. Create one below: a sandbox device needs no phone."),
    h("h2", {}, "New device"),
    h("div", { class: "card" },
      form({ id: "device-form" }, [
        field("Name", "name", "text", { maxlength: 64 }),
        h("label", {}, "Engine", h("select", { name: "engine" },
          h("option", { value: "sim" }, "Sandbox (simulated WhatsApp, no phone)"),
          h("option", { value: "whatsmeow" }, "WhatsApp (scan with your phone)"))),
      ], "Create device", async (fd) => {
        const d = await api("POST", "/api/devices", { name: fd.get("name"), engine: fd.get("engine") });
        created.replaceChildren(h("div", { class: "card" },
          h("p", {}, "Device ", h("strong", {}, d.device.name), " created. Its device API key is shown this once:"),
          h("p", { class: "secret", id: "device-key" }, d.deviceApiKey),
          h("p", {}, h("a", { href: "#/devices/" + d.device.id }, "Open the device to connect it →"))));
      }),
      created));
}

async function devicePage(id) {
  let d = await api("GET", "/api/devices/" + id);
  const statusEl = h("span", {}, statusBadge(d.status));
  const reasonEl = h("span", { class: "muted" }, d.statusReason || "");
  const phoneEl = h("span", {}, d.phone || "—");
  const qrBox = h("div", { class: "qr", id: "qr" });
  const messages = h("div");
  const sandbox = d.engine === "sim";

  const act = (label, path, cls) => h("button", { type: "button", class: cls, id: "btn-" + path.replace(/\W/g, "-"),
    onclick: async () => {
      try {
        await api("POST", `/api/devices/${id}/${path}`);
      } catch (e) { toast(e.message); }
    } }, label);

  async function loadMessages() {
    const list = await api("GET", `/api/messages?deviceId=${id}&limit=20`);
    messages.replaceChildren(list.items.length
      ? h("table", { id: "messages" }, h("tr", {}, ["When", "Direction", "Chat", "Text", "Status"].map((t) => h("th", {}, t))),
        list.items.map((m) => h("tr", { "data-id": m.id },
          h("td", {}, when(m.createdAt)), h("td", {}, m.direction), h("td", {}, m.chat),
          h("td", {}, m.text || m.caption || "(" + m.type + ")"), h("td", { class: "msg-status" }, m.status))))
      : h("p", { class: "muted" }, "No messages yet."));
  }

  show(
    h("p", {}, h("a", { href: "#/devices" }, "← Devices")),
    h("h1", {}, d.name, " ", statusEl),
    h("div", { class: "card" },
      h("p", {}, "Phone: ", phoneEl, " · Engine: ", sandbox ? "sandbox" : d.engine, " · Key: ", h("code", {}, d.deviceApiKeyPrefix), " ", reasonEl),
      h("div", { class: "row" }, act("Connect", "connect"), act("Disconnect", "disconnect", "secondary"),
        act("Log out", "logout", "secondary"),
        h("button", { type: "button", class: "danger", id: "btn-delete", onclick: async () => {
          if (!confirm("Delete this device, its key and its messages?")) return;
          try { await api("DELETE", "/api/devices/" + id); location.hash = "#/devices"; } catch (e) { toast(e.message); }
        } }, "Delete")),
      qrBox),
    sandbox ? h("div", { class: "card" },
      h("h2", {}, "Sandbox"),
      h("p", { class: "muted" }, "Play the phone and the contacts of this simulated device."),
      h("div", { class: "row" }, act("Simulate scan", "sandbox/scan")),
      form({ id: "inbound-form" }, [field("From (phone number)", "from", "text", { value: "628999000111" }), field("Text", "text")],
        "Receive message", async (fd) => {
          await api("POST", `/api/devices/${id}/sandbox/inbound`, { from: fd.get("from"), text: fd.get("text"), pushName: "Sandbox contact" });
          toast("Delivered to the device");
        })) : null,
    h("div", { class: "card" },
      h("h2", {}, "Send a message"),
      form({ id: "send-form" }, [field("To (phone number with country code)", "to"), h("label", {}, "Text", h("textarea", { name: "text", required: true }))],
        "Send", async (fd) => {
          const m = await api("POST", "/api/messages/send-text", { deviceId: Number(id), to: fd.get("to"), text: fd.get("text") });
          toast("Queued: " + m.id);
          await loadMessages();
        })),
    h("h2", {}, "Recent messages"), messages);
  await loadMessages();

  // Live status, QR codes and message updates.
  stream = new EventSource(`/api/devices/${id}/events`);
  const onStatus = (ev) => {
    const data = JSON.parse(ev.data).data;
    statusEl.replaceChildren(statusBadge(data.status));
    reasonEl.textContent = data.reason || "";
    if (data.phone) phoneEl.textContent = data.phone;
    if (data.status !== "SCAN_QR") qrBox.replaceChildren();
  };
  stream.addEventListener("status", onStatus);
  stream.addEventListener("qr", (ev) => {
    const data = JSON.parse(ev.data).data;
    qrBox.replaceChildren(h("p", {}, "Scan with WhatsApp → Linked devices. The code changes every few seconds."),
      h("img", { src: data.image, alt: "QR code to link the device" }));
  });
  for (const t of ["message.received", "message.sent", "message.ack", "message.failed"]) {
    stream.addEventListener(t, () => { loadMessages().catch(() => {}); });
  }
}

async function messagesPage() {
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", id: "more" }, "Load more");
  let cursor = null;
  async function load() {
    const q = new URLSearchParams({ limit: "50" });
    if (cursor) q.set("cursor", cursor);
    const list = await api("GET", "/api/messages?" + q);
    for (const m of list.items) {
      body.append(h("tr", {}, h("td", {}, when(m.createdAt)), h("td", {}, String(m.deviceId)), h("td", {}, m.direction),
        h("td", {}, m.direction === "in" ? (m.pushName || m.fromPhone || m.from) : m.to),
        h("td", {}, m.text || m.caption || "(" + m.type + ")"), h("td", {}, m.status)));
    }
    cursor = list.nextCursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => load().catch((e) => toast(e.message)));
  show(h("h1", {}, "Messages"),
    h("table", {}, h("thead", {}, h("tr", {}, ["When", "Device", "Direction", "Contact", "Text", "Status"].map((t) => h("th", {}, t)))), body),
    h("p", {}, more));
  await load();
}

async function settingsPage() {
  const keys = await api("GET", "/api/keys");
  const fresh = h("div");
  const keyRows = keys.items.map((k) => h("tr", {},
    h("td", {}, h("code", {}, k.prefix)), h("td", {}, k.name || ""), h("td", {}, k.kind === "device" ? "device " + (k.deviceId ?? "") : k.mode || k.kind),
    h("td", {}, when(k.createdAt)), h("td", {}, when(k.lastUsedAt)),
    h("td", {}, k.kind === "device" ? "" : h("button", { type: "button", class: "danger", onclick: async () => {
      if (!confirm("Delete this key? Integrations using it stop working at once.")) return;
      try { await api("DELETE", "/api/keys/" + k.id); route(); } catch (e) { toast(e.message); }
    } }, "Delete"))));
  show(
    h("h1", {}, "Settings"),
    freshKey ? h("div", { class: "card" },
      h("p", {}, "Your workspace's API key. It is shown this once: copy it now and keep it safe."),
      h("p", { class: "secret", id: "api-key" }, freshKey),
      h("p", { class: "muted" }, "Use it as ", h("code", {}, "X-API-Key"), " on every API call.")) : null,
    h("div", { class: "card" }, h("p", {}, "Workspace: ", h("strong", {}, me.workspace.name), " · Signed in as ", me.user ? me.user.email : "")),
    h("h2", {}, "API keys"),
    h("table", { id: "keys" }, h("tr", {}, ["Key", "Name", "Kind", "Created", "Last used", ""].map((t) => h("th", {}, t))), keyRows),
    h("h2", {}, "New key"),
    h("div", { class: "card" },
      form({ id: "key-form" }, [field("Name", "name"), h("label", {}, "Mode", h("select", { name: "mode" },
        h("option", { value: "live" }, "live"), h("option", { value: "test" }, "test (sandbox devices only)")))],
      "Create key", async (fd) => {
        const k = await api("POST", "/api/keys", { name: fd.get("name"), mode: fd.get("mode") });
        fresh.replaceChildren(h("p", {}, "New key, shown this once:"), h("p", { class: "secret" }, k.apiKey));
      }), fresh));
  freshKey = null; // shown once
}

// ---- routing

async function refreshMe() {
  try {
    me = await api("GET", "/api/auth/me");
  } catch (e) {
    if (e.status !== 401) throw e;
    me = null;
  }
  nav.hidden = !me;
}

async function route() {
  if (stream) { stream.close(); stream = null; }
  const hash = location.hash || "#/devices";
  const [, page, id] = hash.split("/");
  try {
    if (!me && page !== "register") return loginPage();
    switch (page) {
      case "login": return loginPage();
      case "register": return registerPage();
      case "messages": return await messagesPage();
      case "settings": return await settingsPage();
      case "devices": return id ? await devicePage(id) : await devicesPage();
      default: return await devicesPage();
    }
  } catch (e) {
    if (e.status === 401) { me = null; nav.hidden = true; return loginPage(); }
    show(h("p", { class: "error" }, e.message));
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("POST", "/auth/logout"); } catch { /* signed out anyway */ }
  me = null;
  nav.hidden = true;
  location.hash = "#/login";
});
window.addEventListener("hashchange", route);
refreshMe().then(route, (e) => show(h("p", { class: "error" }, e.message)));
