// A table of jobs (the overview, the training history and /jobs): each row links to its
// job page; R² shows for jobs that succeeded.

import { badge, dateTime, duration, h, number } from "./format.js";
import { SPEC } from "./spec.js";

/** Display names of datasets by id, from GET /api/datasets. */
export function datasetNames(datasets) {
  return Object.fromEntries(datasets.map((item) => [item.id, item.name]));
}

function row(job, names, strategies) {
  const r2 = h("td", { "data-label": "R²", className: "num" }, job.r2 == null ? "–" : number(job.r2));
  const dataset = names[job.dataset] ?? job.dataset;
  return h("tr", { "data-job-id": job.id },
    h("td", { "data-label": "Job" }, h("a", { href: `/jobs/${job.id}`, className: "mono" }, job.id)),
    h("td", { "data-label": "Status" }, badge(job.status)),
    h("td", { "data-label": "Dataset", className: "clip", title: dataset }, dataset),
    h("td", { "data-label": "Strategy" }, strategies[job.strategy] ?? job.strategy ?? "–"),
    h("td", { "data-label": "Epochs", className: "num" }, `${job.epoch} / ${job.epochs}`),
    r2,
    h("td", { "data-label": "Created", className: "nowrap" }, dateTime(job.created_at)),
    h("td", { "data-label": "Duration", className: "num" }, duration(job.elapsed_seconds)));
}

/**
 * Fill `tbody` (marked data-jobs) with `jobs`.
 * @param {HTMLElement} tbody
 * @param {object[]} jobs job summaries from GET /api/jobs
 * @param {Record<string, string>} names dataset names by id
 */
export function showJobs(tbody, jobs, names = {}) {
  tbody.replaceChildren(...(jobs.length
    ? jobs.map((job) => row(job, names, SPEC.strategies))
    : [h("tr", {}, h("td", { colSpan: 8, className: "muted" }, "No jobs yet."))]));
}
