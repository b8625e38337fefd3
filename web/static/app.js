// SPDX-License-Identifier: MIT
// tcs-web's page: the fleet (tcs.fleet/1) live over Server-Sent Events (doc/web.md).
// Plain ES2020, no framework: one <tr> per entry kept in a Map, only changed rows are touched,
// and the heartbeat ages tick every second without rebuilding the table.
'use strict';

(() => {
  const SYMBOLS = {
    healthy: { glyph: '●', label: 'healthy' },
    warning: { glyph: '◐', label: 'warning' },
    problem: { glyph: '⚠', label: 'problem' },
    error: { glyph: '×', label: 'error' },
    stopped: { glyph: '○', label: 'stopped' },
  };
  const SYMBOL_ORDER = ['healthy', 'warning', 'problem', 'error', 'stopped'];
  // A child monitor's status → the symbol the text view gives it.
  const STATUS_SYMBOL = {
    ok: 'healthy', idle: 'healthy', busy: 'healthy', startup: 'healthy',
    degraded: 'warning', warning: 'warning',
    error: 'error', failed: 'error',
    shutdown: 'stopped', unknown: 'problem',
  };
  const CRASH_WINDOW_MS = 5 * 60 * 1000;
  const HB_ALIVE_S = 30;
  const HB_STALE_S = 120;
  const TIMELINE_DEFAULT = 200;

  const $ = (id) => document.getElementById(id);
  const el = {
    banner: $('banner'), summary: $('summary'), nats: $('nats-state'), filter: $('filter'),
    showStopped: $('show-stopped'), unlock: $('unlock'), password: $('password'),
    controlState: $('control-state'), lock: $('lock'), controlResult: $('control-result'),
    live: $('live'), table: $('fleet'), body: $('fleet-body'), empty: $('empty'),
    details: $('details'), detailsTitle: $('details-title'), detailsBody: $('details-body'),
    detailsClose: $('details-close'), timeline: $('timeline'),
  };

  const state = {
    config: null,
    services: new Map(), // id → service object
    order: [], // display order of ids
    rows: new Map(), // id → {tr, cells, childRows: [tr], hb, started}
    offsetMs: 0, // server clock − browser clock, from the newest document's taken_at
    connected: false, // the event stream delivers
    nats: null, // newest `nats` event
    csrf: null, // set once control is unlocked
    selected: null, // id shown in the details panel
    timelineKeys: new Set(),
    es: null,
    reconnectTimer: null,
  };

  // ---- small helpers ------------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') node.className = v;
        else if (k === 'style') node.style.cssText = v; // CSSOM: allowed by tcs-web's CSP (style-src 'self')
        else if (k === 'text') node.textContent = v;
        else if (k.startsWith('data-')) node.setAttribute(k, String(v));
        else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function parseTime(t) {
    if (t === null || t === undefined) return null;
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }

  const serverNow = () => Date.now() + state.offsetMs;

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
    let s = Math.max(0, Math.floor(seconds));
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const hh = Math.floor(s / 3600);
    s -= hh * 3600;
    const mm = Math.floor(s / 60);
    s -= mm * 60;
    const p2 = (n) => String(n).padStart(2, '0');
    if (d > 0) return `${d}d ${p2(hh)}h`;
    if (hh > 0) return `${hh}h ${p2(mm)}m`;
    if (mm > 0) return `${mm}m ${p2(s)}s`;
    return `${s}s`;
  }

  function formatTime(t) {
    const ms = parseTime(t);
    if (ms === null) return t === null || t === undefined ? '—' : String(t);
    return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function clockTime(t) {
    const ms = parseTime(t);
    if (ms === null) return '';
    return new Date(ms).toISOString().slice(11, 19);
  }

  async function api(method, path, body, headers) {
    const init = { method, headers: { Accept: 'application/json', ...(headers || {}) }, credentials: 'same-origin' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      const err = new Error(`cannot reach tcs-web (${e.message})`);
      err.code = 'network';
      throw err;
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const code = data && data.error ? data.error : `http_${res.status}`;
      const msg = data && data.message ? data.message : res.statusText || 'request failed';
      const err = new Error(`${res.status} ${code}: ${msg}`);
      err.status = res.status;
      err.code = code;
      throw err;
    }
    return data;
  }

  // ---- the banner and the connection --------------------------------------------------------

  function updateBanner() {
    let text = null;
    let reason = null;
    if (!state.connected) {
      text = 'Connection to tcs-web lost — reconnecting…';
      reason = 'connection';
    } else if (state.nats && state.nats.connected === false) {
      text = 'tcs-web lost its NATS connection — the view may be out of date';
      reason = 'nats';
    }
    if (!state.connected && !state.everConnected) {
      text = 'Connecting to tcs-web…';
      reason = 'connecting';
    }
    document.body.classList.toggle('disconnected', reason !== null);
    if (text === null) {
      el.banner.hidden = true;
      el.banner.removeAttribute('data-reason');
      setText(el.banner, '');
    } else {
      setText(el.banner, text);
      el.banner.setAttribute('data-reason', reason);
      el.banner.hidden = false;
    }
  }

  function setNats(n) {
    state.nats = n;
    const connected = !!(n && n.connected);
    el.nats.dataset.connected = String(connected);
    let text = connected ? 'NATS: connected' : 'NATS: disconnected';
    if (connected && n.jetstream === false) text += ' (no JetStream)';
    setText(el.nats, text);
    el.nats.title = n && n.notes && n.notes.length ? n.notes.join('\n') : '';
    updateBanner();
  }

  function connect() {
    if (state.reconnectTimer) {
      clearTimeout(state.reconnectTimer);
      state.reconnectTimer = null;
    }
    if (state.es) state.es.close();
    const es = new EventSource('/api/events');
    state.es = es;
    es.addEventListener('fleet', (ev) => {
      const doc = JSON.parse(ev.data);
      markFlowing();
      applyFleet(doc);
      loadTimeline();
    });
    es.addEventListener('changes', (ev) => {
      markFlowing();
      applyChanges(JSON.parse(ev.data));
    });
    es.addEventListener('timeline', (ev) => {
      markFlowing();
      addTimelineEvent(JSON.parse(ev.data), true);
    });
    es.addEventListener('nats', (ev) => {
      markFlowing();
      setNats(JSON.parse(ev.data));
    });
    es.onerror = () => {
      if (state.es !== es) return;
      state.connected = false;
      updateBanner();
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error answer): try again ourselves.
        state.reconnectTimer = setTimeout(connect, 2000);
      }
    };
  }

  function markFlowing() {
    if (!state.connected) {
      state.connected = true;
      state.everConnected = true;
      updateBanner();
    }
  }

  // ---- the fleet table ----------------------------------------------------------------------

  function symbolCell(symbol, status) {
    const s = SYMBOLS[symbol] || { glyph: '?', label: symbol || 'unknown' };
    return h('td', { class: 'col-status' },
      h('span', { class: 'glyph', 'aria-hidden': 'true', text: s.glyph }),
      h('span', { class: 'status-text', text: status || s.label }));
  }

  function restartBadge(svc) {
    const r = svc.restart || {};
    const max = r.max === null || r.max === undefined ? '∞' : String(r.max);
    switch (r.state) {
      case 'restarting':
        return h('span', { class: 'badge restart-restarting', title: `Restarting: attempt ${r.attempt ?? '?'} of ${max}` },
          `⟳ ${r.attempt ?? '?'}/${max}`);
      case 'failed': {
        const f = svc.last_failure;
        const why = f && f.reason ? f.reason.replace(/_/g, ' ') : 'restarting given up';
        return h('span', { class: 'badge restart-failed', title: `Restarting given up: ${why}` }, `✗ ${r.count}/${max}`);
      }
      case 'recovered':
        return h('span', { class: 'badge restart-recovered', title: `Recovered after ${r.count} restart(s)` },
          `↻ ${r.count}`);
      default:
        return null;
    }
  }

  function crashText(c) {
    const code = typeof c.exit_code === 'number' && c.exit_code < 0 ? `signal ${-c.exit_code}` : `exit ${c.exit_code}`;
    return c.result && c.result !== 'exit-code' ? `${c.result}, ${code}` : code;
  }

  function recentCrash(svc, now) {
    const c = svc.last_crash;
    if (!c) return null;
    const t = parseTime(c.time);
    if (t === null || now - t > CRASH_WINDOW_MS) return null;
    return c;
  }

  function hbClass(ageS, svc) {
    if (ageS === null) return svc.running ? 'hb-dead' : 'hb-none';
    if (!svc.running) return 'hb-none';
    if (ageS < HB_ALIVE_S) return 'hb-alive';
    if (ageS < HB_STALE_S) return 'hb-stale';
    return 'hb-dead';
  }

  function isControllable(svc) {
    return state.csrf !== null && svc.kind === 'service';
  }

  const ACTION_GLYPH = { start: '▶', stop: '■', restart: '⟲' };

  /** Start/Stop/Restart buttons; compact (a glyph, the name as label and tooltip) in a row. */
  function controlButtons(id, compact) {
    const box = h('span', { class: 'controls' });
    for (const action of ['start', 'stop', 'restart']) {
      const name = action[0].toUpperCase() + action.slice(1);
      box.append(h('button', {
        type: 'button', class: 'control', 'data-action': action, 'data-id': id,
        'aria-label': `${name} ${id}`, title: `${name} ${id}`, text: compact ? ACTION_GLYPH[action] : name,
      }));
    }
    return box;
  }

  /** Fills (or refills) the row of a service object; the <tr> itself is kept. */
  function fillRow(row, svc) {
    const { tr } = row;
    tr.dataset.id = svc.id;
    tr.dataset.status = svc.status;
    tr.dataset.symbol = svc.symbol;
    tr.dataset.kind = svc.kind;
    tr.dataset.depth = String(svc.depth);
    tr.dataset.running = String(!!svc.running);
    tr.className = `entry sym-${svc.symbol} kind-${svc.kind}`;
    tr.tabIndex = 0;
    if (state.selected === svc.id) tr.setAttribute('aria-current', 'true');
    else tr.removeAttribute('aria-current');

    const idCell = h('th', { scope: 'row', class: 'col-id' },
      h('span', { class: 'indent', style: `--depth:${svc.depth}` }),
      svc.kind === 'launcher' ? h('span', { class: 'kind-tag', text: 'host' }) : null,
      h('span', { class: 'id-text', text: svc.id }));
    const msg = h('td', { class: 'col-message' }, h('span', { class: 'msg-text', text: svc.message ?? '' }));
    if (svc.message) msg.title = svc.message;
    const hb = h('td', { class: 'col-hb' });
    const up = h('td', { class: 'col-uptime' });
    const where = h('td', { class: 'col-where' });
    const pid = svc.pid ?? null;
    const host = svc.hostname ?? null;
    where.textContent = pid === null && host === null ? '—' : `${pid ?? '?'}@${host ?? '?'}`;
    const badges = h('td', { class: 'col-badges' });
    const rb = restartBadge(svc);
    if (rb) badges.append(rb);
    const crash = h('span', { class: 'badge crash', hidden: true });
    badges.append(crash);
    const cells = [symbolCell(svc.symbol, svc.status), idCell, msg, hb, up, where, badges];
    if (state.config && state.config.control) {
      const ctl = h('td', { class: 'col-control' });
      if (isControllable(svc)) ctl.append(controlButtons(svc.id, true));
      cells.push(ctl);
    }
    tr.replaceChildren(...cells);
    row.cells = { hb, up, crash };
    row.hb = parseTime(svc.last_heartbeat);
    row.started = svc.running ? parseTime(svc.started_at) : null;
    row.svc = svc;
    tickRow(row, serverNow());
  }

  function tickRow(row, now) {
    const { svc, cells } = row;
    const age = row.hb === null ? null : (now - row.hb) / 1000;
    setText(cells.hb, age === null ? '—' : formatDuration(age));
    const cls = `col-hb ${hbClass(age, svc)}`;
    if (cells.hb.className !== cls) cells.hb.className = cls;
    setText(cells.up, row.started === null ? '—' : formatDuration((now - row.started) / 1000));
    const c = recentCrash(svc, now);
    if (c) {
      setText(cells.crash, `crash ${crashText(c)}`);
      cells.crash.title = `Crashed at ${formatTime(c.time)}${c.will_restart ? ', will restart' : ''}`;
      cells.crash.hidden = false;
    } else if (!cells.crash.hidden) {
      cells.crash.hidden = true;
    }
  }

  /** The rows of a service's child monitors (recursive), below it. */
  function childRows(svc) {
    const out = [];
    const walk = (children, depth, path) => {
      for (const c of children || []) {
        const cid = `${path}/${c.name}`;
        const symbol = STATUS_SYMBOL[c.status] || 'problem';
        const metrics = c.details && c.details.metrics ? c.details.metrics : null;
        const metricText = metrics ? Object.entries(metrics).map(([k, v]) => `${k}=${fmtValue(v)}`).join('  ') : '';
        const tr = h('tr', {
          class: `child sym-${symbol}${svc.running ? '' : ' parent-stopped'}`, 'data-id': cid, 'data-kind': 'child', 'data-parent': svc.id,
          'data-status': c.status, 'data-symbol': symbol, 'data-depth': depth,
        },
        symbolCell(symbol, c.status),
        h('th', { scope: 'row', class: 'col-id' },
          h('span', { class: 'indent', style: `--depth:${depth}` }),
          h('span', { class: 'kind-tag child-tag', text: 'child' }),
          h('span', { class: 'id-text', text: c.name })),
        h('td', { class: 'col-message', text: c.message ?? '' }),
        h('td', { class: 'col-metrics', colspan: state.config && state.config.control ? 5 : 4, text: metricText }));
        out.push(tr);
        if (c.details && Array.isArray(c.details.children)) walk(c.details.children, depth + 1, cid);
      }
    };
    walk(svc.children, (svc.depth || 0) + 1, svc.id);
    return out;
  }

  function fmtValue(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
    if (typeof v === 'object') return JSON.stringify(v);
    if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) return formatTime(v);
    return String(v);
  }

  function makeRow(svc) {
    const row = { tr: document.createElement('tr'), childRows: [], childKey: '' };
    fillRow(row, svc);
    setChildren(row, svc);
    return row;
  }

  function setChildren(row, svc) {
    const key = JSON.stringify(svc.children || []);
    if (key === row.childKey) return;
    for (const c of row.childRows) c.remove();
    row.childKey = key;
    row.childRows = childRows(svc);
    if (row.tr.parentNode) row.tr.after(...row.childRows);
  }

  function applyFleet(doc) {
    if (!doc || doc.schema !== 'tcs.fleet/1') {
      showLive(`Unexpected document schema ${doc && doc.schema}`);
      return;
    }
    const renderStart = performance.now();
    setOffset(doc.taken_at);
    state.services = new Map();
    state.rows = new Map();
    state.order = [];
    const frag = document.createDocumentFragment();
    for (const svc of doc.services) {
      state.services.set(svc.id, svc);
      state.order.push(svc.id);
      const row = makeRow(svc);
      state.rows.set(svc.id, row);
      frag.append(row.tr, ...row.childRows);
    }
    el.body.replaceChildren(frag);
    // For benchmarks and tests (bench/web_bench.sh): ms from navigation start to the first whole
    // fleet in the DOM, and how long the newest full render took.
    const metrics = window.tcsMetrics || (window.tcsMetrics = { firstRender: null, lastRender: null, renders: 0 });
    if (metrics.firstRender === null) metrics.firstRender = Math.round(performance.now());
    metrics.lastRender = Math.round(performance.now() - renderStart);
    metrics.renders++;
    state.lastDoc = { taken_at: doc.taken_at, jetstream: doc.jetstream, notes: doc.notes || [], prefix: doc.prefix };
    applyFilter();
    updateSummary();
    if (state.selected) {
      if (state.services.has(state.selected)) refreshDetailsService();
      else closeDetails();
    }
  }

  function applyChanges(ch) {
    if (ch.taken_at) setOffset(ch.taken_at);
    const announcements = [];
    for (const id of ch.removed || []) {
      const row = state.rows.get(id);
      if (row) {
        row.tr.remove();
        for (const c of row.childRows) c.remove();
      }
      state.rows.delete(id);
      state.services.delete(id);
      state.order = state.order.filter((x) => x !== id);
      announcements.push(`${id} removed`);
    }
    const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.id : null;
    for (const svc of ch.services || []) {
      const old = state.services.get(svc.id);
      state.services.set(svc.id, svc);
      let row = state.rows.get(svc.id);
      if (row) {
        fillRow(row, svc);
        setChildren(row, svc);
      } else {
        row = makeRow(svc);
        state.rows.set(svc.id, row);
        if (!ch.order) {
          state.order.push(svc.id);
          el.body.append(row.tr, ...row.childRows);
        }
      }
      if (!old) announcements.push(`${svc.id} appeared: ${svc.status}`);
      else if (old.status !== svc.status) announcements.push(`${svc.id}: ${old.status} → ${svc.status}`);
    }
    if (Array.isArray(ch.order)) reorder(ch.order);
    if (focusedId && state.rows.has(focusedId) && document.activeElement === document.body) state.rows.get(focusedId).tr.focus();
    applyFilter();
    updateSummary(ch.summary);
    if (announcements.length) {
      const more = announcements.length > 3 ? `, and ${announcements.length - 3} more` : '';
      showLive(announcements.slice(0, 3).join('; ') + more);
    }
    if (state.selected && (ch.services || []).some((s) => s.id === state.selected)) refreshDetailsService();
    if (state.selected && (ch.removed || []).includes(state.selected)) closeDetails();
  }

  function reorder(order) {
    state.order = order.slice();
    // Move only what is out of place: walk the wanted order against the current DOM.
    let cursor = el.body.firstElementChild;
    for (const id of order) {
      const row = state.rows.get(id);
      if (!row) continue;
      const nodes = [row.tr, ...row.childRows];
      for (const n of nodes) {
        if (cursor === n) cursor = cursor.nextElementSibling;
        else el.body.insertBefore(n, cursor);
      }
    }
    // Whatever is left after the cursor belongs to no entry in the order.
    const wanted = new Set(order);
    while (cursor) {
      const next = cursor.nextElementSibling;
      const id = cursor.dataset.kind === 'child' ? cursor.dataset.parent : cursor.dataset.id;
      if (!wanted.has(id)) cursor.remove();
      cursor = next;
    }
  }

  function setOffset(takenAt) {
    const t = parseTime(takenAt);
    if (t !== null) state.offsetMs = t - Date.now();
  }

  function tick() {
    const now = serverNow();
    for (const row of state.rows.values()) {
      if (!row.tr.hidden) tickRow(row, now);
    }
    const svc = state.selected && state.services.get(state.selected);
    if (svc) {
      const hbField = el.detailsBody.querySelector('#details-service dd[data-field="heartbeat"]');
      const upField = el.detailsBody.querySelector('#details-service dd[data-field="uptime"]');
      const k = keyTimes(svc, now);
      if (hbField) setText(hbField, k.heartbeat ?? '—');
      if (upField) setText(upField, k.uptime ?? '—');
    }
  }

  /** The details panel's live heartbeat and uptime texts. */
  function keyTimes(svc, now) {
    const hb = parseTime(svc.last_heartbeat);
    const started = svc.running ? parseTime(svc.started_at) : null;
    return {
      heartbeat: hb === null ? svc.heartbeat : `${svc.heartbeat}, ${formatDuration((now - hb) / 1000)} ago`,
      uptime: started === null ? null : formatDuration((now - started) / 1000),
    };
  }

  function showLive(text) {
    setText(el.live, text);
  }

  // ---- filter -------------------------------------------------------------------------------

  function applyFilter() {
    const q = el.filter.value.trim().toLowerCase();
    const showStopped = el.showStopped.checked;
    const visible = new Set();
    for (const [id, svc] of state.services) {
      if (!showStopped && svc.symbol === 'stopped') continue;
      if (q && !id.toLowerCase().includes(q)) continue;
      visible.add(id);
    }
    // Keep the grouping readable: the host and parent of a shown entry stay shown.
    if (q) {
      for (const id of Array.from(visible)) {
        let p = state.services.get(id).parent;
        while (p && !visible.has(p) && state.services.has(p)) {
          visible.add(p);
          p = state.services.get(p).parent;
        }
      }
    }
    let shown = 0;
    for (const [id, row] of state.rows) {
      const hide = !visible.has(id);
      if (!hide) shown++;
      if (row.tr.hidden !== hide) {
        row.tr.hidden = hide;
        if (!hide) tickRow(row, serverNow());
      }
      for (const c of row.childRows) if (c.hidden !== hide) c.hidden = hide;
    }
    el.empty.hidden = shown > 0;
    setText(el.empty, state.services.size ? 'No entry matches the filter.' : 'No entries.');
  }

  // ---- summary ------------------------------------------------------------------------------

  function updateSummary() {
    const hosts = new Set();
    let launchers = 0;
    let services = 0;
    let running = 0;
    const perSymbol = Object.fromEntries(SYMBOL_ORDER.map((s) => [s, 0]));
    for (const svc of state.services.values()) {
      if (svc.kind === 'launcher') launchers++;
      if (svc.hostname) hosts.add(svc.hostname);
      if (svc.kind === 'service') {
        services++;
        if (svc.running) running++;
      }
      if (svc.symbol in perSymbol) perSymbol[svc.symbol]++;
    }
    const hostCount = Math.max(launchers, hosts.size);
    const parts = [
      h('span', { class: 'sum-hosts' }, h('strong', { text: String(hostCount) }), hostCount === 1 ? ' host' : ' hosts'),
      h('span', { class: 'sum-running' }, h('strong', { text: `${running}/${services}` }), ' services running'),
    ];
    for (const s of SYMBOL_ORDER) {
      parts.push(h('span', { class: `sum-symbol sym-${s}`, 'data-symbol': s, title: SYMBOLS[s].label },
        h('span', { class: 'glyph', 'aria-hidden': 'true', text: SYMBOLS[s].glyph }),
        ` ${perSymbol[s]} ${SYMBOLS[s].label}`));
    }
    el.summary.replaceChildren(...parts);
    el.summary.dataset.hosts = String(hostCount);
    el.summary.dataset.running = String(running);
    el.summary.dataset.services = String(services);
  }

  // ---- timeline -----------------------------------------------------------------------------

  function timelineKey(e) {
    return `${e.time}|${e.id}|${e.event}|${e.status}`;
  }

  function addTimelineEvent(e, newest) {
    const key = timelineKey(e);
    if (state.timelineKeys.has(key)) return;
    state.timelineKeys.add(key);
    const symbol = STATUS_SYMBOL[e.status] || 'problem';
    const li = h('li', {
      class: `timeline-event ev-${e.event} sym-${symbol}`, 'data-id': e.id, 'data-event': e.event,
      'data-time': e.time, 'data-key': key,
    },
    h('time', { datetime: e.time, title: formatTime(e.time), text: clockTime(e.time) }),
    h('span', { class: 'ev-name', text: e.event }),
    h('span', { class: 'ev-id', text: e.id }),
    h('span', { class: 'ev-msg', text: e.message || e.status || '' }));
    if (newest) {
      el.timeline.prepend(li);
    } else {
      // Keep newest first even when an older event arrives late.
      let before = el.timeline.firstElementChild;
      while (before && before.dataset.time > e.time) before = before.nextElementSibling;
      el.timeline.insertBefore(li, before);
    }
    const max = (state.config && state.config.timeline) || TIMELINE_DEFAULT;
    while (el.timeline.children.length > max) {
      const last = el.timeline.lastElementChild;
      state.timelineKeys.delete(last.dataset.key);
      last.remove();
    }
  }

  async function loadTimeline() {
    try {
      const data = await api('GET', '/api/timeline');
      for (const e of data.events || []) addTimelineEvent(e, false);
    } catch (e) {
      // The stream's timeline events still arrive; an older history is only nice to have.
      showLive(`Timeline unavailable: ${e.message}`);
    }
  }

  // ---- details panel ------------------------------------------------------------------------

  function openDetails(id) {
    if (!state.services.has(id)) return;
    const prev = state.selected && state.rows.get(state.selected);
    if (prev) prev.tr.removeAttribute('aria-current');
    state.selected = id;
    const row = state.rows.get(id);
    if (row) row.tr.setAttribute('aria-current', 'true');
    el.details.hidden = false;
    el.details.dataset.id = id;
    // Break long ids only after their dots.
    el.detailsTitle.replaceChildren(...id.split('.').flatMap((part, i) => (i ? ['.', document.createElement('wbr'), part] : [part])));
    const svc = state.services.get(id);
    const logsBox = h('pre', { id: 'logs', class: 'logs', tabindex: '0', 'aria-label': `Journal of ${id}` });
    el.detailsBody.replaceChildren(
      h('div', { id: 'details-controls' }),
      h('section', { class: 'panel-part' }, h('div', { id: 'details-service' })),
      h('section', { class: 'panel-part' },
        h('h3', { text: 'Health checks' }),
        h('button', { type: 'button', id: 'run-health', onclick: () => runHealth(id) }, 'Run health checks'),
        h('div', { id: 'health', 'aria-live': 'polite' })),
      svc.kind === 'service' ? h('section', { class: 'panel-part' },
        h('h3', { text: 'Journal' }),
        h('button', { type: 'button', id: 'refresh-logs', onclick: () => loadLogs(id) }, 'Refresh'),
        h('div', { id: 'logs-error', class: 'error', role: 'alert', hidden: true }),
        logsBox) : null,
      h('details', { class: 'panel-part', id: 'details-extra-box' },
        h('summary', { text: 'Status details' }),
        h('div', { id: 'details-extra', 'aria-busy': 'true', text: 'Loading…' })),
      h('details', { class: 'panel-part', id: 'details-all-box' },
        h('summary', { text: 'All fields' }),
        h('div', { id: 'details-all' })),
    );
    refreshDetailsService();
    const reduced = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    el.details.scrollIntoView({ block: 'nearest', behavior: reduced ? 'auto' : 'smooth' });
    loadDetails(id);
    if (svc.kind === 'service') loadLogs(id);
  }

  function closeDetails() {
    const row = state.selected && state.rows.get(state.selected);
    if (row) row.tr.removeAttribute('aria-current');
    state.selected = null;
    el.details.hidden = true;
    el.detailsBody.replaceChildren();
    if (row && !row.tr.hidden) row.tr.focus();
  }

  function fieldsList(obj, skip) {
    const dl = h('dl', { class: 'fields' });
    for (const [k, v] of Object.entries(obj)) {
      if (skip && skip.includes(k)) continue;
      let text;
      if (v === null || v === undefined) text = '—';
      else if (Array.isArray(v)) text = v.length ? v.map(fmtValue).join(', ') : '—';
      else if (typeof v === 'object') text = Object.entries(v).map(([a, b]) => `${a}: ${b === null ? '—' : fmtValue(b)}`).join(', ');
      else if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) text = formatTime(v);
      else text = String(v);
      dl.append(h('dt', { text: k }), h('dd', { 'data-field': k, text }));
    }
    return dl;
  }

  function childrenTree(children) {
    const ul = h('ul', { class: 'children-tree' });
    for (const c of children || []) {
      const symbol = STATUS_SYMBOL[c.status] || 'problem';
      const li = h('li', { class: `sym-${symbol}`, 'data-child': c.name },
        h('span', { class: 'glyph', 'aria-hidden': 'true', text: SYMBOLS[symbol].glyph }),
        h('strong', { text: ` ${c.name}` }), ` ${c.status}`, c.message ? ` — ${c.message}` : '');
      const metrics = c.details && c.details.metrics;
      if (metrics && Object.keys(metrics).length) li.append(fieldsList(metrics));
      if (c.details && c.details.children && c.details.children.length) li.append(childrenTree(c.details.children));
      ul.append(li);
    }
    return ul;
  }

  function refreshDetailsService() {
    const id = state.selected;
    const svc = state.services.get(id);
    const box = document.getElementById('details-service');
    if (!svc || !box) return;
    const times = keyTimes(svc, serverNow());
    const key = {
      status: `${(SYMBOLS[svc.symbol] || { glyph: '?' }).glyph} ${svc.status}`,
      message: svc.message,
      heartbeat: times.heartbeat,
      uptime: times.uptime,
      'pid@host': svc.pid === null && svc.hostname === null ? null : `${svc.pid ?? '?'}@${svc.hostname ?? '?'}`,
      parent: svc.parent,
      declared: svc.declared,
      restart_policy: svc.restart_policy,
    };
    if (svc.restart && svc.restart.state !== 'none') key.restart = svc.restart;
    if (svc.last_crash) key.last_crash = svc.last_crash;
    if (svc.last_failure) key.last_failure = svc.last_failure;
    if (svc.last_stop) key.last_stop = svc.last_stop;
    const parts = [fieldsList(key)];
    if (svc.children && svc.children.length) parts.push(h('h3', { text: 'Children' }), childrenTree(svc.children));
    box.replaceChildren(...parts);
    const all = document.getElementById('details-all');
    if (all) all.replaceChildren(fieldsList(svc, ['children']));
    const ctl = document.getElementById('details-controls');
    if (ctl) ctl.replaceChildren(...(isControllable(svc) ? [controlButtons(id, false)] : []));
  }

  function showPanelError(box, err) {
    box.replaceChildren(h('p', { class: 'error', role: 'alert', text: err.message }));
  }

  async function loadDetails(id) {
    const box = document.getElementById('details-extra');
    try {
      const data = await api('GET', `/api/services/${encodeURIComponent(id)}`);
      if (state.selected !== id || !box.isConnected) return;
      box.removeAttribute('aria-busy');
      const d = data.details;
      if (d === null || d === undefined) box.replaceChildren(h('p', { class: 'dim', text: 'No status message seen.' }));
      else box.replaceChildren(fieldsList(d, ['children']));
    } catch (e) {
      if (state.selected === id && box.isConnected) {
        box.removeAttribute('aria-busy');
        showPanelError(box, e);
      }
    }
  }

  async function runHealth(id) {
    const box = document.getElementById('health');
    const btn = document.getElementById('run-health');
    btn.disabled = true;
    box.replaceChildren(h('p', { class: 'dim', text: 'Running…' }));
    try {
      const data = await api('GET', `/api/services/${encodeURIComponent(id)}/health`);
      if (state.selected !== id || !box.isConnected) return;
      const symbol = STATUS_SYMBOL[data.status] || 'problem';
      const ul = h('ul', { class: 'checks' });
      for (const [name, c] of Object.entries(data.checks || {})) {
        const cs = STATUS_SYMBOL[c.status] || 'problem';
        ul.append(h('li', { class: `check sym-${cs}`, 'data-check': name, 'data-status': c.status },
          h('span', { class: 'glyph', 'aria-hidden': 'true', text: SYMBOLS[cs].glyph }),
          h('strong', { text: ` ${name}` }), ` ${c.status}`, c.message ? ` — ${c.message}` : ''));
      }
      if (!ul.children.length) ul.append(h('li', { class: 'dim', text: 'No health checks registered.' }));
      box.replaceChildren(h('p', { class: `sym-${symbol}`, 'data-status': data.status },
        h('span', { class: 'glyph', 'aria-hidden': 'true', text: SYMBOLS[symbol].glyph }), ` Overall: ${data.status}`), ul);
    } catch (e) {
      if (box.isConnected) showPanelError(box, e);
    } finally {
      btn.disabled = false;
    }
  }

  const PRIORITY = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

  async function loadLogs(id) {
    const box = document.getElementById('logs');
    const errBox = document.getElementById('logs-error');
    const btn = document.getElementById('refresh-logs');
    if (!box) return;
    btn.disabled = true;
    box.setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', `/api/services/${encodeURIComponent(id)}/logs?lines=50`);
      if (state.selected !== id || !box.isConnected) return;
      errBox.hidden = true;
      const lines = (data.entries || []).map((e) => {
        const p = typeof e.priority === 'number' ? e.priority : 6;
        return h('span', { class: `log-line prio-${PRIORITY[p] || p}`, 'data-priority': p },
          `${clockTime(e.timestamp)} ${e.identifier || ''}${e.pid ? `[${e.pid}]` : ''}: ${e.message}\n`);
      });
      if (!lines.length) lines.push(h('span', { class: 'log-line dim', text: '(no journal lines)\n' }));
      box.replaceChildren(...lines);
      box.dataset.unit = data.unit || '';
      box.scrollTop = box.scrollHeight;
    } catch (e) {
      if (!errBox.isConnected) return;
      errBox.textContent = `Journal: ${e.message}`;
      errBox.hidden = false;
    } finally {
      box.removeAttribute('aria-busy');
      btn.disabled = false;
    }
  }

  // ---- control ------------------------------------------------------------------------------

  function showControlResult(text, ok) {
    el.controlResult.hidden = false;
    el.controlResult.dataset.ok = String(ok);
    el.controlResult.className = `control-result ${ok ? 'ok' : 'error'}`;
    setText(el.controlResult, text);
  }

  function setControlUnlocked(csrf) {
    state.csrf = csrf;
    el.unlock.hidden = csrf !== null;
    el.controlState.hidden = csrf === null;
    for (const row of state.rows.values()) fillRow(row, row.svc);
    refreshDetailsService();
  }

  async function unlock(ev) {
    ev.preventDefault();
    try {
      const data = await api('POST', '/api/session', { password: el.password.value });
      el.password.value = '';
      setControlUnlocked(data.csrf);
      showControlResult('Control unlocked.', true);
    } catch (e) {
      showControlResult(`Unlock failed: ${e.message}`, false);
    }
  }

  async function control(id, action, button) {
    button.disabled = true;
    showControlResult(`${action} ${id}…`, true);
    try {
      const data = await api('POST', `/api/services/${encodeURIComponent(id)}/${action}`, undefined,
        { 'X-CSRF-Token': state.csrf });
      const extra = data && data.pid ? ` (pid ${data.pid})` : '';
      showControlResult(`${action} ${id}: ${(data && data.result) || 'done'}${extra}`, true);
    } catch (e) {
      showControlResult(`${action} ${id} failed: ${e.message}`, false);
      if (e.status === 401) setControlUnlocked(null);
    } finally {
      button.disabled = false;
    }
  }

  // ---- wiring -------------------------------------------------------------------------------

  function rowFromEvent(ev) {
    const tr = ev.target.closest('tr');
    if (!tr || !tr.dataset.id) return null;
    return tr.dataset.kind === 'child' ? tr.dataset.parent : tr.dataset.id;
  }

  function wire() {
    el.body.addEventListener('click', (ev) => {
      const btn = ev.target.closest('button.control');
      if (btn) {
        control(btn.dataset.id, btn.dataset.action, btn);
        return;
      }
      const id = rowFromEvent(ev);
      if (id) openDetails(id);
    });
    el.body.addEventListener('keydown', (ev) => {
      if ((ev.key === 'ArrowDown' || ev.key === 'ArrowUp') && ev.target.matches('tr.entry')) {
        let next = ev.target;
        do next = ev.key === 'ArrowDown' ? next.nextElementSibling : next.previousElementSibling;
        while (next && (next.hidden || !next.matches('tr.entry')));
        if (next) {
          ev.preventDefault();
          next.focus();
        }
        return;
      }
      if (ev.key !== 'Enter' || ev.target.closest('button')) return;
      const id = rowFromEvent(ev);
      if (id) {
        ev.preventDefault();
        openDetails(id);
      }
    });
    el.detailsBody.addEventListener('click', (ev) => {
      const btn = ev.target.closest('button.control');
      if (btn) control(btn.dataset.id, btn.dataset.action, btn);
    });
    el.detailsClose.addEventListener('click', closeDetails);
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && state.selected) closeDetails();
    });
    el.filter.addEventListener('input', applyFilter);
    el.showStopped.addEventListener('change', applyFilter);
    el.unlock.addEventListener('submit', unlock);
    el.lock.addEventListener('click', () => {
      setControlUnlocked(null);
      showControlResult('Control locked.', true);
    });
    setInterval(() => {
      tick();
      // The stream can die without an error event reaching us (a suspended laptop).
      if (state.es && state.es.readyState !== EventSource.OPEN && state.connected) {
        state.connected = false;
        updateBanner();
      }
    }, 1000);
  }

  async function start() {
    wire();
    updateBanner();
    for (;;) {
      try {
        state.config = await api('GET', '/api/config');
        break;
      } catch (e) {
        state.connected = false;
        setText(el.banner, `Cannot load /api/config (${e.message}) — retrying…`);
        el.banner.hidden = false;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    document.body.dataset.control = String(!!state.config.control);
    if (state.config.control) {
      el.table.tHead.rows[0].append(h('th', { scope: 'col', class: 'col-control', text: 'Control' }));
      el.unlock.hidden = false;
    }
    connect();
    updateBanner();
  }

  start();
})();
