// The page: a small router over /ui/ paths and three live views (jobs and
// the node, a job's allocations, one allocation with its timeline). Each
// view keeps its data current with blocking queries and stops them when the
// user navigates away.
import { get, post, watch, followLog, getToken, setToken } from './api.js';
import { h, formatNs, shortId } from './dom.js';
import { Timeline, buildModel, eventsUpTo } from './timeline.js';

const view = document.getElementById('view');
const flashBox = document.getElementById('flash');
let current = null;  // AbortController of the shown view

function flash(message, kind = 'error') {
  flashBox.textContent = message;
  flashBox.className = kind;
  flashBox.hidden = !message;
}

function link(path, text) { return h('a', { href: path }, text); }

function table(headers, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows));
}

function badge(status) { return h('span', { class: `badge st-${status}` }, status); }

// ---- Jobs and the node ----------------------------------------------------

function jobsView(signal) {
  const jobs = h('section', {}, h('h2', {}, 'Jobs'), h('p', { class: 'muted' }, 'Loading…'));
  const nodes = h('section', {}, h('h2', {}, 'Node'));
  view.replaceChildren(jobs, nodes);
  watch('/v1/jobs?namespace=*', ({ body }) => {
    const rows = body.map((j) => {
      const counts = { running: 0, pending: 0, failed: 0 };
      for (const g of Object.values((j.JobSummary && j.JobSummary.Summary) || {})) {
        counts.running += g.Running || 0;
        counts.pending += (g.Starting || 0) + (g.Queued || 0);
        counts.failed += (g.Failed || 0) + (g.Lost || 0);
      }
      const ns = encodeURIComponent(j.Namespace || 'default');
      return h('tr', { 'data-job': j.ID },
        h('td', {}, link(`/ui/jobs/${encodeURIComponent(j.ID)}?namespace=${ns}`, j.ID)),
        h('td', {}, j.Namespace), h('td', {}, j.Type), h('td', {}, badge(j.Status)),
        h('td', { class: 'num' }, counts.running), h('td', { class: 'num' }, counts.pending),
        h('td', { class: 'num' }, counts.failed));
    });
    jobs.replaceChildren(h('h2', {}, 'Jobs'), rows.length
      ? table(['ID', 'Namespace', 'Type', 'Status', 'Running', 'Pending', 'Failed'], rows, { id: 'jobs' })
      : h('p', { class: 'muted' }, 'No jobs. Run one with `drover job run FILE`.'));
  }, (e) => flash(e.message), signal);
  watch('/v1/nodes', ({ body }) => {
    nodes.replaceChildren(h('h2', {}, 'Node'), table(['Name', 'ID', 'Address', 'Status', 'Eligibility', 'Drain'],
      body.map((n) => h('tr', {}, h('td', {}, n.Name), h('td', { class: 'mono' }, shortId(n.ID)),
        h('td', {}, n.Address), h('td', {}, badge(n.Status)), h('td', {}, n.SchedulingEligibility),
        h('td', {}, n.Drain ? 'yes' : 'no'))), { id: 'nodes' }));
  }, (e) => flash(e.message), signal);
}

// ---- One job ----------------------------------------------------------------

function jobView(id, ns, signal) {
  const q = `namespace=${encodeURIComponent(ns)}`;
  const head = h('h2', {}, 'Job ', h('span', { class: 'mono' }, id));
  const list = h('section', {}, h('p', { class: 'muted' }, 'Loading…'));
  view.replaceChildren(h('p', {}, link('/ui/', '← Jobs')), head, list);
  watch(`/v1/job/${encodeURIComponent(id)}/allocations?${q}`, ({ body }) => {
    body.sort((a, b) => b.CreateIndex - a.CreateIndex);
    const rows = body.map((a) => h('tr', { 'data-alloc': a.ID },
      h('td', { class: 'mono' }, link(`/ui/allocations/${a.ID}`, shortId(a.ID))),
      h('td', {}, a.TaskGroup), h('td', {}, a.DesiredStatus), h('td', {}, badge(a.ClientStatus)),
      h('td', {}, formatNs(a.ModifyTime))));
    list.replaceChildren(h('h3', {}, 'Allocations'), rows.length
      ? table(['ID', 'Group', 'Desired', 'Status', 'Modified'], rows, { id: 'allocs' })
      : h('p', { class: 'muted' }, 'No allocations.'));
  }, (e) => flash(e.message), signal);
}

// ---- One allocation -----------------------------------------------------

const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGKILL'];

