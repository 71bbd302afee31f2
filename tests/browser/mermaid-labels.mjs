// Renders the Mermaid diagram of a Markdown plan the way a reviewer sees it — mermaid 11 from npm,
// in headless Chromium — and checks that hostile names show as written and inject nothing.
//
// usage: node mermaid-labels.mjs PLAN.md EXPECTED.json
//   PLAN.md        the output of `landing-zone plan --format markdown` (its ```mermaid block is drawn)
//   EXPECTED.json  the labels that must be visible, as a JSON list of strings
// Environment: MERMAID_DIR (a folder with node_modules/mermaid and node_modules/playwright-core),
// CHROMIUM (default /usr/bin/chromium). Exit 0 when every check holds, 1 otherwise.

import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";

const [planPath, expectedPath] = process.argv.slice(2);
const modules = resolve(process.env.MERMAID_DIR ?? ".", "node_modules");
const require = createRequire(join(modules, "noop.js"));
const { chromium } = require("playwright-core");

const markdown = readFileSync(planPath, "utf8");
const block = markdown.match(/^(`{3,})mermaid\n([\s\S]*?)\n\1$/m);
if (!block) {
  console.error("no ```mermaid block in the plan");
  process.exit(1);
}
const diagram = block[2];
const expected = JSON.parse(readFileSync(expectedPath, "utf8"));
const mermaidFile = join(modules, "mermaid", "dist", "mermaid.min.js");

const profile = mkdtempSync(join(tmpdir(), "mermaid-check-"));
// A new, empty profile (`--user-data-dir`, which Playwright takes as the persistent context's).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
let failures = [];
try {
  const page = await browser.newPage();
  // Nothing leaves the machine: every request the page makes is refused (an injected <img> too).
  await page.route("**/*", (route) => route.abort());
  const dialogs = [];
  page.on("dialog", async (dialog) => { dialogs.push(dialog.message()); await dialog.dismiss(); });
  await page.setContent("<!doctype html><html><body><div id=graph></div></body></html>");
  // Inlined from the file: the page loads nothing from anywhere.
  await page.addScriptTag({ path: mermaidFile });
  // Drawn twice: through `mermaid.render` (the API), and through `mermaid.run` over a
  // `<pre class="mermaid">` holding the block HTML-escaped, as a Markdown page (a pull-request
  // comment) embeds it. GitHub renders with strict security and HTML labels.
  const result = await page.evaluate(async (text) => {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    const host = document.getElementById("graph");
    const { svg } = await window.mermaid.render("plan", text);
    const api = document.createElement("div");
    api.innerHTML = svg;
    host.appendChild(api);
    const pre = document.createElement("pre");
    pre.className = "mermaid";
    pre.textContent = text;
    host.appendChild(pre);
    await window.mermaid.run({ nodes: [pre] });
    const drawings = [api, pre];
    const labelsOf = (root) => [...root.querySelectorAll(".nodeLabel")]
      .map((node) => node.textContent.trim()).filter((label) => label.length > 0);
    const labels = drawings.map(labelsOf);
    const injected = [...host.querySelectorAll("script, img, iframe, object, embed, a, form, input")]
      .map((node) => node.outerHTML.slice(0, 120));
    const handlers = [...host.querySelectorAll("*")].flatMap((node) =>
      [...node.attributes].filter((attribute) => /^on/i.test(attribute.name) || /javascript:/i.test(attribute.value))
        .map((attribute) => `${node.tagName} ${attribute.name}=${attribute.value.slice(0, 60)}`));
    return { labels, injected, handlers };
  }, diagram);
  await page.waitForTimeout(200);
  for (const [index, labels] of result.labels.entries()) {
    const way = index === 0 ? "mermaid.render" : "mermaid.run on the page";
    if (labels.length === 0) failures.push(`${way}: no label drawn`);
    for (const label of expected) {
      if (!labels.includes(label)) failures.push(`${way}: label not shown as written: ${JSON.stringify(label)}`);
    }
    // Any other label is a name drawn wrong (an escape code shown, a name split or garbled).
    for (const label of labels.filter((label) => !expected.includes(label))) {
      const code = /ﬂ°|¶ß|#(lt|gt|quot|amp|num|grave|\d+);|&(lt|gt|quot|amp|num|grave|#\d+);?/.test(label);
      failures.push(`${way}: ${code ? "label shows an escape code" : "unexpected label"}: ${JSON.stringify(label)}`);
    }
  }
  failures.push(...result.injected.map((element) => `element injected: ${element}`));
  failures.push(...result.handlers.map((handler) => `handler injected: ${handler}`));
  failures.push(...dialogs.map((message) => `a dialog opened: ${message}`));
  if (process.env.DEBUG) console.log(JSON.stringify(result.labels));
  if (failures.length === 0) console.log(`ok: ${expected.length} hostile labels shown as written, nothing injected`);
  else console.log(`labels seen: ${JSON.stringify(result.labels)}`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
for (const failure of failures) console.error(failure);
process.exit(failures.length === 0 ? 0 : 1);
