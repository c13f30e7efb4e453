// The race player: draws a Descent race (a Vega-Lite spec built in descent_ui/race_chart.py) with vega-embed and
// plays it in the browser. Playback moves two Vega variables from requestAnimationFrame: `frame` (a real number;
// the heads glide between recorded steps) and `kept` (the last recorded step reached; trails and loss curves).
// Nothing is sent to the server while a race plays: values go back only when a reader picks a speed
// (setStateValue "speed") or clicks the map to start the race there (setTriggerValue "start").
// The libraries are the vendored builds in static/vega/, served by Streamlit's static file serving.

const LIBRARIES = ["vega.min.js", "vega-lite.min.js", "vega-embed.min.js"];
const WIDE = 760; // at least this many pixels: map and loss side by side; fewer: stacked
const AXIS = 56; // room for a panel's y axis (labels and title)
const GAP = 26; // between the two panels when side by side
const EDGE = 10; // kept free at the right edge
const PLAYERS = new WeakMap();
const svg = (body) => `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">${body}</svg>`;
const ICONS = {
  replay: svg('<path d="M5 5h2v14H5z M19 5v14L9 12z" fill="currentColor"/>'),
  back: svg('<path d="M16 5v14L6 12z" fill="currentColor"/><path d="M18 5h2v14h-2z" fill="currentColor"/>'),
  forward: svg('<path d="M8 5v14l10-7z" fill="currentColor"/><path d="M4 5h2v14H4z" fill="currentColor"/>'),
  play: svg('<path d="M7 4v16l13-8z" fill="currentColor"/>'),
  pause: svg('<path d="M6 4h4v16H6z M14 4h4v16h-4z" fill="currentColor"/>'),
};

function staticUrl(name) {
  return new URL("app/static/vega/" + name, document.baseURI).href;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.async = false;
    script.onload = resolve;
    script.onerror = () => reject(new Error("could not load " + src));
    document.head.appendChild(script);
  });
}

function libraries() {
  if (!window.__descentVega) {
    window.__descentVega = (async () => {
      const globals = ["vega", "vegaLite", "vegaEmbed"];
      for (let i = 0; i < LIBRARIES.length; i++) {
        if (!window[globals[i]]) await loadScript(staticUrl(LIBRARIES[i]));
      }
      return window.vegaEmbed;
    })();
    window.__descentVega.catch(() => { window.__descentVega = null; });
  }
  return window.__descentVega;
}

// An Arrow table (as Streamlit hands it over) to the row objects Vega reads.
function rowsOf(table) {
  if (!table || !table.numRows) return [];
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((name) => {
    const vector = table.getChild(name);
    const first = vector.get(0);
    if (typeof first === "string" || first === null) return { get: (i) => vector.get(i) };
    const values = vector.toArray();
    return { get: (i) => Number(values[i]) };
  });
  const rows = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const row = {};
    for (let j = 0; j < names.length; j++) row[names[j]] = columns[j].get(i);
    rows[i] = row;
  }
  return rows;
}

function formatSpeed(value) {
  return ({ 0.25: "¼×", 0.5: "½×", 1: "1×", 2: "2×", 4: "4×" })[value] || `${value}×`;
}

class Player {
  constructor(parent) {
    this.parent = parent;
    this.root = parent.querySelector(".player");
    this.root.__player = this; // for tests and the benchmark (read-only use)
    this.chart = this.root.querySelector(".chart");
    this.slider = this.root.querySelector(".step");
    this.readout = this.root.querySelector(".readout");
    this.playButton = this.root.querySelector(".play");
    this.speedSelect = this.root.querySelector(".speed");
    this.hint = this.root.querySelector(".hint");
    for (const name of ["replay", "back", "forward"]) this.root.querySelector("." + name).innerHTML = ICONS[name];
    this.playButton.innerHTML = ICONS.play;
    this.frame = 0;
    this.kept = -1;
    this.playing = false;
    this.wantsPlay = true; // autoplay once the chart is on screen
    this.visible = false;
    this.renders = 0;
    this.width = 0;
    this.view = null;
    this.id = null;
    this.embedding = null;
    this.bind();
  }

