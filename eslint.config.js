// Lint: ESLint's and typescript-eslint's recommended rules, with type information, so the checks
// that need the types run too (a promise nobody awaits, a promise handed to a callback that
// ignores it, `any` leaking into typed code). Import cycles are errors. Formatting is prettier's job.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.fhir-etl/', 'bench/.data/', 'tmp/', 'test/sql-on-fhir-v2/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Import cycles: a module half-initialised when its importer runs fails at a distance.
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Follow imports into TypeScript modules, parsed as typescript-eslint parses them here.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  // The fast FHIRPath evaluator bails out to fhirpath.js by throwing sentinel symbols (BAIL,
  // UNSUPPORTED), caught by its own caller: control flow on a hot path, not errors to report.
  { files: ['transforms/fhirpath/fast-*.ts'], rules: { '@typescript-eslint/only-throw-error': 'off' } },
  // fhirpath.js is loaded on first use (transforms/fhirpath/fhirpath-js-module.ts): a static
  // import anywhere would make every start of the command pay for it again.
  {
    files: ['**/*.ts'],
    ignores: ['transforms/fhirpath/fhirpath-js-module.ts', 'test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'fhirpath',
              message:
                'Call fhirpathJs() from transforms/fhirpath/fhirpath-js-module.ts: it loads fhirpath.js when first needed.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  // The sandbox's fastify routes are async handlers by fastify's idiom (the returned value is
  // the reply, a throw the error reply), whether or not they await.
  { files: ['sandbox/**/*.ts'], rules: { '@typescript-eslint/require-await': 'off' } },
  // Tests and benchmarks read database rows, JSON bodies and logs as `any` in assertions all
  // over (hundreds of places); typing each is churn that catches nothing a failing assertion
  // would not. The production code keeps these rules.
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Test doubles implement async interfaces (a token provider, a sleep) without awaiting.
      '@typescript-eslint/require-await': 'off',
      // Tests save and restore methods (process.stdout.write) and hand a fake's methods to
      // t.teardown; a lost `this` there fails the test itself.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  // Plain JavaScript (the console's browser scripts, tooling) has no types to check against.
  { files: ['**/*.{js,mjs,cjs}'], ...tseslint.configs.disableTypeChecked },
  // The web console's own browser scripts (Chart.js is loaded beside them as a global).
  { files: ['ui/assets/**/*.js'], languageOptions: { globals: { ...globals.browser, Chart: 'readonly' } } },
);
