import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quote, shellCommand } from './shell-quote';

/** What a real /bin/sh makes of the words, one per NUL-terminated record. */
function shWords(commandTail: string): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${commandTail}`], { encoding: 'utf8' });
  const words = out.split('\0');
  words.pop();
  return words;
}

const NASTY = [
  '',
  ' ',
  'plain',
  "it's",
  "''",
  "'",
  'a"b',
  '$(touch /tmp/ktray-pwned)',
  '`id`',
  '${HOME}',
  '$HOME',
  'line1\nline2',
  'tab\there',
  'two  spaces',
  '*',
  '/etc/*',
  '?',
  '[a-z]',
  '~',
  '~root',
  'a;b',
  'a&&b',
  'a|b',
  '>out',
  '<in',
  '#comment',
  '\\',
  'back\\slash\\',
  '!event',
  '-n',
  '--flag=value',
  'ünïcödé ✓ 漢字',
  'emoji 🐍',
  '\u00a0nbsp',
  "mix 'of' \"all\" $x `y` \\z\n",
];

describe('quote', () => {
  it('leaves safe words bare and quotes the rest', () => {
    expect(quote('abc-1.2_3/x@y%z+w=v:u,t')).toBe('abc-1.2_3/x@y%z+w=v:u,t');
    expect(quote('')).toBe("''");
    expect(quote("a'b")).toBe("'a'\\''b'");
    expect(quote('a b')).toBe("'a b'");
    expect(quote('$x')).toBe("'$x'");
  });

  it.each(NASTY.map((s) => [JSON.stringify(s), s]))('round-trips %s through /bin/sh', (_label, s) => {
    expect(shWords(quote(s))).toEqual([s]);
  });
});

describe('shellCommand', () => {
  it('round-trips every nasty word at once, keeping word boundaries', () => {
    expect(shWords(shellCommand(NASTY))).toEqual(NASTY);
  });

  it('does not run embedded commands', () => {
    const marker = `/tmp/ktray-shell-quote-${process.pid}`;
    const words = [`$(touch ${marker})`, `\`touch ${marker}\``, `; touch ${marker}`];
    expect(shWords(shellCommand(words))).toEqual(words);
    expect(() => execFileSync('/bin/sh', ['-c', `test ! -e ${marker}`])).not.toThrow();
  });

  it('never turns a first word with = into an assignment', () => {
    const run = () => execFileSync('/bin/sh', ['-c', shellCommand(['KTRAY_X=1'])], { stdio: 'pipe' });
    expect(run).toThrow(/not found/);
    expect(shWords(shellCommand(['x', 'A=b']).slice(2))).toEqual(['A=b']);
  });

  it('builds an empty command from no words', () => {
    expect(shellCommand([])).toBe('');
  });
});
