// /datasets: the catalog and local datasets, uploads (picker or drag and drop) with
// progress and the loader's report, and a candlestick preview of any dataset.

import { api, upload } from "./api.js";
import { candleChart } from "./charts.js";
import { fillTable, h, notice, number, part } from "./format.js";

const CANDLES = 500;
const TABLE_ROWS = 5;
const SOURCES = { demo: "Demo", kaggle: "Kaggle", upload: "Uploaded", local: "Registered" };

const form = document.getElementById("upload-form");
const fileInput = document.getElementById("upload-file");
const dropzone = part(form, "dropzone");
const progress = part(form, "upload-progress");
const status = part(form, "upload-status");
const previewCard = part(document, "preview");

const PRICE = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const VOLUME = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 2 });

function span(item) {
  return item.start ? `${item.start.slice(0, 10)} – ${item.end.slice(0, 10)}` : "–";
}

function sourceLabel(item) {
  if (item.source === "kaggle") return item.registered ? "Kaggle (downloaded)" : "Kaggle catalog";
  return SOURCES[item.source];
}

function actions(item) {
  const previewable = item.source === "demo" || item.registered;
  return h("div", { className: "row-actions" },
    previewable && h("button", { type: "button", className: "button small", onclick: () => preview(item.id),
      "aria-label": `Preview ${item.name}` }, "Preview"),
    item.trainable && h("a", { className: "button small", href: `/training?dataset=${encodeURIComponent(item.id)}`,
      "aria-label": `Train on ${item.name}` }, "Train"),
    item.registered && h("button", { type: "button", className: "button small danger",
      onclick: () => remove(item), "aria-label": `Delete ${item.name}` }, "Delete"));
}

async function loadDatasets() {
  const { datasets } = await api("/api/datasets");
  part(document, "datasets").replaceChildren(...datasets.map((item) =>
    h("tr", { "data-dataset-id": item.id },
      h("td", { "data-label": "Name" }, h("div", {}, h("span", { className: "dataset-name" }, item.name),
        item.handle && h("span", { className: "hint mono" }, item.handle))),
      h("td", { "data-label": "Source" }, sourceLabel(item)),
      h("td", { "data-label": "Rows", className: "num" }, number(item.rows)),
      h("td", { "data-label": "Span", className: "nowrap" }, span(item)),
      h("td", { "data-label": "Spacing" }, item.spacing ?? "–"),
      h("td", { "data-label": "" }, actions(item)))));
}

async function remove(item) {
  if (!confirm(`Delete dataset ${item.name}?`)) return;
  try {
    await api(`/api/datasets/${item.id}`, { method: "DELETE" });
    if (previewCard.dataset.datasetId === item.id) previewCard.hidden = true;
    await loadDatasets();
  } catch (error) {
    notice(error.message);
  }
}

/** Show a dataset's candlesticks with volume and a table of its first and last rows. */
async function preview(id) {
  const dataset = await api(`/api/datasets/${id}?rows=${TABLE_ROWS}&candles=${CANDLES}`);
  const { columns, rows: head } = dataset.preview;
  const { rows: candles, bars_per_candle: merged } = dataset.candles;
  previewCard.hidden = false;
  previewCard.dataset.datasetId = id;
  part(previewCard, "preview-name").textContent = dataset.name;
  part(previewCard, "preview-train").href = `/training?dataset=${encodeURIComponent(id)}`;
  const perCandle = merged > 1 ? `; each candle merges ${merged} bars` : "";
  part(previewCard, "preview-summary").textContent =
    `${number(dataset.rows)} rows, ${span(dataset)}, spacing ${dataset.spacing}${perCandle}.` +
    qualitySummary(dataset.report?.quality);
  await candleChart(part(previewCard, "candles"), candles);
  const edge = dataset.rows > 2 * TABLE_ROWS ? [...head, null, ...dataset.tail.rows]
    : dataset.tail.rows.length === dataset.rows ? dataset.tail.rows : head;
  fillTable(part(previewCard, "preview-table"), columns, edge.map((row) => row
    ? [row[0].replace("T", " ").replace("+00:00", ""), ...row.slice(1, 5).map(PRICE.format), VOLUME.format(row[5])]
    : columns.map(() => "…")));
  previewCard.scrollIntoView({ behavior: "smooth", block: "start" });
}

/** A time as "2024-01-31" (midnight) or "2024-01-31 13:00". */
function when(iso) {
  return iso.slice(0, 16).replace("T", " ").replace(" 00:00", "");
}