  bind() {
    const on = (selector, event, handler) => this.root.querySelector(selector).addEventListener(event, handler);
    on(".play", "click", () => this.toggle());
    on(".replay", "click", () => this.replay());
    on(".back", "click", () => this.stepBy(-1));
    on(".forward", "click", () => this.stepBy(1));
    this.slider.addEventListener("input", () => { this.pause(); this.seek(Number(this.slider.value)); });
    this.speedSelect.addEventListener("change", () => {
      this.speed = Number(this.speedSelect.value);
      this.serverSpeed = this.speed;
      this.callbacks.setStateValue("speed", this.speed);
    });
    this.root.addEventListener("keydown", (event) => this.key(event));
    this.chart.addEventListener("click", (event) => this.click(event));
    this.resizeObserver = new ResizeObserver(() => this.resized());
    this.resizeObserver.observe(this.root);
    this.visibility = new IntersectionObserver((entries) => {
      this.visible = entries.some((e) => e.isIntersecting);
      if (this.visible && this.wantsPlay && this.view) this.play();
      if (!this.visible && this.playing) { this.stopLoop(); this.wantsPlay = true; }
    });
    this.visibility.observe(this.root);
  }

  update(data, callbacks) {
    this.callbacks = callbacks;
    this.data = data;
    this.label = data.label || "Animated race";
    this.chart.setAttribute("aria-label", this.label);
    this.static = !!data.meta.static; // a still picture sized like a race (no playback)
    this.root.querySelector(".toolbar").hidden = this.static;
    this.clickable = !!data.clickable;
    this.chart.classList.toggle("clickable", this.clickable);
    this.hint.textContent = this.static ? "" : this.clickable
      ? "Click the map to start every optimizer from that point. Space plays or pauses; ← and → step."
      : "Space plays or pauses; ← and → step.";
    this.hint.hidden = this.static;
    const speeds = data.meta.speeds;
    if (this.speedSelect.options.length !== speeds.length) {
      this.speedSelect.replaceChildren(...speeds.map((s) => new Option(formatSpeed(s), String(s))));
    }
    if (this.serverSpeed !== data.speed) { // the server's speed changed (another player, the URL, the sidebar)
      this.serverSpeed = data.speed;
      this.speed = data.speed;
    }
    this.speedSelect.value = String(this.speed);
    if (data.id === this.id && this.view) return; // same race: keep the frame, the play state and the view
    this.id = data.id;
    this.steps = data.meta.steps;
    this.stride = data.meta.stride;
    this.slider.max = String(this.steps);
    this.rows = rowsOf(data.race);
    this.diverged = rowsOf(data.diverged);
    this.frame = this.static ? this.steps : 0;
    this.kept = -1;
    this.wantsPlay = true;
    this.embed();
  }

  layout(width) {
    const meta = this.data.meta;
    const usable = Math.max(240, width - EDGE);
    let mode, map, loss = 0;
    if (meta.panels === 1) {
      mode = "single";
      map = Math.min(720, usable - AXIS);
    } else if (usable >= WIDE) {
      mode = "wide";
      const room = usable - 2 * AXIS - GAP;
      map = Math.min(620, Math.round(room * 0.58));
      loss = room - map;
    } else {
      mode = "stacked";
      map = Math.min(640, usable - AXIS);
      loss = map;
    }
    map = Math.max(160, map);
    const mapHeight = Math.round(map * meta.aspect);
    const lossHeight = mode === "wide" ? mapHeight : Math.max(150, Math.min(260, Math.round(map * 0.55)));
    const columns = Math.max(1, Math.min(6, Math.floor(usable / 172)));
    return { mode, map, loss: Math.max(140, loss), mapHeight, lossHeight, columns, narrow: usable < 520,
      labelLimit: Math.max(90, Math.floor(usable / columns) - 46) };
  }

  spec(size) {
    const spec = JSON.parse(JSON.stringify(this.data.spec));
    const surfaceToken = "descent:surface";
    const replaceSurface = (layer) => {
      if (layer.data && layer.data.values) {
        for (const value of layer.data.values) if (value.url === surfaceToken) value.url = this.data.surface;
      }
    };
    let map = spec;
    if (this.static && spec.title) map.title = spec.title;
    if (spec.hconcat) {
      const [mapPanel, lossPanel] = spec.hconcat;
      map = mapPanel;
      lossPanel.width = size.loss;
      lossPanel.height = size.lossHeight;
      if (size.mode === "stacked") {
        spec.vconcat = spec.hconcat;
        delete spec.hconcat;
      }
    }
    map.width = size.map;
    map.height = size.mapHeight;
    map.layer.forEach(replaceSurface);
    spec.config = spec.config || {};
    spec.config.legend = { ...(spec.config.legend || {}), columns: size.columns, labelLimit: size.labelLimit };
    if (size.narrow) {
      spec.config.legend.labelFontSize = 11;
      spec.config.axis = { ...(spec.config.axis || {}), labelFontSize: 10, titleFontSize: 11 };
    }
    spec.params = (spec.params || []).map((p) => {
      if (p.name === "frame" || p.name === "kept") return { ...p, value: p.name === "frame" ? this.frame : this.keptOf(this.frame) };
      return p;
    });
    spec.datasets = { race: this.rows, diverged: this.diverged };
    return spec;
  }

