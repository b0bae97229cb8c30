// watchkv explorer: plain browser JavaScript, no build step. Talks to the plain REST API
// (/v1/kv) and the Server-Sent Events watch (/v1/watch). Every piece of data reaches the page
// through textContent, never as HTML.

const $ = (id) => document.getElementById(id);
const LIST_LIMIT = 5000;
const HISTORY_MAX = 10;
const LOG_MAX = 200;

const state = {
  prefix: '',
  /** id → kv (keys only) of every key under the prefix */
  keys: new Map(),
  selected: null,
  /** the kv shown in the detail pane (with value) */
  shown: null,
  source: null,
  paused: false,
  held: [],
  /** mod_revision the editor's text was loaded at: saves are conditional on it */
  editBase: 0,
  /** revision of this page's last save */
  savedRevision: 0,
};

// ---- keys and URLs ----

/** A key's identity in the page: its text, or its bytes in base64 when it is not UTF-8. */
const BINARY = '\u0000b64:';
const keyId = (kv) => (kv.key !== undefined ? kv.key : BINARY + kv.key_base64);
const kvOfId = (id) => (id.startsWith(BINARY) ? { key_base64: id.slice(BINARY.length) } : { key: id });
const keyLabel = (kv) => (kv.key !== undefined ? kv.key : `⟨binary ${kv.key_base64}⟩`);

function bytesOf(b64) {
  const s = atob(b64);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** The key as a URL path segment: every byte that needs it percent-encoded. */
function keyPath(kv) {
  if (kv.key !== undefined) return encodeURIComponent(kv.key);
  return Array.from(bytesOf(kv.key_base64), (b) => '%' + b.toString(16).padStart(2, '0')).join('');
}

const valueBytes = (kv) => (kv.value !== undefined ? new TextEncoder().encode(kv.value) : bytesOf(kv.value_base64 ?? ''));

// ---- auth: with auth on, the page asks for a user and keeps its token for this tab ----

const TOKEN_KEY = 'watchkv-token';
const USER_KEY = 'watchkv-user';
/** etcd's answers for a request without a usable token (400 "user name is empty", 401 invalid token). */
const needsLogin = (r) => r.status === 401 || /user name is empty|invalid auth token/.test(r.json?.message ?? '');

function signedIn(user, token) {
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, user);
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  }
  $('signed-in').hidden = !token;
  $('signed-in-user').textContent = user ?? '';
}

/** Shows the login form instead of the explorer; `why` says what the server answered. */
function askLogin(why) {
  if (state.source) state.source.close();
  state.source = null;
  signedIn(null, null);
  $('login').hidden = false;
  document.querySelector('main.layout').hidden = true;
  $('login-message').textContent = why ?? '';
  $('login-name').focus();
}

async function login(ev) {
  ev.preventDefault();
  const name = $('login-name').value;
  const r = await api('POST', '/v3/auth/authenticate', { body: JSON.stringify({ name, password: $('login-password').value }) });
  $('login-password').value = '';
  if (!r.ok || typeof r.json?.token !== 'string') {
    $('login-message').textContent = r.json?.message ?? `sign-in failed (HTTP ${r.status})`;
    return;
  }
  signedIn(name, r.json.token);
  $('login').hidden = true;
  document.querySelector('main.layout').hidden = false;
  current.prefix = null; // list again, now with the token
  await route();
}

function signOut() {
  signedIn(null, null);
  location.reload();
}

async function api(method, path, { body, headers } = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(path, { method, body, headers: token ? { ...headers, authorization: token } : headers });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, ok: res.ok, json, text };
}

// ---- status line ----

function setRevision(rev) {
  const el = $('revision');
  if (Number(el.dataset.rev || 0) < rev) {
    el.dataset.rev = String(rev);
    el.textContent = String(rev);
  }
}

async function pollStatus() {
  const el = $('server-status');
  try {
    const r = await api('GET', '/readyz');
    el.textContent = r.ok ? 'server ready' : 'server shutting down';
    el.className = 'badge ' + (r.ok ? 'ok' : 'warn');
    if (r.json?.revision) setRevision(Number(r.json.revision));
  } catch {
    el.textContent = 'server unreachable';
    el.className = 'badge warn';
  }
}

function say(text, kind = 'info') {
  const m = $('message');
  m.textContent = text;
  m.className = 'message ' + kind;
}

