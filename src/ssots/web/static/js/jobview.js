// The job view shared by /training and /jobs/{id}: status, progress, live loss curves
// from the job's event stream, and once it succeeded its metrics, weights and backtest.

import { ApiError, api, followEvents } from "./api.js";
import { LossChart, equityChart, weightsChart } from "./charts.js";
import { showEvidence } from "./evidence.js";
import { duration, fillTable, h, number, part, percent, setBadge } from "./format.js";
import { FINAL, SPEC } from "./spec.js";

const HISTORY_POINTS = 500;
/** Beyond this many drawn points the chart is redrawn from the server's downsampled history. */
const LIVE_POINTS = 2000;
/** The test metrics of the calibrated Q, each judged against the best baseline. */
const METRICS = Object.entries(SPEC.metrics).map(([key, { label, better }]) => [key, label, better]);
const BOOKS = Object.entries(SPEC.books);
const UNIT_FORMATS = { fraction: percent, ratio: (v) => number(v, 3), count: number };
const BOOK_METRICS = Object.entries(SPEC.bookMetrics)
  .map(([key, { label, unit }]) => [key, label, UNIT_FORMATS[unit]]);

/** "no", or a red chip with the time and bar at which a book was ruined. */
function ruinCell(ruin) {
  if (!ruin) return "no";
  return h("span", { className: "chip bad", "data-ruined": ruin.bar },
    `${ruin.time.slice(0, 16).replace("T", " ").replace(" 00:00", "")} (bar ${ruin.bar})`);
}

/** The best baseline for a metric: lowest error, highest R² or IC. */
function bestBaseline(baselines, key, better) {
  const entries = Object.entries(baselines ?? {}).filter(([, values]) => values[key] !== null);
  if (!entries.length) return null;
  const pick = better === "lower" ? Math.min : Math.max;
  const value = pick(...entries.map(([, values]) => values[key]));
  return { name: entries.find(([, values]) => values[key] === value)[0].replaceAll("_", " "), value };
}

function metricCard(key, label, better, metrics, baselines) {
  const value = metrics[key];
  const best = bestBaseline(baselines, key, better);
  const beats = best && (better === "lower" ? value <= best.value : value >= best.value);
  // The Q-filter ranks the raw Q; the calibrated Q's ties can move its rank IC a little.
  const raw = key === "rank_ic" && metrics.raw_rank_ic !== undefined;
  return h("div", { className: "card metric", "data-metric": key },
    h("span", { className: "metric-label" }, label),
    h("span", { className: "metric-value" }, number(value)),
    best && h("span", { className: "metric-baseline" },
      h("span", { className: `chip ${beats ? "good" : "bad"}` }, beats ? "beats" : "behind"),
      ` best baseline ${number(best.value)} (${best.name})`),
    raw && h("span", { className: "metric-raw muted" }, `raw Q: ${number(metrics.raw_rank_ic)}`));
}

/** Drives one job view element; show(jobId) loads a job and follows it while it runs. */
export class JobView {
  /**
   * @param {HTMLElement} root the element marked data-job-view
   * @param {{onFinish?: (job: object) => void}} options onFinish runs when a followed job ends
   */
  constructor(root, { onFinish } = {}) {
    this.root = root;
    this.onFinish = onFinish ?? (() => {});
    this.pending = [];
    this.backlog = null;
    this.cancelButton = part(root, "cancel");
    this.cancelButton.addEventListener("click", () => this.cancel());
    addEventListener("pagehide", () => this.stop());
  }

  /** Show job `jobId`: what it did so far, then (while it runs) its live progress.
   * @returns {Promise<object>} the job as first read (GET /api/jobs/{id}) */
  async show(jobId) {
    this.stop();
    this.pending = [];
    this.jobId = jobId;
    this.controller = new AbortController();
    this.root.dataset.state = "job"; // the chart needs its container shown to size itself
    this.loss ??= new LossChart(part(this.root, "loss-chart"));
    part(this.root, "results").hidden = true;
    const job = await api(`/api/jobs/${jobId}`);
    this.render(job);
    const history = await api(`/api/jobs/${jobId}/history?max_points=${HISTORY_POINTS}`);
    await this.loss.set(history.points);
    if (FINAL.has(job.status)) this.finish(job);
    else this.follow(history.last_event_id);
    return job;
  }

