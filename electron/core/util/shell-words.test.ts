// The splitter against /bin/sh itself: for each line, sh's own word splitting
// (with nothing to expand in it) must give the same words.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ShellWordsError, splitShellWords } from './shell-words';

function shWords(line: string): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('splitShellWords', () => {
  const lines = [
    '--partition=gpu --gres=gpu:1 --time=04:00:00',
    '  -p   debug\t-t 10 ',
    `--comment="my run" --job-name='a b'`,
    `--comment="it's" --x='say "hi"'`,
    `a\\ b c\\"d`,
    `"back\\\\slash" "q\\"uote" 'lit\\eral'`,
    `--mail-user=a@b.c --constraint="[a|b]"`,
    `""  '' x`,
    `--export=ALL,FOO="bar baz"`,
  ];
  for (const line of lines) {
    it(`splits ${JSON.stringify(line)} as sh does`, () => {
      expect(splitShellWords(line)).toEqual(shWords(line));
    });
  }

  it('expands nothing: $VAR, ~ and globs stay as written', () => {
    expect(splitShellWords('--chdir=$HOME/x ~ *.py')).toEqual(['--chdir=$HOME/x', '~', '*.py']);
  });

  it('says what is wrong with an unclosed quote', () => {
    expect(() => splitShellWords(`--comment="abc`)).toThrow(ShellWordsError);
    expect(() => splitShellWords(`--comment='abc`)).toThrow(/single quote at character 11/);
    expect(() => splitShellWords('abc\\')).toThrow(/backslash/);
  });

  it('gives no words for a blank line', () => {
    expect(splitShellWords('')).toEqual([]);
    expect(splitShellWords('  \t ')).toEqual([]);
  });
});
