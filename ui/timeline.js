// The allocation timeline: one lane per task over time, built from the
// allocation's journal history (GET /v1/drover/allocation/:id/history),
// drawn in SVG. Segments show the task's state (pending, running, dead)
// between journal events; markers show its task events (restarts, signals,
// kills, exits, OOM), each with a tooltip.
import { svg, h, formatNs } from './dom.js';

// Journal events -> {tasks, stops, first, last}. `stops` are the
// allocation's distinct journal indexes (for the slider), with their time.
export function buildModel(events) {
  const tasks = new Map();
  const stops = [];
  for (const ev of events) {
    const alloc = ev.Payload && ev.Payload.Allocation;
    if (!alloc) continue;
    const time = ev.Time / 1e6;  // ms
    if (!stops.length || stops[stops.length - 1].index !== ev.Index) {
      stops.push({ index: ev.Index, time, type: ev.Type });
    }
    for (const [name, ts] of Object.entries(alloc.TaskStates || {})) {
      let task = tasks.get(name);
      if (!task) {
        task = { name, states: [], markers: new Map() };
        tasks.set(name, task);
      }
      const state = ts.State || 'pending';
      const last = task.states[task.states.length - 1];
      if (!last || last.state !== state) task.states.push({ time, index: ev.Index, state });
      // A payload carries the task's latest events only; their union over
      // the journal is its whole event history.
      for (const te of ts.Events || []) {
        const key = `${te.Time}|${te.Type}`;
        if (!task.markers.has(key)) {
          task.markers.set(key, { ...te, time: te.Time / 1e6, index: ev.Index, task: name });
        }
      }
    }
  }
  const list = [...tasks.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const t of list) t.markers = [...t.markers.values()].sort((a, b) => a.time - b.time);
  return {
    tasks: list,
    stops,
    first: stops.length ? stops[0].time : 0,
    last: stops.length ? stops[stops.length - 1].time : 0,
  };
}

// Every task event of the model at or before journal index `index`.
export function eventsUpTo(model, index) {
  return model.tasks.flatMap((t) => t.markers.filter((m) => m.index <= index))
    .sort((a, b) => a.time - b.time);
}

export function markerKind(e) {
  const oom = (e.Details && e.Details.oom_killed === 'true') || /OOM/i.test(e.Message || '');
  switch (e.Type) {
    case 'Restarting':
    case 'Restart Signaled': return 'restart';
    case 'Signaling': return 'signal';
    case 'Killing':
    case 'Killed': return 'kill';
    case 'Terminated': return oom ? 'oom' : (e.ExitCode || e.Signal ? 'exit-fail' : 'exit');
    case 'Started': return 'start';
    default: return 'info';
  }
}

function markerTitle(m) {
  const lines = [`${m.task}: ${m.Type}`];
  const msg = m.DisplayMessage || m.Message;
  if (msg) lines.push(msg);
  if (m.Type === 'Terminated') lines.push(`exit code ${m.ExitCode || 0}${m.Signal ? `, signal ${m.Signal}` : ''}`);
  lines.push(`${formatNs(m.Time)} (journal index ${m.index})`);
  return lines.join('\n');
}

const LAYER = { info: 0, start: 1, exit: 2, 'exit-fail': 2, oom: 2, kill: 3, signal: 4, restart: 5 };
const LABEL_W = 130;
const LANE_H = 30;
const AXIS_H = 24;
const MIN_SPAN_MS = 20;

