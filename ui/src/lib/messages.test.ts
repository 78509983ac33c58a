import { expect, it } from 'vitest';
import { reportMessage } from './messages';

it('a clean add report needs no message', () => {
  expect(reportMessage({ added: 3, target: 'Local test server', failures: [], error: null })).toBeNull();
});

it('failed paths are listed with their reasons and what to do', () => {
  const m = reportMessage({
    added: 2,
    target: 'Local test server',
    failures: [{ path: '/x/gone.bin', reason: 'cannot read /x/gone.bin: No such file' }],
    error: null,
  });
  expect(m?.kind).toBe('error');
  expect(m?.text).toBe('2 files added to Local test server, but 1 could not be added');
  expect(m?.details[0]).toContain('/x/gone.bin');
  expect(m?.hint).toContain('Check');
});

it('an unreachable target says nothing was added', () => {
  const m = reportMessage({
    added: 0,
    target: '',
    failures: [],
    error: { message: 'The local test server could not start', hint: 'Choose another target.' },
  });
  expect(m?.text).toBe('Nothing was added: The local test server could not start');
});
