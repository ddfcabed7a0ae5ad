import { configuredViewOptions } from '../global-options.ts';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Command, Option } from 'commander';
import { errorMessage } from '../../errors/index.ts';
import { shownValue } from '../../errors/shown-value.ts';
import type { CompiledView, parseViewDefinition, SuiteEngine } from '../../transforms/index.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { eachValue, positiveInt } from '../option-parsers.ts';
import { renderTable } from '../table.ts';

/**
 * `fhir-etl view run|test|list`: work with ViewDefinitions on local files, without a database.
 * A view that is not valid is an input error (exit 2), its message naming the view and JSON path.
 */
export function registerViewCommand(program: Command): void {
  const view = program
    .command('view')
    .description('run, test and list ViewDefinitions on local files (no database needed)');

  view
    .command('run')
    .description('print the rows a ViewDefinition makes of NDJSON files')
    .requiredOption('--view <file>', 'ViewDefinition JSON file, or the name of a shipped view')
    .requiredOption('--input <files...>', 'NDJSON files (.ndjson, .ndjson.gz), or - for standard input')
    .addOption(
      new Option('--format <format>', 'output format').choices(['ndjson', 'csv', 'table']).default('ndjson'),
    )
    .addOption(engineOption())
    .addOption(
      new Option('--max-line-bytes <n>', 'longer lines are rejected')
        .default(64 * 1024 * 1024)
        .argParser(positiveInt('--max-line-bytes')),
    )
    .action(async (options: RunOptions) => {
      process.exitCode = await runView(options);
    });

  view
    .command('test')
    .description('run test files in the official SQL on FHIR v2 test format')
    .argument('<paths...>', 'test files, or folders of them (*.json)')
    .addOption(engineOption())
    .action(async (paths: string[], options: { engine: SuiteEngine }) => {
      process.exitCode = await testViews(paths, options.engine);
    });

  view
    .command('list')
    .description('list the shipped views and those of your own folders')
    .option(
      '--views <dir>',
      'a folder of your own ViewDefinitions, listed after the shipped ones (repeat for more)',
      eachValue,
    )
    .option('--json', 'a JSON array instead of a table')
    .action(async (options: { views?: string[]; json?: boolean }, command: Command) => {
      const json = Boolean(options.json || command.optsWithGlobals().json);
      const { viewDirs } = await configuredViewOptions(command, options);
      process.exitCode = await listViews(viewDirs || [], json);
    });
}

interface RunOptions {
  view: string;
  input: string[];
  format: 'ndjson' | 'csv' | 'table';
  engine: SuiteEngine;
  maxLineBytes: number;
}

function engineOption(): Option {
  return new Option('--engine <engine>', 'FHIRPath evaluation: fast (compiled) or fhirpath (fhirpath.js)')
    .choices(['fast', 'fhirpath'])
    .default('fast');
}

// ---------------------------------------------------------------------------------------------
// view run

/** Evaluation failures reported one by one; past this, only counted. */
const MAX_REPORTED = 50;

/** The view engine, imported when a `view` command runs (never for `--help`). */
const transforms = () => import('../../transforms/index.ts');

async function runView(options: RunOptions): Promise<number> {
  const { compileView, parseResourceLine, readLines } = await transforms();
  const compiled = compileView(await readView(options.view), { engine: options.engine });
  for (const input of options.input) {
    if (input !== '-' && !existsSync(input)) throw new UsageError(`input ${input} does not exist`);
    if (input !== '-' && statSync(input).isDirectory()) throw new UsageError(`input ${input} is a folder`);
  }
  const out = new Output();
  const sink = rowSink(options.format, compiled, out);
  await sink.start();
  const problems = { reported: 0, failed: 0, rejected: 0, unreadable: 0 };
  const report = (where: string, message: string) => {
    if (problems.reported++ < MAX_REPORTED) process.stderr.write(`${where}: ${message}\n`);
  };
  try {
    for (const input of options.input) {
      const label = input === '-' ? '<stdin>' : input;
      const source: Readable = input === '-' ? process.stdin : createReadStream(input);
      let line = 0;
      try {
        for await (const raw of readLines(source, { maxLineBytes: options.maxLineBytes })) {
          line++;
          const parsed = parseResourceLine(raw, line);
          if (parsed === undefined) continue;
          if (!parsed.ok) {
            problems.rejected++;
            report(`${label}:${line}`, `line rejected: ${parsed.reason}`);
            continue;
          }
          let rows: unknown[][];
          try {
            rows = compiled.emit(parsed.resource);
          } catch (error) {
            problems.failed++;
            report(`${label}:${line}`, errorMessage(error));
            continue;
          }
          for (const row of rows) await sink.row(row);
        }
      } catch (error) {
        if (isBrokenPipe(error)) throw error;
        problems.unreadable++;
        report(label, `cannot read: ${errorMessage(error)}`);
      }
    }
    await sink.end();
    await out.end();
  } catch (error) {
    // The reader went away (`| head`): what it wanted was written.
    if (isBrokenPipe(error)) return EXIT.ok;
    throw error;
  }
  if (problems.reported > MAX_REPORTED) {
    process.stderr.write(`(${problems.reported - MAX_REPORTED} more problems not shown)\n`);
  }
  if (problems.failed + problems.rejected + problems.unreadable > 0) {
    const parts = [
      problems.failed > 0 ? `${problems.failed} resources failed evaluation` : '',
      problems.rejected > 0 ? `${problems.rejected} lines rejected` : '',
      problems.unreadable > 0 ? `${problems.unreadable} inputs could not be read` : '',
    ].filter(Boolean);
    process.stderr.write(`fhir-etl: view ${compiled.name}: ${parts.join(', ')}\n`);
  }
  return problems.failed + problems.unreadable > 0 ? EXIT.failed : EXIT.ok;
}

