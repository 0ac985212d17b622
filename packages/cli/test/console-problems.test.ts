/** The console's policy editor shows a parser's error at its line: numbered (word list, ACL), YAML, or a key path. */
import { describe, expect, it } from 'vitest';
import { parseAcl } from '@imspect/filter-acl';
import { parsePolicyFile } from '@imspect/filter-policy/file';
import { problemsOf } from '../dist/console-start.js';

describe('policy file problems for the console', () => {
  it('takes the line from the ACL parser, from YAML, and from a key path of the policy schema', () => {
    expect(problemsOf(parseAcl, 'allow all\n')).toEqual([]);
    expect(problemsOf(parseAcl, 'allow all\n\npermit alice bob\n')).toEqual([{ line: 3, message: expect.stringMatching(/allow or deny/) }]);
    expect(problemsOf(parsePolicyFile, 'users:\n  dave:\n    protocols: [irc]\n')).toEqual([]);
    const yaml = problemsOf(parsePolicyFile, 'users:\n  dave:\n    protocols: [irc\n  erin: {}\n');
    expect(yaml).toHaveLength(1);
    expect(yaml[0]!.line).toBeGreaterThanOrEqual(3);
    const schema = problemsOf(parsePolicyFile, 'block:\n  file: true\nusers:\n  dave:\n    protocols: 7\n');
    expect(schema).toEqual([{ line: 5, message: expect.stringMatching(/^users\.dave\.protocols: /) }]);
  });
});