/** The loader's data checks: gaps, price outliers and zero-volume runs. */
function qualityBlock(quality) {
  if (!quality) return [h("p", { className: "muted" }, "Data checks were not run when this dataset was registered.")];
  const gaps = quality.gaps.map((gap) => h("li", {},
    `${when(gap.after)} → ${when(gap.before)}: ${number(gap.missing_bars)} missing bars ` +
    `(${number(gap.spacings, 3)}× the spacing)`));
  const outliers = quality.outliers.map((outlier) => h("li", {},
    `${when(outlier.time)}: ${outlier.column} ${number(outlier.value, 6)} is ` +
    `${number(outlier.ratio, 3)}× the median close ${number(outlier.median, 6)} around it`));
  const runs = [...quality.zero_volume_runs].sort((a, b) => b.bars - a.bars).slice(0, 5)
    .map((run) => h("li", {}, `${when(run.start)} → ${when(run.end)}: ${number(run.bars)} bars`));
  const blocked = quality.gaps_block_training && h("p", { className: "chip bad", "data-el": "gap-warning" },
    `Training refuses gaps over ${quality.max_training_gap}× the spacing unless "Allow gaps" is set.`);
  return [
    h("div", { "data-el": "quality-gaps" },
      h("p", {}, `Gaps: ${number(quality.gap_count)} (steps over ${quality.gap_multiple}× the median spacing)`),
      blocked, gaps.length ? h("ul", {}, gaps) : null),
    h("div", { "data-el": "quality-outliers" },
      h("p", {}, `Price outliers: ${number(quality.outlier_count)} (${quality.outlier_rule})`),
      outliers.length ? h("ul", {}, outliers) : null),
    h("div", { "data-el": "quality-volume" },
      h("p", {}, `Zero volume: ${number(quality.zero_volume_bars)} bars in ` +
        `${number(quality.zero_volume_run_count)} run(s)${runs.length ? "; the longest:" : ""}`),
      runs.length ? h("ul", {}, runs) : null),
  ];
}

/** One line for the preview: what the data checks found. */
function qualitySummary(quality) {
  if (!quality) return "";
  const found = [
    quality.gap_count && `${number(quality.gap_count)} gap(s)`,
    quality.outlier_count && `${number(quality.outlier_count)} price outlier(s)`,
    quality.zero_volume_bars && `${number(quality.zero_volume_bars)} zero-volume bars`,
  ].filter(Boolean);
  const blocked = quality.gaps_block_training ? " Training needs \"Allow gaps\"." : "";
  return found.length ? ` Data checks: ${found.join(", ")}.${blocked}` : " Data checks: nothing found.";
}

function showReport(result) {
  const { report } = result;
  const layout = report.layout ?? {};
  const facts = [
    ["Rows", `${number(report.rows)} (read ${number(report.rows_read)})`],
    ["Span", span(report)],
    ["Spacing", report.spacing],
    ["Format", `${layout.format ?? "–"}${layout.delimiter ? `, delimiter "${layout.delimiter}"` : ""}`],
    ["Time column", layout.time_column ? `${layout.time_column} (${layout.time_format ?? "auto"})` : "–"],
  ];
  const mapping = Object.entries(layout.columns ?? {}).map(([key, name]) => `${key} ← "${name}"`);
  const repairs = report.repairs.length
    ? h("ul", {}, report.repairs.map((repair) => h("li", {}, repair)))
    : h("p", { className: "muted" }, "No repairs were needed.");
  const card = part(document, "report");
  card.hidden = false;
  card.replaceChildren(
    h("h3", {}, `Loader report: ${result.name}`),
    h("dl", { className: "facts" }, facts.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value)))),
    h("p", { className: "muted" }, `Columns: ${mapping.join(", ") || "–"}`),
    h("h4", {}, "Repairs"), repairs,
    h("h4", {}, "Data checks"), ...qualityBlock(report.quality));
}

function setProgress(fraction) {
  const value = Math.round(fraction * 100);
  progress.setAttribute("aria-valuenow", value);
  progress.firstElementChild.style.width = `${value}%`;
}

async function send(file) {
  const body = new FormData();
  body.append("file", file);
  const name = form.elements.name.value.trim();
  if (name) body.append("name", name);
  progress.hidden = false;
  setProgress(0);
  status.textContent = `Uploading ${file.name}…`;
  try {
    const result = await upload("/api/datasets", body, (fraction) => {
      setProgress(fraction);
      status.textContent = fraction < 1 ? `Uploading ${file.name}… ${Math.round(fraction * 100)}%`
        : `Checking ${file.name}…`;
    });
    setProgress(1);
    status.textContent = `Registered ${result.name}: ${number(result.rows)} rows.`;
    showReport(result);
    await loadDatasets();
    await preview(result.id);
  } catch (error) {
    progress.hidden = true;
    status.textContent = `${file.name} was not accepted: ${error.message}`;
  } finally {
    fileInput.value = "";
  }
}

fileInput.addEventListener("change", () => fileInput.files[0] && send(fileInput.files[0]));
dropzone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropzone.classList.add("dragging");
});
dropzone.addEventListener("dragleave", () => dropzone.classList.remove("dragging"));
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropzone.classList.remove("dragging");
  const [file] = event.dataTransfer.files;
  if (file) send(file);
});

loadDatasets().catch((error) => notice(error.message));
