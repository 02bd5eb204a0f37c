/**
 * `node pgliteInit.js <data folder>`: creates the embedded database in a new
 * data folder, in a child process of the node (createFolderInChild in
 * db.ts), so that the memory creating it takes leaves with this process.
 */
import { PGlite } from '@electric-sql/pglite';
import { embeddedOptions } from './db.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: pgliteInit.js <data folder>');
const lite = new PGlite({ dataDir, ...embeddedOptions(PGlite) });
await lite.waitReady;
await lite.close();