// ---- the tree ----

async function openPrefix(prefix) {
  state.prefix = prefix;
  state.keys.clear();
  if (state.source) state.source.close();
  const r = await api('GET', `/v1/kv/${encodeURIComponent(prefix)}?prefix&keys_only&limit=${LIST_LIMIT}`);
  if (needsLogin(r)) {
    askLogin(sessionStorage.getItem(TOKEN_KEY) ? 'Your session has ended: sign in again.' : '');
    return;
  }
  if (!r.ok) {
    say(`Could not list keys: ${r.json?.message ?? r.status}`, 'error');
    return;
  }
  for (const kv of r.json.kvs) state.keys.set(keyId(kv), kv);
  setRevision(r.json.revision);
  renderTree(r.json.more);
  watch(prefix, r.json.revision);
}

/** Live updates from the revision the listing was read at: nothing between is missed. */
function watch(prefix, revision) {
  // EventSource cannot send headers: the token goes in the query (the access log never writes it).
  const token = sessionStorage.getItem(TOKEN_KEY);
  const auth = token ? `&token=${encodeURIComponent(token)}` : '';
  const es = new EventSource(`/v1/watch/${encodeURIComponent(prefix)}?prefix&prev_kv&start_revision=${revision + 1}${auth}`);
  state.source = es;
  const live = $('live-status');
  es.onopen = () => {
    live.textContent = 'live: on';
    live.className = 'badge ok';
  };
  es.onerror = () => {
    live.textContent = 'live: reconnecting';
    live.className = 'badge warn';
  };
  es.addEventListener('progress', (m) => setRevision(JSON.parse(m.data).revision));
  es.addEventListener('compacted', () => {
    es.close();
    openPrefix(prefix);
  });
  es.addEventListener('change', (m) => {
    const change = JSON.parse(m.data);
    setRevision(change.revision);
    let selectedChanged = false;
    for (const ev of change.events) {
      const id = keyId(ev);
      if (ev.type === 'put') state.keys.set(id, ev);
      else state.keys.delete(id);
      if (id === state.selected) selectedChanged = true;
      logEvent(change.revision, ev);
    }
    renderTree(false);
    if (selectedChanged) showKey(state.selected, { fromWatch: true });
  });
}

function renderTree(more) {
  const crumbs = $('breadcrumb');
  crumbs.replaceChildren();
  const parts = state.prefix.split('/').filter((p, i, a) => p !== '' || i < a.length - 1);
  const crumb = (label, prefix, current) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (current) b.setAttribute('aria-current', 'location');
    b.addEventListener('click', () => navigate(prefix));
    li.append(b);
    crumbs.append(li);
  };
  crumb('(top)', '', state.prefix === '');
  let acc = '';
  for (const p of parts) {
    acc += p + '/';
    if (acc.length > state.prefix.length) break;
    crumb(p + '/', acc, acc === state.prefix);
  }

  // Children of the prefix: folders up to the next "/", and keys.
  const folders = new Map();
  const leaves = [];
  for (const kv of state.keys.values()) {
    if (kv.key === undefined) {
      leaves.push(kv);
      continue;
    }
    const rest = kv.key.slice(state.prefix.length);
    const slash = rest.indexOf('/');
    if (slash >= 0 && slash < rest.length - 1) {
      const f = rest.slice(0, slash + 1);
      folders.set(f, (folders.get(f) ?? 0) + 1);
    } else leaves.push(kv);
  }
  const list = $('tree');
  list.replaceChildren();
  for (const [f, n] of [...folders].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'folder';
    b.textContent = f;
    const count = document.createElement('span');
    count.className = 'count';
    count.textContent = `${n} key${n === 1 ? '' : 's'}`;
    b.append(count);
    b.addEventListener('click', () => navigate(state.prefix + f));
    li.append(b);
    list.append(li);
  }
  leaves.sort((a, b) => (keyLabel(a) < keyLabel(b) ? -1 : 1));
  for (const kv of leaves) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'leaf';
    b.textContent = kv.key !== undefined ? kv.key.slice(state.prefix.length) || kv.key : keyLabel(kv);
    b.dataset.key = keyId(kv);
    if (keyId(kv) === state.selected) b.setAttribute('aria-current', 'true');
    b.addEventListener('click', () => navigate(state.prefix, keyId(kv)));
    li.append(b);
    list.append(li);
  }
  const total = state.keys.size;
  $('tree-summary').textContent = `${total} key${total === 1 ? '' : 's'} under “${state.prefix || '(top)'}”${more ? ` (first ${LIST_LIMIT} shown)` : ''}`;
}

