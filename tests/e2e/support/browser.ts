// Headless Chromium (Debian's package) driven by playwright-core: never a downloaded browser, traffic to 127.0.0.1 only.
import { chromium, type Browser } from 'playwright-core';
import { existsSync } from 'node:fs';
import { chromiumPath } from './env.ts';

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: apt-get install -y chromium (scripts/e2e.sh does it)`);
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}
