// Reads a JSON list of {where, tex, display} from stdin; prints a JSON list of the ones KaTeX rejects.
const katex = require("katex");
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const failures = [];
  for (const item of JSON.parse(input)) {
    try {
      katex.renderToString(item.tex, { displayMode: item.display, throwOnError: true, strict: "error" });
    } catch (error) {
      failures.push({ where: item.where, tex: item.tex.slice(0, 120), error: String(error.message).slice(0, 200) });
    }
  }
  process.stdout.write(JSON.stringify(failures));
});