  keptOf(frame) {
    return frame >= this.steps ? this.steps : Math.floor(frame / this.stride) * this.stride;
  }

  async embed(shrink = 0, attempt = 0) {
    const width = Math.floor(this.root.getBoundingClientRect().width) - shrink;
    if (width <= 0) return; // not laid out yet: the resize observer calls again
    const size = this.layout(width);
    this.width = width + shrink;
    this.size = size;
    let vegaEmbed;
    try {
      vegaEmbed = await libraries();
    } catch (error) {
      this.chart.innerHTML = `<p class="error">The interactive chart could not load (${error.message}).</p>`;
      return;
    }
    const token = {};
    this.embedding = token;
    this.root.dataset.embedding = "1";
    const wasPlaying = this.playing;
    this.stopLoop();
    const result = await vegaEmbed(this.chart, this.spec(size), {
      actions: false, renderer: "canvas", mode: "vega-lite", tooltip: { theme: "light" },
    });
    if (this.embedding !== token) { result.finalize(); return; }
    if (this.result) this.result.finalize();
    this.result = result;
    this.view = result.view;
    this.kept = this.keptOf(this.frame);
    this.root.dataset.layout = size.mode;
    this.root.dataset.ready = "1";
    this.root.dataset.chartWidth = String(Math.round(this.drawnWidth()));
    const overflow = this.drawnWidth() - (width + shrink);
    if (overflow > 0.5 && attempt < 3) { // the axes took more room than planned: shrink once more
      return this.embed(shrink + Math.ceil(overflow) + 4, attempt + 1);
    }
    this.root.dataset.laidOut = String(width + shrink); // the width this layout was made for (tests wait on it)
    this.root.dataset.embedding = "0";
    this.show();
    if (wasPlaying || (this.wantsPlay && this.visible)) this.play();
  }

  drawnWidth() {
    const canvas = this.chart.querySelector("canvas");
    return canvas ? canvas.getBoundingClientRect().width : 0;
  }

