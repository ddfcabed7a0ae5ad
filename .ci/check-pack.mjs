// Reads `npm pack --json` (or `npm pack --dry-run --json`) on stdin and fails when the package
// ships a test, a benchmark, CI files or TypeScript sources, compiled or not: it holds only
// what runs and what a user reads.
let input = '';
for await (const chunk of process.stdin) input += chunk;
const [pack] = JSON.parse(input);
const files = pack.files.map((f) => f.path);
const wrong = files.filter(
  (path) => /^(dist\/)?(test|bench|\.ci)\//.test(path) || /(?<!\.d)\.ts$/.test(path),
);
if (!files.includes('dist/bin/fhir-etl.js')) wrong.push('(dist/bin/fhir-etl.js is missing)');
if (wrong.length > 0) {
  process.stderr.write(`the package would ship what it should not:\n${wrong.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`package: ${files.length} files, none of them tests, benchmarks or sources\n`);
