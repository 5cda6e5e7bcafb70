// The trader's views of a test block (the job page and the model page): the price with the
// strategy's entries and exits and the Q-filter's taken and skipped calls, the raw Q-score
// beneath it on the same time axis, a drawdown chart per book, and the trade list (sorted
// by any column, exported as the API's own CSV). The charts come from GET {base}/test-block;
// the table pages through GET {base}/trades (sorted on the server, so a list of any length
// sorts whole); the export is GET {base}/trades?format=csv.

import { ApiError, api, download } from "./api.js";
import { COLORS, CONFIG, axis, layout } from "./charts.js";
import { h, notice, number, part, percent } from "./format.js";
import { SPEC } from "./spec.js";

const { Plotly } = window;
/** Rows of the trade list shown per page. */
export const PAGE_ROWS = 50;
const FILTER_STYLE = {
  taken: { name: "Q-filter took", symbol: "circle-open", color: COLORS.q_filtered, chip: "good" },
  skipped: { name: "Q-filter skipped", symbol: "diamond-open", color: "#ff7b72", chip: "bad" },
  ruined: { name: "not taken (filtered book ruined)", symbol: "x-open", color: "#9ba7b4", chip: "bad" },
};
const Q_COLOR = "#f0883e";
const THRESHOLD_COLOR = "#e3b341";

/** "2024-01-31 13:00" from an ISO time (UTC, as the API sends it). */
function when(iso) {
  return iso.slice(0, 16).replace("T", " ");
}

/** The trade list's columns: key, title, how a cell shows. */
const COLUMNS = [
  ["call", "Call", String],
  ["side", "Side", String],
  ["entry_time", "Entry time", when],
  ["entry_price", "Entry price", (v) => number(v, 7)],
  ["exit_time", "Exit time", when],
  ["exit_price", "Exit price", (v) => number(v, 7)],
  ["bars", "Bars", String],
  ["return", "Return", (v) => percent(v, 2)],
  ["q_entry", "Q at entry", (v) => number(v, 4)],
  ["filter", "Filter", (v) => h("span", { className: `chip ${FILTER_STYLE[v].chip}` }, v)],
];

function markers(name, points, { symbol, color, size = 10, width = 2 }, yaxis = "y") {
  return {
    type: "scatter", mode: "markers", name, yaxis,
    x: points.map((p) => p.x), y: points.map((p) => p.y), text: points.map((p) => p.text),
    hovertemplate: "%{text}<extra>%{fullData.name}</extra>",
    marker: { symbol: points.map((p) => p.symbol ?? symbol), color, size, line: { color, width } },
  };
}

/** The price of the block with the calls on it, and the raw Q-score beneath on one time axis. */
export function priceChart(element, view) {
  const { price, trades } = view;
  const first = new Map();
  const last = new Map();
  for (const trade of trades) {
    if (!first.has(trade.call)) first.set(trade.call, trade);
    last.set(trade.call, trade);
  }
  const entries = [...first.values()].map((t) => ({
    x: t.entry_time, y: t.entry_price, symbol: t.side === "long" ? "triangle-up" : "triangle-down",
    text: `call ${t.call}: ${t.side} at ${number(t.entry_price, 7)}`,
  }));
  const exits = [...last.values()].map((t) => ({
    x: t.exit_time, y: t.exit_price, text: `call ${t.call}: ${t.side} closed at ${number(t.exit_price, 7)}`,
  }));
  const byFilter = Object.entries(FILTER_STYLE).map(([state, style]) => markers(style.name,
    trades.filter((t) => t.filter === state).map((t) => ({
      x: t.entry_time, y: t.entry_price,
      text: `call ${t.call} ${t.side}, ${t.bars} bars, return ${percent(t.return, 2)}, Q ${number(t.q_entry, 4)}`,
    })), { ...style, size: 13 })).filter((trace) => trace.x.length || trace.name !== FILTER_STYLE.ruined.name);
  const traces = [
    { type: "scatter", mode: "lines", name: "close", x: price.times, y: price.close,
      line: { color: "#c9d1d9", width: 1.5 }, hovertemplate: "%{y}<extra>close</extra>" },
    ...byFilter, // under the strategy's own markers, which sit inside them
    // A reversal exits one call and enters the next at the same close: the entry on top.
    markers("strategy exits", exits, { symbol: "x-thin-open", color: "#e6edf3", size: 11, width: 2 }),
    markers("strategy entries", entries, { color: COLORS.strategy, size: 8, width: 1 }),
    { type: "scatter", mode: "lines", name: "raw Q-score", x: price.times, y: price.q, yaxis: "y2",
      line: { color: Q_COLOR, width: 1.5 } },
    { type: "scatter", mode: "lines", name: `threshold ${number(view.threshold, 4)}`, yaxis: "y2",
      x: [view.start, view.end], y: [view.threshold, view.threshold],
      line: { color: THRESHOLD_COLOR, width: 1.5, dash: "dash" } },
  ];
  return Plotly.react(element, traces, layout({
    hovermode: "closest",
    margin: { l: 64, r: 16, t: 56, b: 40 },
    xaxis: axis({ anchor: "y2" }),
    yaxis: axis({ domain: [0.36, 1], title: { text: "price" } }),
    yaxis2: axis({ domain: [0, 0.28], title: { text: "raw Q" } }),
  }), CONFIG);
}