  resized() {
    if (!this.data) return;
    const width = Math.floor(this.root.getBoundingClientRect().width);
    if (!this.view || Math.abs(width - this.width) < 2) return;
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => this.embed(), 120);
  }

  // ---------------------------------------------------------------------------------------------- playback
  play() {
    if (this.static) return;
    if (!this.view) { this.wantsPlay = true; return; }
    if (this.frame >= this.steps) this.frame = 0; // play at the end replays
    this.playing = true;
    this.wantsPlay = false;
    this.last = performance.now();
    cancelAnimationFrame(this.raf);
    this.raf = requestAnimationFrame((now) => this.tick(now));
    this.show();
  }

  pause() {
    this.wantsPlay = false;
    this.stopLoop();
    this.show();
  }

  stopLoop() {
    this.playing = false;
    cancelAnimationFrame(this.raf);
  }

  toggle() {
    if (this.playing) this.pause(); else this.play();
  }

  replay() {
    this.seek(0);
    this.play();
  }

  stepBy(direction) {
    this.pause();
    const here = this.keptOf(this.frame);
    const target = direction > 0 ? Math.min(this.steps, here + this.stride) : Math.max(0, (this.frame > here ? here : here - this.stride));
    this.seek(target);
  }

  seek(frame) {
    this.frame = Math.max(0, Math.min(this.steps, frame));
    this.draw();
    this.show();
  }

  tick(now) {
    if (!this.playing) return;
    const dt = Math.min(0.1, (now - this.last) / 1000);
    this.last = now;
    this.frame = Math.min(this.steps, this.frame + dt * this.speed * this.data.meta.steps_per_second);
    if (this.frame >= this.steps) this.playing = false;
    this.draw();
    this.show();
    if (this.playing) this.raf = requestAnimationFrame((t) => this.tick(t));
  }

  draw() {
    if (!this.view) return;
    this.view.signal("frame", this.frame);
    const kept = this.keptOf(this.frame);
    if (kept !== this.kept) {
      this.kept = kept;
      this.view.signal("kept", kept);
    }
    if (this.running) { this.dirty = true; return; }
    this.running = true;
    this.view.runAsync().then(() => {
      this.renders += 1;
      this.root.dataset.renders = String(this.renders);
      this.running = false;
      if (this.dirty) { this.dirty = false; this.draw(); }
    });
  }

  show() {
    const step = Math.floor(this.frame);
    this.slider.value = String(step);
    this.slider.setAttribute("aria-valuetext", `step ${step} of ${this.steps}`);
    this.readout.textContent = `step ${step} / ${this.steps}`;
    if (this.playButton.dataset.icon !== (this.playing ? "pause" : "play")) {
      this.playButton.dataset.icon = this.playing ? "pause" : "play";
      this.playButton.innerHTML = this.playing ? ICONS.pause : ICONS.play;
    }
    this.playButton.setAttribute("aria-label", this.playing ? "Pause" : "Play");
    this.playButton.setAttribute("aria-pressed", this.playing ? "true" : "false");
    this.root.dataset.frame = String(step);
    this.root.dataset.playing = this.playing ? "1" : "0";
    this.root.dataset.speed = String(this.speed);
  }

  key(event) {
    // Space or k: play/pause (a focused button's own Space is its click); arrows: one recorded step, on the slider
    // too (so a step means the same everywhere); Home/End: the first and last step. The speed menu keeps its keys.
    if (event.target.tagName === "SELECT") return;
    if (event.key === " " || event.key === "k") {
      if (event.target.tagName === "BUTTON" && event.key === " ") return;
      event.preventDefault();
      this.toggle();
    } else if (event.key === "ArrowRight" || event.key === "ArrowUp" || event.key === "ArrowLeft" || event.key === "ArrowDown") {
      event.preventDefault();
      this.stepBy(event.key === "ArrowRight" || event.key === "ArrowUp" ? 1 : -1);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      this.pause();
      this.seek(event.key === "Home" ? 0 : this.steps);
    }
  }

  // ------------------------------------------------------------------------------------------- click to start
  surfaceBox() {
    const walk = (mark, ox, oy) => {
      for (const item of mark.items || []) {
        if (mark.marktype === "image") return { x: ox + item.x, y: oy + item.y, w: item.width, h: item.height };
        if (mark.marktype === "group") {
          for (const child of item.items || []) {
            const found = walk(child, ox + (item.x || 0), oy + (item.y || 0));
            if (found) return found;
          }
        }
      }
      return null;
    };
    const [ox, oy] = this.view.origin();
    return walk(this.view.scenegraph().root, ox, oy);
  }

  click(event) {
    if (!this.clickable || !this.view) return;
    const canvas = this.chart.querySelector("canvas");
    if (!canvas) return;
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const box = this.surfaceBox();
    if (!box || px < box.x || px > box.x + box.w || py < box.y || py > box.y + box.h) return;
    const [[x0, x1], [y0, y1]] = this.data.meta.bounds;
    const x = x0 + ((px - box.x) / box.w) * (x1 - x0);
    const y = y1 - ((py - box.y) / box.h) * (y1 - y0);
    const round = (v) => Number(v.toPrecision(4));
    this.hint.textContent = `Starting the race from (${round(x)}, ${round(y)})…`;
    this.callbacks.setTriggerValue("start", [round(x), round(y)]);
  }

  destroy() {
    this.stopLoop();
    this.resizeObserver.disconnect();
    this.visibility.disconnect();
    if (this.result) this.result.finalize();
  }
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let player = PLAYERS.get(parentElement);
  if (player && player.root !== parentElement.querySelector(".player")) {
    player.destroy(); // Streamlit rebuilt the component's markup: bind the new one
    player = null;
  }
  if (!player) {
    player = new Player(parentElement);
    PLAYERS.set(parentElement, player);
  }
  player.update(data, { setStateValue, setTriggerValue });
  return () => {
    player.destroy();
    PLAYERS.delete(parentElement);
  };
}
