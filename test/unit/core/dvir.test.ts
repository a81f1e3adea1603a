import { describe, expect, it } from 'vitest';
import { dvirSubmitted, occurredAtProblem } from '../../../src/core/rules/dvir.js';

const T = Date.parse('2026-11-22T08:00:00Z');

describe('dvir - inbound inspection reports', () => {
  it('derives nothing from another inbound type', () => {
    expect(dvirSubmitted('acme', { type: 'note' }, '1', T)).toBeNull();
  });

  it('makes the sender\'s id alone the event\'s identity, whatever the receipt and its time', () => {
    const first = dvirSubmitted('acme', { type: 'dvir.report', id: 'r-1' }, '1', T);
    const resend = dvirSubmitted('acme', { type: 'dvir.report', id: 'r-1' }, '2', T + 60_000);
    expect(resend?.id).toBe(first?.id);
    expect(resend?.occurredAt).toBe(T + 60_000);
    expect(dvirSubmitted('acme', { type: 'dvir.report', id: 'r-2' }, '1', T)?.id).not.toBe(first?.id);
    expect(dvirSubmitted('other', { type: 'dvir.report', id: 'r-1' }, '1', T)?.id).not.toBe(first?.id);
  });

  it('without an id, each receipt is an event of its own', () => {
    expect(dvirSubmitted('acme', { type: 'dvir.report' }, '1', T)?.id).not.toBe(dvirSubmitted('acme', { type: 'dvir.report' }, '2', T)?.id);
  });

  it.each([
    ['0001-01-01T00:00:00Z', null],
    ['9999-12-31T23:59:59.999Z', null],
    ['not a date', null],
    ['0000-12-31T23:59:59Z', /outside years 0001-9999/],
    ['+010000-01-01T00:00:00Z', /outside years 0001-9999/],
    ['-100000-01-01T00:00:00Z', /outside years 0001-9999/],
  ])('occurred_at %s: %s', (occurredAt, problem) => {
    const found = occurredAtProblem({ occurred_at: occurredAt });
    if (problem === null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
  });
});
