// The run vocabulary of ssots.spec (strategies, label modes, books, job statuses, the demo
// dataset, every training field with its default and range), embedded in every page by the
// server: scripts read it here and never restate it.

export const SPEC = JSON.parse(document.getElementById("ssots-spec").textContent);
export const FINAL = new Set(SPEC.finalStatuses);
/** The POST /api/train dataset fields that train on the demo data. */
export const DEMO_REQUEST = { datasetSource: "demo", dataset: SPEC.demo.title };
