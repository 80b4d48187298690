import { describe, expect, it } from 'vitest';
import { lintPlaybookText } from '../../src/playbooks/playbook-lint.js';

/** Found by the parser fuzzing of test/reliability: an alias before its anchor threw a ReferenceError. */
describe('playbook YAML the parser accepts but cannot convert', () => {
  it('reports an alias used before its anchor as a problem, not a crash', () => {
    const result = lintPlaybookText("*'", 'broken.yaml');
    expect(result.playbook).toBeNull();
    expect(result.problems[0]).toMatchObject({ path: '(yaml)', message: expect.stringContaining('alias') });
  });
});
