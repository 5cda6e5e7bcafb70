// Text elements whose colours fall below WCAG AA: 4.5:1, or 3:1 for large text (>= 24 px,
// or >= 18.66 px bold). Semi-transparent backgrounds are composed over their ancestors'.
// Evaluated in the page by browser_support.contrast_failures.
(() => {
  const rgba = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const over = ([r, g, b, a = 1], [R, G, B]) => [r * a + R * (1 - a), g * a + G * (1 - a), b * a + B * (1 - a)];
  const background = (element) => {
    const layers = [];
    for (let node = element; node; node = node.parentElement) {
      const color = rgba(getComputedStyle(node).backgroundColor);
      if (color.length && (color[3] ?? 1) > 0) layers.push(color);
      if (color.length && (color[3] ?? 1) === 1) break;
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255]);
  };
  const failures = [];
  for (const element of document.querySelectorAll("body *")) {
    const text = [...element.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data).join("").trim();
    const box = element.getBoundingClientRect();
    if (!text || !box.width || element.closest("svg, .sr-only, :disabled, .skip-link")) continue;
    const style = getComputedStyle(element);
    if (style.visibility === "hidden") continue;
    const back = background(element);
    const front = over(rgba(style.color), back);
    const [light, dark] = [luminance(front), luminance(back)].sort((a, b) => b - a);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) failures.push(`${text.slice(0, 40)}: ${ratio.toFixed(2)}`);
  }
  return failures;
})