/** A path to a ViewDefinition file, or the name of a shipped view (`patient`). */
async function readView(spec: string): Promise<ReturnType<typeof parseViewDefinition>> {
  const [{ parseViewDefinition, ViewDefinitionError }, { shippedViewsDir }] = await Promise.all([
    transforms(),
    import('../../schemas/index.ts'),
  ]);
  let file = spec;
  if (!existsSync(file)) {
    const shipped = join(shippedViewsDir, `${basename(spec, '.json')}.json`);
    if (!spec.includes('/') && existsSync(shipped)) file = shipped;
    else throw new UsageError(`view ${spec} does not exist (neither a file nor a shipped view name)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new ViewDefinitionError(`not valid JSON: ${error.message}`, {
        view: basename(file, '.json'),
        path: '',
        origin: file,
      });
    }
    throw new UsageError(`cannot read view ${file}: ${errorMessage(error)}`);
  }
  return parseViewDefinition(json, file);
}

interface RowSink {
  start(): Promise<void>;
  row(values: unknown[]): Promise<void>;
  end(): Promise<void>;
}

function rowSink(format: RunOptions['format'], view: CompiledView, out: Output): RowSink {
  const names = view.columns.map((c) => c.name);
  switch (format) {
    case 'ndjson':
      return {
        start: async () => {},
        row: (values) => {
          const record: Record<string, unknown> = {};
          names.forEach((name, i) => {
            record[name] = values[i] ?? null;
          });
          return out.write(`${JSON.stringify(record)}\n`);
        },
        end: async () => {},
      };
    case 'csv':
      return {
        start: () => out.write(`${names.map(csvField).join(',')}\n`),
        row: (values) => out.write(`${names.map((_, i) => csvField(values[i])).join(',')}\n`),
        end: async () => {},
      };
    case 'table': {
      // Column widths need every row: the table is built in memory, for a look at small inputs.
      const rows: Array<Array<string | number | null>> = [];
      return {
        start: async () => {},
        row: (values) => {
          rows.push(names.map((_, i) => tableCell(values[i])));
          return Promise.resolve();
        },
        end: () => out.write(`${renderTable(names, rows)}\n`),
      };
    }
  }
}

/** RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled. Empty for null. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = shownValue(value);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function tableCell(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  return shownValue(value).replace(/\r?\n|\r/g, '\\n');
}

/** Buffered stdout with backpressure. */
class Output {
  private buffer = '';
  private failure: Error | undefined;

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {
    stream.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  async write(text: string): Promise<void> {
    this.buffer += text;
    if (this.buffer.length >= 64 * 1024) await this.flush();
  }

  async end(): Promise<void> {
    await this.flush();
  }

  /** A method, not inline: TypeScript keeps `this.failure` narrowed across an await (the error handler sets it meanwhile). */
  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private async flush(): Promise<void> {
    this.throwIfFailed();
    if (this.buffer.length === 0) return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.stream.off('error', onError);
          resolve();
        };
        const onError = (error: Error) => {
          this.stream.off('drain', onDrain);
          reject(error);
        };
        this.stream.once('drain', onDrain);
        this.stream.once('error', onError);
      });
    }
    this.throwIfFailed();
  }
}

function isBrokenPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

// ---------------------------------------------------------------------------------------------
// view test

async function testViews(paths: string[], engine: SuiteEngine): Promise<number> {
  const { readSuiteFile, runSuiteFile, suiteFiles } = await transforms();
  const files: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new UsageError(`${path} does not exist`);
    files.push(...(await suiteFiles(path)));
  }
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const name = basename(file);
    let results: ReturnType<typeof runSuiteFile>;
    try {
      results = runSuiteFile(await readSuiteFile(file), { engine });
    } catch (error) {
      failed++;
      process.stdout.write(`✘ ${oneLine(errorMessage(error))}\n`);
      continue;
    }
    for (const result of results) {
      if (result.passed) {
        passed++;
        process.stdout.write(`✔ ${name} › ${result.title}\n`);
      } else {
        failed++;
        process.stdout.write(`✘ ${name} › ${result.title}: ${oneLine(result.reason ?? 'failed')}\n`);
      }
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ');
}

// ---------------------------------------------------------------------------------------------
// view list

async function listViews(extraDirs: string[], json: boolean): Promise<number> {
  const [{ compileView, loadViewFiles }, { shippedViewsDir }] = await Promise.all([
    transforms(),
    import('../../schemas/index.ts'),
  ]);
  const views = (await loadViewFiles([shippedViewsDir, ...extraDirs])).map((view) => {
    const compiled = compileView(view.definition);
    const description = typeof view.definition.description === 'string' ? view.definition.description : '';
    return {
      name: compiled.name,
      resource: compiled.resource,
      columns: compiled.columns.length,
      description: description.split(/\r?\n/, 1)[0]?.trim() ?? '',
      file: view.file,
    };
  });
  if (json) {
    process.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(
    `${renderTable(
      ['name', 'resource', 'columns', 'description'],
      views.map((v) => [v.name, v.resource, v.columns, v.description]),
    )}\n`,
  );
  return EXIT.ok;
}
