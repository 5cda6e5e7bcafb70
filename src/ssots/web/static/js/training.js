// /training: the configuration form (validated in the browser and by the server's 422),
// the live job view, and the training history. ?job=ID shows (and follows) that job, so
// reloading the page mid-training picks the stream up again.

import { ApiError, api } from "./api.js";
import { h, notice, part } from "./format.js";
import { datasetNames, showJobs } from "./jobs-table.js";
import { JobView } from "./jobview.js";
import { DEMO_REQUEST, FINAL, SPEC } from "./spec.js";

const HISTORY_ROWS = 10;
const GROUPS = [
  ["Demo", (item) => item.source === "demo"],
  ["Kaggle catalog", (item) => item.source === "kaggle" && !item.registered],
  ["Registered", (item) => item.registered && item.source !== "upload"],
  ["Uploaded", (item) => item.source === "upload"],
];
/** Request fields whose errors belong to another input of the form. */
const FIELD_OF = { datasetSource: "dataset", kaggleDataset: "dataset" };

const form = document.getElementById("train-form");
const start = part(form, "start");
const historyBody = document.querySelector("[data-jobs]");
const view = new JobView(document.querySelector("[data-job-view]"), {
  onFinish: () => {
    start.disabled = false;
    refreshHistory();
  },
});
let datasets = {};

function optionLabel(item) {
  if (item.source === "demo") return `${item.name} (synthetic)`;
  if (!item.registered) return item.trainable ? item.name : `${item.name} (not price data)`;
  return `${item.name} (${item.rows} rows, ${item.spacing})`;
}

async function loadDatasets() {
  const items = (await api("/api/datasets")).datasets;
  datasets = Object.fromEntries(items.map((item) => [item.id, item]));
  const select = form.elements.dataset;
  const wanted = new URLSearchParams(location.search).get("dataset") ?? select.value;
  select.replaceChildren(...GROUPS.map(([label, member]) => {
    const options = items.filter(member).map((item) =>
      h("option", { value: item.id, disabled: !item.trainable }, optionLabel(item)));
    return options.length ? h("optgroup", { label }, options) : null;
  }).filter(Boolean));
  if (datasets[wanted]?.trainable) select.value = wanted;
  onDatasetChange();
  return items;
}

/** The demo's length and spacing apply to the demo only. */
function onDatasetChange() {
  const notDemo = datasets[form.elements.dataset.value]?.source !== "demo";
  form.elements.demoDays.disabled = notDemo;
  form.elements.demoFreq.disabled = notDemo;
}

async function refreshHistory(items) {
  const names = datasetNames(items ?? Object.values(datasets));
  const { jobs } = await api(`/api/jobs?limit=${HISTORY_ROWS}`);
  showJobs(historyBody, jobs, names);
}

function labelOf(input) {
  return form.querySelector(`label[for="${input.id}"]`).textContent;
}

/** The message for an input the browser finds invalid. */
function problem(input) {
  const { validity } = input;
  const label = labelOf(input);
  if (validity.valueMissing) return `${label} is required.`;
  if (validity.badInput) return `${label} must be a number.`;
  if (validity.rangeUnderflow || validity.rangeOverflow) {
    return input.max ? `${label} must be between ${input.min} and ${input.max}.`
      : `${label} must be at least ${input.min}.`;
  }
  if (validity.stepMismatch) return `${label} must be a whole number.`;
  if (validity.patternMismatch) return input.dataset.patternMessage;
  return input.validationMessage;
}

/** Show (or clear, with null) the message next to field `name`. */
function fieldError(name, message) {
  const error = document.getElementById(`f-${name}-error`);
  error.hidden = !message;
  error.textContent = message ?? "";
  form.elements[name].setAttribute("aria-invalid", message ? "true" : "false");
}

function formError(message) {
  const error = part(form, "form-error");
  error.hidden = !message;
  error.textContent = message ?? "";
}

function focusField(input) {
  input.closest("details")?.setAttribute("open", "");
  input.focus();
}

/** Check every field in the browser; focus the first invalid one. */
function validate() {
  let first = null;
  for (const input of form.querySelectorAll("input, select")) {
    const message = input.disabled || input.validity.valid ? null : problem(input);
    fieldError(input.name, message);
    first ??= message ? input : null;
  }
  if (first) focusField(first);
  return first === null;
}

/** Put the server's 422 issues next to their fields. */
function showServerErrors(detail) {
  if (!Array.isArray(detail)) return formError(String(detail));
  let first = null;
  for (const issue of detail) {
    const name = FIELD_OF[issue.loc[1]] ?? issue.loc[1];
    const message = issue.msg.replace(/^Value error, /, "").replaceAll("`", "");
    if (!form.elements[name]) {
      formError(message);
      continue;
    }
    if (form.elements[name] === first) continue; // one message per field
    first ??= form.elements[name];
    fieldError(name, message);
  }
  if (first) focusField(first);
  return null;
}

/** The POST /api/train body of the form: every enabled, non-empty field of the spec. */
function requestBody() {
  const item = datasets[form.elements.dataset.value];
  const body = { ...(item?.train_request ?? DEMO_REQUEST) };
  for (const field of SPEC.fields) {
    const input = field.name === "dataset" ? null : form.elements[field.api];
    if (field.type === "boolean" && input && !input.disabled) {
      body[field.api] = input.checked;
      continue;
    }
    const value = input?.value.trim();
    if (!input || input.disabled || !value) continue;
    body[field.api] = field.type === "integer" || field.type === "number" ? Number(value) : value;
  }
  return body;
}

async function submit(event) {
  event.preventDefault();
  formError(null);
  if (!validate()) return;
  start.disabled = true;
  let jobId;
  try {
    ({ jobId } = await api("/api/train", { method: "POST", json: requestBody() }));
  } catch (error) {
    start.disabled = false;
    if (error instanceof ApiError && error.status === 422) showServerErrors(error.detail);
    else formError(error.message);
    return;
  }
  history.replaceState(null, "", `/training?job=${jobId}`);
  await view.show(jobId);
  refreshHistory();
}

form.addEventListener("submit", submit);
form.elements.dataset.addEventListener("change", onDatasetChange);
// A shown error is updated while the field is edited; new errors wait for the next submit.
// (Errors appearing or vanishing on blur would move the buttons away under the pointer.)
form.addEventListener("input", (event) => {
  const input = event.target;
  if (input.getAttribute("aria-invalid") === "true") {
    fieldError(input.name, input.validity.valid ? null : problem(input));
  }
});

async function init() {
  const items = await loadDatasets();
  await refreshHistory(items);
  const jobId = new URLSearchParams(location.search).get("job");
  if (jobId) {
    const job = await view.show(jobId);
    start.disabled = !FINAL.has(job.status);
  }
}

init().catch((error) => notice(error.message));