function allocView(id, signal) {
  const enc = encodeURIComponent(id);
  const state = { model: null, alloc: null, stop: null, at: null, live: true, running: false };
  const title = h('h2', {}, 'Allocation ', h('span', { class: 'mono' }, id));
  const summary = h('p', { id: 'alloc-summary' });
  const act = async (what, path, body) => {
    try {
      await post(path, body);
      flash(`${what}: done`, 'info');
    } catch (e) { flash(e.message); }
  };
  const actions = h('div', { class: 'actions' },
    h('button', { type: 'button', id: 'restart-all',
      onclick: () => act('Restart all tasks', `/v1/client/allocation/${enc}/restart`, { AllTasks: true }) }, 'Restart all tasks'),
    h('button', { type: 'button', id: 'stop-alloc', class: 'danger',
      onclick: () => act('Stop allocation', `/v1/allocation/${enc}/stop`) }, 'Stop allocation'));
  const timelineBox = h('div', { id: 'timeline' });
  const timeline = new Timeline(timelineBox);
  const slider = h('input', { type: 'range', id: 'history-slider', min: 0, max: 0, value: 0, step: 1,
    'aria-label': 'journal index' });
  const sliderLabel = h('span', { id: 'slider-label', class: 'muted' });
  const liveButton = h('button', { type: 'button', id: 'back-live', hidden: true }, 'Back to live');
  const asOf = h('p', { id: 'as-of' });
  const tasksBox = h('section', { id: 'tasks' });
  const eventsBox = h('section', { id: 'events' });
  const logs = logsPanel(id, signal);
  view.replaceChildren(title, summary, actions,
    h('section', { class: 'timeline-section' }, h('h3', {}, 'Timeline'), timelineBox,
      h('div', { class: 'slider-row' }, h('label', { for: 'history-slider' }, 'Journal index'), slider,
        sliderLabel, liveButton), asOf),
    tasksBox, eventsBox, logs.element);

  const renderState = () => {
    if (!state.alloc || !state.model) return;
    // Before its first journal entry the allocation did not exist yet.
    const alloc = state.live ? state.alloc
      : state.at || { ...state.alloc, TaskStates: {}, DesiredStatus: '-', ClientStatus: 'not placed yet' };
    const stops = state.model.stops;
    const stop = state.live ? stops[stops.length - 1] : state.stop;
    summary.replaceChildren('Job ', link(`/ui/jobs/${encodeURIComponent(alloc.JobID)}?namespace=${encodeURIComponent(alloc.Namespace || 'default')}`, alloc.JobID),
      ` · group ${alloc.TaskGroup} · desired ${alloc.DesiredStatus} · `, badge(alloc.ClientStatus));
    asOf.replaceChildren(state.live
      ? h('span', { class: 'live' }, '● live')
      : h('span', { class: 'past' }, `As it was at journal index ${stop.index} (${formatNs(stop.time * 1e6)})`));
    asOf.dataset.index = stop ? stop.index : '';
    asOf.dataset.live = state.live ? 'true' : 'false';
    liveButton.hidden = state.live;
    timeline.setCursor(state.live ? null : stop.time);
    const rows = Object.entries(alloc.TaskStates || {}).sort(([a], [b]) => a.localeCompare(b)).map(([name, ts]) => {
      const sig = h('select', { 'aria-label': `signal for ${name}` }, ...SIGNALS.map((s) => h('option', {}, s)));
      return h('tr', { 'data-task': name, 'data-state': ts.State },
        h('td', {}, name), h('td', {}, badge(ts.State)), h('td', {}, ts.Failed ? 'yes' : 'no'),
        h('td', { class: 'num restarts' }, ts.Restarts || 0),
        h('td', {}, ts.StartedAt ? String(ts.StartedAt).replace('T', ' ').slice(0, 23) : ''),
        h('td', {}, ts.FinishedAt ? String(ts.FinishedAt).replace('T', ' ').slice(0, 23) : ''),
        h('td', { class: 'row-actions' },
          h('button', { type: 'button', class: 'restart-task', 'data-task': name,
            onclick: () => act(`Restart ${name}`, `/v1/client/allocation/${enc}/restart`, { TaskName: name }) }, 'Restart'),
          sig,
          h('button', { type: 'button', class: 'signal-task',
            onclick: () => act(`Signal ${name}`, `/v1/client/allocation/${enc}/signal`, { Task: name, Signal: sig.value }) }, 'Signal')));
    });
    tasksBox.replaceChildren(h('h3', {}, 'Tasks'),
      table(['Task', 'State', 'Failed', 'Restarts', 'Started', 'Finished', ''], rows, { id: 'task-states' }));
    const events = eventsUpTo(state.model, stop ? stop.index : Infinity).reverse();
    eventsBox.replaceChildren(h('h3', {}, `Task events (${events.length})`),
      table(['Time', 'Task', 'Type', 'Description'], events.map((e) => h('tr', { 'data-type': e.Type },
        h('td', { class: 'mono' }, formatNs(e.Time)), h('td', {}, e.task), h('td', {}, e.Type),
        h('td', {}, e.DisplayMessage || e.Message || ''))), { id: 'task-events' }));
  };

  const showStop = async (k) => {
    const stops = state.model.stops;
    if (k >= stops.length - 1) {
      state.live = true;
      state.stop = null;
      slider.value = String(stops.length - 1);
      sliderLabel.textContent = `${stops.length ? stops[stops.length - 1].index : ''} (latest)`;
      return renderState();
    }
    const stop = stops[k];
    state.live = false;
    state.stop = stop;
    sliderLabel.textContent = `${stop.index} · ${stop.type}`;
    try {
      const { body } = await get(`/v1/drover/allocation/${enc}/history?at=${stop.index}&from_index=${stop.index + 1}`, { signal });
      if (state.stop !== stop) return;  // the slider moved on meanwhile
      state.at = body.At && body.At.Allocation;
      renderState();
    } catch (e) { if (!signal.aborted) flash(e.message); }
  };
  slider.addEventListener('input', () => showStop(Number(slider.value)));
  liveButton.addEventListener('click', () => showStop(Infinity));

  // The history, page by page, then each change as it comes (from_index:
  // only the new events).
  const events = [];
  let nextFrom = 0;
  watch(`/v1/drover/allocation/${enc}/history`, async ({ body }) => {
    events.push(...body.Events);
    let page = body;
    while (page.NextIndex) {
      page = (await get(`/v1/drover/allocation/${enc}/history?from_index=${page.NextIndex}`, { signal })).body;
      events.push(...page.Events);
    }
    nextFrom = body.Index + 1;
    state.model = buildModel(events);
    const last = events.length ? events[events.length - 1].Payload.Allocation : null;
    state.alloc = last || (await get(`/v1/allocation/${enc}`, { signal })).body;
    state.running = !['complete', 'failed', 'lost'].includes(state.alloc.ClientStatus);
    timeline.update(state.model, state.running);
    const n = state.model.stops.length;
    slider.max = String(Math.max(n - 1, 0));
    if (state.live) {
      slider.value = String(n - 1);
      sliderLabel.textContent = `${n ? state.model.stops[n - 1].index : ''} (latest)`;
    }
    logs.setTasks(Object.keys(state.alloc.TaskStates || {}).sort());
    renderState();
  }, (e) => flash(e.message), signal, () => `/v1/drover/allocation/${enc}/history?from_index=${nextFrom}`);
  // A running allocation's lanes grow with the clock between events.
  const tick = setInterval(() => { if (state.running) timeline.update(state.model, true); }, 5000);
  signal.addEventListener('abort', () => clearInterval(tick), { once: true });
}

