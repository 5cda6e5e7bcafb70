// /jobs: every job, newest first, filtered by ?status= and paged by ?offset=.

import { api } from "./api.js";
import { h, notice, part } from "./format.js";
import { datasetNames, showJobs } from "./jobs-table.js";

const PAGE = 20;
const query = new URLSearchParams(location.search);
const status = query.get("status") ?? "";
const offset = Math.max(0, Number.parseInt(query.get("offset") ?? "0", 10) || 0);

function pageLink(element, start) {
  const target = new URLSearchParams({ ...(status && { status }), ...(start && { offset: start }) });
  element.href = `/jobs${target.size ? `?${target}` : ""}`;
  element.hidden = false;
}

/** A checkbox on each row whose job recorded a run, and the "Compare selected" button. */
async function addCompare(tbody) {
  const { runs } = await api("/api/runs?source=job&limit=500");
  const runOf = Object.fromEntries(runs.map((run) => [run.job_id, run]));
  const button = part(document, "compare");
  const chosen = () => [...tbody.querySelectorAll("input[data-run]:checked")].map((box) => box.dataset.run);
  tbody.closest("table").querySelector("thead tr").prepend(h("th", { scope: "col" }, h("span", { className: "sr-only" }, "Select")));
  for (const row of tbody.querySelectorAll("tr")) {
    const run = runOf[row.dataset.jobId];
    const box = run && h("input", {
      type: "checkbox", "data-run": run.id, "aria-label": `Select run ${run.name} of job ${row.dataset.jobId}`,
    });
    if (box) box.addEventListener("change", () => { button.disabled = chosen().length < 2; });
    if (row.dataset.jobId) row.prepend(h("td", { "data-label": "Select" }, box ?? ""));
  }
  button.addEventListener("click", () => { location.href = `/compare?runs=${chosen().join(",")}`; });
}

async function init() {
  const filter = status ? `&status=${encodeURIComponent(status)}` : "";
  const [{ datasets }, page] = await Promise.all([
    api("/api/datasets"), api(`/api/jobs?limit=${PAGE}&offset=${offset}${filter}`),
  ]);
  const tbody = document.querySelector("[data-jobs]");
  showJobs(tbody, page.jobs, datasetNames(datasets));
  await addCompare(tbody);
  part(document, "count").textContent = `(${page.total})`;
  const last = Math.min(offset + page.jobs.length, page.total);
  part(document, "range").textContent = page.total ? `${offset + 1}–${last} of ${page.total}` : "";
  if (offset > 0) pageLink(part(document, "prev"), Math.max(0, offset - PAGE));
  if (last < page.total) pageLink(part(document, "next"), offset + PAGE);
}

init().catch((error) => notice(error.message));
