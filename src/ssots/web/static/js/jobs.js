// /jobs: every job, newest first, filtered by ?status= and paged by ?offset=.

import { api } from "./api.js";
import { notice, part } from "./format.js";
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

async function init() {
  const filter = status ? `&status=${encodeURIComponent(status)}` : "";
  const [{ datasets }, page] = await Promise.all([
    api("/api/datasets"), api(`/api/jobs?limit=${PAGE}&offset=${offset}${filter}`),
  ]);
  showJobs(document.querySelector("[data-jobs]"), page.jobs, datasetNames(datasets));
  part(document, "count").textContent = `(${page.total})`;
  const last = Math.min(offset + page.jobs.length, page.total);
  part(document, "range").textContent = page.total ? `${offset + 1}–${last} of ${page.total}` : "";
  if (offset > 0) pageLink(part(document, "prev"), Math.max(0, offset - PAGE));
  if (last < page.total) pageLink(part(document, "next"), offset + PAGE);
}

init().catch((error) => notice(error.message));
