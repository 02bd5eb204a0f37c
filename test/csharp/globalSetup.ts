import { MONO, ensureSystemPackages } from '../setup/systemPackages.js';

/** Mono and Newtonsoft.Json come from Debian, not npm: install them when missing (as for Chromium). */
export default async function setup() {
  await ensureSystemPackages(MONO);
}
