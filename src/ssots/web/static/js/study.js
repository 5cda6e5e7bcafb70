// /studies/{id}: a study live over Server-Sent Events: its status, the four figures of
// optuna.visualization (Plotly JSON from the API, drawn with the bundled plotly.min.js),
// the trials sortable by value, the one test evaluation of the refitted best trial, stop,
// and "register best as model version".

import { api, followEvents } from "./api.js";
import { badge, fillTable, h, notice, number, part, setBadge } from "./format.js";

const { Plotly } = window;
const ID = JSON.parse(document.getElementById("study-id").textContent);
const BASE = `/api/studies/${ID}`;
const FIGURES = ["history", "importances", "parallel", "intermediate"];
const FINAL = ["finished", "stopped", "failed"];
const DARK = {
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { color: "#c9d1d9" },
  margin: { l: 56, r: 16, t: 48, b: 40 },
};
const CONFIG = { responsive: true, displaylogo: false };
const GRID = "#262f3b";

let trials = [];
let descending = null; // null: by number; true/false: by value

function settingsText(params) {
  return Object.entries(params).map(([key, value]) =>
    `${key}=${typeof value === "number" ? number(value, 3) : String(value)}`).join(", ");
}

function sorted() {
  if (descending === null) return trials;
  const known = trials.filter((t) => t.value !== null);
  const unknown = trials.filter((t) => t.value === null);
  known.sort((a, b) => (descending ? b.value - a.value : a.value - b.value));
  return [...known, ...unknown];
}

function showTrials() {
  const head = part(document, "value-head");
  head.setAttribute("aria-sort", descending === null ? "none" : descending ? "descending" : "ascending");
  part(document, "trials").replaceChildren(...(trials.length ? sorted().map((trial) => h("tr", { "data-trial": trial.number },
    h("td", { "data-label": "#", className: "mono" }, String(trial.number)),
    h("td", { "data-label": "State" }, badge(trial.state)),
    h("td", { "data-label": "Value", className: "num", "data-value": trial.value ?? "" }, number(trial.value)),
    h("td", { "data-label": "Settings", className: "mono" }, settingsText(trial.params)),
    h("td", { "data-label": "Run", className: "mono" }, trial.run_id ?? "–"),
    h("td", { "data-label": "Note" }, trial.retried ? "worker lost: settings queued again"
      : trial.retry_of !== null ? `retry of ${trial.retry_of}` : "")))
    : [h("tr", {}, h("td", { colSpan: 6, className: "muted" }, "No trials yet."))]));
}

function fact(label, value) {
  return h("div", {}, h("dt", {}, label), h("dd", {}, value));
}

function showStudy(study) {
  setBadge(part(document, "status"), study.status);
  part(document, "message").textContent = study.message;
  part(document, "stop").disabled = FINAL.includes(study.status) || study.stop_requested;
  const counts = study.trials;
  part(document, "facts").replaceChildren(
    fact("Objective", `${study.objective} (${study.direction})`),
    fact("Dataset", study.dataset),
    fact("Finished trials", `${study.finished_trials} of ${study.spec.trials}`),
    fact("Running", String(counts.running ?? 0)),
    fact("Pruned", String(counts.pruned ?? 0)),
    fact("Failed", String(counts.fail ?? 0)),
    fact("Best value", number(study.best_value)),
    fact("Best trial", study.best_trial === null ? "–" : String(study.best_trial)));
  const report = study.report;
  if (!report) return;
  part(document, "test-note").textContent = `Best trial ${report.best_trial} refitted and evaluated once on the `
    + `test split, after ${report.trials_run} trials (run ${report.run_id}).`;
  const rows = Object.entries(report.test.metrics ?? {}).map(([key, value]) => [key, number(value)]);
  const book = (report.test.backtest ?? {}).q_filtered ?? {};
  if (book.sharpe !== undefined) rows.push(["Q-filtered Sharpe (annualised)", number(book.sharpe)]);
  const deflated = report.deflated_sharpe;
  rows.push([`Deflated Sharpe ratio (${deflated.n_trials} trials)`, number(deflated.dsr)]);
  rows.push(["Expected max. Sharpe by luck (per bar)", number(deflated.expected_max_sharpe)]);
  fillTable(part(document, "test"), ["Metric", "Test"], rows);
  part(document, "register-form").hidden = false;
}

async function drawFigures() {
  const figures = await api(`${BASE}/figures`);
  for (const name of FIGURES) {
    const element = part(document, `fig-${name}`);
    const figure = figures[name];
    if (!figure) {
      element.replaceChildren(h("p", { className: "muted" }, "Not enough trials to draw this yet."));
      continue;
    }
    if (!element.classList.contains("js-plotly-plot")) element.replaceChildren();
    const { template, ...plain } = figure.layout; // Optuna's light template: the page's dark one instead
    for (const [key, value] of Object.entries(plain)) {
      if (/^[xy]axis\d*$/.test(key)) plain[key] = { ...value, gridcolor: GRID, zerolinecolor: GRID };
    }
    await Plotly.react(element, figure.data, { ...plain, ...DARK }, CONFIG);
  }
}

async function refresh() {
  const [study, listed] = await Promise.all([api(BASE), api(`${BASE}/trials`)]);
  trials = listed.trials;
  showStudy(study);
  showTrials();
  await drawFigures();
  return study;
}

let pending = null;
function refreshSoon() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    refresh().catch((error) => notice(error.message));
  }, 500);
}

part(document, "sort-value").addEventListener("click", () => {
  descending = descending === null ? true : !descending;
  showTrials();
});

part(document, "stop").addEventListener("click", async () => {
  try {
    showStudy(await api(`${BASE}/stop`, { method: "POST" }));
  } catch (error) {
    notice(error.message);
  }
});

part(document, "register-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = event.target.elements.name.value.trim();
  try {
    notice(null);
    const done = await api(`${BASE}/register`, { method: "POST", json: { name } });
    const shown = part(document, "registered");
    shown.replaceChildren(`${done.created ? "Registered" : "Already registered"} as `,
      h("a", { href: `/models/${encodeURIComponent(done.model)}` }, `${done.model} v${done.version}`), ".");
  } catch (error) {
    notice(error.message);
  }
});

async function start() {
  const study = await refresh();
  if (FINAL.includes(study.status)) return;
  const controller = new AbortController();
  await followEvents(`${BASE}/events`, {
    signal: controller.signal,
    onEvent: (type) => {
      if (type === "done") {
        controller.abort();
        refresh().catch((error) => notice(error.message));
      } else {
        refreshSoon();
      }
    },
  });
}

start().catch((error) => notice(error.message));