// ---- one key ----

async function showKey(id, { fromWatch = false } = {}) {
  state.selected = id;
  const kv = state.keys.get(id) ?? kvOfId(id);
  const r = await api('GET', `/v1/kv/${keyPath(kv)}`);
  const detail = $('detail');
  if (r.status === 404) {
    detail.hidden = true;
    $('detail-empty').hidden = false;
    $('detail-empty').textContent = `${keyLabel(kv)} was deleted.`;
    state.shown = null;
    return;
  }
  if (!r.ok) return say(`Could not read the key: ${r.json?.message ?? r.status}`, 'error');
  const editor = $('edit-value');
  const edited = state.shown && keyId(state.shown) === id && editor.value !== (state.shown.value ?? '');
  state.shown = r.json;
  detail.hidden = false;
  $('detail-empty').hidden = true;
  $('detail-key').textContent = keyLabel(r.json);
  const meta = $('detail-meta');
  meta.replaceChildren();
  for (const [k, v] of [
    ['mod revision', r.json.mod_revision],
    ['created at', r.json.create_revision],
    ['version', r.json.version],
    ['lease', r.json.lease],
    ['size', `${valueBytes(r.json).length} bytes`],
  ]) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = String(v);
    meta.append(dt, dd);
  }
  renderValue();
  if (fromWatch && edited) {
    say(`This key changed on the server (now at revision ${r.json.mod_revision}) while you were editing; saving now would be refused.`, 'warn');
  } else {
    state.editBase = r.json.mod_revision;
    editor.value = r.json.value ?? '';
    editor.disabled = r.json.value === undefined;
    $('save').disabled = r.json.value === undefined;
    // Our own save comes back through the watch too: only someone else's change is news.
    if (fromWatch && r.json.mod_revision !== state.savedRevision) say(`Updated by a change at revision ${r.json.mod_revision}.`);
  }
  renderHistory(r.json);
}