function logsPanel(allocId, signal) {
  const task = h('select', { id: 'log-task', 'aria-label': 'task' });
  const type = h('select', { id: 'log-type', 'aria-label': 'stream' }, h('option', {}, 'stdout'), h('option', {}, 'stderr'));
  const out = h('pre', { id: 'log', class: 'log' });
  let follow = null;
  const start = () => {
    if (follow) follow.abort();
    follow = new AbortController();
    signal.addEventListener('abort', () => follow.abort(), { once: true });
    out.textContent = '';
    if (!task.value) return;
    followLog(allocId, task.value, type.value, (text) => {
      const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
      out.textContent = (out.textContent + text).slice(-65536);
      if (atBottom) out.scrollTop = out.scrollHeight;
    }, follow.signal).catch((e) => { if (!follow.signal.aborted) flash(e.message); });
  };
  task.addEventListener('change', start);
  type.addEventListener('change', start);
  const element = h('section', {}, h('h3', {}, 'Logs ', task, ' ', type, h('span', { class: 'muted' }, ' following')), out);
  return {
    element,
    setTasks(names) {
      const have = [...task.options].map((o) => o.value).join();
      if (have === names.join()) return;
      task.replaceChildren(...names.map((n) => h('option', {}, n)));
      start();
    },
  };
}

// ---- Router -----------------------------------------------------------------

function render() {
  if (current) current.abort();
  current = new AbortController();
  flash('');
  const path = location.pathname.replace(/\/+$/, '');
  const params = new URLSearchParams(location.search);
  let m;
  if ((m = path.match(/^\/ui\/jobs\/([^/]+)$/))) {
    jobView(decodeURIComponent(m[1]), params.get('namespace') || 'default', current.signal);
  } else if ((m = path.match(/^\/ui\/allocations\/([^/]+)$/))) {
    allocView(decodeURIComponent(m[1]), current.signal);
  } else {
    jobsView(current.signal);
  }
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href^="/ui/"]');
  if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  history.pushState(null, '', a.getAttribute('href'));
  render();
});
window.addEventListener('popstate', render);

const tokenInput = document.getElementById('token');
tokenInput.value = getToken();
document.getElementById('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  setToken(tokenInput.value.trim());
  render();
  flash(tokenInput.value.trim() ? 'Token saved in this browser.' : 'Token cleared: anonymous.', 'info');
});

render();
