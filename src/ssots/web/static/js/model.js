// /models/{name}: versions (metrics over versions as a chart), aliases with their history,
// promote and rollback, comparing versions, and scoring the latest bars with a version.

import { api } from "./api.js";
import { versionsChart } from "./charts.js";
import { verdictLine } from "./evidence.js";
import { dateTime, fillTable, h, notice, number, part } from "./format.js";
import { TraderViews } from "./traderviews.js";

const NAME = JSON.parse(document.getElementById("model-name").textContent);
const BASE = `/api/models/${encodeURIComponent(NAME)}`;
const PROMOTE_TO = "champion";
/** Metrics drawn over versions when present (a few, so the chart stays readable). */
const CHART_METRICS = ["rank_ic", "ic", "r2"];
const trader = new TraderViews(document.querySelector("[data-trader-views]"));

/** The trader's views of version `number`'s test block. */
function showVersion(number) {
  return trader.show(`${BASE}/versions/${number}`, `ssots-trades-${NAME}-v${number}`);
}

/** Offer every version in the test-block picker; the first time, show the newest. */
async function pickVersions(versions) {
  const pick = part(document, "views-version");
  const chosen = pick.value;
  pick.replaceChildren(...versions.map((v) => h("option", { value: v.version }, `v${v.version}`)));
  if ([...pick.options].some((option) => option.value === chosen)) pick.value = chosen;
  else if (versions.length) await showVersion(versions[0].version);
}

async function guarded(action) {
  try {
    notice(null);
    await action();
  } catch (error) {
    notice(error.message);
  }
}

function versionRow(version, button) {
  const box = h("input", { type: "checkbox", "data-version": version.version, "aria-label": `Select version ${version.version}` });
  box.addEventListener("change", () => {
    button.disabled = document.querySelectorAll("input[data-version]:checked").length < 2;
  });
  const promote = h("button", { type: "button", className: "button small", "data-promote": version.version },
    `Make ${PROMOTE_TO}`);
  promote.disabled = version.aliases.includes(PROMOTE_TO);
  promote.addEventListener("click", () => guarded(async () => {
    await api(`${BASE}/aliases/${PROMOTE_TO}`, {
      method: "PUT", json: { version: version.version, reason: "promoted in the dashboard" },
    });
    await load();
  }));
  return h("tr", { "data-version-row": version.version },
    h("td", { "data-label": "Select" }, box),
    h("td", { "data-label": "Version" }, h("span", { className: "mono" }, `v${version.version}`)),
    h("td", { "data-label": "Run", className: "mono" }, version.run_id ?? "–"),
    h("td", { "data-label": "Rank IC", className: "num" }, number(version.metrics.rank_ic)),
    h("td", { "data-label": "R²", className: "num" }, number(version.metrics.r2)),
    h("td", { "data-label": "Evidence of skill", className: "verdict-cell" },
      verdictLine(version.verdict ?? "no evidence recorded", version.skill)),
    h("td", { "data-label": "Aliases" }, version.aliases.join(", ") || "–"),
    h("td", { "data-label": "Created", className: "nowrap" }, dateTime(version.created_at)),
    h("td", { "data-label": "Actions" }, promote));
}

async function aliasBlock(alias, current) {
  const { history } = await api(`${BASE}/aliases/${encodeURIComponent(alias)}/history`);
  const rollback = h("button", { type: "button", className: "button small", "data-rollback": alias }, "Roll back");
  rollback.disabled = history.length < 2;
  rollback.addEventListener("click", () => guarded(async () => {
    await api(`${BASE}/aliases/${encodeURIComponent(alias)}/rollback`, {
      method: "POST", json: { reason: "rolled back in the dashboard" },
    });
    await load();
  }));
  const table = h("table", { className: "table" }, h("caption", { className: "sr-only" }, `History of ${alias}`));
  fillTable(table, ["#", "When", "Move", "Who", "Why"], [...history].reverse().map((event) => [
    String(event.seq), dateTime(event.at), `${event.kind}: ${event.from == null ? "–" : `v${event.from}`} → v${event.to}`,
    event.who, event.reason || "–",
  ]));
  return h("div", { className: "alias", "data-alias": alias },
    h("div", { className: "card-head" },
      h("h3", {}, `${alias} → `, h("span", { "data-el": `alias-${alias}` }, `v${current}`)), rollback),
    h("div", { className: "table-wrap" }, table));
}

async function load() {
  const [model, { versions }] = await Promise.all([api(BASE), api(`${BASE}/versions`)]);
  const button = part(document, "compare");
  button.disabled = true;
  part(document, "versions").replaceChildren(...(versions.length
    ? versions.map((version) => versionRow(version, button))
    : [h("tr", {}, h("td", { colSpan: 9, className: "muted" }, "No versions yet."))]));
  const ascending = [...versions].reverse();
  const series = Object.fromEntries(CHART_METRICS
    .filter((metric) => ascending.some((v) => typeof v.metrics[metric] === "number"))
    .map((metric) => [metric, ascending.map((v) => v.metrics[metric] ?? null)]));
  versionsChart(part(document, "metrics-chart"), ascending.map((v) => v.version), series);
  const aliases = Object.entries(model.aliases);
  part(document, "aliases").replaceChildren(...(aliases.length
    ? await Promise.all(aliases.map(([alias, version]) => aliasBlock(alias, version)))
    : [h("p", { className: "muted" }, `No aliases yet: "Make ${PROMOTE_TO}" on a version sets one.`)]));
  const use = document.getElementById("score-use");
  const chosen = use.value;
  use.replaceChildren(h("option", { value: "" }, "latest"),
    ...aliases.map(([alias, version]) => h("option", { value: `alias=${alias}` }, `${alias} (v${version})`)),
    ...versions.map((v) => h("option", { value: `version=${v.version}` }, `v${v.version}`)));
  if ([...use.options].some((option) => option.value === chosen)) use.value = chosen;
  await pickVersions(versions);
}

async function score(form) {
  const use = form.elements.use.value;
  const result = await api(`${BASE}/score${use ? `?${use}` : ""}`, {
    method: "POST", json: { dataset: form.elements.dataset.value, last: Number(form.elements.last.value) },
  });
  const taken = result.bars.filter((bar) => bar.take).length;
  part(document, "score-summary").textContent = `Scored with ${result.uri}` +
    `${result.alias ? ` (${result.alias})` : ""}, strategy ${result.strategy}, threshold ` +
    `${number(result.threshold)}: ${taken} taken, ${result.bars.length - taken} skipped.`;
  fillTable(part(document, "score"), ["Time", "Close", "Call", "Q (calibrated)", "Q (raw)", "Filter"],
    result.bars.map((bar) => [dateTime(bar.time), number(bar.close, 6), String(bar.call), number(bar.q),
      number(bar.q_raw), bar.take ? "taken" : "skipped"]));
}

async function init() {
  const { datasets } = await api("/api/datasets");
  document.getElementById("score-dataset").replaceChildren(...datasets
    .filter((item) => item.source === "demo" || item.registered)
    .map((item) => h("option", { value: item.source === "demo" ? "demo" : item.id }, item.name)));
  await load();
  part(document, "compare").addEventListener("click", () => {
    const chosen = [...document.querySelectorAll("input[data-version]:checked")].map((box) => box.dataset.version);
    location.href = `/compare?model=${encodeURIComponent(NAME)}&versions=${chosen.join(",")}`;
  });
  part(document, "views-version").addEventListener("change", (event) => {
    guarded(() => showVersion(event.target.value));
  });
  part(document, "score-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(() => score(event.target));
  });
}

init().catch((error) => notice(error.message));