/** One panel per book: its drawdown (equity over its running peak, minus 1). */
export function drawdownChart(element, drawdown) {
  // The API's order (strategy, Q-filtered, buy and hold), named as the spec names them.
  const books = Object.keys(drawdown).filter((key) => key !== "times").map((key) => [key, SPEC.books[key]]);
  const gap = 0.06;
  const height = (1 - gap * (books.length - 1)) / books.length;
  const extra = {};
  const traces = books.map(([key, name], index) => {
    const axisName = index ? `yaxis${index + 1}` : "yaxis";
    const top = 1 - index * (height + gap);
    extra[axisName] = axis({ domain: [top - height, top], tickformat: ".0%", title: { text: name } });
    return {
      type: "scatter", mode: "lines", name, x: drawdown.times, y: drawdown[key], yaxis: `y${index ? index + 1 : ""}`,
      fill: "tozeroy", line: { color: COLORS[key], width: 1.5 },
      hovertemplate: "%{y:.2%}<extra>%{fullData.name}</extra>",
    };
  });
  return Plotly.react(element, traces, layout({
    hovermode: "x unified", showlegend: false,
    xaxis: axis({ anchor: `y${books.length}` }),
    ...extra,
  }), CONFIG);
}

/** Drives one element marked data-trader-views. */
export class TraderViews {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    this.sort = null;
    this.page = 0;
    this.total = 0;
    this.request = 0;
    const failed = (error) => notice(error.message);
    part(root, "trades-prev").addEventListener("click", () => this.turn(-1).catch(failed));
    part(root, "trades-next").addEventListener("click", () => this.turn(1).catch(failed));
    part(root, "trades-csv").addEventListener("click", () => {
      this.exportCsv().catch((error) => notice(error.message));
    });
  }

  /**
   * Show the test block of `base` (/api/jobs/ID or /api/models/NAME/versions/N).
   * A block that cannot be rebuilt (409: its data is gone) is said so in place.
   */
  async show(base, fileName) {
    this.base = base;
    this.fileName = fileName;
    const status = part(this.root, "trader-status");
    const views = part(this.root, "trader-views");
    status.hidden = false;
    status.textContent = "Loading the trades of the test block…";
    let view;
    try {
      view = await api(`${base}/test-block`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
      views.hidden = true;
      status.textContent = `No trades to show: ${error.message}`;
      return null;
    }
    status.hidden = true;
    views.hidden = false; // shown before drawing: the charts size themselves to it
    this.view = view;
    this.total = view.total;
    this.sort = null;
    this.page = 0;
    this.summarise(view);
    await Promise.all([
      priceChart(part(this.root, "price-chart"), view),
      drawdownChart(part(this.root, "drawdown-chart"), view.drawdown),
      this.load(),
    ]);
    return view;
  }

  summarise(view) {
    const { counts } = view;
    const ruined = counts.ruined ? `, ${counts.ruined} not taken after the filtered book's ruin` : "";
    const marked = view.marked < view.total
      ? ` The chart marks the first ${view.marked} of the ${view.total} trades; the list has them all.`
      : "";
    const sampled = view.price.times.length < view.total_points
      ? ` The price is drawn on ${view.price.times.length} of ${view.total_points} bars, every high and low kept.`
      : "";
    part(this.root, "trader-summary").textContent =
      `${view.strategy}: ${counts.calls} calls over ${view.bars} bars (${when(view.start)} to ` +
      `${when(view.end)}) in ${view.total} trades: ${counts.taken} taken by the Q-filter ` +
      `(raw Q ≥ ${number(view.threshold, 4)}), ${counts.skipped} skipped${ruined}. Fees ` +
      `${view.fee_bp} bp, slippage ${view.slippage_bp} bp per unit of position change.${sampled}${marked}`;
  }

  /** Sort by `key` (on the server, the whole list); the same key again reverses the order. */
  sortBy(key) {
    const descending = this.sort?.key === key && !this.sort.descending;
    this.sort = { key, descending };
    this.page = 0;
    return this.load();
  }

  turn(step) {
    this.page = Math.min(Math.max(0, this.page + step), this.pages() - 1);
    return this.load();
  }

  pages() {
    return Math.max(1, Math.ceil(this.total / PAGE_ROWS));
  }

  /** Fetch the current page of the list in the current order and show it. */
  async load() {
    const ticket = ++this.request;
    const query = new URLSearchParams({ offset: this.page * PAGE_ROWS, limit: PAGE_ROWS });
    if (this.sort) {
      query.set("sort", this.sort.key);
      query.set("descending", this.sort.descending);
    }
    const answer = await api(`${this.base}/trades?${query}`);
    if (ticket === this.request) this.renderTable(answer); // a later request supersedes it
  }

  renderTable(answer) {
    const table = part(this.root, "trades-table");
    const caption = table.querySelector("caption");
    const head = COLUMNS.map(([key, title]) => {
      const sorted = this.sort?.key === key;
      const state = sorted ? (this.sort.descending ? "descending" : "ascending") : "none";
      const button = h("button", { type: "button", className: "sort", "data-sort": key },
        title, h("span", { className: "sort-mark", "aria-hidden": "true" },
          sorted ? (this.sort.descending ? " ▼" : " ▲") : ""));
      button.addEventListener("click", () => this.sortBy(key).catch((error) => notice(error.message)));
      return h("th", { scope: "col", "aria-sort": state }, button);
    });
    const rows = answer.trades.map((trade, index) =>
      h("tr", { "data-trade": answer.rows[index], "data-filter": trade.filter },
        COLUMNS.map(([key, , show]) => h("td", { "data-col": key }, show(trade[key])))));
    table.replaceChildren(...(caption ? [caption] : []), h("thead", {}, h("tr", {}, head)),
      h("tbody", {}, rows));
    this.total = answer.total;
    const start = answer.offset;
    part(this.root, "trades-range").textContent = this.total
      ? `${start + 1}–${start + rows.length} of ${this.total} trades` : "no trades";
    part(this.root, "trades-page").textContent = `page ${this.page + 1} of ${this.pages()}`;
    part(this.root, "trades-prev").disabled = this.page === 0;
    part(this.root, "trades-next").disabled = this.page >= this.pages() - 1;
    table.dataset.shown = `${this.sort?.key ?? "time"}:${this.sort?.descending ?? false}:${this.page}`;
  }

  /** Save the trade list as the API's CSV (the same bytes as GET {base}/trades?format=csv). */
  exportCsv() {
    return download(`${this.base}/trades?format=csv`, "text/csv", `${this.fileName}.csv`);
  }
}
