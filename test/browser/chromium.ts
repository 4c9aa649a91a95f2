// Headless Chromium for page tests (DESIGN.md: Debian `chromium` driven by playwright-core). A missing
// browser FAILS the test with the package to install: CI installs it (.ci/run).
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../monitor/collector/index.ts';

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `headless Chromium is required for the dashboard tests but ${CHROMIUM_PATH} does not exist: ` +
        'install the Debian package `chromium` (apt-get install -y chromium), as .ci/run does, or set VIGIL_CHROMIUM',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