// A zoomable timeline in `container`. update(model, live) redraws it;
// setCursor(time) marks the slider's moment.
export class Timeline {
  constructor(container) {
    this.container = container;
    this.model = null;
    this.view = null;       // {start, end} in ms, null: the whole history
    this.cursor = null;
    this.end = 0;
    this.svg = svg('svg', { class: 'timeline', role: 'img', 'aria-label': 'allocation timeline' });
    const zoom = (f) => this.zoom(f, null);
    const controls = h('div', { class: 'timeline-controls' },
      h('button', { type: 'button', title: 'Zoom in', 'data-zoom': 'in', onclick: () => zoom(0.5) }, '+'),
      h('button', { type: 'button', title: 'Zoom out', 'data-zoom': 'out', onclick: () => zoom(2) }, '−'),
      h('button', { type: 'button', title: 'Show the whole history', 'data-zoom': 'reset',
        onclick: () => { this.view = null; this.draw(); } }, 'Reset'),
      h('span', { class: 'muted' }, 'wheel to zoom, drag to pan'));
    const legend = h('div', { class: 'legend' },
      ...['pending', 'running', 'dead'].map((s) => h('span', { class: `key seg-${s}` }, s)),
      ...[['restart', 'restart'], ['signal', 'signal'], ['kill', 'kill'], ['exit', 'exit 0'],
        ['exit-fail', 'exit ≠ 0'], ['oom', 'OOM']].map(([k, l]) => h('span', { class: `key mk-${k}` }, l)));
    container.replaceChildren(controls, this.svg, legend);
    this.svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.zoom(e.deltaY < 0 ? 0.8 : 1.25, this.timeAt(e.offsetX));
    }, { passive: false });
    this.svg.addEventListener('pointerdown', (e) => this.startPan(e));
  }

  update(model, live) {
    this.model = model;
    // A live allocation's lanes run to now; a finished one's to its last event.
    this.end = live ? Math.max(model.last, Date.now()) : model.last;
    this.draw();
  }

  setCursor(time) { this.cursor = time; this.draw(); }

  range() {
    if (this.view) return this.view;
    const start = this.model.first;
    const span = Math.max(this.end - start, MIN_SPAN_MS);
    return { start: start - span * 0.02, end: start + span * 1.03 };
  }

  width() { return Math.max(this.container.clientWidth || 0, 480); }

  timeAt(x) {
    const { start, end } = this.range();
    return start + ((x - LABEL_W) / (this.width() - LABEL_W - 8)) * (end - start);
  }

  zoom(factor, center) {
    if (!this.model) return;
    const { start, end } = this.range();
    const c = center ?? (start + end) / 2;
    const span = Math.max((end - start) * factor, MIN_SPAN_MS);
    const left = (c - start) / (end - start);
    this.view = { start: c - span * left, end: c + span * (1 - left) };
    this.draw();
  }

  startPan(e) {
    if (!this.model || e.button !== 0) return;
    const x0 = e.clientX;
    const r0 = this.range();
    const perPx = (r0.end - r0.start) / (this.width() - LABEL_W - 8);
    this.svg.setPointerCapture(e.pointerId);
    const move = (ev) => {
      const dt = (ev.clientX - x0) * perPx;
      this.view = { start: r0.start - dt, end: r0.end - dt };
      this.draw();
    };
    const up = () => {
      this.svg.removeEventListener('pointermove', move);
      this.svg.removeEventListener('pointerup', up);
    };
    this.svg.addEventListener('pointermove', move);
    this.svg.addEventListener('pointerup', up);
  }

  draw() {
    const m = this.model;
    if (!m) return;
    const W = this.width();
    const H = AXIS_H + Math.max(m.tasks.length, 1) * LANE_H + 8;
    const { start, end } = this.range();
    const plotW = W - LABEL_W - 8;
    const x = (t) => LABEL_W + ((t - start) / (end - start)) * plotW;
    const s = this.svg;
    s.setAttribute('viewBox', `0 0 ${W} ${H}`);
    s.setAttribute('width', W);
    s.setAttribute('height', H);
    const clip = svg('clipPath', { id: 'plot-clip' },
      svg('rect', { x: LABEL_W, y: 0, width: plotW, height: H }));
    const plot = svg('g', { 'clip-path': 'url(#plot-clip)' });
    const axis = svg('g', { class: 'axis' });
    for (let i = 0; i <= 5; i++) {
      const t = start + ((end - start) * i) / 5;
      const xx = x(t);
      plot.append(svg('line', { x1: xx, x2: xx, y1: AXIS_H - 4, y2: H, class: 'grid' }));
      const label = formatNs(t * 1e6).slice(11, end - start < 10000 ? 23 : 19);
      axis.append(svg('text', { x: xx, y: 14, 'text-anchor': i === 0 ? 'start' : i === 5 ? 'end' : 'middle' }, label));
    }
    const lanes = svg('g', { class: 'lanes' });
    m.tasks.forEach((task, i) => {
      const y = AXIS_H + i * LANE_H;
      const lane = svg('g', { class: 'lane', 'data-task': task.name });
      lanes.append(svg('text', { x: 4, y: y + LANE_H / 2 + 4, class: 'lane-label' }, task.name));
      task.states.forEach((st, j) => {
        const to = j + 1 < task.states.length ? task.states[j + 1].time : this.end;
        const x1 = x(st.time);
        const w = Math.max(x(to) - x1, 1);
        lane.append(svg('rect', {
          x: x1, y: y + 6, width: w, height: LANE_H - 12, rx: 3,
          class: `seg seg-${st.state}`, 'data-state': st.state, 'data-index': st.index,
        }, svg('title', {}, `${task.name}: ${st.state} from ${formatNs(st.time * 1e6)} (index ${st.index})`)));
      });
      // Close events overlap: exits below, then kills, signals, restarts.
      const byLayer = [...task.markers].sort((a, b) => LAYER[markerKind(a)] - LAYER[markerKind(b)]);
      for (const mk of byLayer) lane.append(this.marker(mk, x(mk.time), y + LANE_H / 2));
      plot.append(lane);
    });
    if (this.cursor !== null) {
      const cx = x(this.cursor);
      plot.append(svg('line', { x1: cx, x2: cx, y1: AXIS_H - 6, y2: H, class: 'cursor' }));
    }
    s.replaceChildren(svg('defs', {}, clip), axis, lanes, plot);
  }

  marker(m, cx, cy) {
    const kind = markerKind(m);
    const g = svg('g', { class: `marker mk-${kind}`, 'data-type': m.Type, 'data-kind': kind, tabindex: 0 });
    switch (kind) {
      case 'restart':
        g.append(svg('path', { d: `M${cx - 6},${cy - 11} L${cx + 6},${cy - 11} L${cx},${cy - 3} Z` }));
        break;
      case 'signal':
        g.append(svg('path', { d: `M${cx},${cy - 7} L${cx + 6},${cy} L${cx},${cy + 7} L${cx - 6},${cy} Z` }));
        break;
      case 'kill':
        g.append(svg('path', { d: `M${cx - 5},${cy - 5} L${cx + 5},${cy + 5} M${cx + 5},${cy - 5} L${cx - 5},${cy + 5}`, class: 'stroke' }));
        break;
      case 'start':
        g.append(svg('rect', { x: cx - 1.5, y: cy - 9, width: 3, height: 18 }));
        break;
      case 'info':
        g.append(svg('circle', { cx, cy, r: 2.5 }));
        break;
      default:  // exits and OOM
        g.append(svg('circle', { cx, cy, r: 6 }));
        g.append(svg('text', { x: cx, y: cy + 17, 'text-anchor': 'middle', class: 'mk-label' },
          kind === 'oom' ? 'OOM' : `exit ${m.ExitCode || 0}`));
    }
    g.append(svg('title', {}, markerTitle(m)));
    return g;
  }
}
