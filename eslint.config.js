import { js, tseslint } from '@foyer/lint';

// Node's built-in modules, which domain code must not use (time, ids and randomness come through ctx).
import { builtinModules } from 'node:module';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'web/dist/**', 'docs/**', 'test/e2e/screenshots/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        console: 'readonly',
        process: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      // Unused code is an error; a leading underscore marks what is unused on purpose.
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // TypeScript checks these (tsc -b runs in the same lint script).
      'no-undef': 'off',
      'no-redeclare': 'off',
      // The code base writes short side effects as comma sequences (`if (s) (s.push(f), n++)`), which this rule refuses.
      '@typescript-eslint/no-unused-expressions': 'off',
      // `{} extends T` is how a conditional type asks whether T has a required field (client-sdk's CallArgs).
      '@typescript-eslint/no-empty-object-type': 'off',
      // A `let` read by a closure before its one assignment (a stop function handed back by the callback it stops) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests, scripts, benches and the operator console read untyped JSON (frames, HTTP bodies, schemas, admin API answers) as `any` on purpose.
    files: ['test/**', 'scripts/**', 'bench/**', 'web/src/console/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The domain is pure: no node APIs and none of the layers around it.
    files: ['server/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: 'domain code is pure: no node APIs (time, ids and randomness come through ctx)' })),
          patterns: [
            { group: ['node:*'], message: 'domain code is pure: no node APIs (time, ids and randomness come through ctx)' },
            {
              group: ['**/gateway/**', '**/cluster/**', '**/store/**', '**/transport/**', '**/services/**', '**/api/**', '**/admin/**'],
              message: 'domain code depends on nothing around it: the services run it, the API calls the services',
            },
          ],
        },
      ],
    },
  },
);
