// Assertions on the client's typed errors.
import assert from 'node:assert/strict';
import { ProblemError } from '@cleancrm/client';

/** Awaits a call that must fail with the given status and problem code; returns the typed error. */
export async function expectProblem(call: Promise<unknown>, status: number, code: string): Promise<ProblemError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof ProblemError, `expected a ProblemError, got ${String(error)}`);
    assert.equal(error.status, status, `status of ${error.code}: ${error.detail ?? ''}`);
    assert.equal(error.code, code, error.detail ?? '');
    assert.equal(error.type, `https://cleancrm.dev/problems/${code}`);
    return error;
  }
  assert.fail(`expected ${status} ${code}, but the call succeeded`);
}

/** A response header the generated ApiResponse carries (names are lower-case). */
export function headerOf(response: { headers: Record<string, unknown> }, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}
