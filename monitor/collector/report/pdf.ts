// PDF of the surveillance report: the self-contained HTML printed by headless Chromium (Debian
// `chromium`, driven by playwright-core). No network: the page has no external resource, and
// requests are refused anyway.
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import { CollectorError } from '../errors.ts';

export const CHROMIUM_PATH = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function renderPdf(
  html: string,
  outFile: string,
  executablePath = CHROMIUM_PATH,
): Promise<number> {
  if (!fs.existsSync(executablePath)) {
    throw new CollectorError(
      'REPORT_FAILED',
      `the PDF needs headless Chromium at ${executablePath}: install the Debian package chromium or set VIGIL_CHROMIUM`,
    );
  }
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.route('**/*', (route) => route.abort());
    await page.setContent(html, { waitUntil: 'load' });
    await page.pdf({
      path: outFile,
      format: 'A4',
      printBackground: true,
      margin: { top: '15mm', bottom: '15mm', left: '12mm', right: '12mm' },
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate:
        '<div style="font-size:8px;width:100%;text-align:center;color:#59636e">Vigil post-market surveillance report · page <span class="pageNumber"></span> of <span class="totalPages"></span></div>',
    });
  } catch (cause) {
    throw new CollectorError('REPORT_FAILED', `Chromium could not print the report: ${String(cause)}`, {
      cause,
    });
  } finally {
    await browser.close();
  }
  return fs.statSync(outFile).size;
}