  /** Stop following the current job (its stream and clock). */
  stop() {
    this.controller?.abort();
    this.stopClock();
  }

  follow(lastEventId) {
    const { signal } = this.controller;
    followEvents(`/api/jobs/${this.jobId}/events`, {
      lastEventId,
      signal,
      onEvent: (type, data) => this.onEvent(type, data),
    }).catch((error) => this.showMessage(error.message));
  }

  onEvent(type, data) {
    if (type === "epoch") {
      this.pending.push(data);
      if (this.pending.length === 1) requestAnimationFrame(() => this.flush());
    } else if (type === "stage") {
      if (!this.clock) this.startClock(0);
      part(this.root, "stage").textContent = data.stage;
      setBadge(part(this.root, "status"), "running");
    } else if (type === "done") {
      this.flush();
      api(`/api/jobs/${this.jobId}`).then((job) => {
        this.finish(job);
        this.onFinish(job);
      }).catch((error) => this.showMessage(error.message));
    }
  }

  /** Draw the epochs received since the last frame and update the progress. */
  flush() {
    const points = this.pending.splice(0);
    if (!points.length) return;
    const last = points[points.length - 1];
    this.setProgress(last.epochs ? (100 * last.epoch) / last.epochs : 0, last.epoch, last.epochs);
    this.setLosses(last.train_loss, last.val_loss);
    if (this.backlog) {
      this.backlog.push(...points);
    } else if (this.loss.size + points.length > LIVE_POINTS) {
      // Redraw from the downsampled history; epochs arriving meanwhile are added after it.
      this.backlog = points;
      api(`/api/jobs/${this.jobId}/history?max_points=${HISTORY_POINTS}`)
        .then((history) => this.loss.set(history.points))
        .then(() => this.loss.extend(this.backlog))
        .finally(() => { this.backlog = null; });
    } else {
      this.loss.extend(points);
    }
  }

