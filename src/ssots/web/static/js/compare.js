// /compare?runs=A,B (tracked runs) or /compare?model=NAME&versions=2,3 (versions of a
// model): settings diff, metrics with the best marked, parameters, loss and equity curves.

import { api } from "./api.js";
import { compareEquityChart, compareLossChart, compareParametersChart } from "./charts.js";
import { pValue, verdictLine } from "./evidence.js";
import { fillTable, h, notice, number, part } from "./format.js";

const SMOOTHING = 0.8;
const query = new URLSearchParams(location.search);

function source(all) {
  const flag = all ? "&all=true" : "";
  const model = query.get("model");
  if (model) {
    return `/api/models/${encodeURIComponent(model)}/diff?versions=${encodeURIComponent(query.get("versions") ?? "")}${flag}`;
  }
  return `/api/runs/compare?ids=${encodeURIComponent(query.get("runs") ?? "")}${flag}`;
}

function text(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return number(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function showSpec(data) {
  const labels = data.runs.map((run) => run.label);
  const rows = Object.entries(data.spec).map(([field, values]) => [field, ...values.map(text)]);
  fillTable(part(document, "spec"), ["Setting", ...labels],
    rows.length ? rows : [["(every setting is the same)", ...labels.map(() => "")]]);
}

function showMetrics(data) {
  const labels = data.runs.map((run) => run.label);
  const rows = Object.entries(data.metrics).map(([metric, { values, best, lower_is_better: lower }]) => [
    `${metric}${lower ? " ↓" : ""}`,
    ...values.map((value, index) => index === best
      ? h("strong", { className: "best", title: "best" }, `★ ${text(value)}`)
      : text(value)),
  ]);
  fillTable(part(document, "metrics"), ["Metric", ...labels], rows);
}

function showEvidence(data) {
  const label = Object.fromEntries(data.runs.map((run) => [run.id, run.label]));
  fillTable(part(document, "evidence"), ["Run", "Verdict", "p", "BH-adjusted p", "Verdict across these runs"],
    (data.evidence ?? []).map((item) => [
      label[item.id] ?? item.id,
      verdictLine(item.verdict, item.skill),
      pValue(item.p_value), pValue(item.adjusted_p),
      item.adjusted_verdict ? verdictLine(item.adjusted_verdict, item.adjusted_skill) : "–",
    ]));
}

function showParameters(data) {
  const labels = data.runs.map((run) => run.label);
  compareParametersChart(part(document, "params-chart"), data.parameters, labels);
  const columns = ["Parameter", labels[0], ...labels.slice(1).flatMap((label) => [label, `Δ ${label}`])];
  const rows = Object.entries(data.parameters).map(([name, { values, deltas }]) => [
    name, text(values[0]), ...values.slice(1).flatMap((value, index) => [text(value), text(deltas[index + 1])]),
  ]);
  fillTable(part(document, "params"), columns, rows);
}

function drawLoss(data) {
  compareLossChart(part(document, "loss-chart"), data.histories, data.runs.map((run) => run.label), {
    log: part(document, "log-scale").checked,
    smoothing: part(document, "smooth").checked ? SMOOTHING : 0,
  });
}

async function init() {
  let data = await api(source(false));
  const warning = part(document, "warning");
  warning.hidden = !data.warnings.length;
  warning.textContent = data.warnings.map((text) => `Warning: ${text}`).join(" ");
  document.title = `Compare ${data.runs.map((run) => run.label).join(", ")} · SSO-TS`;
  showSpec(data);
  showMetrics(data);
  showEvidence(data);
  showParameters(data);
  drawLoss(data);
  compareEquityChart(part(document, "equity-chart"), data.equity, data.runs.map((run) => run.label));
  part(document, "log-scale").addEventListener("change", () => drawLoss(data));
  part(document, "smooth").addEventListener("change", () => drawLoss(data));
  part(document, "all-fields").addEventListener("change", async (event) => {
    data = await api(source(event.target.checked)).catch((error) => notice(error.message)) ?? data;
    showSpec(data);
  });
}

init().catch((error) => notice(error.message));
