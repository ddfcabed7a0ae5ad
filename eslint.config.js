// Lint: ESLint's and typescript-eslint's recommended rules. Formatting is prettier's job.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.fhir-etl/', 'bench/.data/', 'tmp/', 'test/sql-on-fhir-v2/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The web console's own browser scripts (Chart.js is loaded beside them as a global).
  { files: ['ui/assets/**/*.js'], languageOptions: { globals: { ...globals.browser, Chart: 'readonly' } } },
);