  async cancel() {
    this.cancelButton.disabled = true;
    try {
      this.render(await api(`/api/jobs/${this.jobId}/cancel`, { method: "POST" }));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
  }

  /** Show a job summary or detail: status, progress, clock, actions. */
  render(job) {
    part(this.root, "id").textContent = job.id;
    setBadge(part(this.root, "status"), job.status);
    const active = !FINAL.has(job.status);
    this.setProgress(job.progress, job.epoch, job.epochs);
    this.setLosses(job.train_loss, job.val_loss);
    part(this.root, "stage").textContent = active ? job.stage ?? "waiting" : "finished";
    // While it trains, the progress says more than the message (which would go stale).
    this.showMessage(job.status === "running" && !job.cancel_requested ? "" : job.message);
    this.cancelButton.hidden = !active;
    this.cancelButton.disabled = job.cancel_requested;
    const download = part(this.root, "download");
    download.hidden = !job.weights_url;
    if (job.weights_url) {
      download.href = job.weights_url;
      download.download = `ssots-weights-${job.id}.json`;
    }
    this.stopClock();
    part(this.root, "elapsed").textContent = duration(job.elapsed_seconds);
    if (job.status === "running") this.startClock(job.elapsed_seconds ?? 0);
  }

  showMessage(message) {
    part(this.root, "message").textContent = message ?? "";
  }

  setProgress(value, epoch, epochs) {
    const bar = part(this.root, "progress");
    const rounded = Math.round(value ?? 0);
    bar.setAttribute("aria-valuenow", rounded);
    bar.firstElementChild.style.width = `${value ?? 0}%`;
    part(this.root, "percent").textContent = `${rounded}%`;
    part(this.root, "epoch").textContent = `epoch ${epoch} / ${epochs}`;
  }

  setLosses(train, validation) {
    part(this.root, "train-loss").textContent = number(train);
    part(this.root, "val-loss").textContent = number(validation);
  }

  /** Tick the elapsed time once a second, starting from `seconds`. */
  startClock(seconds) {
    this.stopClock();
    const start = performance.now() - seconds * 1000;
    const element = part(this.root, "elapsed");
    const tick = () => { element.textContent = duration((performance.now() - start) / 1000); };
    tick();
    this.clock = setInterval(tick, 1000);
  }

  stopClock() {
    clearInterval(this.clock);
    this.clock = null;
  }

  /** Show a job that has ended, with its results when it succeeded. */
  finish(job) {
    this.render(job);
    if (job.status === "succeeded") {
      this.setProgress(100, job.epoch, job.epochs);
      this.showResults(job.result);
      showEvidence(part(this.root, "evidence"), job.result.evidence ?? null, job.verdict);
    }
  }

  showResults(result) {
    const results = part(this.root, "results");
    results.hidden = false;
    part(this.root, "metrics").replaceChildren(...METRICS.map(([key, label, better]) =>
      metricCard(key, label, better, result.metrics, result.baselines)));
    weightsChart(part(this.root, "weights-chart"), result.parameters);
    this.showBacktest(result.backtest);
    this.showWalkForward(result.walk_forward);
  }

  showBacktest(backtest) {
    const ruined = backtest.ruined ?? {};
    const notes = [];
    const fallen = BOOKS.filter(([book]) => ruined[book]).map(([, name]) => name);
    if (fallen.length) {
      notes.push(`Ruined: ${fallen.join(", ")}: equity fell to ` +
        `${percent(backtest.ruin_floor ?? 0, 0)} of its start, and the book traded no more.`);
    }
    if (backtest.min_cagr_days && BOOKS.some(([book]) => backtest.metrics[book].cagr === null)) {
      notes.push(`CAGR is not annualised over a span under ${backtest.min_cagr_days} days.`);
    }
    part(this.root, "backtest-caption").textContent =
      `${backtest.bars} bars, ${backtest.start.slice(0, 10)} to ${backtest.end.slice(0, 10)}; ` +
      `Q threshold ${number(backtest.threshold, 3)}; fees ${backtest.fee_bp} bp, ` +
      `slippage ${backtest.slippage_bp} bp per unit of position change. ${notes.join(" ")}`;
    equityChart(part(this.root, "equity-chart"), backtest.equity);
    fillTable(part(this.root, "backtest-table"), ["Metric", ...BOOKS.map(([, name]) => name)], [
      ...BOOK_METRICS.map(([key, label, format]) =>
        [label, ...BOOKS.map(([book]) => format(backtest.metrics[book][key]))]),
      ["Ruined", ...BOOKS.map(([book]) => ruinCell(ruined[book]))],
    ]);
  }

  showWalkForward(walkForward) {
    const card = part(this.root, "walk-forward");
    card.hidden = !walkForward;
    if (!walkForward) return;
    const rows = (range) => range[1] - range[0];
    fillTable(part(this.root, "walk-forward-table"),
      ["Fold", "Train rows", "Test rows", "Best epoch", "R²", "IC", "Strategy Sharpe",
        "Q-filtered Sharpe", "Buy and hold Sharpe"],
      walkForward.folds.map((fold) => [
        String(fold.fold), String(rows(fold.train)), String(rows(fold.test)), String(fold.best_epoch),
        number(fold.metrics.r2), number(fold.metrics.ic),
        ...BOOKS.map(([book]) => number(fold.backtest.metrics[book].sharpe, 3)),
      ]));
    const aggregate = walkForward.aggregate;
    part(this.root, "walk-forward-summary").textContent =
      `Pooled R² ${number(aggregate.metrics.r2)}, mean R² ${number(aggregate.mean_r2)}; ` +
      `the Q-filter beat the strategy's Sharpe in ${aggregate.q_filter_beats_strategy} of ` +
      `${walkForward.folds.length} folds.`;
  }
}
