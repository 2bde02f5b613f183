// Calls to the agent's API with the user's token, blocking queries and the
// log stream. Every call is same-origin; writes send JSON (the agent refuses
// a browser's form posts).

const TOKEN_KEY = 'drover.token';

export function getToken() { return localStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(t) {
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, text, path) {
    super(status === 403
      ? `Permission denied (403) for ${path}: ${text.trim() || 'forbidden'}. ` +
        'Set an ACL token with the needed capability in the token field above.'
      : `${status} from ${path}: ${text.trim()}`);
    this.status = status;
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  const t = getToken();
  if (t) h['X-Nomad-Token'] = t;
  return h;
}

// GET `path`; resolves to {body, index}.
export async function get(path, { signal } = {}) {
  const r = await fetch(path, { headers: headers(), signal });
  if (!r.ok) throw new ApiError(r.status, await r.text(), path);
  const index = Number(r.headers.get('X-Nomad-Index') || 0);
  return { body: await r.json(), index };
}

// POST JSON to `path`; resolves to the decoded answer (or null).
export async function post(path, body = {}) {
  const r = await fetch(path, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new ApiError(r.status, text, path);
  return text ? JSON.parse(text) : null;
}

// Calls (and awaits) onData({body, index}) with `path`'s answer now and again after each
// change, through blocking queries (index=, wait=) until `signal` aborts.
// `nextPath(index)` may give the path of the next query (e.g. to ask only
// for what is new). Errors go to onError; it retries after a pause.
export async function watch(path, onData, onError, signal, nextPath = null) {
  let index = 0;
  let current = path;
  while (!signal.aborted) {
    try {
      const sep = current.includes('?') ? '&' : '?';
      const url = index ? `${current}${sep}index=${index}&wait=60s` : current;
      const res = await get(url, { signal });
      if (signal.aborted) return;
      if (!index || res.index !== index) await onData(res);
      index = res.index;
      if (nextPath) current = nextPath(index);
    } catch (e) {
      if (signal.aborted) return;
      onError(e);
      await sleep(e.status === 403 ? 10000 : 2000, signal);
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// Follows a task's log (plain, from its last 50,000 bytes, as Nomad's UI)
// and calls onText with each piece until `signal` aborts.
export async function followLog(allocId, task, type, onText, signal) {
  const q = new URLSearchParams({ task, type, follow: 'true', plain: 'true', origin: 'end', offset: '50000' });
  const path = `/v1/client/fs/logs/${encodeURIComponent(allocId)}?${q}`;
  const r = await fetch(path, { headers: headers(), signal });
  if (!r.ok) throw new ApiError(r.status, await r.text(), path);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onText(decoder.decode(value, { stream: true }));
  }
}