function renderValue() {
  const kv = state.shown;
  if (!kv) return;
  const view = document.querySelector('input[name=view]:checked').value;
  const bytes = valueBytes(kv);
  let text;
  if (view === 'hex') {
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = Array.from(bytes.slice(i, i + 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
      lines.push(i.toString(16).padStart(6, '0') + '  ' + row);
    }
    text = lines.join('\n') || '(empty)';
  } else if (kv.value === undefined) {
    text = `(binary value, ${bytes.length} bytes: choose hex)`;
  } else if (view === 'json') {
    try {
      text = JSON.stringify(JSON.parse(kv.value), null, 2);
    } catch (e) {
      text = `(not JSON: ${e.message})\n\n${kv.value}`;
    }
  } else text = kv.value === '' ? '(empty)' : kv.value;
  $('detail-view').textContent = text;
}

/** Older versions, read back through ?rev= (stops at the key's creation or the compaction). */
async function renderHistory(kv) {
  const list = $('history');
  list.replaceChildren();
  let rev = kv.mod_revision - 1;
  for (let i = 0; i < HISTORY_MAX && rev > 0 && kv.version > 1; i++) {
    const r = await api('GET', `/v1/kv/${keyPath(kv)}?rev=${rev}`);
    if (!r.ok || state.shown !== kv) break;
    const li = document.createElement('li');
    const v = r.json.value !== undefined ? r.json.value : `(binary, ${valueBytes(r.json).length} bytes)`;
    li.textContent = `revision ${r.json.mod_revision} (version ${r.json.version}): ${v.length > 120 ? v.slice(0, 120) + '…' : v}`;
    list.append(li);
    if (r.json.version <= 1) break;
    rev = r.json.mod_revision - 1;
  }
  if (list.children.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'No earlier versions (first version, or compacted).';
    list.append(li);
  }
}

async function save(ev) {
  ev.preventDefault();
  const kv = state.shown;
  if (!kv) return;
  // CAS on the revision the draft was loaded at, not on what the page shows now.
  const r = await api('PUT', `/v1/kv/${keyPath(kv)}`, { body: $('edit-value').value, headers: { 'if-match': `"${state.editBase}"` } });
  if (r.status === 412) return say(`Not saved: ${r.json.message}. Choose the key again to see its current value.`, 'error');
  if (!r.ok) return say(`Not saved: ${r.json?.message ?? r.status}`, 'error');
  // The editor now holds what the store holds: not an unsaved edit when the change comes back.
  kv.value = $('edit-value').value;
  state.savedRevision = r.json.revision;
  say(`Saved at revision ${r.json.revision}.`, 'ok');
  await showKey(keyId(kv));
}

let deleteArmed = null;
async function remove() {
  const kv = state.shown;
  if (!kv) return;
  const button = $('delete');
  if (!deleteArmed) {
    button.textContent = 'Confirm delete';
    deleteArmed = setTimeout(() => {
      deleteArmed = null;
      button.textContent = 'Delete key';
    }, 5000);
    return;
  }
  clearTimeout(deleteArmed);
  deleteArmed = null;
  button.textContent = 'Delete key';
  const r = await api('DELETE', `/v1/kv/${keyPath(kv)}`, { headers: { 'if-match': `"${kv.mod_revision}"` } });
  if (!r.ok) return say(`Not deleted: ${r.json?.message ?? r.status}`, 'error');
  say(`Deleted at revision ${r.json.revision}.`, 'ok');
  navigate(state.prefix, null, true);
}

async function create(ev) {
  ev.preventDefault();
  const key = $('create-key').value;
  if (!key) return;
  const r = await api('PUT', `/v1/kv/${encodeURIComponent(key)}`, { body: $('create-value').value, headers: { 'if-none-match': '*' } });
  if (r.status === 412) return say(`“${key}” already exists: choose it to edit it.`, 'error');
  if (!r.ok) return say(`Not created: ${r.json?.message ?? r.status}`, 'error');
  say(`Created “${key}” at revision ${r.json.revision}.`, 'ok');
  $('create-value').value = '';
}

// ---- live event log ----

function logEvent(revision, ev) {
  const li = document.createElement('li');
  const what = ev.type === 'put' ? `put ${keyLabel(ev)} = ${ev.value !== undefined ? ev.value : '(binary)'}` : `delete ${keyLabel(ev)}`;
  li.textContent = `r${revision} ${what.length > 160 ? what.slice(0, 160) + '…' : what}`;
  li.className = ev.type;
  if (state.paused) state.held.push(li);
  else addLog([li]);
}

function addLog(items) {
  const log = $('log');
  for (const li of items) log.prepend(li);
  while (log.children.length > LOG_MAX) log.lastElementChild.remove();
}

function togglePause() {
  state.paused = !state.paused;
  const b = $('pause');
  b.setAttribute('aria-pressed', String(state.paused));
  b.textContent = state.paused ? 'Resume' : 'Pause';
  if (!state.paused) {
    addLog(state.held);
    state.held = [];
  }
}

// ---- navigation (kept in the URL hash, so back/forward and links work) ----

function navigate(prefix, key, keepMessage = false) {
  if (!keepMessage) say('');
  const h = new URLSearchParams();
  if (prefix) h.set('prefix', prefix);
  if (key) h.set('key', key);
  location.hash = h.toString();
}

let current = { prefix: null };
async function route() {
  const h = new URLSearchParams(location.hash.slice(1));
  const prefix = h.get('prefix') ?? '';
  const key = h.get('key');
  if (prefix !== current.prefix) {
    current.prefix = prefix;
    $('create-key').value = prefix;
    await openPrefix(prefix);
  }
  if (key) await showKey(key);
  else {
    state.selected = null;
    state.shown = null;
    $('detail').hidden = true;
    $('detail-empty').hidden = false;
    $('detail-empty').textContent = 'Choose a key on the left to see its value and history.';
  }
  renderTree(false);
}

$('login-form').addEventListener('submit', login);
$('sign-out').addEventListener('click', signOut);
if (sessionStorage.getItem(TOKEN_KEY)) signedIn(sessionStorage.getItem(USER_KEY), sessionStorage.getItem(TOKEN_KEY));
$('edit-form').addEventListener('submit', save);
$('delete').addEventListener('click', remove);
$('create-form').addEventListener('submit', create);
$('pause').addEventListener('click', togglePause);
for (const r of document.querySelectorAll('input[name=view]')) r.addEventListener('change', renderValue);
window.addEventListener('hashchange', route);
pollStatus();
setInterval(pollStatus, 5000);
route();
