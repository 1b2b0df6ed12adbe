/**
 * Tests that need a program the machine may lack (redis-server, chromium) skip with a message
 * naming the Debian package, except under CI=true, where they fail: CI runs everything.
 */
import { execFileSync } from 'node:child_process';

export function hasProgram(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns true when the program is present. When it is missing: throws under CI=true,
 * otherwise prints why the tests are skipped and returns false (use with `describe.skipIf`).
 */
export function requireProgram(cmd: string, debianPackage: string): boolean {
  if (hasProgram(cmd)) return true;
  const msg = `${cmd} is not installed: apt-get install -y ${debianPackage}`;
  if (process.env.CI === 'true') throw new Error(`${msg} (CI runs every test)`);
  console.warn(`skipping: ${msg}`);
  return false;
}
