// Plotly.js charts in the dashboard's dark theme. Plotly is loaded as a classic script
// (window.Plotly) from the plotly package's own bundle before these modules run.

import { SPEC } from "./spec.js";

const { Plotly } = window;

export const COLORS = {
  train: "#58a6ff",
  validation: "#f0883e",
  strategy: "#58a6ff",
  q_filtered: "#3fb950",
  buy_and_hold: "#d2a8ff",
  up: "#3fb950",
  down: "#f85149",
  volume: "#6e7681",
};
const GRID = "#262f3b";
export const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

export function axis(extra = {}) {
  return { gridcolor: GRID, zerolinecolor: "#3a4452", linecolor: "#3a4452", automargin: true, ...extra };
}

export function layout(extra = {}) {
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: "#c9d1d9", family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12 },
    margin: { l: 56, r: 16, t: 36, b: 40 },
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    hoverlabel: { bgcolor: "#161b22", bordercolor: "#3a4452", font: { color: "#e6edf3" } },
    xaxis: axis(),
    yaxis: axis(),
    ...extra,
  };
}

function line(name, color, x = [], y = [], dash = "solid") {
  return { type: "scatter", mode: "lines", name, x, y, line: { color, width: 2, dash } };
}

/** Train and validation loss per epoch; grows point by point without redrawing. */
export class LossChart {
  constructor(element) {
    this.element = element;
    this.lastEpoch = 0;
    this.size = 0;
    this.layout = layout({
      hovermode: "x unified",
      xaxis: axis({ title: { text: "epoch" }, rangemode: "tozero" }),
      yaxis: axis({ title: { text: "loss (MSE)" } }),
    });
    this.queue = Plotly.newPlot(element, this.#traces([]), this.layout, CONFIG);
  }

  #traces(points) {
    const epochs = points.map((p) => p.epoch);
    return [
      line("train", COLORS.train, epochs, points.map((p) => p.train_loss)),
      line("validation", COLORS.validation, epochs, points.map((p) => p.val_loss)),
    ];
  }

