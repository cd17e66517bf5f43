/* musync review: the director's desk. Plain JavaScript, no build step.
 * Live mode talks to the JSON API of `musync review` (every call carries the run's token);
 * report mode (window.MUSYNC_REPORT, written by `musync report`) shows the same picture read-only. */
"use strict";
(function () {
  const R = window.MUSYNC_REPORT || null;
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  const $ = (sel, el) => (el || document).querySelector(sel);
  const S = {
    plan: null, song: null, clips: [], byPath: {}, state: {}, variants: [], sel: 0, pxps: 24,
    diff: null, against: "saved", alts: null, altsFor: -1, tab: "diag", source: "song", fitted: false,
    previous: null,
  };

  // ---------------------------------------------------------------- data -----------------------
  async function api(method, path, body) {
    const opts = { method, headers: { "X-Musync-Token": TOKEN } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch("api/" + path, opts);
    const ct = r.headers.get("content-type") || "";
    const data = ct.indexOf("json") >= 0 ? await r.json() : null;
    if (!r.ok) throw new Error((data && data.error) || (r.status + " " + r.statusText));
    return data;
  }
  const fps = () => { const [n, d] = String(S.plan.fps).split("/").map(Number); return n / (d || 1); };
  const sec = (frame) => frame / fps();
  function fmtTime(s) {
    if (s == null || !isFinite(s)) return "-";
    const m = Math.floor(s / 60), r = s - 60 * m;
    return m + ":" + (r < 10 ? "0" : "") + r.toFixed(2);
  }
  function fmtVal(v) {
    if (v === true) return "yes";
    if (v === false) return "no";
    if (v == null) return "-";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));
    return String(v);
  }
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const human = (k) => (LABELS[k] || k.replace(/_/g, " "));
  const LABELS = {
    shots: "shots", cuts_on_beat: "cuts on a beat", cuts_on_downbeat: "cuts on a downbeat",
    section_boundaries_cut: "section starts cut", pace_energy_correlation: "pace vs energy (rank corr.)",
    climax_fastest: "climax section fastest", mean_brightness_jump: "mean brightness jump", clips_used: "clips used",
    repeats: "repeats", adjacent_repeats: "adjacent repeats", peaks_on_accent: "motion peaks on accents",
    mean_shot: "mean shot (s)", min_shot: "shortest shot (s)", max_shot: "longest shot (s)",
  };
  function clipOf(path) { return S.byPath[path] || null; }
  function thumbSrc(path, frame, big) {
    const c = clipOf(path);
    if (!c || c.missing) return "";
    frame = Math.max(0, Math.floor(frame));   // the same frame the report and the server pick
    if (R) return (R.thumbs || {})[c.id + ":" + frame] || "";
    return "api/thumb?clip=" + c.id + "&frame=" + frame + (big ? "&h=360" : "") + "&token=" + encodeURIComponent(TOKEN);
  }
  const shotThumb = (s, big) => thumbSrc(s.source, (s.source_in + s.source_out - 1) / 2, big);
  const baseName = (p) => String(p).split(/[\\/]/).pop();

  async function loadAll() {
    if (R) {
      S.plan = R.plan; S.song = R.song; S.state = R.state || {}; S.variants = R.variants || [];
      setClips(R.clips || []);
      const keys = Object.keys(R.diffs || {});
      if (!(S.against in (R.diffs || {})) && keys.length) S.against = keys[0];
      await refreshDiff();
      return;
    }
    const [plan, song, clips, state, variants] = await Promise.all([
      api("GET", "plan"), api("GET", "song"), api("GET", "clips"), api("GET", "state"), api("GET", "variants")]);
    S.plan = plan; S.song = song; S.state = state; S.variants = variants;
    setClips(clips);
    await refreshDiff();
  }
  function setClips(list) {
    S.clips = list; S.byPath = {};
    for (const c of list) S.byPath[c.path] = c;
  }
  async function refreshState() {
    if (R) return;
    S.state = await api("GET", "state");
    if (S.plan.shots.some((s) => !S.byPath[s.source])) setClips(await api("GET", "clips"));
  }
  async function refreshDiff() {
    if (R) { S.diff = (R.diffs || {})[S.against] || null; return; }
    try { S.diff = await api("GET", "diff?against=" + encodeURIComponent(S.against)); } catch (e) { S.diff = null; }
  }

  // ---------------------------------------------------------------- edits ----------------------
  async function change(method, path, body, what) {
    const before = S.plan;
    document.body.dataset.busy = "1";
    try {
      const sel = S.plan.shots[S.sel];
      S.plan = await api(method, path, body);
      S.previous = before;
      await refreshState();
      await refreshDiff();
      keepSelection(sel);
      S.alts = null; S.altsFor = -1;
      renderAll();
      if (what) toast(what(before, S.plan));
    } catch (e) {
      toast(e.message, true);
    } finally {
      delete document.body.dataset.busy;
    }
  }
  function keepSelection(old) {
    const shots = S.plan.shots;
    if (!old) { S.sel = Math.min(S.sel, shots.length - 1); return; }
    const t = old.record_in;
    let i = shots.findIndex((s) => s.record_in <= t && t < s.record_out);
    S.sel = i < 0 ? Math.min(S.sel, shots.length - 1) : i;
  }
  function changedCount(a, b) {
    const key = (s) => [s.record_in, s.record_out, s.source, s.source_in].join("|");
    const old = new Set(a.shots.map(key));
    return b.shots.filter((s) => !old.has(key(s))).length;
  }
  const lock = (shots, locked) => change("POST", "lock", { shots, locked });
  const replan = () => change("POST", "replan", {}, (a, b) => {
    const n = b.shots.filter((s) => s.locked).length;
    return "re-planned around " + n + " locked shot" + (n === 1 ? "" : "s") + ": " + changedCount(a, b) + " of " + b.shots.length + " shots changed";
  });
  const undo = () => change("POST", "undo", {}, () => "undone");
  const redo = () => change("POST", "redo", {}, () => "redone");
  const nudge = (shot, beats) => change("POST", "nudge", { shot, beats });
  const swap = (shot, clip) => change("POST", "swap", { shot, clip }, (a, b) => "shot " + shot + ": " + baseName(b.shots[shot].source) + " (locked)");
  const inpoint = (shot, source_in) => change("POST", "inpoint", { shot, source_in });
  async function save() {
    try {
      const r = await api("POST", "save", {});
      await refreshState(); await refreshDiff(); renderAll();
      toast("saved " + r.path + (r.previous ? " (previous version kept as " + r.previous + ")" : ""));
    } catch (e) { toast(e.message, true); }
  }
  async function makeVariants(n) {
    toast("making " + n + " variants around the locks...");
    try {
      S.variants = await api("POST", "variants", { n });
      await refreshState(); renderPanel(); toast(n + " variants ready");
    } catch (e) { toast(e.message, true); }
  }
  async function render(kind) {
    try {
      S.state = await api("POST", "render", { kind });
      S.wantSource = kind;
      renderTransport(); pollMedia();
      toast(kind + " of the current plan: rendering...");
    } catch (e) { toast(e.message, true); }
  }
  let polling = null;
  function pollMedia() {
    if (polling) return;
    polling = setInterval(async () => {
      try { S.state = await api("GET", "state"); } catch (e) { return; }
      const media = S.state.media || {};
      const busy = Object.values(media).some((m) => m.status === "running");
      renderTransport();
      if (!busy) {
        clearInterval(polling); polling = null;
        for (const [k, m] of Object.entries(media)) {
          if (m.status === "failed") toast(k + " failed: " + m.error, true);
        }
        if (S.wantSource && media[S.wantSource] && media[S.wantSource].status === "done") {
          setSource(S.wantSource, true); toast(S.wantSource + " ready: click a shot to play from it");
        }
        S.wantSource = null;
      }
    }, 700);
  }

  // ---------------------------------------------------------------- timeline -------------------
  function axisWidth() { return Math.max(200, Math.min(30000, Math.round(S.song.duration * S.pxps))); }
  const X = (t) => t * axisWidth() / S.song.duration;
  function fitZoom() {
    const w = $("#scroller").clientWidth - 30;
    S.pxps = Math.max(1, w / S.song.duration);
    $("#zoom").value = Math.min(120, Math.max(2, Math.round(S.pxps)));
  }
  function defaultZoom() {
    const n = S.plan.shots.length, w = $("#scroller").clientWidth - 30;
    const fitp = w / S.song.duration;
    const mean = S.song.duration / n;
    S.pxps = Math.max(fitp, Math.min(120, 46 / mean));
    $("#zoom").value = Math.round(Math.min(120, Math.max(2, S.pxps)));
  }
  function renderRuler() {
    const W = axisWidth(), dur = S.song.duration;
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300];
    const step = steps.find((s) => X(s) >= 60) || 600;
    let html = "";
    for (let t = 0; t <= dur; t += step) html += '<span style="left:' + X(t).toFixed(1) + 'px">' + fmtTime(t).replace(/\.\d\d$/, "") + "</span>";
    $("#ruler").innerHTML = html;
    $("#axis").style.width = W + "px";
  }
  function renderSections() {
    const colours = { intro: "--intro", verse: "--verse", chorus: "--chorus", bridge: "--bridge", outro: "--outro" };
    $("#sections").innerHTML = (S.song.sections || []).map((s) => {
      const v = colours[s.kind] || "--other";
      const e = s.energy != null ? " · energy " + s.energy.toFixed(2) : "";
      return '<div style="left:' + X(s.start).toFixed(1) + "px;width:" + Math.max(1, X(s.end) - X(s.start)).toFixed(1) +
        "px;background:var(" + v + ')" title="' + esc(s.label + " " + s.kind + " " + fmtTime(s.start) + "–" + fmtTime(s.end) + e) + '">' +
        esc(s.label) + " " + esc(s.kind) + "</div>";
    }).join("");
  }
  function renderWave() {
    const c = $("#wave"), W = axisWidth(), H = c.height;
    c.width = W;
    const g = c.getContext("2d");
    g.clearRect(0, 0, W, H);
    const peaks = S.song.waveform || [];
    const mid = H / 2;
    if (peaks.length) {
      g.fillStyle = "#5d6678";
      const n = peaks.length;
      for (let x = 0; x < W; x++) {
        const i0 = Math.floor(x * n / W), i1 = Math.max(i0 + 1, Math.floor((x + 1) * n / W));
        let p = 0;
        for (let i = i0; i < i1 && i < n; i++) p = Math.max(p, peaks[i]);
        const h = Math.max(0.5, p * (mid - 4));
        g.fillRect(x, mid - h, 1, 2 * h);
      }
    }
    const beats = S.song.beats || [], downs = new Set((S.song.downbeats || []).map((t) => t.toFixed(3)));
    const spacing = beats.length > 1 ? X(beats[1] - beats[0]) : 10;
    for (const t of beats) {
      const isBar = downs.has(t.toFixed(3));
      if (!isBar && spacing < 3) continue;
      g.fillStyle = isBar ? "rgba(150,190,255,.85)" : "rgba(120,170,255,.35)";
      g.fillRect(Math.round(X(t)), isBar ? 0 : H - 14, 1, isBar ? 10 : 14);
      if (isBar) g.fillRect(Math.round(X(t)), H - 14, 1, 14);
    }
    const et = S.song.energy.times || [], ev = S.song.energy.values || [];
    if (et.length) {
      g.strokeStyle = "#f2a93b"; g.lineWidth = 2; g.beginPath();
      et.forEach((t, i) => { const y = H - 4 - ev[i] * (H - 8); if (i) g.lineTo(X(t), y); else g.moveTo(X(t), y); });
      g.stroke();
    }
    if (S.song.climax != null) {
      const x = Math.round(X(S.song.climax));
      g.strokeStyle = "#ff5468"; g.lineWidth = 2; g.setLineDash([5, 3]);
      g.beginPath(); g.moveTo(x, 0); g.lineTo(x, H); g.stroke(); g.setLineDash([]);
      g.fillStyle = "#ff5468"; g.font = "bold 11px system-ui, sans-serif";
      g.fillText("climax " + fmtTime(S.song.climax), Math.min(x + 4, W - 90), 22);
    }
  }
  function flagsOf(path, shot) {
    // content flags of the clip (any record field named like "flags"); a flag with a time range
    // counts for a shot only where it overlaps the part of the clip the shot shows
    const c = clipOf(path);
    const rec = (c && c.record) || {};
    const out = [];
    const a = shot ? sec(shot.source_in) : -Infinity, b = shot ? sec(shot.source_out) : Infinity;
    for (const [k, v] of Object.entries(rec)) {
      if (!/flag/i.test(k) || v == null || v === false) continue;
      for (const f of Array.isArray(v) ? v : [v]) {
        if (f && typeof f === "object" && !Array.isArray(f)) {
          if (!Object.keys(f).length) continue;
          const end = f.end == null ? Infinity : f.end;
          if (f.start != null && !(f.start < b && a < end)) continue;
          out.push((f.kind || k) + (f.start != null ? " " + f.start.toFixed(1) + "–" + (isFinite(end) ? end.toFixed(1) : "end") + " s" : "") + (f.reason ? ": " + f.reason : ""));
        } else out.push(k + ": " + fmtVal(f));
      }
    }
    return out;
  }
  function diffKinds() {
    const m = {};
    if (!S.diff) return m;
    for (const c of S.diff.changes || []) if (c.b != null && c.kind !== "locked" && c.kind !== "unlocked") m[c.b] = c.kind;
    return m;
  }
  function renderStrip() {
    const kinds = diffKinds();
    const html = S.plan.shots.map((s, i) => {
      const l = X(sec(s.record_in)), w = Math.max(1, X(sec(s.record_out)) - l);
      const flags = flagsOf(s.source, s);
      const cls = ["shot"];
      if (s.locked) cls.push("locked");
      if (i === S.sel) cls.push("sel");
      if (flags.length) cls.push("flag");
      if (kinds[i]) cls.push("d-" + kinds[i]);
      const src = w >= 6 ? shotThumb(s) : "";
      const tip = "shot " + i + " · " + fmtTime(sec(s.record_in)) + " · " + (sec(s.record_out) - sec(s.record_in)).toFixed(2) + " s · " +
        baseName(s.source) + (s.locked ? " · locked" : "") + (kinds[i] ? " · " + kinds[i] : "") + "\n" + s.reason + (flags.length ? "\n" + flags.join("\n") : "");
      return '<div class="' + cls.join(" ") + '" role="listitem" data-shot="' + i + '" style="left:' + l.toFixed(1) + "px;width:" + w.toFixed(1) +
        'px" title="' + esc(tip) + '">' + (src ? '<img loading="lazy" alt="" src="' + esc(src) + '">' : "") +
        (w >= 18 ? '<span class="n">' + i + "</span>" : "") + (s.locked && w >= 14 ? '<span class="lk">L</span>' : "") + "</div>";
    }).join("");
    $("#strip").innerHTML = html;
  }
  function renderTimeline() {
    renderRuler(); renderSections(); renderWave(); renderStrip(); movePlayhead(currentTime());
  }
  function scrollToShot(i) {
    const s = S.plan.shots[i]; if (!s) return;
    const sc = $("#scroller"), l = X(sec(s.record_in)), r = X(sec(s.record_out));
    if (l < sc.scrollLeft || r > sc.scrollLeft + sc.clientWidth - 30) sc.scrollLeft = Math.max(0, l - sc.clientWidth / 3);
  }

  // ---------------------------------------------------------------- inspector ------------------
  function beatsIn(s) {
    const a = sec(s.record_in) - 1e-6, b = sec(s.record_out) - 1e-6;
    return (S.song.beats || []).filter((t) => t >= a && t < b).length;
  }
  function sectionOf(t) { return (S.song.sections || []).find((x) => x.start <= t && t < x.end) || null; }
  function recordFacts(rec) {
    const skip = new Set(["path", "motion_curve", "peaks", "cuts", "subshots", "regions", "params", "warnings", "palette", "coded_size",
      "roi", "prints", "fingerprint", "picture"]);
    const rows = [];
    for (const [k, v] of Object.entries(rec || {})) {
      if (skip.has(k)) continue;
      if (v && typeof v === "object" && (!Array.isArray(v) || (v.length && typeof v[0] === "object"))) {
        rows.push("<dt>" + esc(human(k)) + "</dt><dd>" + renderGeneric(k, v) + "</dd>");
        continue;
      }
      let t;
      if (v && typeof v === "object") { t = Array.isArray(v) ? (v.length && typeof v[0] !== "object" ? v.join(" × ") : v.length + " item(s): " + JSON.stringify(v).slice(0, 120)) : JSON.stringify(v).slice(0, 160); }
      else t = fmtVal(v);
      rows.push("<dt>" + esc(human(k)) + "</dt><dd>" + esc(t) + "</dd>");
    }
    for (const k of ["subshots", "regions", "warnings"]) {
      const v = (rec || {})[k];
      if (Array.isArray(v) && v.length) rows.push("<dt>" + esc(k) + "</dt><dd>" + esc(v.length + ": " + v.map((x) => typeof x === "object" ? (x.kind || "") + " " + (x.start != null ? x.start.toFixed(2) + "–" + x.end.toFixed(2) + " s" : "") : x).join(", ")) + "</dd>");
    }
    return rows.join("");
  }
  const SHOT_KEYS = new Set(["index", "source", "source_in", "source_out", "record_in", "record_out", "locked", "reason",
    "section", "energy", "scores"]);
  function extraFields(s) {
    // whatever else the planner records on a shot (crop, hero, notes...): shown as it comes
    const rows = Object.entries(s).filter(([k, v]) => !SHOT_KEYS.has(k) && v != null && !(Array.isArray(v) && !v.length))
      .map(([k, v]) => "<dt>" + esc(human(k)) + "</dt><dd>" + (v && typeof v === "object" ? renderGeneric(k, v) : esc(fmtVal(v))) + "</dd>");
    return rows.length ? '<dl class="facts">' + rows.join("") + "</dl>" : "";
  }
  function renderInspector() {
    const el = $("#inspector");
    const s = S.plan.shots[S.sel];
    if (!s) { el.innerHTML = "<p class=muted>no shot</p>"; return; }
    const t0 = sec(s.record_in), t1 = sec(s.record_out);
    const secn = sectionOf(t0);
    const c = clipOf(s.source);
    const n = S.plan.shots.length;
    const flags = flagsOf(s.source, s);
    const scores = Object.entries(s.scores || {}).map(([k, v]) =>
      "<span>" + esc(human(k)) + '</span><span class="bar"><i style="width:' + Math.round(100 * Math.max(0, Math.min(1, v))) + '%"></i></span><span class=mono>' + fmtVal(v) + "</span>").join("");
    const ro = !!R;
    el.innerHTML =
      "<h2>Shot " + s.index + ' <span class="muted">of ' + n + "</span>" +
      (ro ? (s.locked ? ' <span class="tag good">locked</span>' : "") :
        '<button class="lockbtn' + (s.locked ? " is-locked" : "") + '" id="lockbtn" data-lock="' + (s.locked ? 0 : 1) + '" title="Lock (L): a re-plan keeps this shot exactly">' + (s.locked ? "&#128274; Locked" : "Lock") + "</button>") +
      "</h2>" +
      '<dl class="facts">' +
      "<dt>time</dt><dd class=mono>" + fmtTime(t0) + " – " + fmtTime(t1) + "  (" + (t1 - t0).toFixed(2) + " s, " + beatsIn(s) + " beat" + (beatsIn(s) === 1 ? "" : "s") + ")</dd>" +
      "<dt>section</dt><dd>" + esc(secn ? secn.label + " " + secn.kind : s.section) + " · energy " + fmtVal(s.energy) + "</dd>" +
      '<dt>clip</dt><dd title="' + esc(s.source) + '"><b>' + esc(baseName(s.source)) + "</b> frames " + s.source_in + "–" + s.source_out +
      " (from " + sec(s.source_in).toFixed(2) + " s)" + (flags.length ? ' <span class="tag warn">' + esc(flags.join("; ")) + "</span>" : "") + "</dd>" +
      "</dl>" +
      '<div class="reason">' + esc(s.reason || "no reason recorded") + "</div>" +
      extraFields(s) +
      (scores ? '<div class="scores">' + scores + "</div>" : "") +
      (ro ? "" :
        '<div class="row"><span class="muted">cut at start</span><button id="n-s-" ' + (s.index === 0 ? "disabled" : "") + ' title="Move this shot\'s first cut one beat earlier ([)">&#8592; beat</button>' +
        "<button id=n-s+ " + (s.index === 0 ? "disabled" : "") + ' title="one beat later (])">beat &#8594;</button>' +
        '<span class="muted" style="margin-left:12px">cut at end</span><button id="n-e-" ' + (s.index === n - 1 ? "disabled" : "") + '>&#8592; beat</button>' +
        "<button id=n-e+ " + (s.index === n - 1 ? "disabled" : "") + ">beat &#8594;</button></div>" +
        '<div class="row"><span class="muted">in-point</span><input id="inpoint" type="range" min="' + s.source_in + '" max="' + s.source_in + '" value="' + s.source_in + '" style="flex:1" disabled>' +
        '<span id="inpoint-v" class="mono">' + s.source_in + "</span></div>") +
      (ro ? "" : '<div class="row"><b>Swap for</b><span class="muted">the clips that could fill this slot, best first</span>' +
        '<select id="anyclip" style="margin-left:auto"><option value="">any clip…</option>' +
        S.clips.filter((x) => !x.missing).map((x) => '<option value="' + x.id + '">' + esc(x.name) + "</option>").join("") + "</select></div>" +
        '<div class="alts" id="alts"><span class="muted">…</span></div>') +
      '<details' + (ro ? " open" : "") + '><summary>Clip record</summary><dl class="facts">' + recordFacts(c && c.record) + "</dl></details>" +
      '<div class="help">' + (ro ? "Read-only report. " : "<kbd>Space</kbd> play · <kbd>L</kbd> lock · <kbd>R</kbd> re-plan · <kbd>[</kbd>/<kbd>]</kbd> move the cut · <kbd>Ctrl+Z</kbd> undo · <kbd>Ctrl+S</kbd> save · ") + "<kbd>&#8592;</kbd>/<kbd>&#8594;</kbd> shots</div>";
    if (!ro) loadAlternatives(S.sel);
  }
  async function loadAlternatives(i) {
    if (S.altsFor !== i || !S.alts) {
      try { S.alts = await api("GET", "alternatives?shot=" + i); S.altsFor = i; } catch (e) { S.alts = []; }
    }
    if (i !== S.sel) return;
    const s = S.plan.shots[i];
    const box = $("#alts");
    if (!box) return;
    box.innerHTML = S.alts.slice(0, 18).map((a) => {
      const tags = [];
      if (a.current) tags.push('<span class="tag good">current</span>');
      if (!a.fits) tags.push('<span class="tag warn">too short</span>');
      if (a.adjacent_repeat) tags.push('<span class="tag warn">repeats a neighbour</span>');
      for (const f of a.flags || []) tags.push('<span class="tag warn">' + esc(f.replace(/_/g, " ")) + "</span>");
      if (a.uses) tags.push('<span class="tag">used ' + a.uses + "×</span>");
      const img = a.fits && a.source_in != null ? thumbSrc(a.path, a.source_in + (s.record_out - s.record_in - 1) / 2) : "";
      const tip = a.path + "\nscore " + a.score.toFixed(2) + " = " + Object.entries(a.scores).map(([k, v]) => k + " " + v.toFixed(2)).join(", ");
      return '<div class="alt' + (a.current ? " current" : "") + (a.fits ? "" : " nofit") + '" data-clip="' + (a.id == null ? "" : a.id) + '" data-fits="' + (a.fits ? 1 : 0) + '" title="' + esc(tip) + '">' +
        (img ? '<img loading="lazy" alt="" src="' + esc(img) + '">' : '<img alt="">') +
        '<div class="nm">' + esc(a.name) + '</div><div><span class="mono">' + Math.round(100 * a.score) + "</span> " + tags.join("") + "</div></div>";
    }).join("") || '<span class="muted">no other clip fits</span>';
    const cur = S.alts.find((a) => a.current);
    const inp = $("#inpoint");
    if (cur && inp && cur.usable) {
      const L = s.source_out - s.source_in;
      const lo = cur.usable[0], hi = cur.usable[1] == null ? s.source_in + 10 * L : cur.usable[1] - L;
      inp.min = lo; inp.max = Math.max(lo, hi); inp.value = s.source_in; inp.disabled = hi <= lo;
    }
  }

  // ---------------------------------------------------------------- playback -------------------
  const audio = () => $("#audio"), video = () => $("#video");
  function player() { return S.source === "song" ? audio() : video(); }
  function currentTime() { const p = player(); return p && !isNaN(p.currentTime) ? p.currentTime : (S.plan ? sec(S.plan.shots[S.sel].record_in) : 0); }
  function setSource(kind, keepTime) {
    const t = currentTime();
    audio().pause(); video().pause();
    S.source = kind;
    $("#screen").classList.toggle("video", kind !== "song");
    if (kind !== "song") {
      video().src = "api/media/" + kind + "?token=" + encodeURIComponent(TOKEN) + "&v=" + Date.now();
      if (keepTime) video().currentTime = t;
    }
    renderTransport();
  }
  function renderTransport() {
    const sel = $("#source"), media = (S.state && S.state.media) || {};
    const opts = ['<option value="song">song + stills</option>'];
    for (const k of ["preview", "draft"]) {
      const m = media[k];
      if (m && m.status === "done") opts.push('<option value="' + k + '">' + k + (m.stale ? " (of an earlier plan)" : "") + "</option>");
    }
    sel.innerHTML = opts.join("");
    sel.value = [...sel.options].some((o) => o.value === S.source) ? S.source : "song";
    for (const k of ["preview", "draft"]) {
      const b = $("#make-" + k);
      if (!b) continue;
      const m = media[k];
      b.disabled = !!(m && m.status === "running") || !S.state.can_replan && k === "draft" && !S.song.audio;
      b.textContent = m && m.status === "running" ? (k === "draft" ? "Rendering draft…" : "Making preview…") : (k === "draft" ? "Render draft" : "Make preview");
    }
    $("#play").disabled = !!R || (S.source === "song" && !S.song.audio);
  }
  function playFrom(t) {
    const p = player();
    if (R || (S.source === "song" && !S.song.audio)) return;
    try { p.currentTime = t; } catch (e) { /* not seekable yet */ }
    const pr = p.play();
    if (pr && pr.catch) pr.catch(() => {});
    tick();
  }
  function togglePlay() {
    const p = player();
    if (!p.paused) { p.pause(); return; }
    playFrom(sec(S.plan.shots[S.sel].record_in));
  }
  let raf = 0;
  function tick() {
    cancelAnimationFrame(raf);
    const step = () => {
      const t = currentTime();
      movePlayhead(t);
      if (!player().paused) raf = requestAnimationFrame(step);
    };
    raf = requestAnimationFrame(step);
  }
  let lastPlaying = -1;
  function movePlayhead(t) {
    if (!S.plan) return;
    $("#playhead").style.left = X(t).toFixed(1) + "px";
    $("#clock").textContent = fmtTime(t);
    const f = t * fps();
    const i = S.plan.shots.findIndex((s) => s.record_in <= f && f < s.record_out);
    if (i !== lastPlaying) {
      const old = $('.shot[data-shot="' + lastPlaying + '"]');
      if (old) old.classList.remove("playing");
      const el = $('.shot[data-shot="' + i + '"]');
      if (el) el.classList.add("playing");
      lastPlaying = i;
      if (i >= 0) { const src = shotThumb(S.plan.shots[i], true); if (src && $("#still").getAttribute("src") !== src) $("#still").src = src; }
    }
  }

  // ---------------------------------------------------------------- panels ---------------------
  function scalarRows(obj) {
    return Object.entries(obj || {}).filter(([, v]) => v == null || typeof v !== "object");
  }
  function chips(list) {
    return list.map((i) => '<span class="chip" data-goto="' + i + '">' + i + "</span>").join("");
  }
  function renderGeneric(key, v, depth) {
    depth = depth || 0;
    if (Array.isArray(v)) {
      if (!v.length) return '<span class="muted">none</span>';
      if (v.every((x) => typeof x === "number") && /shot/i.test(key)) return chips(v);
      if (v.every((x) => x == null || typeof x !== "object")) return esc(v.map(fmtVal).join(", "));
      if (v.every((x) => x && typeof x === "object" && !Array.isArray(x))) {
        const cols = [];
        for (const x of v) for (const k of Object.keys(x)) if (cols.indexOf(k) < 0) cols.push(k);
        return "<table><tr>" + cols.map((k) => "<th>" + esc(human(k)) + "</th>").join("") + "</tr>" +
          v.map((x) => "<tr>" + cols.map((k) => {
            const c = x[k];
            if (c && typeof c === "object") return "<td>" + renderGeneric(k, c, depth + 1) + "</td>";
            return '<td class="' + (typeof c === "number" ? "num" : "") + '">' + esc(fmtVal(c)) + "</td>";
          }).join("") + "</tr>").join("") + "</table>";
      }
      return esc(JSON.stringify(v));
    }
    if (v && typeof v === "object") {
      if (typeof v.reason === "string" && (Array.isArray(v.shots) || v.value !== undefined)) {
        const rest = Object.entries(v).filter(([k]) => k !== "reason" && k !== "shots");
        return "<div>" + esc(v.reason) + "</div>" + (rest.length ? '<div class="muted">' + rest.map(([k, x]) => esc(human(k)) + " " + (x && typeof x === "object" ? esc(JSON.stringify(x)) : esc(fmtVal(x)))).join(" · ") + "</div>" : "") +
          (Array.isArray(v.shots) && v.shots.length ? "<div>" + chips(v.shots) + "</div>" : "");
      }
      return "<table>" + Object.entries(v).map(([k, x]) => "<tr><th>" + esc(human(k)) + "</th><td>" +
        (x && typeof x === "object" ? renderGeneric(k, x, depth + 1) : esc(fmtVal(x))) + "</td></tr>").join("") + "</table>";
    }
    return esc(fmtVal(v));
  }
  function renderDiag() {
    const m = S.plan.metrics || {};
    const stale = S.state.metrics_stale ? '<p class="tag warn">These metrics describe the plan before your hand edits: re-plan to bring them up to date.</p>' : "";
    const top = scalarRows(m).map(([k, v]) => "<tr><th>" + esc(human(k)) + '</th><td class="num">' + esc(fmtVal(v)) + "</td></tr>").join("");
    const nested = Object.entries(m).filter(([, v]) => v && typeof v === "object");
    const st = S.plan.settings || {};
    const settings = scalarRows(st).map(([k, v]) => "<tr><th>" + esc(human(k)) + "</th><td>" + esc(fmtVal(v)) + "</td></tr>").join("");
    return stale + '<div class="diag"><div class="card"><h3>Plan</h3><table>' + top + "</table></div>" +
      nested.map(([k, v]) => '<div class="card"><h3>' + esc(human(k)) + "</h3>" + renderGeneric(k, v) + "</div>").join("") +
      '<div class="card"><h3>Settings</h3><table>' + settings + "</table></div></div>";
  }
  function miniStrip(plan, changed) {
    const [n, d] = String(plan.fps).split("/").map(Number), f = n / (d || 1);
    const dur = plan.duration_frames / f;
    return '<div class="vstrip">' + plan.shots.map((s, i) => {
      const l = 100 * (s.record_in / f) / dur, w = 100 * ((s.record_out - s.record_in) / f) / dur;
      const src = shotThumb(s);
      const cls = (s.locked ? "locked " : "") + (changed && changed.has(i) ? "changed" : "");
      return '<div class="' + cls + '" data-vshot="' + i + '" title="' + esc("shot " + i + " · " + baseName(s.source) + " · " + (w * dur / 100).toFixed(2) + " s") + '" style="left:' + l.toFixed(3) + "%;width:" + w.toFixed(3) + "%;" +
        (src ? "background-image:url('" + src.replace(/'/g, "%27") + "')" : "") + '"></div>';
    }).join("") + "</div>";
  }
  function changedAgainst(base, plan) {
    const key = (s) => [s.record_in, s.record_out, s.source, s.source_in].join("|");
    const old = new Set(base.shots.map(key));
    return new Set(plan.shots.map((s, i) => old.has(key(s)) ? -1 : i).filter((i) => i >= 0));
  }
  function renderVariants() {
    const plans = [{ name: "current", plan: S.plan }].concat(S.variants);
    const ctl = R ? "" : '<div class="row"><button id="mkvar">Make</button><input id="nvar" type="number" min="1" max="12" value="3" style="width:50px"> variants around the locks' +
      '<span class="muted">(the current style with other seeds, then the other styles)</span></div>';
    if (plans.length === 1) return ctl + '<p class="muted">No variants yet.' + (R ? "" : " Make some to compare them side by side.") + "</p>";
    const rows = plans.map((v, i) => {
      const p = v.plan, st = p.settings || {};
      const changed = i ? changedAgainst(S.plan, p) : null;
      const btn = i && !R ? ' <button data-adopt="' + (i - 1) + '">Take this</button> <button data-vdiff="' + (i - 1) + '">Changes</button>' : "";
      return '<div class="vrow"><div><b>' + esc(v.name) + "</b><br><span class=muted>" + esc((st.style || "") + " · seed " + fmtVal(st.seed)) + " · " + p.shots.length + " shots" +
        (changed ? " · " + changed.size + " differ" : "") + "</span>" + btn + "</div>" + miniStrip(p, changed) + "</div>";
    }).join("");
    const keys = [];
    for (const v of plans) for (const [k, x] of Object.entries(v.plan.metrics || {})) if ((x == null || typeof x !== "object") && keys.indexOf(k) < 0) keys.push(k);
    const table = "<table><tr><th>metric</th>" + plans.map((v) => "<th>" + esc(v.name) + "</th>").join("") + "</tr>" +
      keys.map((k) => "<tr><th>" + esc(human(k)) + "</th>" + plans.map((v) => '<td class="num">' + esc(fmtVal((v.plan.metrics || {})[k])) + "</td>").join("") + "</tr>").join("") + "</table>";
    const nestedKeys = [];
    for (const v of plans) for (const [k, x] of Object.entries(v.plan.metrics || {})) if (x && typeof x === "object" && !Array.isArray(x) && nestedKeys.indexOf(k) < 0) nestedKeys.push(k);
    const nested = nestedKeys.map((k) => '<div class="card"><h3>' + esc(human(k)) + "</h3><table><tr><th></th>" + plans.map((v) => "<th>" + esc(v.name) + "</th>").join("") + "</tr>" +
      Object.keys(Object.assign({}, ...plans.map((v) => (v.plan.metrics || {})[k] || {}))).map((sub) => "<tr><th>" + esc(human(sub)) + "</th>" + plans.map((v) => {
        const x = ((v.plan.metrics || {})[k] || {})[sub];
        return '<td class="num">' + esc(x && typeof x === "object" ? (x.value !== undefined ? fmtVal(x.value) : JSON.stringify(x).slice(0, 40)) : fmtVal(x)) + "</td>";
      }).join("") + "</tr>").join("") + "</table></div>").join("");
    return ctl + rows + '<div class="diag" style="margin-top:10px"><div class="card"><h3>Metrics side by side</h3>' + table + "</div>" + nested + "</div>";
  }
  function renderDiffPanel() {
    const opts = [["saved", "the saved plan"], ["opened", "the plan as opened"]].concat(S.variants.map((v, i) => ["variant-" + i, "variant " + v.name]));
    const available = R ? opts.filter(([k]) => (R.diffs || {})[k]) : opts;
    const sel = '<div class="row">Changes from <select id="against">' + available.map(([k, t]) => '<option value="' + k + '"' + (k === S.against ? " selected" : "") + ">" + esc(t) + "</option>").join("") +
      "</select> to the " + (R ? "plan" : "current plan") + "</div>";
    const d = S.diff;
    if (!d) return sel + '<p class="muted">nothing to compare</p>';
    const summ = Object.entries(d.summary || {}).map(([k, n]) => '<span class="kind k-' + k + '">' + n + " " + k + "</span>").join(" ");
    const list = (d.changes || []).map((c) => '<tr><td class="k-' + c.kind + '">' + esc(c.kind) + "</td><td>" +
      (c.b != null ? chips([c.b]) : '<span class="muted">was ' + c.a + "</span>") + "</td><td>" + esc(c.detail) + "</td></tr>").join("");
    const mets = Object.entries(d.metrics || {}).map(([k, [a, b]]) => "<tr><th>" + esc(human(k)) + '</th><td class="num">' + esc(fmtVal(a)) + '</td><td class="num">' + esc(fmtVal(b)) + "</td></tr>").join("");
    const sets = Object.entries(d.settings || {}).map(([k, [a, b]]) => "<tr><th>" + esc(human(k)) + '</th><td class="num">' + esc(fmtVal(a)) + '</td><td class="num">' + esc(fmtVal(b)) + "</td></tr>").join("");
    return sel + "<p>" + d.shots_a + " → " + d.shots_b + " shots, " + d.unchanged + " unchanged. " + (summ || "No shot changed.") + "</p>" +
      '<div class="diag"><div class="card"><h3>Shots</h3><table>' + (list || '<tr><td class="muted">none</td></tr>') + "</table></div>" +
      '<div class="card"><h3>Metrics</h3><table><tr><th></th><th>before</th><th>now</th></tr>' + (mets || '<tr><td class="muted">unchanged</td></tr>') + "</table>" +
      (sets ? "<h3>Settings</h3><table>" + sets + "</table>" : "") + "</div></div>";
  }
  function renderNotes() {
    const items = (S.plan.warnings || []).map((w) => "<li>" + esc(w) + "</li>").concat((S.state.warnings || []).map((w) => "<li>" + esc(w) + "</li>"))
      .concat((S.plan.skipped || []).map((s) => "<li>skipped " + esc(baseName(s.path)) + ": " + esc(s.reason) + "</li>"));
    return items.length ? "<ul>" + items.join("") + "</ul>" : '<p class="muted">No warnings.</p>';
  }
  function renderPanel() {
    document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("on", b.dataset.tab === S.tab));
    const el = $("#panel");
    if (S.tab === "diag") el.innerHTML = renderDiag();
    else if (S.tab === "variants") el.innerHTML = renderVariants();
    else if (S.tab === "diff") el.innerHTML = renderDiffPanel();
    else if (S.tab === "song") el.innerHTML = R && R.plot ? '<img alt="analysis" style="max-width:100%" src="' + R.plot + '">' : '<p class="muted">no analysis plot</p>';
    else el.innerHTML = renderNotes();
  }

  // ---------------------------------------------------------------- header ---------------------
  function renderHeader() {
    const p = S.plan, song = S.song;
    $("#song-name").textContent = song.name || "";
    const locked = p.shots.filter((s) => s.locked).length;
    const bits = [];
    if (song.tempo) bits.push(song.tempo.toFixed(1) + " BPM");
    if (song.metre) bits.push(song.metre);
    bits.push(fmtTime(song.duration).replace(/\.\d\d$/, ""));
    bits.push(p.shots.length + " shots");
    bits.push(locked + " locked");
    bits.push((p.settings || {}).style + " · seed " + (p.settings || {}).seed);
    $("#song-facts").textContent = " · " + bits.join(" · ");
    document.title = (S.state.dirty ? "● " : "") + "musync review · " + (song.name || "");
    if (R) return;
    $("#undo").disabled = !S.state.can_undo; $("#undo").title = "Undo " + (S.state.undo || "") + " (Ctrl+Z)";
    $("#redo").disabled = !S.state.can_redo; $("#redo").title = "Redo " + (S.state.redo || "") + " (Ctrl+Shift+Z)";
    $("#replan").disabled = !S.state.can_replan;
    $("#dirty").hidden = !S.state.dirty;
    const d = S.diff && S.against === "saved" ? S.diff : null;
    const n = d ? (d.changed_b || []).length : 0;
    $("#status").textContent = S.state.dirty ? (n ? n + " shot(s) differ from the saved plan (marked in orange) · " : "") + "unsaved changes" :
      (S.state.saved_to ? "saved to " + S.state.saved_to : "plan " + S.state.path);
  }
  function renderAll() {
    renderHeader(); renderTimeline(); renderInspector(); renderPanel(); renderTransport();
  }

  function select(i, play) {
    if (!S.plan || i < 0 || i >= S.plan.shots.length) return;
    const old = $('.shot[data-shot="' + S.sel + '"]');
    if (old) old.classList.remove("sel");
    S.sel = i;
    const el = $('.shot[data-shot="' + i + '"]');
    if (el) el.classList.add("sel");
    scrollToShot(i);
    renderInspector();
    const src = shotThumb(S.plan.shots[i], true);
    if (src) $("#still").src = src;
    if (play) playFrom(sec(S.plan.shots[i].record_in));
    else movePlayhead(sec(S.plan.shots[i].record_in));
  }

  // ---------------------------------------------------------------- events ---------------------
  function bind() {
    $("#strip").addEventListener("click", (e) => {
      const el = e.target.closest("[data-shot]");
      if (el) select(Number(el.dataset.shot), true);
    });
    $("#wave").addEventListener("click", (e) => {
      const t = e.offsetX / axisWidth() * S.song.duration, f = t * fps();
      const i = S.plan.shots.findIndex((s) => s.record_in <= f && f < s.record_out);
      if (i >= 0) { S.sel = i; renderStrip(); renderInspector(); }
      playFrom(t);
    });
    $("#zoom").addEventListener("input", (e) => { S.pxps = Number(e.target.value); renderTimeline(); scrollToShot(S.sel); });
    $("#fit").addEventListener("click", () => { fitZoom(); renderTimeline(); });
    $("#play").addEventListener("click", togglePlay);
    $("#source").addEventListener("change", (e) => setSource(e.target.value, true));
    window.addEventListener("resize", () => renderTimeline());
    document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => { S.tab = b.dataset.tab; renderPanel(); }));
    $("#panel").addEventListener("click", async (e) => {
      const g = e.target.closest("[data-goto]");
      if (g) { select(Number(g.dataset.goto), false); return; }
      const a = e.target.closest("[data-adopt]");
      if (a) { await change("POST", "adopt", { variant: Number(a.dataset.adopt) }, () => "took the variant (Undo brings the previous plan back)"); return; }
      const v = e.target.closest("[data-vdiff]");
      if (v) { S.against = "variant-" + v.dataset.vdiff; S.tab = "diff"; await refreshDiff(); renderStrip(); renderPanel(); return; }
      if (e.target.id === "mkvar") makeVariants(Number($("#nvar").value) || 3);
    });
    $("#panel").addEventListener("change", async (e) => {
      if (e.target.id === "against") { S.against = e.target.value; await refreshDiff(); renderStrip(); renderPanel(); renderHeader(); }
    });
    if (R) return;
    $("#undo").addEventListener("click", undo);
    $("#redo").addEventListener("click", redo);
    $("#replan").addEventListener("click", replan);
    $("#save").addEventListener("click", save);
    $("#make-preview").addEventListener("click", () => render("preview"));
    $("#make-draft").addEventListener("click", () => render("draft"));
    $("#inspector").addEventListener("click", (e) => {
      const t = e.target.closest("button, .alt");
      if (!t) return;
      const i = S.sel;
      if (t.id === "lockbtn") lock([i], t.dataset.lock === "1");
      else if (t.id === "n-s-") nudge(i, -1);
      else if (t.id === "n-s+") nudge(i, 1);
      else if (t.id === "n-e-") nudge(i + 1, -1);
      else if (t.id === "n-e+") nudge(i + 1, 1);
      else if (t.classList.contains("alt") && t.dataset.fits === "1" && !t.classList.contains("current") && t.dataset.clip !== "") swap(i, Number(t.dataset.clip));
    });
    $("#inspector").addEventListener("input", (e) => {
      if (e.target.id !== "inpoint") return;
      const s = S.plan.shots[S.sel], a = Number(e.target.value);
      $("#inpoint-v").textContent = a + " (" + sec(a).toFixed(2) + " s)";
      const src = thumbSrc(s.source, a + (s.source_out - s.source_in - 1) / 2, true);
      if (src) $("#still").src = src;
    });
    $("#inspector").addEventListener("change", (e) => {
      if (e.target.id === "inpoint") inpoint(S.sel, Number(e.target.value));
      if (e.target.id === "anyclip" && e.target.value !== "") swap(S.sel, Number(e.target.value));
    });
    window.addEventListener("beforeunload", (e) => {
      if (S.state && S.state.dirty) { e.preventDefault(); e.returnValue = "There are unsaved changes."; return e.returnValue; }
    });
  }
  function onKey(e) {
    if (e.target && /INPUT|SELECT|TEXTAREA/.test(e.target.tagName) && e.key !== "Escape") return;
    const k = e.key, ctrl = e.ctrlKey || e.metaKey;
    if (k === "ArrowRight") { select(S.sel + 1, false); e.preventDefault(); }
    else if (k === "ArrowLeft") { select(S.sel - 1, false); e.preventDefault(); }
    else if (k === " ") { togglePlay(); e.preventDefault(); }
    else if (R) return;
    else if (ctrl && (k === "z" || k === "Z")) { (e.shiftKey ? redo : undo)(); e.preventDefault(); }
    else if (ctrl && (k === "y")) { redo(); e.preventDefault(); }
    else if (ctrl && (k === "s")) { save(); e.preventDefault(); }
    else if (ctrl) return;
    else if (k === "l" || k === "L") { const s = S.plan.shots[S.sel]; lock([S.sel], !s.locked); }
    else if (k === "r" || k === "R") replan();
    else if (k === "[") nudge(S.sel, -1);
    else if (k === "]") nudge(S.sel, 1);
  }

  let toastTimer = 0;
  function toast(msg, err) {
    const t = $("#toast");
    t.textContent = msg; t.className = "show" + (err ? " err" : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.className = ""; }, err ? 6000 : 3500);
  }

  async function main() {
    if (R) document.body.classList.add("report");
    try { await loadAll(); } catch (e) { toast("cannot load the plan: " + e.message, true); return; }
    if (!R && S.song.audio) audio().src = "api/audio?token=" + encodeURIComponent(TOKEN);
    defaultZoom();
    bind();
    document.addEventListener("keydown", onKey);
    audio().addEventListener("pause", () => cancelAnimationFrame(raf));
    renderAll();
    select(0, false);
    document.body.dataset.ready = "1";
  }
  main();
})();
