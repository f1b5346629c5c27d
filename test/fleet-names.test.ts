import { closest, dns1123LabelProblem, isDns1123Label } from '../constructs/fleet';

describe('isDns1123Label', () => {
  test.each(['a', 'vision', 'resnet-50', '0abc', 'a'.repeat(63)])('accepts %s', (s) => {
    expect(isDns1123Label(s)).toBe(true);
    expect(dns1123LabelProblem('name', s)).toBeUndefined();
  });

  test.each(['', 'A', 'res_net', '-a', 'a-', 'a.b', 'a'.repeat(64), 5, null, undefined])('fails on %p', (s) => {
    expect(isDns1123Label(s)).toBe(false);
    expect(dns1123LabelProblem('x.name', s)).toMatch(/^x\.name: expected a DNS-1123 label/);
  });

  test('names the value received', () => {
    expect(dns1123LabelProblem('team', 'Vision')).toBe(
      'team: expected a DNS-1123 label (lowercase letters, digits and "-", ' +
        'starting and ending with a letter or digit, at most 63 characters), got "Vision"',
    );
    expect(dns1123LabelProblem('team', 7)).toMatch(/, got 7$/);
  });
});

describe('closest', () => {
  test('suggests near keys only', () => {
    expect(closest('rsp', ['rps', 'team'])).toBe('rps');
    expect(closest('Team', ['rps', 'team'])).toBe('team');
    expect(closest('zone', ['type', 'mig', 'instanceType'])).toBeUndefined();
  });
});
