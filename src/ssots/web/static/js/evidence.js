// Evidence of skill (ssots.evidence): the verdict line and the intervals and tests of a
// result, on the job, model and compare pages. The verdict text is the server's.

import { fillTable, h, number, part } from "./format.js";
import { SPEC } from "./spec.js";

const CORRELATIONS = [
  ["raw_rank_ic", "Rank IC (raw Q)"], ["rank_ic", "Rank IC (calibrated Q)"], ["ic", "IC (calibrated Q)"],
];
const BOOKS = Object.entries(SPEC.books); // [name, display name], as ssots.spec.BOOKS

/** A p-value with two significant digits ("0.41", "0.003"); "" when there is none. */
export function pValue(p) {
  return p === null || p === undefined ? "" : `p = ${Number(p.toPrecision(p >= 0.001 ? 2 : 1))}`;
}

/** "[low, high]" of an interval, "–" when it is undefined. */
export function interval(found) {
  if (!found || found.low === null || found.high === null) return "–";
  return `[${number(found.low, 3)}, ${number(found.high, 3)}]`;
}

/** The verdict line: text and whether it found skill (true, false or null: none recorded). */
export function verdictLine(text, skill) {
  return h("p", {
    className: "verdict", "data-el": "verdict", "data-skill": skill === null || skill === undefined ? "none" : String(skill),
  }, text);
}

function rows(section) {
  const { intervals, ranking, filter, psr = {} } = section;
  const psrText = (book) => (psr[book] === null || psr[book] === undefined ? "" : `PSR ${number(psr[book], 2)}`);
  const gain = intervals.sharpe_gain ?? { value: filter.observed, low: null, high: null };
  return [
    ...CORRELATIONS.map(([key, label]) => [label, number(intervals[key].value, 3), interval(intervals[key]),
      key === "raw_rank_ic" ? pValue(ranking.p_value) : ""]),
    ...BOOKS.map(([book, label]) => [`Sharpe ${label}`, number(intervals.sharpe[book].value, 3),
      interval(intervals.sharpe[book]), psrText(book)]),
    [section.folds ? "Sharpe gain of the Q-filter (mean of folds)" : "Sharpe gain of the Q-filter",
      number(gain.value, 3), interval(gain), pValue(filter.p_value)],
  ];
}

/** Fill `table` with an evidence section's statistics. */
export function evidenceTable(table, section) {
  fillTable(table, ["Statistic", "Value", `${Math.round(section.level * 100)}% interval`, "Test"], rows(section));
}

/**
 * Show a result's evidence in the card `root` (the job view's evidence card).
 * @param {HTMLElement} root
 * @param {object|null} evidence the weights document's evidence section
 * @param {string|null} verdict the server's headline verdict (GET /api/jobs/{id} "verdict")
 */
export function showEvidence(root, evidence, verdict) {
  part(root, "verdict-slot").replaceChildren(
    verdictLine(verdict ?? "no evidence recorded", evidence ? evidence.skill : null));
  const hasEvidence = Boolean(evidence);
  part(root, "evidence-tables").hidden = !hasEvidence;
  if (!hasEvidence) return;
  evidenceTable(part(root, "evidence-table"), evidence.test);
  const pooled = evidence.walk_forward;
  part(root, "evidence-pooled").hidden = !pooled;
  if (pooled) {
    evidenceTable(part(root, "evidence-pooled-table"), pooled);
    fillTable(part(root, "evidence-folds-table"), ["Fold", "Rank IC (raw Q)", "Test", "Sharpe gain"],
      pooled.folds.raw_rank_ic.map((value, index) => [String(index + 1), number(value, 3),
        pValue(pooled.folds.p_value[index]), number(pooled.folds.sharpe_gain[index], 3)]));
  }
  const test = evidence.test;
  part(root, "evidence-note").textContent =
    `Intervals: stationary bootstrap (${test.reps} resamples, block lengths from the data by the ` +
    `Politis-White rule, seed ${test.seed}). p: the raw Q circularly shifted against the labels ` +
    `(rank IC) and filters with the same exposure placed by the shifted Q (Sharpe gain); PSR: ` +
    `the probability that the true Sharpe ratio is above 0.`;
}