  /** Replace every point (the server's downsampled history). */
  set(points) {
    this.lastEpoch = points.length ? points[points.length - 1].epoch : 0;
    this.size = points.length;
    this.queue = this.queue.then(() =>
      Plotly.react(this.element, this.#traces(points), this.layout, CONFIG));
    return this.queue;
  }

  /** Add the points after the last epoch shown (older ones are ignored). */
  extend(points) {
    const fresh = points.filter((p) => p.epoch > this.lastEpoch);
    if (!fresh.length) return this.queue;
    this.lastEpoch = fresh[fresh.length - 1].epoch;
    this.size += fresh.length;
    const epochs = fresh.map((p) => p.epoch);
    const update = { x: [epochs, epochs], y: [fresh.map((p) => p.train_loss), fresh.map((p) => p.val_loss)] };
    this.queue = this.queue.then(() => Plotly.extendTraces(this.element, update, [0, 1]));
    return this.queue;
  }
}

const WEIGHT_GROUPS = [
  { name: "dimension weights", color: "#58a6ff", match: (key) => key.startsWith("w_") },
  { name: "interaction", color: "#f0883e", match: (key) => key === "alpha" || key === "beta" },
  { name: "emergence", color: "#d2a8ff", match: (key) => ["gamma", "delta_min", "delta_max"].includes(key) },
];

/** The 13 learned parameters as bars grouped into dimension weights, interaction, emergence. */
export function weightsChart(element, parameters) {
  const traces = WEIGHT_GROUPS.map(({ name, color, match }) => {
    const keys = Object.keys(parameters).filter(match);
    return {
      type: "bar", name, x: keys.map((key) => key.replace(/^w_/, "")), y: keys.map((key) => parameters[key]),
      marker: { color }, hovertemplate: "%{x}: %{y:.4f}<extra>%{fullData.name}</extra>",
    };
  });
  return Plotly.react(element, traces, layout({
    barmode: "relative", xaxis: axis({ tickangle: -35 }), yaxis: axis({ title: { text: "value" } }),
  }), CONFIG);
}

/** Line style per book: buy and hold, often equal to the strategy, is dotted so that both
 * stay visible. */
const DASH = { buy_and_hold: "dot" };

/** Equity curves of the three books of a backtest. */
export function equityChart(element, equity) {
  const traces = Object.entries(SPEC.books).map(([key, name]) =>
    line(name, COLORS[key], equity.times, equity[key], DASH[key] ?? "solid"));
  return Plotly.react(element, traces, layout({
    hovermode: "x unified", yaxis: axis({ title: { text: "equity (start = 1)" } }),
  }), CONFIG);
}

/** Candlesticks with volume bars below them; `rows` are [time, open, high, low, close, volume]. */
export function candleChart(element, rows) {
  const column = (index) => rows.map((row) => row[index]);
  const times = column(0);
  const candles = {
    type: "candlestick", name: "price", x: times, open: column(1), high: column(2), low: column(3),
    close: column(4), increasing: { line: { color: COLORS.up } }, decreasing: { line: { color: COLORS.down } },
  };
  const volume = {
    type: "bar", name: "volume", x: times, y: column(5), yaxis: "y2", marker: { color: COLORS.volume },
  };
  return Plotly.react(element, [candles, volume], layout({
    showlegend: false,
    xaxis: axis({ rangeslider: { visible: false } }),
    yaxis: axis({ domain: [0.3, 1], title: { text: "price" } }),
    yaxis2: axis({ domain: [0, 0.22], title: { text: "volume" } }),
  }), CONFIG);
}

/** One colour per compared run (or model version), in order. */
export const PALETTE = ["#58a6ff", "#f0883e", "#3fb950", "#d2a8ff", "#f85149", "#e3b341", "#39c5cf", "#ff7b72", "#a5d6ff", "#7ee787"];

/** An exponential moving average of `values` (nulls kept); `weight` 0 returns them as is. */
export function smooth(values, weight) {
  let last = null;
  return values.map((value) => {
    if (value === null || value === undefined) return value;
    last = last === null ? value : weight * last + (1 - weight) * value;
    return last;
  });
}

/** Train (solid) and validation (dashed) losses of several runs on one chart. */
export function compareLossChart(element, histories, labels, { log = false, smoothing = 0 } = {}) {
  const traces = histories.flatMap((history, index) => {
    const epochs = history.points.map((p) => p.epoch);
    const color = PALETTE[index % PALETTE.length];
    return [
      line(`${labels[index]} train`, color, epochs, smooth(history.points.map((p) => p.train_loss), smoothing)),
      line(`${labels[index]} validation`, color, epochs, smooth(history.points.map((p) => p.val_loss), smoothing), "dash"),
    ];
  });
  return Plotly.react(element, traces, layout({
    hovermode: "x unified",
    xaxis: axis({ title: { text: "epoch" } }),
    yaxis: axis({ title: { text: "loss (MSE)" }, type: log ? "log" : "linear" }),
  }), CONFIG);
}

/** The Q-filtered book's equity of several runs. */
export function compareEquityChart(element, equity, labels) {
  const traces = equity.map((item, index) =>
    line(labels[index], PALETTE[index % PALETTE.length], item.times, item.q_filtered));
  return Plotly.react(element, traces, layout({
    hovermode: "x unified", yaxis: axis({ title: { text: "equity (start = 1)" } }),
  }), CONFIG);
}

/** The parameters of several runs as grouped bars; `parameters` is name -> {values}. */
export function compareParametersChart(element, parameters, labels) {
  const names = Object.keys(parameters);
  const traces = labels.map((label, index) => ({
    type: "bar", name: label, x: names, y: names.map((name) => parameters[name].values[index]),
    marker: { color: PALETTE[index % PALETTE.length] },
  }));
  return Plotly.react(element, traces, layout({
    barmode: "group", xaxis: axis({ tickangle: -35 }), yaxis: axis({ title: { text: "value" } }),
  }), CONFIG);
}

/** Metrics over a model's versions: `series` is metric -> values, one per version. */
export function versionsChart(element, versions, series) {
  const traces = Object.entries(series).map(([metric, values], index) => ({
    type: "scatter", mode: "lines+markers", name: metric, x: versions, y: values,
    line: { color: PALETTE[index % PALETTE.length], width: 2 },
  }));
  return Plotly.react(element, traces, layout({
    hovermode: "x unified", xaxis: axis({ title: { text: "version" }, dtick: 1 }),
    yaxis: axis({ title: { text: "metric" } }),
  }), CONFIG);
}
