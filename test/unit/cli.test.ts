import { describe, expect, it } from 'vitest';
import { main } from '../../scripts/cli/main.ts';

describe('vigil cli', () => {
  it('rejects an unknown command with a non-zero exit code', async () => {
    const code = await main(['no-such-command']);
    expect(code).not.toBe(0);
  });
});
