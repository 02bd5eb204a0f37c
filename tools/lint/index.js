import Module, { createRequire } from 'node:module';

// typescript-eslint (and ts-api-utils, which npm hoists to the root) need
// TypeScript's JavaScript API, which TypeScript 7, the build's compiler at the
// root, does not have. ESLint runs in its own process: there every
// `require('typescript')` gets this workspace's TypeScript 6.
const typescript6 = createRequire(import.meta.url).resolve('typescript');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, request === 'typescript' ? typescript6 : request, ...rest);
};

const { default: js } = await import('@eslint/js');
const { default: tseslint } = await import('typescript-eslint');
export { js, tseslint };
